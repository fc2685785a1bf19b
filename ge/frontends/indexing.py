"""Indexing helpers for both frontends: an index checked on its axis, and a write into one
box of a tensor as a pad and a select.

An index that takes part in a linear one (GatherElements, ScatterElements, ND indices,
torch's scatter) must be checked on its own axis: past its axis it could still land inside
the data, on another element. `axis_index` looks it up in the axis' iota, a `ge.gather`
whose bounds check refuses it at run time naming it, and wraps a negative one on the way.

torch writes `x[..., a:b] = v` as slice_scatter (torch.export) or as ScatterND of constant
indices that name each cell of the box in order (its ONNX export). Either is the values
padded to the tensor's shape and selected inside the box by a constant mask: elementwise
and movement kernels, where a row scatter would store one row, or one element, at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
from xdsl.ir import Operation, SSAValue

from gedialects.ge import ops
from gedialects.ge.types import shape_of


class Builder(Protocol):
    """What both frontends' node contexts offer: append an op, make a constant."""

    def emit(self, op: Operation) -> SSAValue: ...
    def constant(self, array: np.ndarray) -> SSAValue: ...


def axis_index(b: Builder, index: SSAValue, size: int) -> SSAValue:
    """`index` along an axis of `size` as i64, negative entries counted from the end, refused
    at run time when outside [-size, size)."""
    return b.emit(ops.GatherOp(b.constant(np.arange(size, dtype=np.int64)), index, axis=0))


def element_positions(b: Builder, index: SSAValue, shape: Sequence[int], axis: int) -> SSAValue:
    """The row-major positions in data of `shape` that i64 per-element indices along `axis`
    name (GatherElements' and ScatterElements' form; index's shape fits in data's): index *
    the axis' stride + each entry's own position along the other axes."""
    index_shape = shape_of(index.type)
    strides = np.cumprod([1, *shape[::-1]])[-2::-1].astype(np.int64)
    grid = np.indices(index_shape, dtype=np.int64)
    base = sum(grid[d] * strides[d] for d in range(len(shape)) if d != axis)
    scaled = b.emit(ops.MulOp(index, b.constant(np.int64(strides[axis]))))
    return b.emit(ops.AddOp(scaled, b.constant(np.asarray(base, np.int64))))


COMBINE = {"add": ops.AddOp, "mul": ops.MulOp, "max": ops.MaximumOp, "min": ops.MinimumOp}


def write_box(
    b: Builder, data: SSAValue, block: SSAValue, starts: Sequence[int], reduction: str = "none"
) -> SSAValue:
    """`data` with the box of block's shape at `starts` replaced by `block` (same rank and
    dtype), or combined with it by `reduction` (add, mul: a binary op with the pad's
    neutral value, no mask; max, min: the binary op under the mask)."""
    shape, extents = shape_of(data.type), shape_of(block.type)
    rank = len(shape)
    ends = [d - a - e for d, a, e in zip(shape, starts, extents, strict=True)]
    pads = [*starts, *ends]
    padded = b.emit(ops.PadOp(block, pads=pads, value=1.0 if reduction == "mul" else 0.0))
    if reduction in ("add", "mul"):
        return b.emit(COMBINE[reduction](data, padded))
    inside = np.ones([1] * rank, bool)  # axes the box spans whole stay broadcast
    for axis, (a, e) in enumerate(zip(starts, extents, strict=True)):
        if e != shape[axis]:
            along = np.zeros(shape[axis], bool)
            along[a : a + e] = True
            inside = inside & along.reshape([-1 if i == axis else 1 for i in range(rank)])
    if reduction in COMBINE:
        padded = b.emit(COMBINE[reduction](data, padded))
    return b.emit(ops.WhereOp(b.constant(inside), padded, data))
