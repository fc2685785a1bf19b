"""Converters of aten's data-movement ops: views, permutations, slicing, joining, padding.

Every op that keeps the row-major order of the elements (view, reshape, flatten,
squeeze, unsqueeze, ...) becomes one `ge.reshape` to the static shape torch recorded for
the node, so `-1` and the squeeze rules never have to be re-derived here.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from xdsl.ir import SSAValue

from ge.frontends.indexing import axis_index
from ge.frontends.torch.convert import Converter, dtype_of, op_key
from ge.frontends.torch.table import converts
from gedialects import ge
from gedialects.ge.types import shape_of


@converts(
    "view",
    "_unsafe_view",
    "reshape",
    "view_copy",
    "flatten",
    "unflatten",
    "squeeze",
    "unsqueeze",
    "_reshape_alias",
)
def reshape(cx: Converter, a: dict[str, Any]) -> SSAValue:
    x = a["self"]
    shape = cx.out_shape()
    return x if shape_of(x.type) == shape else cx.emit(ge.ReshapeOp(x, shape=list(shape)))


def _axis(axis: int, rank: int) -> int:
    return axis % max(rank, 1)


@converts("permute")
def permute(cx: Converter, a: dict[str, Any]) -> SSAValue:
    rank = len(shape_of(a["self"].type))
    return cx.emit(ge.TransposeOp(a["self"], perm=[_axis(d, rank) for d in a["dims"]]))


@converts("transpose")
def transpose(cx: Converter, a: dict[str, Any]) -> SSAValue:
    x = a["self"]
    rank = len(shape_of(x.type))
    perm = list(range(rank))
    i, j = _axis(a["dim0"], rank), _axis(a["dim1"], rank)
    perm[i], perm[j] = perm[j], perm[i]
    return x if i == j else cx.emit(ge.TransposeOp(x, perm=perm))


@converts("mT", "mH", "adjoint")
def matrix_transpose(cx: Converter, a: dict[str, Any]) -> SSAValue:
    """Swap the last two axes (real tensors: mH and adjoint alike)."""
    x = a["self"]
    rank = len(shape_of(x.type))
    return cx.emit(ge.TransposeOp(x, perm=[*range(rank - 2), rank - 1, rank - 2]))


@converts("expand", "expand_as", "expand_copy")
def expand(cx: Converter, a: dict[str, Any]) -> SSAValue:
    x = a["self"]
    shape = cx.out_shape()
    return x if shape_of(x.type) == shape else cx.emit(ge.ExpandOp(x, shape=list(shape)))


@converts("repeat")
def repeat(cx: Converter, a: dict[str, Any]) -> SSAValue:
    """Tile: each axis of size s as (1, s), expanded to (r, s), merged to r * s."""
    repeats = list(a["repeats"])
    shape = [1] * (len(repeats) - len(shape_of(a["self"].type))) + list(shape_of(a["self"].type))
    x = cx.reshape(a["self"], [d for s in shape for d in (1, s)])
    x = cx.emit(ge.ExpandOp(x, shape=[d for r, s in zip(repeats, shape) for d in (r, s)]))
    return cx.reshape(x, [r * s for r, s in zip(repeats, shape)])


@converts("cat", "concat")
def cat(cx: Converter, a: dict[str, Any]) -> SSAValue:
    parts = [t for t in a["tensors"] if shape_of(t.type) != (0,)]  # legacy empty inputs
    dtype = cx.out_dtype()
    return cx.emit(ge.ConcatOp(*[cx.cast(t, dtype) for t in parts], axis=a["dim"]))


@converts("stack")
def stack(cx: Converter, a: dict[str, Any]) -> SSAValue:
    """Each input with a new axis of size 1 at `dim`, then joined along it."""
    shape = list(cx.out_shape())
    dim = _axis(a["dim"], len(shape))
    shape[dim] = 1
    parts = [cx.emit(ge.ReshapeOp(cx.cast(t, cx.out_dtype()), shape=shape)) for t in a["tensors"]]
    return cx.emit(ge.ConcatOp(*parts, axis=dim))


def _slice(cx: Converter, x: SSAValue, dim: int, start: int, end: int, step: int) -> SSAValue:
    size = shape_of(x.type)[dim]
    start, end = max(min(start, size), -size), max(min(end, size), -size - 1)
    op = ge.SliceOp(x, starts=[start], ends=[end], axes=[dim], steps=[step])
    return cx.emit(op)


@converts("slice", "slice_copy", "narrow")
def slice_(cx: Converter, a: dict[str, Any]) -> SSAValue:
    x = a["self"]
    rank = len(shape_of(x.type))
    dim = _axis(a["dim"], rank)
    if op_key(cx.node.target) == "narrow":
        start = a["start"] % shape_of(x.type)[dim]
        return _slice(cx, x, dim, start, start + a["length"], 1)
    start = 0 if a["start"] is None else a["start"]
    end = shape_of(x.type)[dim] if a["end"] is None else a["end"]
    if shape_of(x.type) == cx.out_shape() and a["step"] == 1:
        return x
    return _slice(cx, x, dim, start, end, a["step"])


@converts("flip")
def flip(cx: Converter, a: dict[str, Any]) -> SSAValue:
    """Each axis in `dims` read backwards: a slice of step -1 from the last element."""
    x = a["self"]
    shape = shape_of(x.type)
    axes = sorted({_axis(d, len(shape)) for d in a["dims"]})
    if not axes:
        return x
    ends = [-shape[d] - 1 for d in axes]
    return cx.emit(
        ge.SliceOp(x, starts=[-1] * len(axes), ends=ends, axes=axes, steps=[-1] * len(axes))
    )


@converts("roll")
def roll(cx: Converter, a: dict[str, Any]) -> SSAValue:
    """Shifted cyclically along each of `dims` (the last `shift` elements first); with no
    dims, along the flattened tensor."""
    x, shifts, dims = a["self"], list(a["shifts"]), list(a.get("dims") or [])
    shape = list(shape_of(x.type))
    if not dims:
        flat = cx.reshape(x, [math.prod(shape)])
        return cx.reshape(_rolled(cx, flat, shifts[0], 0), shape)
    for shift, dim in zip(shifts, dims, strict=True):
        x = _rolled(cx, x, shift, _axis(dim, len(shape)))
    return x


def _rolled(cx: Converter, x: SSAValue, shift: int, dim: int) -> SSAValue:
    size = shape_of(x.type)[dim]
    cut = size - shift % size if size else 0
    if cut in (0, size):
        return x
    tail, head = _slice(cx, x, dim, cut, size, 1), _slice(cx, x, dim, 0, cut, 1)
    return cx.emit(ge.ConcatOp(tail, head, axis=dim))


@converts("select", "select_copy")
def select(cx: Converter, a: dict[str, Any]) -> SSAValue:
    x = a["self"]
    dim = _axis(a["dim"], len(shape_of(x.type)))
    index = a["index"] % shape_of(x.type)[dim]
    piece = _slice(cx, x, dim, index, index + 1, 1)
    return cx.emit(ge.ReshapeOp(piece, shape=list(cx.out_shape())))


@converts("split", "split_with_sizes", "chunk", "unbind", "tensor_split")
def split(cx: Converter, a: dict[str, Any]) -> tuple:
    """Pieces of the sizes torch recorded; unbind drops the split axis afterwards."""
    x = a["self"]
    dim = _axis(a.get("dim", 0), len(shape_of(x.type)))
    count = len(cx.node.meta["val"])
    unbind = op_key(cx.node.target) == "unbind"
    sizes = [1 if unbind else cx.out_shape(i)[dim] for i in range(count)]
    op = ge.SplitOp(x, axis=dim, sizes=sizes)
    cx.block.add_op(op)
    if not unbind:
        return tuple(op.results)
    return tuple(
        cx.emit(ge.ReshapeOp(p, shape=list(cx.out_shape(i)))) for i, p in enumerate(op.results)
    )


@converts("constant_pad_nd", "pad")
def pad(cx: Converter, a: dict[str, Any]) -> SSAValue:
    """torch lists (begin, end) pairs from the last axis backwards; ONNX all begins first."""
    x = a["self"]
    rank = len(shape_of(x.type))
    mode = a.get("mode", "constant")
    modes = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}
    if mode not in modes:
        raise cx.unsupported(f"padding mode {mode!r}")
    flat = list(a["pad"])
    begins, ends = [0] * rank, [0] * rank
    for i in range(len(flat) // 2):
        begins[rank - 1 - i], ends[rank - 1 - i] = flat[2 * i], flat[2 * i + 1]
    value = a.get("value") or 0.0
    op = ge.PadOp(x, pads=begins + ends, mode=modes[mode], value=float(value))
    return cx.emit(op)


@converts("full_like", "zeros_like", "ones_like", "new_zeros", "new_ones", "new_full")
def full_like(cx: Converter, a: dict[str, Any]) -> SSAValue:
    """A constant of torch's recorded shape and dtype (only the input's shape is read)."""
    name = op_key(cx.node.target)
    fill = a.get("fill_value", 0 if "zeros" in name else 1)
    return cx.constant(np.full(cx.out_shape(), fill, cx.out_dtype()))


@converts("index_select")
def index_select(cx: Converter, a: dict[str, Any]) -> SSAValue:
    return cx.emit(ge.GatherOp(a["self"], a["index"], axis=a["dim"]))


@converts("unfold")
def unfold(cx: Converter, a: dict[str, Any]) -> SSAValue:
    """Tensor.unfold(dim, size, step): the windows along `dim` (PatchTST's patches), one
    gather of a (windows, size) index table, the window's axis moved last as torch does."""
    x, shape = a["self"], shape_of(a["self"].type)
    if not shape:  # a 0-d tensor unfolds to itself in a 1-element window
        return cx.reshape(x, [1])
    axis = _axis(a["dimension"], len(shape))
    windows = (shape[axis] - a["size"]) // a["step"] + 1
    table = np.arange(windows)[:, None] * a["step"] + np.arange(a["size"])[None, :]
    y = cx.emit(ge.GatherOp(x, cx.constant(table.astype(np.int64)), axis=axis))
    perm = [d for d in range(len(shape) + 1) if d != axis + 1] + [axis + 1]
    return cx.emit(ge.TransposeOp(y, perm=perm))


@converts("index")
def index(cx: Converter, a: dict[str, Any]) -> SSAValue:
    """x[..., i, j, ...] with integer index tensors on adjacent axes: one gather on those
    axes merged (flat index = i * dims_after_i + j ...)."""
    x, shape = a["self"], shape_of(a["self"].type)
    given = [(axis, i) for axis, i in enumerate(a["indices"]) if i is not None]
    axes = [axis for axis, _ in given]
    if axes != list(range(axes[0], axes[0] + len(axes))):
        raise cx.unsupported("index tensors on non-adjacent axes")
    if any(dtype_of(i).kind not in "iu" for _, i in given):
        raise cx.unsupported("boolean (mask) indexing: its result shape depends on the data")
    first, last = axes[0], axes[-1] + 1
    flat = None
    for axis, idx in given:  # one index: the gather checks it; several: each on its axis
        idx = axis_index(cx, idx, shape[axis]) if len(given) > 1 else idx
        dim = cx.scalar(shape[axis], np.dtype(np.int64))
        flat = idx if flat is None else cx.emit(ge.AddOp(cx.emit(ge.MulOp(flat, dim)), idx))
    merged = cx.reshape(x, [*shape[:first], int(np.prod(shape[first:last])), *shape[last:]])
    return cx.emit(ge.GatherOp(merged, flat, axis=first))
