"""Batch-axis analysis: does padding the batch change any real sample's result?

Shape gears run a batch of n samples on a plan compiled for a larger batch g, padding the
inputs with g - n zero samples and slicing the outputs back. That is exact only if no op
mixes samples: each value must carry the batch on one axis, ops must map it through, and
no op may reduce, normalize, slice, reshape or contract across it. This analysis follows
the batch from the inputs to the outputs and either returns where every value carries it,
or the first op that mixes samples, with the reason.

A value may carry the batch folded into one axis with other rows (`Batch.outer`, `inner`):
GPT-2's Conv1D and every Gemm of an older export flatten (N, S, E) into (N * S, E) rows and
restore the shape after; torch's MultiheadAttention folds the heads under it, (N * H, S, d),
and its sequence-first layout over it, (S * N, E). Each row still belongs to one sample, so
such a value is per sample as long as no op reduces along that axis or broadcasts a value
of its own along it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from xdsl.dialects import func
from xdsl.ir import Operation, SSAValue

from gedialects.ge import ops
from gedialects.ge.constant import ConstantOp
from gedialects.ge.types import shape_of


@dataclass
class BatchMixing(Exception):
    """The op that makes gear padding unsafe, and why."""

    op_name: str
    reason: str

    def __str__(self) -> str:
        return f"'{self.op_name}' {self.reason}"


class Batch(NamedTuple):
    """Where a value carries the batch: axis `axis` holds outer x batch x inner elements,
    row-major (`outer` and `inner` are 1 unless a reshape folded other rows with it)."""

    axis: int
    inner: int = 1
    outer: int = 1

    @property
    def folded(self) -> bool:
        """Whether the batch shares its axis with other rows."""
        return self.inner != 1 or self.outer != 1


Axis = int | None
Place = Batch | None

_PER_SAMPLE = (
    ops.Conv2DOp,
    ops.ConvTranspose2DOp,
    ops.BatchNormOp,
    ops.InstanceNormOp,
    ops.GroupNormOp,
    ops.LRNOp,
    ops.Pool2DOp,
    ops.GlobalPoolOp,
)
"""Ops on (N, C, ...) tensors whose samples are independent along axis 0."""

_BROADCASTING = ops.UnaryOp | ops.CastOp | ops.BinaryOp | ops.WhereOp | ops.ExpandOp
"""Elementwise ops, numpy-broadcast (ge.lrn, a UnaryOp, is in `_PER_SAMPLE` instead)."""


def _rank(value: SSAValue) -> int:
    return len(shape_of(value.type))


def _moved(place: Batch, axis: int) -> Batch:
    return place._replace(axis=axis)


def _broadcast(op: Operation, places: Sequence[Place]) -> Place:
    """The output's batch of a broadcasting op: every operand that carries it must put it on
    the same output axis, and no other operand may span that axis (a value of its own per
    row there would belong to one sample)."""
    out_rank = _rank(op.results[0])
    mapped = {
        _moved(p, out_rank - (_rank(v) - p.axis))
        for p, v in zip(places, op.operands)
        if p is not None
    }
    return _one_place(op, places, mapped) if mapped else None


def _one_place(op: Operation, places: Sequence[Place], mapped: set[Batch]) -> Batch:
    """The result's batch, where its operands put it (`mapped`): one axis, not stretched, and
    no other operand's own rows along it (those must be alike)."""
    if len(mapped) > 1:
        raise BatchMixing(op.name, "combines operands whose batch lies on different axes")
    place = mapped.pop()
    _keeps_extent(op, places, place)
    for i, at in shared_operands(op, places, place):
        if not _uniform(op.operands[i], at):
            raise BatchMixing(op.name, "broadcasts a value of its own along the batch axis")
    return place


def _keeps_extent(op: Operation, places: Sequence[Place], place: Batch) -> None:
    """A batch of one sample must not be broadcast to more rows (an Expand of (1, ...) to
    (2, ...)): each sample would become several, and a gear's padding would be broadcast."""
    extent = shape_of(op.results[0].type)[place.axis]
    for p, v in zip(places, op.operands):
        if p is not None and shape_of(v.type)[p.axis] != extent:
            raise BatchMixing(op.name, "broadcasts the batch axis itself")


