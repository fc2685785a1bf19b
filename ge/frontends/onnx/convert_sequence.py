"""Converters of ONNX sequence ops, as lists of tensors known at import.

`torch.jit.script` writes a Python list that a `for` appends to as SequenceEmpty, a Loop
carrying SequenceInsert, and ConcatFromSequence (`torch.stack`, `torch.cat`); `torch.split`
and `unbind` in scripts write SplitToSequence and SequenceAt. ge has no sequence type: a
sequence is a `SequenceValue`, the list of its tensors' SSA values, whose length and positions
must be known at import. They are wherever the sequence is built outside loops or in a loop
that is unrolled (a known trip count: `convert_loop`). A sequence a loop carries in another
form, a position known only at run time, or a sequence as a graph output is refused with
UnsupportedError naming the node.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from xdsl.ir import SSAValue

from ge.frontends.onnx.context import Node, numpy_dtype
from gedialects.ge import ops


@dataclass(eq=False)
class SequenceValue:
    """An ONNX sequence at import: its tensors in order (all of one element type)."""

    items: tuple[SSAValue, ...]
    dtype: np.dtype
    name_hint: str | None = field(default=None)

    @property
    def type(self) -> str:
        """What error messages print for it (it has no MLIR type)."""
        return f"sequence of {len(self.items)} {self.dtype} tensors"


def _sequence(n: Node, index: int) -> SequenceValue:
    value = n.value(index)
    if not isinstance(value, SequenceValue):
        raise n.error(f"input {index} must be a sequence")
    return value


def _position(n: Node, index: int, length: int, default: int, insert: bool = False) -> int:
    """A position given as input `index` (default `default`), in [0, length] for an insert
    and [0, length) otherwise; negative positions count from the end."""
    if not n.has(index):
        return default
    if not n.is_const(index):
        raise n.data_dependent("a sequence position known only at run time is not supported")
    position = int(np.asarray(n.const(index)).reshape(-1)[0])
    bound = length + 1 if insert else length
    if not -length <= position < bound:
        raise n.error(f"position {position} is out of range for a sequence of {length}")
    return position + length if position < 0 else position


def sequence_empty(n: Node) -> list[SequenceValue]:
    dtype = numpy_dtype(int(n.attr("dtype", 1)), n.describe())
    return [SequenceValue((), np.dtype(dtype))]


def sequence_construct(n: Node) -> list[SequenceValue]:
    items = n.inputs()
    return [SequenceValue(tuple(items), n.dtype_of(items[0]))]


def sequence_insert(n: Node) -> list[SequenceValue]:
    seq, item = _sequence(n, 0), n.value(1)
    if seq.items and n.dtype_of(item) != seq.dtype:
        raise n.error(f"inserting a {n.dtype_of(item)} tensor into a {seq.dtype} sequence")
    items = list(seq.items)
    items.insert(_position(n, 2, len(items), len(items), insert=True), item)
    return [SequenceValue(tuple(items), n.dtype_of(item))]


def sequence_erase(n: Node) -> list[SequenceValue]:
    seq = _sequence(n, 0)
    items = list(seq.items)
    if not items:
        raise n.error("cannot erase from an empty sequence")
    del items[_position(n, 1, len(items), len(items) - 1)]
    return [SequenceValue(tuple(items), seq.dtype)]


def sequence_at(n: Node) -> SSAValue:
    seq = _sequence(n, 0)
    return seq.items[_position(n, 1, len(seq.items), 0 if seq.items else -1)]


def sequence_length(n: Node) -> SSAValue:
    return n.constant(np.array(len(_sequence(n, 0).items), np.int64))


def concat_from_sequence(n: Node) -> SSAValue:
    """torch.stack (new_axis=1: each tensor gains the axis) and torch.cat of a sequence."""
    seq = _sequence(n, 0)
    if not seq.items:
        raise n.unsupported("concatenating an empty sequence would be an empty tensor")
    items, axis = list(seq.items), int(n.attr("axis"))
    if int(n.attr("new_axis", 0)):
        rank = len(n.shape_of(items[0])) + 1
        axis = axis % rank
        for k, item in enumerate(items):
            shape = list(n.shape_of(item))
            items[k] = n.emit(ops.ReshapeOp(item, shape=[*shape[:axis], 1, *shape[axis:]]))
    return items[0] if len(items) == 1 else n.emit(ops.ConcatOp(*items, axis=axis))


def split_to_sequence(n: Node) -> list[SequenceValue]:
    """Pieces of `split` sizes (one size: equal chunks, the last smaller), else of size 1
    along `axis`, squeezed unless `keepdims`."""
    x, shape = n.value(0), n.shape(0)
    axis = int(n.attr("axis", 0)) % len(shape)
    length = shape[axis]
    if n.has(1):
        split = np.asarray(n.const(1, "split"), np.int64)
        if split.ndim == 0:
            chunk = int(split)
            sizes = [chunk] * (length // chunk) + ([length % chunk] if length % chunk else [])
        else:
            sizes = [int(s) for s in split]
    else:
        sizes = [1] * length
    if sum(sizes) != length or min(sizes, default=0) < 0:
        raise n.error(f"split sizes {sizes} do not divide the axis of {length}")
    pieces = n.emit_all(ops.SplitOp(x, axis=axis, sizes=sizes)) if len(sizes) > 1 else [x]
    if not n.has(1) and not int(n.attr("keepdims", 1)):
        squeezed = [*shape[:axis], *shape[axis + 1 :]]
        pieces = [n.emit(ops.ReshapeOp(p, shape=squeezed)) for p in pieces]
    return [SequenceValue(tuple(pieces), n.dtype(0))]


CONVERTERS: dict[str, Callable[[Node], object]] = {
    "SequenceEmpty": sequence_empty,
    "SequenceConstruct": sequence_construct,
    "SequenceInsert": sequence_insert,
    "SequenceErase": sequence_erase,
    "SequenceAt": sequence_at,
    "SequenceLength": sequence_length,
    "ConcatFromSequence": concat_from_sequence,
    "SplitToSequence": split_to_sequence,
}
