"""Converters of ONNX ops that pick, reorder or accumulate elements, composed from `ge` ops.

GatherND (BERT-SQuAD's span heads, detection post-processing) and ReverseSequence gather
rows of the data viewed as [rows, S] at linear row numbers computed from the indices (any
index tensor: it need not be constant); Compress is a Gather at the positions of its
condition, which must be a constant (it fixes the output's shape); CumProd is CumSum's
masked form with a product. (NonZero and Unique, whose output shapes depend on the
values, have no converter: `fold_node` evaluates them on constant inputs, and the importer
refuses them by op and node otherwise.)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from xdsl.dialects.builtin import i64
from xdsl.ir import SSAValue

from ge.frontends.onnx.context import Node
from ge.frontends.onnx.convert_composite import cumulative_terms
from ge.frontends.onnx.convert_index import constant_box, linear_rows
from gedialects.ge import ops

Converter = Callable[[Node], SSAValue | list[SSAValue]]


def _count(shape) -> int:
    return int(np.prod(shape, dtype=np.int64))


def _gather_rows(n: Node, data: SSAValue, rows: SSAValue, out_shape: list[int]) -> SSAValue:
    """data viewed as [R, S] gathered at the i64 row numbers `rows`, reshaped to out_shape."""
    flat = n.emit(ops.ReshapeOp(rows, shape=[_count(n.shape_of(rows))]))
    return n.emit(ops.ReshapeOp(n.emit(ops.GatherOp(data, flat, axis=0)), shape=out_shape))


def gather_nd(n: Node) -> SSAValue:
    """out[b, m] = data[b, idx[b, m, 0], ..., idx[b, m, k-1]] (b: the batch_dims)."""
    data, shape = n.value(0), n.shape(0)
    index, index_shape = n.value(1), n.shape(1)
    batch = int(n.attr("batch_dims", 0))
    k = index_shape[-1]
    if not 0 <= batch < len(index_shape) or batch + k > len(shape):
        raise n.error(f"indices of shape {list(index_shape)} do not fit data {list(shape)}")
    indexed = list(shape[batch : batch + k])
    rest = list(shape[batch + k :])
    box = constant_box(np.asarray(n.const(1)), tuple(indexed)) if n.is_const(1) else None
    if box is not None and not batch:  # a slice of the data (tf.gather_nd of a constant box)
        (starts, extents), axes = box, list(range(k))
        ends = [a + e for a, e in zip(starts, extents, strict=True)]
        part = n.emit(ops.SliceOp(data, starts=starts, ends=ends, axes=axes, steps=[1] * k))
        return n.emit(ops.ReshapeOp(part, shape=[*index_shape[:-1], *rest]))
    rows = linear_rows(n, index, indexed, taker_checks=batch == 0)
    if batch:
        offsets = np.arange(_count(shape[:batch]), dtype=np.int64) * _count(indexed)
        offsets = offsets.reshape(list(shape[:batch]) + [1] * (len(index_shape) - 1 - batch))
        rows = n.emit(ops.AddOp(rows, n.constant(offsets)))
    data_rows = n.emit(ops.ReshapeOp(data, shape=[_count(shape[: batch + k]), _count(rest)]))
    return _gather_rows(n, data_rows, rows, [*index_shape[:-1], *rest])


def reverse_sequence(n: Node) -> SSAValue:
    """The first seq_len[b] steps of batch entry b reversed along the time axis."""
    data, shape = n.value(0), n.shape(0)
    time, batch = int(n.attr("time_axis", 0)), int(n.attr("batch_axis", 1))
    if {time, batch} != {0, 1}:
        raise n.error(f"time_axis {time} and batch_axis {batch} must be 0 and 1")
    steps, entries = shape[time], shape[batch]
    lens = n.value(1)
    lens = n.emit(ops.CastOp(lens, to=i64)) if n.dtype_of(lens) != np.int64 else lens
    t = n.constant(np.arange(steps, dtype=np.int64).reshape([-1, 1] if time == 0 else [1, -1]))
    b = n.constant(np.arange(entries, dtype=np.int64).reshape([1, -1] if time == 0 else [-1, 1]))
    lens = n.emit(ops.ReshapeOp(lens, shape=[1, entries] if time == 0 else [entries, 1]))
    inside = n.emit(ops.LessOp(t, lens))
    mirrored = n.emit(ops.SubOp(n.emit(ops.SubOp(lens, n.constant(np.int64(1)))), t))
    source = n.emit(ops.WhereOp(inside, mirrored, t))
    inner = shape[1]
    rows = n.emit(
        ops.AddOp(
            n.emit(ops.MulOp(source if time == 0 else b, n.constant(np.int64(inner)))),
            b if time == 0 else source,
        )
    )
    flat = n.emit(ops.ReshapeOp(data, shape=[steps * entries, _count(shape[2:])]))
    return _gather_rows(n, flat, rows, list(shape))


def compress(n: Node) -> SSAValue:
    data, shape = n.value(0), n.shape(0)
    condition = np.asarray(n.const(1, "condition, which fixes the output's shape")).reshape(-1)
    axis = n.attr("axis")
    if axis is None:
        data, shape = n.emit(ops.ReshapeOp(data, shape=[_count(shape)])), (_count(shape),)
        axis = 0
    axis = int(axis) % len(shape)
    picked = np.flatnonzero(condition[: shape[axis]].astype(bool)).astype(np.int64)
    return n.emit(ops.GatherOp(data, n.constant(picked), axis=axis))


def cum_prod(n: Node) -> SSAValue:
    """y_j = product of x_i over i <= j (i < j if exclusive; i >= j if reverse) along `axis`:
    CumSum's masked form with 1 in place of the terms left out."""
    widened, keep, axis = cumulative_terms(n)
    one = n.constant(np.ones((), n.dtype(0)))
    terms = n.emit(ops.WhereOp(n.constant(keep), widened, one))
    return n.emit(ops.ReduceProdOp(terms, axes=[axis], keepdims=False))


CONVERTERS: dict[str, Converter] = {
    "GatherND": gather_nd,
    "ReverseSequence": reverse_sequence,
    "Compress": compress,
    "CumProd": cum_prod,
}