def shared_operands(op: Operation, places: Sequence[Place], place: Batch) -> list[tuple[int, int]]:
    """(index, axis) of each operand of a broadcasting op, matmul or concat that carries no
    batch but spans the result's batch axis with more than one row: rows the analysis
    requires alike (`_uniform`), which a graph for another batch size narrows to one (and a
    concat's expands to its batch again)."""
    if isinstance(op, _PER_SAMPLE) or not isinstance(
        op, _BROADCASTING | ops.MatMulOp | ops.ConcatOp
    ):
        return []
    out_rank, shared = _rank(op.results[0]), []
    for i, (p, v) in enumerate(zip(places, op.operands)):
        rank = _rank(v)
        if isinstance(op, ops.MatMulOp):  # only batch dims broadcast
            stacked = max(*(_rank(w) - 2 for w in op.operands), 0)
            at = place.axis - (stacked - (rank - 2)) if place.axis < stacked else -1
            span = rank - 2
        else:
            at, span = place.axis - (out_rank - rank), rank
        joined = isinstance(op, ops.ConcatOp)  # joined rows match the batch even when it is 1
        if p is None and 0 <= at < span and (joined or shape_of(v.type)[at] != 1):
            shared.append((i, at))
    return shared


def _uniform(value: SSAValue, axis: int) -> bool:
    """Whether a value computed without the batch is the same at every index of `axis` (an
    axis of 1, or a batch-sized constant an exporter expanded, as BERT's position ids): then
    every sample meets the same values there, padding ones too."""
    if shape_of(value.type)[axis] == 1:
        return True
    op = value.owner
    if isinstance(op, ConstantOp):
        if op.is_elided:
            return False
        array = op.to_numpy()
        return bool((array == array.take([0], axis=axis)).all())
    if isinstance(op, ops.LRNOp):
        return False
    if isinstance(op, _BROADCASTING):
        out_rank = _rank(value)
        return all(
            axis - (out_rank - _rank(v)) < 0 or _uniform(v, axis - (out_rank - _rank(v)))
            for v in op.operands
        )
    if isinstance(op, ops.TransposeOp):
        return _uniform(op.operands[0], list(op.ints("perm"))[axis])
    if isinstance(op, ops.MatMulOp):  # rows of A alike give rows of the product alike, ...
        a, b = op.operands
        stacked = max(_rank(a) - 2, _rank(b) - 2, 0)
        if axis >= stacked:  # ... columns of B alike, columns
            return (
                _uniform(a, _rank(a) - 2)
                if axis == stacked and _rank(a) >= 2
                else (_rank(b) >= 2 and _uniform(b, _rank(b) - 1))
            )
        return all(
            axis - (stacked - (_rank(v) - 2)) < 0 or _uniform(v, axis - (stacked - (_rank(v) - 2)))
            for v in (a, b)
        )
    if isinstance(op, ops.SliceOp | ops.SplitOp):  # any rows of rows alike are alike
        return _uniform(op.operands[0], axis)
    if isinstance(op, ops.ReshapeOp):  # an axis the reshape keeps whole, at the same place
        src, dst = shape_of(op.operands[0].type), shape_of(value.type)
        before = math.prod(dst[:axis])
        return any(
            math.prod(src[:j]) == before and src[j] == dst[axis] and _uniform(op.operands[0], j)
            for j in range(len(src))
        )
    if isinstance(op, ops.GatherOp):
        data, indices = op.operands
        gather_axis, idx_rank = op.get_int("axis") % _rank(data), _rank(indices)
        if axis < gather_axis:
            return _uniform(data, axis)
        if axis < gather_axis + idx_rank:
            return _uniform(indices, axis - gather_axis)
        return _uniform(data, axis - idx_rank + 1)
    return False


def _reshape(op: ops.ReshapeOp, place: Batch, batch: int) -> Batch:
    """Where a reshape puts the batch: an output axis that holds as many elements before
    the batch (row-major) and after it as the input does, the batch whole in that axis.

    With a batch of 1 several axes can qualify, (1, 24) -> (1, 1, 24) among them: the first
    that keeps the batch an axis of its own wins, else the first (the batch folded with the
    rows before it, as (S, N, E) -> (S * N, E))."""
    src, dst = shape_of(op.operands[0].type), shape_of(op.results[0].type)
    before = math.prod(src[: place.axis]) * place.outer
    after = place.inner * math.prod(src[place.axis + 1 :])
    found: list[Batch] = []
    for k, d in enumerate(dst):
        prefix = math.prod(dst[:k])
        if prefix == 0 or before % prefix:
            continue
        outer = before // prefix
        if d % (outer * batch) == 0:
            inner = d // (outer * batch)
            if inner * math.prod(dst[k + 1 :]) == after:
                found.append(Batch(k, inner, outer))
    if not found:
        raise BatchMixing(op.name, "splits the batch axis over several axes")
    return next((p for p in found if not p.folded), found[0])


