"""TensorFlow's layer norm, as tf2onnx writes it (the zoo's bertsquad-10), as `ge.layer_norm`.

TF folds the normalization into one scale and one shift of x:

    mean  = ReduceMean(x, axes)        d = Sub(x, mean)
    var   = ReduceMean(Mul(d, d))      (or Pow(d, 2))
    scale = Mul(Reciprocal(Sqrt(Add(var, eps))), gamma)     (gamma optional)
    y     = Add(Mul(x, scale), Sub(beta, Mul(mean, scale)))

which is (x - mean) / sqrt(var + eps) * gamma + beta up to rounding, as the decomposed form
`recognize_layer_norm` takes. The same conditions hold: trailing axes kept by both means,
a constant splat eps, and no intermediate value used outside the chain.
"""

from __future__ import annotations

import numpy as np
from xdsl.ir import Operation, SSAValue
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern

from gedialects.ge import ops
from gedialects.ge.constant import ConstantOp
from gedialects.ge.types import element_of, shape_of, to_numpy_dtype
from passes.matching import defining, erase_dead, is_splat, only_user, splat_value
from passes.recognize_layer_norm import _mean_axes, shortest_float


def _pairs(op: Operation) -> list[tuple[SSAValue, SSAValue]]:
    """Both operand orders of a commutative binary op."""
    return [(op.operands[0], op.operands[1]), (op.operands[1], op.operands[0])]


def _users(value: SSAValue) -> set[Operation]:
    return {use.operation for use in value.uses}


def _variance_chain(rsqrt: SSAValue, x: SSAValue, mean: SSAValue) -> tuple | None:
    """(eps, ops) if `rsqrt` is 1 / sqrt(mean((x - mean)^2) + eps) used only on its way."""
    recip = defining(rsqrt, ops.ReciprocalOp)
    sqrt = recip and defining(recip.input, ops.SqrtOp)
    add = sqrt and defining(sqrt.input, ops.AddOp)
    if not add:
        return None
    for var, eps in _pairs(add):
        var_mean = defining(var, ops.ReduceMeanOp)
        square = var_mean and var_mean.input.owner
        if splat_value(eps) is None or not isinstance(square, ops.MulOp | ops.PowOp):
            continue
        d, sub = square.lhs, defining(square.lhs, ops.SubOp)
        squared = is_splat(square.rhs, 2.0) if isinstance(square, ops.PowOp) else square.rhs is d
        if not (squared and sub and sub.lhs is x and sub.rhs is mean and _users(d) == {square}):
            continue
        if _mean_axes(var_mean, square.results[0]) != _mean_axes(mean.owner, x):
            continue
        singles = [(recip.input, recip), (sqrt.input, sqrt), (var, add)]
        singles.append((square.results[0], var_mean))
        if all(only_user(v) is u for v, u in singles) and add.output.type == var.type:
            return eps, [recip, sqrt, add, var_mean, square, sub]
    return None


class RecognizeTfLayerNorm(RewritePattern):
    """x * scale + (beta - mean * scale), scale = gamma / sqrt(var + eps) -> ge.layer_norm."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if not isinstance(op, ops.AddOp) or len(shape_of(op.output.type)) == 0:
            return
        for scaled, shifted in _pairs(op):
            xs, shift = defining(scaled, ops.MulOp), defining(shifted, ops.SubOp)
            ms = shift and defining(shift.rhs, ops.MulOp)
            if not (xs and ms) or only_user(scaled) is not op or only_user(shifted) is not op:
                continue
            for x, scale in _pairs(xs):
                for mean, other in _pairs(ms):
                    found = other is scale and (xs, shift, ms)
                    if found and self._rewrite(op, x, scale, mean, found, rewriter):
                        return

    def _rewrite(
        self,
        op: ops.AddOp,
        x: SSAValue,
        scale: SSAValue,
        mean: SSAValue,
        tail: tuple[Operation, Operation, Operation],
        rewriter: PatternRewriter,
    ) -> bool:
        """Rewrite `op` if the rest of the chain is there; `tail` is (x * scale, beta - ms,
        ms = mean * scale)."""
        xs, shift, ms = tail
        axes = _mean_axes(mean.owner, x)
        rank, beta = len(shape_of(x.type)), shift.lhs
        if not axes or op.output.type != x.type or only_user(ms.output) is not shift:
            return False
        if _users(scale) != {xs, ms} or len(shape_of(beta.type)) > rank - axes[0]:
            return False
        gamma_mul = defining(scale, ops.MulOp)
        candidates = [(r, g) for r, g in _pairs(gamma_mul)] if gamma_mul else []
        for rsqrt, gamma in [*candidates, (scale, None)]:
            found = _variance_chain(rsqrt, x, mean)
            if found is None or _users(mean) != {ms, found[1][-1]}:
                continue
            if gamma is not None and only_user(rsqrt) is not gamma_mul:
                continue
            if gamma is not None and len(shape_of(gamma.type)) > rank - axes[0]:
                continue
            new: list[Operation] = []
            if gamma is None:
                dtype = to_numpy_dtype(element_of(x.type))
                ones = ConstantOp(np.ones(shape_of(x.type)[axes[0] :], dtype))
                new, gamma = [ones], ones.output
            epsilon = shortest_float(found[0])
            norm = ops.LayerNormOp(x, gamma, beta, axis=axes[0] - rank, epsilon=epsilon)
            rewriter.replace(op, [*new, norm])
            scale_ops = [gamma_mul] if rsqrt is not scale else []
            erase_dead(rewriter, [xs, shift, ms, *scale_ops, *found[1], mean.owner])
            return True
        return False
