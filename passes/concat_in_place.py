"""`copy-concat-operands`: a concat whose other operands their producers can write in place
copies the rest by kernels of their own, so it moves nothing itself (GE's no-task concat).

A concat of contiguous pieces (every axis before the concat axis is 1) needs no kernel when
each operand's producer writes into the concat's result (`memory_rules.placed_offsets`).
One operand that cannot be placed (an argument's, a constant's or a view's bytes are
elsewhere, a value a view, another concat or the return reads too, one result of a split)
keeps the whole concat a copy of every operand. This pass gives each such operand a copy
kernel of its own (a `kernel.elementwise` yielding its input) where the placeable
operands hold at least as many bytes (`worth_copying`): only those bytes move, and the
concat is placed.
GoogLeNet's inception block after `combine-parallel-convs` is the case: its 1x1 branch is
a piece of the combined conv's split, its other three branches are convs.
Pre: `convert-ge-to-kernel`. Post: every contiguous concat worth it is placed.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from gedialects.ge.types import element_of, tensor
from gedialects.kernel.elementwise import ElementwiseOp, YieldOp
from gedialects.kernel.mirrored import ConcatKernelOp
from passes.memory.memory_rules import unplaced_operands
from passes.memory.sizes import nbytes


def copy_of(value: SSAValue) -> ElementwiseOp:
    """A kernel writing a copy of `value` (an elementwise body yielding its input); its
    provenance is the concat's, whose bytes it moves."""
    block = Block(arg_types=[tensor([], element_of(value.type))])
    block.add_op(YieldOp(block.args[0]))
    return ElementwiseOp([value], value.type, Region(block), ["ge.concat"])


def worth_copying(concat: Operation, unplaced: list[int]) -> bool:
    """Whether the operands that can be placed hold at least as many bytes as those to copy:
    the copies save the placed operands' copy, and start the concat's buffer at its first
    producer, earlier than the concat would (DenseNet's concat of all earlier features
    with one new layer's: a copy of the large part for a small saving, and +5% peak)."""
    sizes = [nbytes(v.type) for v in concat.operands]
    copied = sum(sizes[i] for i in set(unplaced))
    return copied <= sum(sizes) - copied


@dataclass(frozen=True)
class CopyConcatOperands(ModulePass):
    """Copy the operands a contiguous concat cannot place, so that it is placed."""

    name = "copy-concat-operands"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        rewriter = Rewriter()
        for concat in [o for o in op.walk() if isinstance(o, ConcatKernelOp)]:
            unplaced = unplaced_operands(concat)
            if not unplaced or not worth_copying(concat, unplaced):
                continue
            for index in unplaced:
                copy = copy_of(concat.operands[index])
                rewriter.insert_op(copy, InsertPoint.before(concat))
                concat.operands[index] = copy.output