def _result(op: Operation, places: list[Place], batch: int) -> Place:  # noqa: C901 (a dispatch table)
    name = op.name
    if all(p is None for p in places):
        return None
    first = places[0]
    if isinstance(op, _PER_SAMPLE):  # before the elementwise ops: ge.lrn is a UnaryOp
        if first != Batch(0) or any(p is not None for p in places[1:]):
            raise BatchMixing(name, "needs the batch on axis 0 of its input only")
        return first
    if isinstance(op, _BROADCASTING):
        return _broadcast(op, places)
    if isinstance(op, ops.RopeOp):  # broadcasting, its halves along the last axis
        place = _broadcast(op, places)
        if place is not None and place.axis == _rank(op.results[0]) - 1:
            raise BatchMixing(name, "rotates along the batch axis")
        return place
    if isinstance(op, ops.DropoutOp):
        if op.get_flag("is_training"):
            raise BatchMixing(name, "draws a random mask over the whole padded tensor")
        return first
    if isinstance(op, ops.MatMulOp):
        return _matmul(op, places)
    if isinstance(op, ops.ConcatOp):
        return _concat(op, places)
    if first is None:  # the ops below carry the batch of their first operand only
        raise BatchMixing(name, "takes the batch from an operand other than its first")
    if isinstance(op, ops.AxisOp | ops.LayerNormOp | ops.RMSNormOp):
        rank = _rank(op.operands[0])
        start = op.get_int("axis") % rank
        normalized = {start} if isinstance(op, ops.AxisOp) else set(range(start, rank))
        if first.axis in normalized or any(p is not None for p in places[1:]):
            raise BatchMixing(name, "normalizes across the batch axis")
        return first
    if isinstance(op, ops.ReduceOp | ops.ArgReduceOp):
        rank = _rank(op.operands[0])
        if isinstance(op, ops.ArgReduceOp):
            reduced = {op.get_int("axis") % rank}
        else:
            reduced = {a % rank for a in op.ints("axes")} or set(range(rank))
        if first.axis in reduced:
            raise BatchMixing(name, "reduces over the batch axis")
        if op.get_flag("keepdims"):
            return first
        return _moved(first, first.axis - sum(1 for r in reduced if r < first.axis))
    if isinstance(op, ops.TransposeOp):
        return _moved(first, list(op.ints("perm")).index(first.axis))
    if isinstance(op, ops.ReshapeOp):
        return _reshape(op, first, batch)
    if isinstance(op, ops.SliceOp | ops.SplitOp | ops.PadOp | ops.ResizeOp):
        if shape_of(op.results[0].type)[first.axis] != shape_of(op.operands[0].type)[first.axis]:
            raise BatchMixing(name, "changes the extent of the batch axis")
        if isinstance(op, ops.SliceOp) and any(
            a % _rank(op.operands[0]) == first.axis for a in op.ints("axes")
        ):
            raise BatchMixing(name, "slices along the batch axis")
        if isinstance(op, ops.SplitOp) and op.get_int("axis") % _rank(op.operands[0]) == first.axis:
            raise BatchMixing(name, "splits along the batch axis")  # its sizes count samples
        if isinstance(op, ops.PadOp):
            pads = list(op.ints("pads"))
            if pads[first.axis] or pads[first.axis + _rank(op.operands[0])]:
                raise BatchMixing(name, "pads the batch axis")  # (-1, +1) shifts the samples
        if isinstance(op, ops.ResizeOp) and op.coordinate_transformation_mode.data == (
            "tf_crop_and_resize"
        ):
            raise BatchMixing(name, "crops a region of interest that may span samples")
        return first
    raise BatchMixing(name, "is not known to keep samples independent")


def _concat(op: ops.ConcatOp, places: list[Place]) -> Place:
    """Per sample when every operand carries the batch on the same axis, other than the one
    joined, or (ViT's class token expanded to the batch) has rows alike along it."""
    batched = {p for p in places if p is not None}
    place = batched.pop()
    if batched or place.axis == op.get_int("axis") % _rank(op.results[0]):
        raise BatchMixing(op.name, "joins tensors along or across the batch axis")
    for i, at in shared_operands(op, places, place):
        if not _uniform(op.operands[i], at):
            raise BatchMixing(op.name, "joins a value of its own along the batch axis")
    return place


