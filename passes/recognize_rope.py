"""`recognize-rope`: rebuild `ge.rope` from the rotate-half form exporters write.

HF transformers' `apply_rotary_pos_emb` (LLaMA, Mistral, Qwen, Phi, GPT-NeoX, Gemma) computes

    rotate_half(x) = concat(-x[..., D/2:], x[..., :D/2], axis=-1)
    y = x * cos + rotate_half(x) * sin

and `torch.onnx.export` writes it as two Slices, a Neg, a Concat, two Muls and an Add: five
kernels, each reading and writing the query or key. This pass turns the chain into one
`ge.rope(x, cos, sin)`, one kernel (`lowering.lower_rope`). It fires when the slices cut
the last axis of the same x at its middle (step 1), cos and sin broadcast to x without
growing it with a last axis of D or 1, and every intermediate value is used by the chain
alone (x itself may have other users). Either operand order of each Mul and of the Add. At
position 0 cos is all ones and `simplify` has folded x * cos into x: x + rotate_half(x) *
sin is taken too, with a cos of ones. Partial rotary (Phi, GPT-NeoX: the first R of D
columns rotate) is concat(rope(x[..., :R]), x[..., R:]): one `ge.rope` with rotary_dim R.

Pre: the module verifies. Post: no chain above with those properties remains.
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
from gedialects.ge.ops.movement import slice_extent
from gedialects.ge.types import element_of, shape_of, to_numpy_dtype
from passes.matching import erase_dead, only_user


def last_axis_cut(value: SSAValue) -> tuple[SSAValue, int, int] | None:
    """(x, start, stop) if `value` is x[..., start:stop], a slice of the last axis by 1."""
    op = value.owner
    if not isinstance(op, ops.SliceOp) or len(op.ints("axes")) != 1:
        return None
    x = op.input
    shape = shape_of(x.type)
    if not shape or op.ints("axes")[0] % len(shape) != len(shape) - 1 or op.ints("steps")[0] != 1:
        return None
    start, stop, _ = slice_extent(op.ints("starts")[0], op.ints("ends")[0], 1, shape[-1])
    return x, start, stop


def half_of(value: SSAValue) -> tuple[SSAValue, int] | None:
    """(x, which) if `value` is a private slice x[..., :D/2] (0) or x[..., D/2:] (1)."""
    cut = last_axis_cut(value)
    if cut is None:
        return None
    x, start, stop = cut
    d = shape_of(x.type)[-1]
    if d % 2 or (start, stop) not in ((0, d // 2), (d // 2, d)):
        return None
    return x, int(start != 0)


def rotated(value: SSAValue) -> tuple[SSAValue, list[Operation]] | None:
    """(x, its ops) if `value` is a private rotate_half(x): concat(-x2, x1) on the last axis."""
    concat = value.owner
    if not isinstance(concat, ops.ConcatOp) or only_user(value) is None:
        return None
    if len(concat.inputs) != 2:
        return None
    negated, first = concat.inputs
    rank = len(shape_of(value.type))
    neg = negated.owner
    if concat.get_int("axis") % rank != rank - 1 or not isinstance(neg, ops.NegOp):
        return None
    second, low = half_of(neg.input), half_of(first)
    if second is None or low is None or second[0] is not low[0] or (second[1], low[1]) != (1, 0):
        return None
    pieces = [negated, neg.input, first]
    if any(only_user(v) is None for v in pieces):
        return None
    return low[0], [concat, neg, neg.input.owner, first.owner]


def table_fits(table: SSAValue, x: SSAValue) -> bool:
    """Whether cos or sin broadcasts to x without growing it, its last axis D or 1."""
    shape, other = shape_of(x.type), shape_of(table.type)
    if len(other) > len(shape) or table.type.element_type != x.type.element_type:
        return False
    padded = (1,) * (len(shape) - len(other)) + tuple(other)
    return all(t in (1, s) for t, s in zip(padded, shape)) and padded[-1] in (1, shape[-1])


@dataclass
class RopeMatch:
    x: SSAValue
    cos: SSAValue | None
    """None: all ones (the Mul by cos was folded away)."""
    sin: SSAValue
    chain: list[Operation]
    """The ops replaced, the add first."""


def _split_mul(value: SSAValue) -> tuple[SSAValue, SSAValue] | None:
    mul = value.owner
    if not isinstance(mul, ops.MulOp) or only_user(value) is None:
        return None
    if mul.lhs.type != mul.output.type and mul.rhs.type != mul.output.type:
        return None
    return mul.lhs, mul.rhs


def match_rope(add: ops.AddOp) -> RopeMatch | None:
    for plain, turned in ((add.lhs, add.rhs), (add.rhs, add.lhs)):
        outer = _split_mul(turned)
        if outer is None:
            continue
        for rot, sin in (outer, outer[::-1]):
            found = rotated(rot)
            if found is None:
                continue
            x, rot_ops = found
            if x.type != add.output.type or to_numpy_dtype(element_of(x.type)).kind != "f":
                continue
            if not table_fits(sin, x):
                continue
            if plain is x:  # cos all ones, x * cos folded by `simplify` (position 0)
                return RopeMatch(x, None, sin, [add, turned.owner, *rot_ops])
            straight = _split_mul(plain)
            for kept, cos in (straight, straight[::-1]) if straight else ():
                if kept is x and table_fits(cos, x):
                    return RopeMatch(x, cos, sin, [add, turned.owner, plain.owner, *rot_ops])
    return None


class RecognizeRope(RewritePattern):
    """x * cos + concat(-x[..., h:], x[..., :h]) * sin -> ge.rope(x, cos, sin)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, add: ops.AddOp, rewriter: PatternRewriter, /) -> None:
        found = match_rope(add)
        if found is None:
            return
        new_ops: list[Operation] = []
        cos = found.cos
        if cos is None:
            ones = ConstantOp(np.ones((1,), to_numpy_dtype(element_of(found.x.type))))
            ones.output.name_hint = "cos"
            new_ops, cos = [ones], ones.output
        rewriter.replace(add, [*new_ops, ops.RopeOp(found.x, cos, found.sin)])
        erase_dead(rewriter, found.chain[1:])


