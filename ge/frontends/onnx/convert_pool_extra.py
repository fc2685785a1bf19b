"""Converters of LpPool, GlobalLpPool and MaxUnpool, composed from `ge` pools, reductions and
elementwise ops.

LpPool is (sum over the window of |x|^p)^(1/p): an average pool of |x|^p that counts the
zero padding, times the window's size (any spatial rank, auto_pad, dilations, as the
other pools). MaxUnpool of non-overlapping windows (kernel = strides, no pads: MaxPool
2x2/2 in SegNet-style decoders) places each value at its window's position whose flat
index equals the pooled index: values and indices are repeated over their windows, and a
comparison with the flat positions of the output keeps one per window, zeros elsewhere.
Other windows, and an output_shape beyond the windows (onnxruntime and ONNX's reference
place the values differently there), are refused naming the node.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from xdsl.dialects.builtin import i64
from xdsl.ir import SSAValue

from ge.frontends.onnx.context import Node
from ge.frontends.onnx.convert_math import scalar
from ge.frontends.onnx.convert_pool import pool
from gedialects.ge import ops

Converter = Callable[[Node], SSAValue]


def _powered(n: Node, x: SSAValue) -> tuple[int, SSAValue]:
    """(p, |x|^p) of an LpPool / GlobalLpPool node."""
    p = int(n.attr("p", 2))
    if p < 1:
        raise n.error(f"p must be at least 1, got {p}")
    magnitude = n.emit(ops.AbsOp(x))
    powered = magnitude
    for _ in range(p - 1):
        powered = n.emit(ops.MulOp(powered, magnitude))
    return p, powered


def _root(n: Node, total: SSAValue, p: int) -> SSAValue:
    if p == 1:
        return total
    if p == 2:
        return n.emit(ops.SqrtOp(total))
    return n.emit(ops.PowOp(total, scalar(n, 1.0 / p, total)))


def lp_pool(n: Node) -> SSAValue:
    x = n.value(0)
    if n.attr("ceil_mode", 0):  # `ceil_pools` rewrites those of known input shapes
        raise n.unsupported("ceil_mode=1 is not supported")
    p, powered = _powered(n, x)
    size = int(np.prod(n.ints("kernel_shape"), dtype=np.int64))
    mean = pool(n, ops.AvgPool2DOp, powered, {"count_include_pad": True, "ceil_mode": False})
    return _root(n, n.emit(ops.MulOp(mean, scalar(n, float(size), x))), p)


def global_lp_pool(n: Node) -> SSAValue:
    """(sum over the spatial axes of |x|^p)^(1/p), keeping them as 1s."""
    x = n.value(0)
    p, powered = _powered(n, x)
    axes = list(range(2, len(n.shape(0))))
    return _root(n, n.emit(ops.ReduceSumOp(powered, axes=axes, keepdims=True)), p)


def _repeat(n: Node, value: SSAValue, factors: list[int]) -> SSAValue:
    """value [N, C, D1, ...] with each spatial element repeated factors[i] times along Di."""
    shape = n.shape_of(value)
    lead, spatial = list(shape[:2]), list(shape[2:])
    split = [d for dim in spatial for d in (dim, 1)]
    grown = [d for dim, f in zip(spatial, factors) for d in (dim, f)]
    value = n.emit(ops.ReshapeOp(value, shape=lead + split))
    value = n.emit(ops.ExpandOp(value, shape=lead + grown))
    return n.emit(ops.ReshapeOp(value, shape=lead + [d * f for d, f in zip(spatial, factors)]))


def max_unpool(n: Node) -> SSAValue:
    x, shape = n.value(0), n.shape(0)
    kernel = n.ints("kernel_shape")
    rank = len(kernel)
    strides = n.ints("strides", [1] * rank)
    pads = n.ints("pads", [0] * 2 * rank)
    if strides != kernel or any(pads):
        raise n.unsupported(
            f"only non-overlapping windows (strides = kernel_shape, no pads) are supported; "
            f"got kernel_shape {kernel}, strides {strides}, pads {pads}"
        )
    covered = [d * k for d, k in zip(shape[2:], kernel)]
    out = list(shape[:2]) + covered
    if n.has(2):
        out = [int(v) for v in np.asarray(n.const(2, "output_shape")).reshape(-1)]
        if out[:2] != list(shape[:2]) or any(o < c for o, c in zip(out[2:], covered)):
            raise n.error(f"output_shape {out} does not hold the {covered} the windows cover")
        if out[2:] != covered:
            raise n.unsupported(
                f"an output_shape {out[2:]} beyond the {covered} the windows cover is not "
                "supported (onnxruntime scatters by flat index, ONNX's reference by position)"
            )
    index = n.value(1)
    index = n.emit(ops.CastOp(index, to=i64)) if n.dtype_of(index) != np.int64 else index
    values, index = _repeat(n, x, kernel), _repeat(n, index, kernel)
    grid = [*shape[:2], *covered]
    positions = None  # the flat position of each covered element, as a sum of axis iotas
    for axis, dim in enumerate(grid):
        stride = int(np.prod(grid[axis + 1 :], dtype=np.int64))
        iota = np.arange(dim, dtype=np.int64) * stride
        iota = n.constant(iota.reshape([dim if a == axis else 1 for a in range(len(grid))]))
        positions = iota if positions is None else n.emit(ops.AddOp(positions, iota))
    hit = n.emit(ops.EqualOp(index, positions))
    return n.emit(ops.WhereOp(hit, values, scalar(n, 0, x)))


CONVERTERS: dict[str, Converter] = {
    "LpPool": lp_pool,
    "GlobalLpPool": global_lp_pool,
    "MaxUnpool": max_unpool,
}