def _matmul(op: ops.MatMulOp, places: list[Place]) -> Place:
    """numpy's matmul: batch dims broadcast, then A's rows (M) and B's columns (N); a
    one-dimensional operand has no M (N) axis in the result."""
    a, b = places
    a_rank, b_rank = (_rank(v) for v in op.operands)
    if a is not None and a.axis == a_rank - 1:
        raise BatchMixing(op.name, "contracts over the batch axis of its left operand")
    if b is not None and (b_rank == 1 or b.axis == b_rank - 2):
        raise BatchMixing(op.name, "contracts over the batch axis of its right operand")
    stacked = max(a_rank - 2, b_rank - 2, 0)  # the result's batch dims
    if a is not None and a.axis == a_rank - 2 or b is not None and b.axis == b_rank - 1:
        if a is not None and b is not None:
            raise BatchMixing(op.name, "has the batch on both operands' free axes")
        if a is not None:
            return _moved(a, stacked)
        assert b is not None
        return _moved(b, stacked + (1 if a_rank >= 2 else 0))
    mapped = {
        _moved(p, stacked - (rank - 2 - p.axis))
        for p, rank in ((a, a_rank), (b, b_rank))
        if p is not None
    }
    return _one_place(op, places, mapped)


def _gather(op: ops.GatherOp, places: list[Place]) -> Place:
    """Per sample when one operand carries the batch: rows of per-sample data at shared
    indices, or (an embedding lookup of token ids) shared rows at per-sample indices, whose
    padding samples' index 0 reads a real row and is sliced away."""
    data, indices = places
    gather_axis = op.get_int("axis") % _rank(op.operands[0])
    if indices is not None:
        if data is not None:
            raise BatchMixing(op.name, "gathers from batched data with batch-dependent indices")
        return _moved(indices, gather_axis + indices.axis)
    assert data is not None
    if data.axis == gather_axis:
        raise BatchMixing(op.name, "gathers along the batch axis")
    return _data_to_gathered(op, data, gather_axis)


def _data_to_gathered(op: ops.GatherOp | ops.ScatterOp, data: Batch, gather_axis: int) -> Batch:
    """Where data's batch (off the gathered axis) lies in the gathered shape."""
    if data.axis < gather_axis:
        return data
    return _moved(data, data.axis + _rank(op.operands[1]) - 1)


def _scatter(op: ops.ScatterOp, places: list[Place]) -> Place:
    """Per sample when the data carries the batch off the scattered axis, the indices are
    shared and the updates carry the batch where `ge.gather` would put it: each sample's
    rows are written from its own updates. Anything else writes one sample's values into
    another (or into values that do not carry the batch)."""
    data, indices, updates = places
    if data is None or indices is not None:
        raise BatchMixing(op.name, "scatters with batch-dependent indices or updates")
    scatter_axis = op.get_int("axis") % _rank(op.operands[0])
    if data.axis == scatter_axis:
        raise BatchMixing(op.name, "scatters along the batch axis")
    if updates != _data_to_gathered(op, data, scatter_axis):
        raise BatchMixing(op.name, "scatters updates whose batch lies on another axis")
    return data


_RULES = {ops.GatherOp: _gather, ops.ScatterOp: _scatter}


def batch_placements(fn: func.FuncOp, batched_inputs: Sequence[int] | None = None) -> dict:
    """Where every value of `fn` carries the batch (`Batch`, or None where it does not);
    raises BatchMixing where samples mix.

    `batched_inputs` lists the arguments that carry the batch on axis 0 (default: all); the
    batch is the first of them's axis 0 (the size `fn` is specialized to)."""
    args = fn.body.block.args
    chosen = set(range(len(args)) if batched_inputs is None else batched_inputs)
    places: dict[SSAValue, Place] = {
        a: (Batch(0) if i in chosen else None) for i, a in enumerate(args)
    }
    batch = next((shape_of(args[i].type)[0] for i in sorted(chosen)), 1)
    for op in fn.body.block.ops:
        if isinstance(op, func.ReturnOp):
            continue
        if isinstance(op, ConstantOp):
            places[op.results[0]] = None
            continue
        operands = [places.get(v) for v in op.operands]
        if all(p is None for p in operands):
            place = None
        elif type(op) in _RULES:
            place = _RULES[type(op)](op, operands)
        else:
            place = _result(op, operands, batch)
        for r in op.results:
            places[r] = place
    return places


def batch_axes(fn: func.FuncOp, batched_inputs: Sequence[int] | None = None) -> dict:
    """The batch axis of every value of `fn` (None where it carries none); raises
    BatchMixing where samples mix."""
    return {
        v: None if p is None else p.axis for v, p in batch_placements(fn, batched_inputs).items()
    }


def output_batches(fn: func.FuncOp, batched_inputs: Sequence[int] | None = None) -> list[Place]:
    """Where each output carries the batch; raises BatchMixing if padding would change
    results."""
    places = batch_placements(fn, batched_inputs)
    ret = fn.body.block.last_op
    assert isinstance(ret, func.ReturnOp)
    return [places.get(v) for v in ret.operands]


def check_batch_independent(fn: func.FuncOp) -> list[Axis]:
    """The batch axis of each output; raises BatchMixing if padding would change results."""
    return [None if p is None else p.axis for p in output_batches(fn)]