class PartialRope(RewritePattern):
    """concat(rope(x[..., :R], cos, sin), x[..., R:]) -> ge.rope(x, cos, sin) {rotary_dim = R}:
    Phi's and GPT-NeoX's partial rotary (rotary_pct), whose export slices the rotated part
    off, rotates it and concatenates the rest back: three copies fewer."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, concat: ops.ConcatOp, rewriter: PatternRewriter, /) -> None:
        rank = len(shape_of(concat.output.type))
        if len(concat.inputs) != 2 or concat.get_int("axis") % rank != rank - 1:
            return
        head, tail = concat.inputs
        rope = head.owner
        if not isinstance(rope, ops.RopeOp) or rope.rotary_dim is not None:
            return
        rotated_part, rest = last_axis_cut(rope.input), last_axis_cut(tail)
        if rotated_part is None or rest is None or rotated_part[0] is not rest[0]:
            return
        x, (_, start, size), width = rest[0], rotated_part, shape_of(rest[0].type)[-1]
        if start != 0 or rest[1:] != (size, width) or x.type != concat.output.type:
            return
        if any(only_user(v) is None for v in (head, tail, rope.input)):
            return
        dead = [rope, rope.input.owner, tail.owner]
        rewriter.replace(concat, ops.RopeOp(x, rope.cos, rope.sin, rotary_dim=size))
        erase_dead(rewriter, dead)


@dataclass(frozen=True)
class RecognizeRopePass(ModulePass):
    """Turn the rotate-half rotary embedding into ge.rope."""

    name = "recognize-rope"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(
            GreedyRewritePatternApplier([RecognizeRope(), PartialRope()])
        ).rewrite_module(op)
