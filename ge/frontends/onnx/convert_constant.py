"""Converters of ONNX ops that fold to constants at import: Constant, ConstantOfShape,
Range, and Shape and Size (every shape is static); and `ints_of`, the integers of a
constant input, which the shape converters share."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from onnx import numpy_helper
from xdsl.ir import SSAValue

from ge.frontends.onnx.context import Node


def ints_of(array: np.ndarray) -> list[int]:
    """A constant input (shape, axes, pads...) as a flat list of Python ints."""
    return [int(v) for v in np.asarray(array).reshape(-1)]


def shape_(n: Node) -> SSAValue:
    shape = n.shape(0)
    start, end = int(n.attr("start", 0)), n.attr("end")
    return n.constant(np.asarray(shape[start : None if end is None else int(end)], np.int64))


def size(n: Node) -> SSAValue:
    return n.constant(np.asarray(int(np.prod(n.shape(0))), np.int64))


def constant(n: Node) -> SSAValue:
    attrs = n.proto.attribute
    if not attrs:
        raise n.error("has no value attribute")
    a = attrs[0]
    kinds = {
        "value": lambda: numpy_helper.to_array(a.t),
        "value_float": lambda: np.asarray(a.f, np.float32),
        "value_floats": lambda: np.asarray(list(a.floats), np.float32),
        "value_int": lambda: np.asarray(a.i, np.int64),
        "value_ints": lambda: np.asarray(list(a.ints), np.int64),
    }
    if a.name not in kinds:
        raise n.unsupported(f"a Constant given by '{a.name}' is not supported")
    return n.constant(kinds[a.name]())


def constant_of_shape(n: Node) -> SSAValue:
    value = n.attrs.get("value")
    fill = (
        numpy_helper.to_array(value).reshape(-1) if value is not None else np.zeros(1, np.float32)
    )
    return n.constant(np.full(ints_of(n.const(0, "shape")), fill[0], dtype=fill.dtype))


def range_(n: Node) -> SSAValue:
    # scalars by the spec; one-element tensors too (ONNX's expanded AffineGrid passes them)
    start, limit, delta = (
        np.asarray(n.const(i, what)).reshape(-1)[:1].reshape(())
        for i, what in enumerate(("start", "limit", "delta"))
    )
    with np.errstate(all="ignore"):
        steps = np.ceil((limit - start) / delta) if delta != 0 else np.inf
    if not np.isfinite(steps):
        raise n.error(f"Range({start}, {limit}, {delta}) has no finite number of elements")
    count = max(int(steps), 0)
    return n.constant((start + np.arange(count) * delta).astype(start.dtype))


CONVERTERS: dict[str, Callable[[Node], SSAValue]] = {
    "Shape": shape_,
    "Size": size,
    "Constant": constant,
    "ConstantOfShape": constant_of_shape,
    "Range": range_,
}
