"""`simplify`: algebraic identities and no-op removal on `ge` ops.

Each rule is one `RewritePattern` and is exact: the rewritten program computes the same
bits as the original, with one documented exception, the sign of a zero sum (`x + 0`
becomes `x`, so `-0.0 + 0.0` gives `-0.0` where IEEE gives `0.0`; XLA and ONNX Runtime
make the same choice). In particular:
- an identity operand must not broadcast the result to a larger shape (`x + zeros(2, 3)`
  with `x: tensor<3xf32>` is an expand, not a no-op) and must equal the identity in
  every element;
- nothing is folded that changes NaN or infinity (`x * 0`, `x - x`, `x / x` stay);
- casts compose only through a cast that loses nothing (f16 -> f32 -> i32 is f16 -> i32,
  f32 -> f16 -> f32 is not the identity);
- dropout is removed only in inference mode or with ratio 0.

A transpose feeding a matmul stays in this dialect (`ge.matmul` has no transpose flags):
a transpose of a constant weight is folded into the weight by `fold-constants`, and the
remaining ones become a matmul operand property at the kernel level.

Pre: the module verifies. Post: none of the patterns below matches.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from gedialects.ge import ops
from gedialects.ge.constant import ConstantOp
from gedialects.ge.types import element_of, shape_of, to_numpy_dtype
from passes.matching import defining, is_splat, moves_only_unit_axes, only_user


def forward(op: Operation, value: SSAValue, rewriter: PatternRewriter) -> None:
    """Replace `op`'s single result by `value`, if they have the same type."""
    if op.results[0].type == value.type:
        rewriter.replace(op, [], [value])


# Identity element of each binary op, and whether it may stand on the left too.
_IDENTITY: dict[type, tuple[float, bool]] = {
    ops.AddOp: (0.0, True),
    ops.SubOp: (0.0, False),
    ops.MulOp: (1.0, True),
    ops.DivOp: (1.0, False),
    ops.PowOp: (1.0, False),
}


class RemoveBinaryIdentity(RewritePattern):
    """x + 0, 0 + x, x - 0, x * 1, 1 * x, x / 1, x ** 1 -> x when the shape is kept."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if type(op) not in _IDENTITY:
            return
        identity, commutes = _IDENTITY[type(op)]
        lhs, rhs = op.operands
        if is_splat(rhs, identity):
            forward(op, lhs, rewriter)
        elif commutes and is_splat(lhs, identity):
            forward(op, rhs, rewriter)


class RemoveDoubleNeg(RewritePattern):
    """-(-x) -> x (exact for floats, and for integers in two's complement)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ops.NegOp, rewriter: PatternRewriter, /) -> None:
        if inner := defining(op.input, ops.NegOp):
            forward(op, inner.operands[0], rewriter)


class ComposeTransposes(RewritePattern):
    """transpose(transpose(x, p), q) -> transpose(x, p[q]); an identity perm -> x."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ops.TransposeOp, rewriter: PatternRewriter, /) -> None:
        perm = op.ints("perm")
        if perm == tuple(range(len(perm))):
            forward(op, op.input, rewriter)
            return
        inner = defining(op.input, ops.TransposeOp)
        if inner is None:
            return
        inner_perm = inner.ints("perm")
        composed = [inner_perm[p] for p in perm]
        if composed == list(range(len(composed))):
            forward(op, inner.input, rewriter)
        else:
            rewriter.replace(op, ops.TransposeOp(inner.input, perm=composed))


class TransposeOfUnitAxes(RewritePattern):
    """A transpose that keeps the order of every axis longer than one moves only unit axes:
    the same bytes in the same order, so it is a reshape (a view, where the transpose was a
    copy kernel). torch's `nn.MultiheadAttention` (not batch-first) swaps a batch of one
    with the sequence around every attention: (1, L, E) <-> (L, 1, E)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ops.TransposeOp, rewriter: PatternRewriter, /) -> None:
        perm, shape = op.ints("perm"), shape_of(op.input.type)
        if list(perm) == sorted(perm):
            return  # the identity: ComposeTransposes forwards it
        if not moves_only_unit_axes(shape, perm):
            return
        rewriter.replace(op, ops.ReshapeOp(op.input, shape=list(shape_of(op.output.type))))


