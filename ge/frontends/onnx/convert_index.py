"""Converters of ONNX indexing ops that `ge` composes from Gather, Scatter and Equal.

GatherElements (torch.gather) becomes one `ge.gather` on the flattened data with linear
indices (index * stride of the axis + the position along the other axes), and OneHot
(torch's one_hot) an equality of the indices with an iota. ScatterElements (torch.scatter)
and ScatterND (torch's `x[i] = v`, YOLO heads' slice writes) are one `ge.scatter` of the
updates into rows of the data viewed as [M, S] at linear row numbers. All keep ONNX's
negative indices (counted from the end), and refuse an index outside its axis at run time,
as onnxruntime does: an index that only takes part in a linear one is first looked up in
its axis' iota (`axis_index`), whose gather checks it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from xdsl.dialects.builtin import i64
from xdsl.ir import SSAValue

from ge.frontends.indexing import axis_index, element_positions, write_box
from ge.frontends.onnx.context import Node
from gedialects.ge import ops
from gedialects.ge.ops.movement import SCATTER_REDUCTIONS

Converter = Callable[[Node], SSAValue]


def _wrapped(n: Node, index: SSAValue, size: int) -> SSAValue:
    """`index` with negative entries counted from `size` (ONNX's rule), as i64."""
    index = n.emit(ops.CastOp(index, to=i64)) if n.dtype_of(index) != np.int64 else index
    negative = n.emit(ops.LessOp(index, n.constant(np.int64(0))))
    shifted = n.emit(ops.AddOp(index, n.constant(np.int64(size))))
    return n.emit(ops.WhereOp(negative, shifted, index))


def gather_elements(n: Node) -> SSAValue:
    data, shape = n.value(0), n.shape(0)
    axis = int(n.attr("axis", 0)) % len(shape)
    index = axis_index(n, n.value(1), shape[axis])
    return _gather_along(n, data, index, axis)


def _gather_along(n: Node, data: SSAValue, index: SSAValue, axis: int) -> SSAValue:
    """out[..., i, ...] = data[..., index[..., i, ...], ...] along `axis` (i64 indices in
    range; index's shape is data's but on `axis`): one gather of the flattened data."""
    shape = n.shape_of(data)
    linear = element_positions(n, index, shape, axis)
    flat = n.emit(ops.ReshapeOp(data, shape=[int(np.prod(shape, dtype=np.int64))]))
    return n.emit(ops.GatherOp(flat, linear, axis=0))


def tensor_scatter(n: Node) -> SSAValue:
    """ONNX TensorScatter (opset 24, KV-cache writes): cache position t of batch row b takes
    update step j = t - write_indices[b] (mod the cache length when `circular`) when
    0 <= j < the update's length, else keeps its value: a gather of the update along the
    sequence axis and a select, no scatter."""
    cache, update, shape = n.value(0), n.value(1), n.shape(0)
    rank = len(shape)
    axis = int(n.attr("axis", -2)) % rank
    if axis == 0:
        raise n.error("axis 0 is the batch axis, not a sequence axis")
    length, steps = shape[axis], n.shape(1)[axis]
    column = [1] * rank
    column[0] = shape[0]
    if n.has(2):
        start = n.emit(ops.ReshapeOp(_wrapped(n, n.value(2), length), shape=column))
    else:
        start = n.constant(np.zeros(column, np.int64))
    positions = [1] * rank
    positions[axis] = length
    step = n.emit(
        ops.SubOp(n.constant(np.arange(length, dtype=np.int64).reshape(positions)), start)
    )
    if n.attr("mode", "linear") == "circular":
        step = n.emit(ops.ModOp(step, n.constant(np.int64(length))))
    written = n.emit(ops.LogicalAndOp(
        n.emit(ops.GreaterEqualOp(step, n.constant(np.int64(0)))),
        n.emit(ops.LessOp(step, n.constant(np.int64(steps)))),
    ))  # fmt: skip
    index = n.emit(ops.ClipOp(step, min=0.0, max=float(steps - 1)))
    index = n.emit(ops.ExpandOp(index, shape=list(shape)))
    taken = _gather_along(n, update, index, axis)
    return n.emit(ops.WhereOp(written, taken, cache))


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


def _reduction(n: Node) -> str:
    reduction = n.attr("reduction", "none")
    if reduction not in SCATTER_REDUCTIONS:
        raise n.unsupported(f"reduction '{reduction}' is not supported")
    return reduction


def _scatter_rows(n: Node, data: SSAValue, rows: SSAValue, updates: SSAValue) -> SSAValue:
    """data [M, S] with row rows[p] (i64 [P]) replaced by, or reduced with, updates [P, S]."""
    reduction = _reduction(n)
    return n.emit(ops.ScatterOp(data, rows, updates, axis=0, reduction=reduction))


def scatter_elements(n: Node) -> SSAValue:
    data, shape = n.value(0), n.shape(0)
    index_shape = n.shape(1)
    axis = int(n.attr("axis", 0)) % len(shape)
    linear = element_positions(n, axis_index(n, n.value(1), shape[axis]), shape, axis)
    count = int(np.prod(index_shape, dtype=np.int64))
    rows = n.emit(ops.ReshapeOp(linear, shape=[count]))
    flat = n.emit(ops.ReshapeOp(data, shape=[int(np.prod(shape, dtype=np.int64)), 1]))
    updates = n.emit(ops.ReshapeOp(n.value(2), shape=[count, 1]))
    return n.emit(ops.ReshapeOp(_scatter_rows(n, flat, rows, updates), shape=list(shape)))


def linear_rows(n: Node, index: SSAValue, dims: list[int], taker_checks: bool = True) -> SSAValue:
    """The row numbers of the data viewed as [prod(dims), ...] that ND indices [..., k] (k =
    len(dims)) name, as i64 shaped as index[..., 0]. With k = 1 and `taker_checks` the index
    itself: the gather or scatter that takes it wraps and checks it; otherwise each column is
    checked on its own axis first (`axis_index`)."""
    shape = n.shape_of(index)
    if not dims:  # k = 0: every index names the one row
        return n.constant(np.zeros(shape[:-1], np.int64))
    if len(dims) == 1 and taker_checks:
        return n.emit(ops.ReshapeOp(index, shape=list(shape[:-1])))
    strides = [int(np.prod(dims[j + 1 :], dtype=np.int64)) for j in range(len(dims))]
    total = None
    for j, (dim, stride) in enumerate(zip(dims, strides, strict=True)):
        part = n.emit(ops.SliceOp(index, starts=[j], ends=[j + 1], axes=[-1], steps=[1]))
        part = axis_index(n, n.emit(ops.ReshapeOp(part, shape=list(shape[:-1]))), dim)
        part = n.emit(ops.MulOp(part, n.constant(np.int64(stride))))
        total = part if total is None else n.emit(ops.AddOp(total, part))
    return total


def constant_box(index: np.ndarray, dims: tuple[int, ...]) -> tuple[list[int], list[int]] | None:
    """(starts, extents) when constant ND indices [..., k] name each cell of one box of `dims`
    once, in row-major order (what torch exports for `x[..., a:b] = v`), else None."""
    k = index.shape[-1]
    flat = index.reshape(-1, k).astype(np.int64)
    flat = np.where(flat < 0, flat + np.asarray(dims, np.int64), flat)
    if not flat.size or (flat < 0).any() or (flat >= np.asarray(dims)).any():
        return None  # out of range: the general path refuses it at run time
    starts, ends = flat.min(axis=0), flat.max(axis=0) + 1
    if int(np.prod(ends - starts)) != len(flat):
        return None
    ranges = [np.arange(a, b) for a, b in zip(starts, ends, strict=True)]
    grid = np.stack(np.meshgrid(*ranges, indexing="ij"), axis=-1).reshape(-1, k)
    if not np.array_equal(grid, flat):
        return None
    return [int(a) for a in starts], [int(e) for e in ends - starts]


def _scatter_box(n: Node, box: tuple[list[int], list[int]]) -> SSAValue:
    """A scatter into one box of the data: `write_box`'s pad and select (or binary op)."""
    data, shape = n.value(0), n.shape(0)
    (starts, extents), k = box, len(box[0])
    reduction = _reduction(n)
    block = n.emit(ops.ReshapeOp(n.value(2), shape=[*extents, *shape[k:]]))
    return write_box(n, data, block, [*starts, *[0] * (len(shape) - k)], reduction)


def scatter_nd(n: Node) -> SSAValue:
    data, shape = n.value(0), n.shape(0)
    index_shape = n.shape(1)
    k = index_shape[-1]
    if not 1 <= k <= len(shape):
        raise n.error(f"indices of shape {list(index_shape)} do not fit data {list(shape)}")
    box = constant_box(np.asarray(n.const(1)), shape[:k]) if n.is_const(1) else None
    if box is not None:
        return _scatter_box(n, box)
    m = int(np.prod(shape[:k], dtype=np.int64))
    s = int(np.prod(shape[k:], dtype=np.int64))
    count = int(np.prod(index_shape[:-1], dtype=np.int64))
    rows = n.emit(ops.ReshapeOp(linear_rows(n, n.value(1), list(shape[:k])), shape=[count]))
    rows2d = n.emit(ops.ReshapeOp(data, shape=[m, s]))
    updates = n.emit(ops.ReshapeOp(n.value(2), shape=[count, s]))
    return n.emit(ops.ReshapeOp(_scatter_rows(n, rows2d, rows, updates), shape=list(shape)))


CONVERTERS: dict[str, Converter] = {
    "ScatterElements": scatter_elements,
    "Scatter": scatter_elements,
    "ScatterND": scatter_nd,
    "GatherElements": gather_elements,
    "OneHot": one_hot,
    "TensorScatter": tensor_scatter,
}
