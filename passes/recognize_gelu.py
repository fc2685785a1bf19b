"""`recognize-gelu`: rebuild `ge.gelu` from its erf and tanh forms.

`torch.onnx.export` of `nn.GELU` before opset 20 writes it out as
    erf form:   x * (1 + erf(x / sqrt(2))) * 0.5
    tanh form:  0.5 * (x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x * x * x))))
and hand-written models spell the same math with other groupings: `x * 0.7071...`
for the division, `pow(x, 3)` for the cube, `(0.5 * x) * (...)` for the product. This
pass matches every grouping of the product x * (1 + f) * 0.5 and of the commutative
operands, and replaces the chain by `ge.gelu` (`approximate` "none" or "tanh").

It fires only when every intermediate value is used by the chain alone and keeps x's
type (a constant that broadcasts the result to a larger shape is not a GELU), and when
the constants equal sqrt(2), 0.5, 1, sqrt(2 / pi) and 0.044715 to within a few units
in the last place of x's element type.

Pre: the module verifies. Post: no such chain remains.
"""

from __future__ import annotations

import math
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
)

from gedialects.ge import ops
from gedialects.ge.types import element_of, to_numpy_dtype
from passes.matching import defining, erase_dead, is_splat, only_user, other_operand


def _near(value: SSAValue, target: float, like: SSAValue) -> bool:
    """`value` is a constant splat equal to `target` in `like`'s float type (4 ulps)."""
    rtol = 4 * float(np.finfo(to_numpy_dtype(element_of(like.type))).eps)
    return is_splat(value, target, rtol=rtol)


def _mul_by(op: Operation | None, constant: float, x: SSAValue) -> bool:
    """Whether `op` is x * constant or constant * x."""
    return isinstance(op, ops.MulOp) and any(
        a is x and _near(b, constant, x) for a, b in ((op.lhs, op.rhs), (op.rhs, op.lhs))
    )


def _private(value: SSAValue, user: Operation, x: SSAValue) -> bool:
    """`value` is used by `user` alone and has x's type."""
    return only_user(value) is user and value.type == x.type


def match_erf_argument(erf: ops.ErfOp) -> tuple[SSAValue, list[Operation]] | None:
    """(x, [scaling op]) if erf's input is x / sqrt(2) or x * (1 / sqrt(2))."""
    scaled = erf.input.owner
    if not isinstance(scaled, ops.DivOp | ops.MulOp) or not _private(erf.input, erf, erf.input):
        return None
    if isinstance(scaled, ops.DivOp):
        x = scaled.lhs
        ok = _near(scaled.rhs, math.sqrt(2.0), x)
    else:
        x = scaled.lhs if _near(scaled.rhs, math.sqrt(0.5), scaled.lhs) else scaled.rhs
        ok = _mul_by(scaled, math.sqrt(0.5), x)
    return (x, [scaled]) if ok and x.type == erf.input.type else None


def _cube_of(value: SSAValue, user: Operation) -> tuple[SSAValue, list[Operation]] | None:
    """(x, ops) if `value` is pow(x, 3), x * (x * x) or (x * x) * x, used by `user` alone."""
    op = value.owner
    if isinstance(op, ops.PowOp) and _near(op.rhs, 3.0, op.lhs):
        return (op.lhs, [op]) if _private(value, user, op.lhs) else None
    if not isinstance(op, ops.MulOp):
        return None
    for x, square in ((op.lhs, op.rhs), (op.rhs, op.lhs)):
        sq = square.owner
        if isinstance(sq, ops.MulOp) and sq.lhs is x and sq.rhs is x:
            if _private(value, user, x) and _private(square, op, x):
                return x, [op, sq]
    return None


def match_tanh_argument(tanh: ops.TanhOp) -> tuple[SSAValue, list[Operation]] | None:
    """(x, ops) if tanh's input is sqrt(2 / pi) * (x + 0.044715 * x^3), any operand order."""
    scaled = tanh.input.owner
    if not isinstance(scaled, ops.MulOp) or only_user(tanh.input) is not tanh:
        return None
    for inner, beta in ((scaled.lhs, scaled.rhs), (scaled.rhs, scaled.lhs)):
        add = inner.owner
        if not isinstance(add, ops.AddOp) or not _near(beta, math.sqrt(2 / math.pi), inner):
            continue
        for x, term in ((add.lhs, add.rhs), (add.rhs, add.lhs)):
            kappa_mul = term.owner
            if not isinstance(kappa_mul, ops.MulOp):
                continue
            for cube, kappa in ((kappa_mul.lhs, kappa_mul.rhs), (kappa_mul.rhs, kappa_mul.lhs)):
                found = _cube_of(cube, kappa_mul) if _near(kappa, 0.044715, x) else None
                if found is None or found[0] is not x:
                    continue
                if all(_private(v, u, x) for v, u in ((inner, scaled), (term, add))):
                    if tanh.input.type == x.type:
                        return x, [scaled, add, kappa_mul, *found[1]]
    return None


def match_product(one_plus: SSAValue, x: SSAValue) -> list[Operation] | None:
    """The ops of x * one_plus * 0.5 in any grouping, last op first, else None."""
    m1 = only_user(one_plus)
    if not isinstance(m1, ops.MulOp) or one_plus.type != x.type:
        return None
    other = other_operand(m1, one_plus)
    half = defining(other, ops.MulOp) if other is not None else None
    if _mul_by(half, 0.5, x) and _private(other, m1, x) and m1.output.type == x.type:
        return [m1, half]  # (x * 0.5) * (1 + f)
    if other is not x and not _near(other, 0.5, x):
        return None
    m2 = only_user(m1.output)
    if not isinstance(m2, ops.MulOp) or m1.output.type != x.type:
        return None
    last = other_operand(m2, m1.output)
    wanted_last = (lambda v: _near(v, 0.5, x)) if other is x else (lambda v: v is x)
    if last is None or not wanted_last(last) or m2.output.type != x.type:
        return None
    return [m2, m1]  # (x * (1 + f)) * 0.5 or ((1 + f) * 0.5) * x


def _plus_one(value: SSAValue, x: SSAValue) -> SSAValue | None:
    """The result of 1 + value (either order), if `value` is used by it alone."""
    add = only_user(value)
    if not isinstance(add, ops.AddOp) or other_operand(add, value) is None:
        return None
    return add.output if _near(other_operand(add, value), 1.0, x) else None


class RecognizeGelu(RewritePattern):
    """x * 0.5 * (1 + erf(x / sqrt 2)) -> gelu(x); the tanh form -> gelu(x, tanh)."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if isinstance(op, ops.ErfOp):
            found, approximate = match_erf_argument(op), "none"
        elif isinstance(op, ops.TanhOp):
            found, approximate = match_tanh_argument(op), "tanh"
        else:
            return
        if found is None:
            return
        x, argument_ops = found
        one_plus = _plus_one(op.output, x)
        product = match_product(one_plus, x) if one_plus is not None else None
        if product is None:
            return
        rewriter.replace(product[0], ops.GeluOp(x, approximate=approximate))
        erase_dead(rewriter, [*product[1:], one_plus.owner, op, *argument_ops])


@dataclass(frozen=True)
class RecognizeGeluPass(ModulePass):
    """Turn GELU written out with Erf (or Tanh), Add, Mul and Div into ge.gelu."""

    name = "recognize-gelu"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        walker = PatternRewriteWalker(GreedyRewritePatternApplier([RecognizeGelu()]))
        walker.rewrite_module(op)