class ComposeReshapes(RewritePattern):
    """reshape(reshape(x)) -> reshape(x); a reshape to the input's own shape -> x."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ops.ReshapeOp, rewriter: PatternRewriter, /) -> None:
        if op.input.type == op.output.type:
            forward(op, op.input, rewriter)
        elif inner := defining(op.input, ops.ReshapeOp):
            rewriter.replace(op, ops.ReshapeOp(inner.input, shape=op.ints("shape")))


def _lossless(source: np.dtype, target: np.dtype) -> bool:
    return bool(np.can_cast(source, target, casting="safe"))


class SimplifyCast(RewritePattern):
    """cast(x) to x's own type -> x; cast(cast(x, A), B) -> cast(x, B) if x -> A is exact."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ops.CastOp, rewriter: PatternRewriter, /) -> None:
        if op.input.type == op.output.type:
            forward(op, op.input, rewriter)
            return
        inner = defining(op.input, ops.CastOp)
        if inner is None:
            return
        source = to_numpy_dtype(element_of(inner.input.type))
        middle = to_numpy_dtype(element_of(inner.output.type))
        if _lossless(source, middle):
            rewriter.replace(op, ops.CastOp(inner.input, to=op.to))


class RemoveNoOpDataMovement(RewritePattern):
    """A slice of everything, an all-zero pad, an expand to the same shape -> x."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if isinstance(op, ops.SliceOp) and _takes_everything(op):
            forward(op, op.input, rewriter)
        elif isinstance(op, ops.PadOp) and not any(op.ints("pads")):
            forward(op, op.input, rewriter)
        elif isinstance(op, ops.ExpandOp | ops.ConcatOp | ops.SplitOp) and _single_piece(op):
            forward(op, op.operands[0], rewriter)


class DropEmptyConcatPieces(RewritePattern):
    """concat(a, empty, b) -> concat(a, b), concat(empty, b) -> b: a piece with no elements
    adds nothing (a decoder's first step concatenates an empty past key/value cache to the
    new one). A concat of nothing but empty pieces stays (its result is empty too)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ops.ConcatOp, rewriter: PatternRewriter, /) -> None:
        pieces = [v for v in op.inputs if 0 not in shape_of(v.type)]
        if not pieces or len(pieces) == len(op.inputs):
            return
        if len(pieces) == 1:
            forward(op, pieces[0], rewriter)
        else:
            rewriter.replace(op, ops.ConcatOp(*pieces, axis=op.get_int("axis")))


