"""Converters of ONNX indexing ops that `ge` composes from Gather, Equal and Where.

GatherElements (torch.gather) becomes one `ge.gather` on the flattened data with linear
indices (index * stride of the axis + the position along the other axes), and OneHot
(torch's one_hot) an equality of the indices with an iota; both keep ONNX's negative
indices (counted from the end).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from xdsl.dialects.builtin import i64
from xdsl.ir import SSAValue

from ge.frontends.onnx.context import Node
from gedialects.ge import ops

Converter = Callable[[Node], SSAValue]


def _wrapped(n: Node, index: SSAValue, size: int) -> SSAValue:
    """`index` with negative entries counted from `size` (ONNX's rule), as i64."""
    index = n.emit(ops.CastOp(index, to=i64)) if n.dtype_of(index) != np.int64 else index
    negative = n.emit(ops.LessOp(index, n.constant(np.int64(0))))
    shifted = n.emit(ops.AddOp(index, n.constant(np.int64(size))))
    return n.emit(ops.WhereOp(negative, shifted, index))


def gather_elements(n: Node) -> SSAValue:
    data, shape = n.value(0), n.shape(0)
    index_shape = n.shape(1)
    axis = int(n.attr("axis", 0)) % len(shape)
    index = _wrapped(n, n.value(1), shape[axis])
    strides = np.cumprod([1, *shape[::-1]])[-2::-1].astype(np.int64)  # row-major, of data
    grid = np.indices(index_shape, dtype=np.int64)
    base = sum(grid[d] * strides[d] for d in range(len(shape)) if d != axis)
    linear = n.emit(ops.MulOp(index, n.constant(np.int64(strides[axis]))))
    linear = n.emit(ops.AddOp(linear, n.constant(np.asarray(base, np.int64))))
    flat = n.emit(ops.ReshapeOp(data, shape=[int(np.prod(shape, dtype=np.int64))]))
    return n.emit(ops.GatherOp(flat, linear, axis=0))


def one_hot(n: Node) -> SSAValue:
    indices, shape = n.value(0), n.shape(0)
    depth = int(np.asarray(n.const(1, "depth")).reshape(-1)[0])
    values = n.value(2)
    axis = int(n.attr("axis", -1)) % (len(shape) + 1)
    index = _wrapped(n, indices, depth)
    widened = n.emit(ops.ReshapeOp(index, shape=[*shape[:axis], 1, *shape[axis:]]))
    iota_shape = [1] * (len(shape) + 1)
    iota_shape[axis] = depth
    iota = n.constant(np.arange(depth, dtype=np.int64).reshape(iota_shape))
    hit = n.emit(ops.EqualOp(widened, iota))
    pair = n.shape_of(values)
    if pair != (2,):
        raise n.error(f"values must have shape [2] (off, on), got {list(pair)}")
    off, on = n.emit_all(ops.SplitOp(values, axis=0, sizes=[1, 1]))
    return n.emit(ops.WhereOp(hit, on, off))


CONVERTERS: dict[str, Converter] = {
    "GatherElements": gather_elements,
    "OneHot": one_hot,
}
