"""`sink-conv1d-reshapes`: move a Conv1d's reshape back to 3-D below the elementwise ops
that follow it, so that they fuse into the conv as its epilogue.

ONNX's Conv over (N, C, L) is imported as a 2-D conv on (N, C, 1, L) between two reshapes
(`convert_nn`): `relu(reshape(conv(reshape(x))))`. The conv fusions match an activation,
a residual add or a bias on the conv's own result, so with the reshape in between every
Conv1d model (wav2vec2, Whisper, TCNs) ran its activations and skip connections as
elementwise kernels of their own: Whisper's GELU cost more cycles than its conv. The reshape
only drops the unit height, so an elementwise op commutes with it: `f(reshape(y))` is
`reshape(f(y))`, and a second operand z of the 3-D shape (or one that broadcasts to it) is
seen in 4-D with the unit axis put back (a reshape that moves no data; one of rank 0 or 1
broadcasts alike in both shapes). Two operands that are both sunk reshapes meet in 4-D
(WaveNet's gate, tanh(a) * sigmoid(b)).

Only reshapes of a conv's result (directly, or through ops this pass already sank them
below) move, and only through float elementwise ops, so transformer reshapes and the
patterns that recognize them are left alone. Pre: `ge` level, after the recognizers
(`recognize-gelu` matches on 3-D), before the conv fusions. Post: no float elementwise op
takes such a reshape as an operand.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
)
from xdsl.rewriter import InsertPoint

from gedialects.ge import ops
from gedialects.ge.ops.elementwise import BinaryOp, CompareOp, LogicalOp, UnaryOp
from gedialects.ge.types import element_of, is_float, shape_of

ROOT_DEPTH = 16
"""Elementwise ops a conv-rooted value may lie below (the chain this pass builds)."""


def _elementwise(op: Operation) -> bool:
    """A float elementwise op: every operand broadcasts into its result's shape."""
    if isinstance(op, ops.LRNOp) or not isinstance(op, UnaryOp | BinaryOp):
        return False
    if isinstance(op, CompareOp | LogicalOp):
        return False
    return is_float(element_of(op.results[0].type))


def _conv_rooted(value: SSAValue, depth: int = ROOT_DEPTH) -> bool:
    """Whether `value` is a conv's result, or an elementwise op's whose operand is."""
    owner = value.owner
    if isinstance(owner, ops.Conv2DOp):
        return True
    if depth == 0 or not isinstance(owner, Operation) or not _elementwise(owner):
        return False
    return any(_conv_rooted(v, depth - 1) for v in owner.operands)


def lifted(value: SSAValue) -> SSAValue | None:
    """The 4-D (N, C, 1, L) value a Conv1d's reshape made `value` from, or None."""
    op = value.owner
    if not isinstance(op, ops.ReshapeOp):
        return None
    source = op.input
    before, after = shape_of(source.type), shape_of(value.type)
    if len(before) != 4 or before[2] != 1 or after != (*before[:2], before[3]):
        return None
    return source if _conv_rooted(source) else None


def unit_height(value: SSAValue, at: Operation, rewriter: PatternRewriter) -> SSAValue:
    """`value`, which broadcasts to an (N, C, L) shape, seen (before `at`) as broadcasting
    to (N, C, 1, L):
    its unit axis put back before its last (rank 0 and 1 broadcast alike in both)."""
    shape = shape_of(value.type)
    if len(shape) < 2:
        return value
    view = ops.ReshapeOp(value, shape=[*shape[:-1], 1, shape[-1]])
    rewriter.insert(view, InsertPoint.before(at))
    return view.output


class SinkConv1dReshape(RewritePattern):
    """f(reshape(y), z) -> reshape(f(y, unit_height(z))) for a Conv1d's reshape."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if not _elementwise(op):
            return
        sources = [lifted(v) for v in op.operands]
        if all(s is None for s in sources):
            return
        operands = [
            s if s is not None else unit_height(v, op, rewriter)
            for v, s in zip(op.operands, sources, strict=True)
        ]
        sunk = type(op)(*operands, **dict(op.properties))
        back = ops.ReshapeOp(sunk.results[0], shape=list(shape_of(op.results[0].type)))
        rewriter.replace(op, [sunk, back], [back.output])


@dataclass(frozen=True)
class SinkConv1dReshapes(ModulePass):
    """Move Conv1d's reshapes below the elementwise ops after them (they fuse as epilogues)."""

    name = "sink-conv1d-reshapes"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(
            GreedyRewritePatternApplier([SinkConv1dReshape()]), apply_recursively=True
        ).rewrite_module(op)
