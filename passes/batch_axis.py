"""Batch-axis analysis: does padding the batch change any real sample's result?

Shape gears run a batch of n samples on a plan compiled for a larger batch g, padding the
inputs with g - n zero samples and slicing the outputs back. That is exact only if no op
mixes samples: each value must carry the batch on one axis, ops must map it through, and
no op may reduce, normalize, slice, reshape or contract across it. This analysis follows
the batch axis from the inputs to the outputs and either returns the axis of every value,
or the first op that mixes samples, with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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


Axis = int | None

_PER_SAMPLE = (
    ops.Conv2DOp,
    ops.ConvTranspose2DOp,
    ops.BatchNormOp,
    ops.InstanceNormOp,
    ops.LRNOp,
    ops.Pool2DOp,
    ops.GlobalPoolOp,
)
"""Ops on (N, C, ...) tensors whose samples are independent along axis 0."""


def _broadcast_axis(op: Operation, axes: Sequence[Axis], ranks: Sequence[int]) -> Axis:
    out_rank = len(shape_of(op.results[0].type))
    mapped = {out_rank - (rank - axis) for axis, rank in zip(axes, ranks) if axis is not None}
    if len(mapped) > 1:
        raise BatchMixing(op.name, "combines operands whose batch lies on different axes")
    return mapped.pop() if mapped else None


def _reshape_axis(op: Operation, axis: int) -> int:
    src, dst = shape_of(op.operands[0].type), shape_of(op.results[0].type)
    before = 1
    for d in src[:axis]:
        before *= d
    running = 1
    for k, d in enumerate(dst):
        if running == before and d == src[axis]:
            return k
        running *= d
    raise BatchMixing(op.name, "folds the batch dimension into other dimensions")


def _result_axis(op: Operation, axes: list[Axis]) -> Axis:  # noqa: C901 (a dispatch table)
    name = op.name
    if all(a is None for a in axes):
        return None
    if isinstance(op, ops.UnaryOp | ops.CastOp | ops.BinaryOp | ops.WhereOp | ops.ExpandOp):
        ranks = [len(shape_of(v.type)) for v in op.operands]
        return _broadcast_axis(op, axes, ranks)
    if isinstance(op, ops.DropoutOp):
        if op.get_flag("is_training"):
            raise BatchMixing(name, "draws a random mask over the whole padded tensor")
        return axes[0]
    if isinstance(op, _PER_SAMPLE):
        if axes[0] != 0 or any(a is not None for a in axes[1:]):
            raise BatchMixing(name, "needs the batch on axis 0 of its input only")
        return 0
    if isinstance(op, ops.MatMulOp):
        return _matmul_axis(op, axes)
    if isinstance(op, ops.AxisOp | ops.LayerNormOp):
        axis = axes[0]
        rank = len(shape_of(op.operands[0].type))
        first = op.get_int("axis") % rank
        normalized = {first} if isinstance(op, ops.AxisOp) else set(range(first, rank))
        if axis in normalized or any(a is not None for a in axes[1:]):
            raise BatchMixing(name, "normalizes across the batch axis")
        return axis
    if isinstance(op, ops.ReduceOp | ops.ArgReduceOp):
        rank = len(shape_of(op.operands[0].type))
        if isinstance(op, ops.ArgReduceOp):
            reduced = {op.get_int("axis") % rank}
        else:
            reduced = {a % rank for a in op.ints("axes")} or set(range(rank))
        if axes[0] in reduced:
            raise BatchMixing(name, "reduces over the batch axis")
        keep = op.get_flag("keepdims")
        return axes[0] if keep else axes[0] - sum(1 for r in reduced if r < axes[0])
    if isinstance(op, ops.TransposeOp):
        return list(op.ints("perm")).index(axes[0])
    if isinstance(op, ops.ReshapeOp):
        return _reshape_axis(op, axes[0])
    if isinstance(op, ops.ConcatOp):
        if len(set(axes)) != 1 or axes[0] == op.get_int("axis") % len(shape_of(op.results[0].type)):
            raise BatchMixing(name, "joins tensors along or across the batch axis")
        return axes[0]
    if isinstance(op, ops.SliceOp | ops.SplitOp | ops.PadOp | ops.ResizeOp):
        if shape_of(op.results[0].type)[axes[0]] != shape_of(op.operands[0].type)[axes[0]]:
            raise BatchMixing(name, "changes the extent of the batch axis")
        if isinstance(op, ops.SliceOp) and any(
            a % len(shape_of(op.operands[0].type)) == axes[0] for a in op.ints("axes")
        ):
            raise BatchMixing(name, "slices along the batch axis")
        return axes[0]
    if isinstance(op, ops.GatherOp):
        return _gather_axis(op, axes)
    raise BatchMixing(name, "is not known to keep samples independent")


def _matmul_axis(op: ops.MatMulOp, axes: list[Axis]) -> Axis:
    a_rank, b_rank = (len(shape_of(v.type)) for v in op.operands)
    if axes[0] is not None and axes[0] == a_rank - 1:
        raise BatchMixing(op.name, "contracts over the batch axis of its left operand")
    if axes[1] is not None and (b_rank == 1 or axes[1] == b_rank - 2):
        raise BatchMixing(op.name, "contracts over the batch axis of its right operand")
    if axes[1] is not None and axes[1] == b_rank - 1:
        out_rank = len(shape_of(op.results[0].type))
        if axes[0] is not None:
            raise BatchMixing(op.name, "has the batch on both operands' free axes")
        return out_rank - 1
    return _broadcast_axis(op, axes, [a_rank, b_rank])


def _gather_axis(op: ops.GatherOp, axes: list[Axis]) -> Axis:
    data_rank = len(shape_of(op.operands[0].type))
    gather_axis = op.get_int("axis") % data_rank
    if axes[1] is not None:
        raise BatchMixing(op.name, "gathers with batch-dependent indices")
    if axes[0] == gather_axis:
        raise BatchMixing(op.name, "gathers along the batch axis")
    idx_rank = len(shape_of(op.operands[1].type))
    return axes[0] if axes[0] < gather_axis else axes[0] + idx_rank - 1


def batch_axes(
    fn: func.FuncOp, batched_inputs: Sequence[int] | None = None
) -> dict[SSAValue, Axis]:
    """The batch axis of every value of `fn`; raises BatchMixing where samples mix.

    `batched_inputs` lists the arguments that carry the batch on axis 0 (default: all).
    """
    args = fn.body.block.args
    chosen = set(range(len(args)) if batched_inputs is None else batched_inputs)
    axes: dict[SSAValue, Axis] = {a: (0 if i in chosen else None) for i, a in enumerate(args)}
    for op in fn.body.block.ops:
        if isinstance(op, func.ReturnOp):
            continue
        if isinstance(op, ConstantOp):
            axes[op.results[0]] = None
            continue
        operand_axes = [axes.get(v) for v in op.operands]
        axis = _result_axis(op, operand_axes)
        for r in op.results:
            axes[r] = axis
    return axes


def check_batch_independent(fn: func.FuncOp) -> list[Axis]:
    """The batch axis of each output; raises BatchMixing if padding would change results."""
    axes = batch_axes(fn)
    ret = fn.body.block.last_op
    assert isinstance(ret, func.ReturnOp)
    return [axes.get(v) for v in ret.operands]
