"""Converters of ONNX pools: MaxPool (and its Indices, `convert_pool_indices`), AveragePool
(1-D, 2-D, 3-D), global pools.

`ge` pools are 2-D, on floats (an integer MaxPool runs on an exact f64 copy). A 1-D
pool is a 2-D one with a unit height. A 3-D pool is two 2-D pools, exactly: max and
average over a box window are separable (the window's count of valid positions is the
product of the per-axis counts), so the first pool runs over (H, W) with depth folded
into channels, the second over depth with (H, W) flattened.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from xdsl.dialects.builtin import f64
from xdsl.ir import SSAValue

from ge.frontends.onnx.context import Node
from ge.frontends.onnx.convert_nn import Spatial, window_attrs
from ge.frontends.onnx.convert_pool_indices import max_pool_indices
from gedialects.ge import ops
from gedialects.ge.ops.common import clamp_overhanging_windows
from gedialects.ge.types import element_of, is_integer_dtype

Converter = Callable[[Node], SSAValue]


def _pool2d(
    n: Node,
    op_class: type,
    x: SSAValue,
    axes: Sequence[int],
    geometry: tuple,
    props: dict,
) -> SSAValue:
    """A 2-D pool over the spatial `axes` (indices into the ONNX per-axis attributes)."""
    kernel, strides, pads, dil = geometry
    rank = len(kernel)

    def pick(values: Sequence[int], unit: int) -> list[int]:
        return [values[a] if a is not None else unit for a in axes]

    begins, ends = pads[:rank], pads[rank:]
    op = op_class(
        x,
        kernel_shape=pick(kernel, 1),
        strides=pick(strides, 1),
        pads=[*pick(begins, 0), *pick(ends, 0)],
        dilations=pick(dil, 1),
        **props,
    )
    return n.emit(op)


def _pool3d(n: Node, op_class: type, x: SSAValue, geometry: tuple, props: dict) -> SSAValue:
    b, c, d, h, w = n.shape_of(x)
    planes = n.emit(ops.ReshapeOp(x, shape=[b, c * d, h, w]))
    planes = _pool2d(n, op_class, planes, [1, 2], geometry, props)
    oh, ow = n.shape_of(planes)[2:]
    columns = n.emit(ops.ReshapeOp(planes, shape=[b, c, d, oh * ow]))
    columns = _pool2d(n, op_class, columns, [0, None], geometry, props)
    od = n.shape_of(columns)[2]
    return n.emit(ops.ReshapeOp(columns, shape=[b, c, od, oh, ow]))


def pool(n: Node, op_class: type, x: SSAValue, props: dict) -> SSAValue:
    """The pool of `x` with the node's window attributes, any spatial rank 1 to 3."""
    kernel, sizes = n.ints("kernel_shape"), n.shape_of(x)[2:]
    strides, pads, dil = window_attrs(n, sizes, kernel)
    kernel, strides = clamp_overhanging_windows(
        sizes, kernel, strides, pads, dil, props["ceil_mode"]
    )
    if len(kernel) == 3:
        return _pool3d(n, op_class, x, (kernel, strides, pads, dil), props)
    sp = Spatial(n, x, "pools")
    y = op_class(
        sp.x,
        kernel_shape=sp.attr(kernel),
        strides=sp.attr(strides),
        pads=sp.pads(pads),
        dilations=sp.attr(dil),
        **props,
    )
    return sp.lower(n.emit(y))


def _pool(op_class: type, **extra: str) -> Converter:
    def convert(n: Node) -> SSAValue | list[SSAValue]:
        props = {k: bool(n.attr(a, 0)) for k, a in extra.items()}
        props["ceil_mode"] = bool(n.attr("ceil_mode", 0))
        x = n.value(0)
        if op_class is ops.MaxPool2DOp and is_integer_dtype(n.dtype(0)):
            # Integers pool exactly as f64 (padding never wins a max).
            wide = n.emit(ops.CastOp(x, to=f64))
            y = pool(n, op_class, wide, props)
            y = n.emit(ops.CastOp(y, to=element_of(x.type)))
            return [y, max_pool_indices(n, wide, y)] if n.wants(1) else y
        y = pool(n, op_class, x, props)
        return [y, max_pool_indices(n, x, y)] if n.wants(1) else y

    return convert


def global_pool(op_class: type) -> Converter:
    return lambda n: n.emit(op_class(n.value(0)))


CONVERTERS: dict[str, Converter] = {
    "MaxPool": _pool(ops.MaxPool2DOp),
    "AveragePool": _pool(ops.AvgPool2DOp, count_include_pad="count_include_pad"),
    "GlobalAveragePool": global_pool(ops.GlobalAvgPoolOp),
    "GlobalMaxPool": global_pool(ops.GlobalMaxPoolOp),
}