class DropEmptySplitPieces(RewritePattern):
    """split(x) -> (a, empty, b) becomes split(x) -> (a, b) and an empty constant: a piece
    with no elements is known without running anything (RotaryEmbedding rotating every
    channel splits off an empty pass-through part). A split of one piece left is x."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ops.SplitOp, rewriter: PatternRewriter, /) -> None:
        kept = [r for r in op.outputs if 0 not in shape_of(r.type)]
        if not kept or len(kept) == len(op.outputs):
            return
        sizes = [s for s, r in zip(op.ints("sizes"), op.outputs) if r in kept]
        split = ops.SplitOp(op.input, axis=op.get_int("axis"), sizes=sizes)
        new_ops: list[Operation] = [split]
        pieces = iter(split.outputs)
        values = []
        for result in op.outputs:
            if result in kept:
                values.append(next(pieces))
                continue
            shape, dtype = shape_of(result.type), to_numpy_dtype(element_of(result.type))
            new_ops.append(empty := ConstantOp(np.empty(shape, dtype)))
            values.append(empty.output)
        rewriter.replace(op, new_ops, values)


class GatherOfOneConstantIndex(RewritePattern):
    """gather(x, c, axis) with c one constant index -> slice(x, [c, c + 1) on axis), reshaped
    to the gather's shape: torch's `nn.MultiheadAttention` export picks q, k and v out of the
    packed projection so (`unflatten`, then `select` 0, 1, 2). A slice of leading rows is a
    view (`memory_rules`), where the gather was a kernel copying each of them. An index out
    of range stays a gather (whose kernel refuses it at run time, as onnxruntime does)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ops.GatherOp, rewriter: PatternRewriter, /) -> None:
        index = op.indices.owner
        if not isinstance(index, ConstantOp) or index.to_numpy().size != 1:
            return
        shape = shape_of(op.data.type)
        axis = op.get_int("axis") % len(shape)
        i = int(index.to_numpy().reshape(()))
        if not -shape[axis] <= i < shape[axis]:
            return
        i %= shape[axis]
        piece = ops.SliceOp(op.data, starts=[i], ends=[i + 1], axes=[axis], steps=[1])
        new: list[Operation] = [piece]
        if piece.output.type != op.output.type:
            new.append(ops.ReshapeOp(piece.output, shape=list(shape_of(op.output.type))))
        rewriter.replace(op, new, [new[-1].results[0]])


def _takes_everything(op: ops.SliceOp) -> bool:
    shape = shape_of(op.input.type)
    specs = zip(op.ints("starts"), op.ints("ends"), op.ints("axes"), op.ints("steps"))
    for start, end, axis, step in specs:
        dim = shape[axis % len(shape)]
        if range(dim)[slice(start, end, step)] != range(dim):
            return False
    return True


def _single_piece(op: Operation) -> bool:
    """One operand and one result (`forward` then checks that the type is kept)."""
    return len(op.operands) == 1 and len(op.results) == 1


class SoftmaxOfRows(RewritePattern):
    """reshape(softmax(reshape(x, [rows, L]), last), shape(x)) -> softmax(x, last) when x's
    last dim is L: the flatten that onnx's version converter writes around an opset < 13
    Softmax (or LogSoftmax) over the last axis, which would hide an attention's softmax."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ops.ReshapeOp, rewriter: PatternRewriter, /) -> None:
        soft = op.input.owner
        if not isinstance(soft, ops.SoftmaxOp | ops.LogSoftmaxOp) or only_user(soft.output) != op:
            return
        inner = defining(soft.input, ops.ReshapeOp)
        if inner is None or inner.input.type != op.output.type:
            return
        rows, shape = shape_of(soft.input.type), shape_of(inner.input.type)
        last = soft.get_int("axis") % len(rows)
        if shape and last == len(rows) - 1 and rows[-1] == shape[-1]:
            rewriter.replace(op, type(soft)(inner.input, axis=-1))


class RemoveInferenceDropout(RewritePattern):
    """dropout(x) in inference mode, or with ratio 0 -> x."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ops.DropoutOp, rewriter: PatternRewriter, /) -> None:
        if not op.get_flag("is_training") or op.get_float("ratio") == 0.0:
            forward(op, op.input, rewriter)


SIMPLIFY_PATTERNS: tuple[type[RewritePattern], ...] = (
    RemoveBinaryIdentity,
    RemoveDoubleNeg,
    ComposeTransposes,
    TransposeOfUnitAxes,
    ComposeReshapes,
    SimplifyCast,
    RemoveNoOpDataMovement,
    GatherOfOneConstantIndex,
    DropEmptyConcatPieces,
    DropEmptySplitPieces,
    SoftmaxOfRows,
    RemoveInferenceDropout,
)


@dataclass(frozen=True)
class Simplify(ModulePass):
    """Remove algebraic identities and no-op ops (x*1, x+0, double transpose, no-op cast...)."""

    name = "simplify"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        patterns = [pattern() for pattern in SIMPLIFY_PATTERNS]
        PatternRewriteWalker(GreedyRewritePatternApplier(patterns)).rewrite_module(op)
