"""`recognize-layer-norm`: rebuild `ge.layer_norm` from its decomposed form.

`torch.onnx.export` of `nn.LayerNorm` before opset 17 writes the normalization out:

    mean = ReduceMean(x, axes)            d = Sub(x, mean)
    var  = ReduceMean(Pow(d, 2), axes)    (or Mul(d, d))
    n    = Div(d, Sqrt(Add(var, eps)))    (or Mul(d, Reciprocal(Sqrt(...))))
    y    = Add(Mul(n, gamma), beta)       (gamma, beta optional)

and this pass turns the whole chain into one `ge.layer_norm(x, gamma, beta)`. It fires
only when the reduced axes are the trailing dims (LayerNorm normalizes `axis..rank-1`),
both means keep their dims, eps is a constant splat, and every intermediate value is
used by the chain alone, so no value another op needs disappears. Operand orders of the
commutative ops do not matter. gamma and beta may be any values LayerNorm accepts
(rank at most the normalized rank) that do not broadcast the result to a larger shape;
without gamma the scale is a constant of ones.

TensorFlow's form, x * scale + (beta - mean * scale), is `recognize_layer_norm_tf`'s.

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
)

from gedialects.ge import ops
from gedialects.ge.constant import ConstantOp
from gedialects.ge.types import element_of, shape_of, to_numpy_dtype
from passes.matching import (
    constant_array,
    defining,
    erase_dead,
    is_splat,
    only_user,
    other_operand,
    splat_value,
)


@dataclass
class Normalization:
    """A matched (x - mean) / sqrt(var + eps): its input, axis, eps and the ops it spans."""

    x: SSAValue
    axis: int
    epsilon: float
    chain: list[Operation]
    """The matched ops, users before producers (the order to erase them in)."""


def _mean_axes(op: Operation | None, x: SSAValue) -> tuple[int, ...] | None:
    """The normalized axes of ReduceMean(x, keepdims) if they are the trailing dims of x."""
    if not isinstance(op, ops.ReduceMeanOp) or op.input is not x or not op.get_flag("keepdims"):
        return None
    rank = len(shape_of(x.type))
    axes = sorted({a % rank for a in op.ints("axes")} or range(rank))
    if not axes or axes != list(range(axes[0], rank)):
        return None
    return tuple(axes)


def divided_by(op: Operation) -> tuple[SSAValue, SSAValue, list[Operation]] | None:
    """(d, s, [the ops between]) of n = d / s, d * reciprocal(s) or d * (1 / s): how
    exporters write a normalization's division (layer norm's and RMS norm's)."""
    if isinstance(op, ops.DivOp):
        return op.lhs, op.rhs, []
    if not isinstance(op, ops.MulOp):
        return None
    for d, r in ((op.lhs, op.rhs), (op.rhs, op.lhs)):
        if only_user(r) is not op or d is r:
            continue
        if (recip := defining(r, ops.ReciprocalOp)) is not None:
            return d, recip.input, [recip]
        div = defining(r, ops.DivOp)
        if div is not None and is_splat(div.lhs, 1.0):
            return d, div.rhs, [div]
    return None


def squares(op: Operation | None, base: SSAValue) -> bool:
    """Whether `op` is base^2: Pow(base, 2) or Mul(base, base)."""
    if isinstance(op, ops.PowOp):
        return op.lhs is base and is_splat(op.rhs, 2.0)
    return isinstance(op, ops.MulOp) and op.lhs is base and op.rhs is base


@dataclass
class RootMeanSquare:
    """A matched sqrt(mean(base^2) + eps): its ops and the eps constant."""

    sqrt: ops.SqrtOp
    add_eps: ops.AddOp
    mean: ops.ReduceMeanOp
    square: Operation
    eps: SSAValue

    @property
    def singles(self) -> list[tuple[SSAValue, Operation]]:
        """(value, the one op that may use it) along the chain."""
        return [
            (self.sqrt.input, self.sqrt),
            (self.mean.output, self.add_eps),
            (self.square.results[0], self.mean),
        ]


def root_mean_square(s: SSAValue, base: SSAValue) -> RootMeanSquare | None:
    """`s` as sqrt(mean(base^2) + eps) with eps a splat constant on either side, or None:
    the divisor layer norm (base: x - mean) and RMS norm (base: x) share."""
    sqrt = defining(s, ops.SqrtOp)
    add_eps = sqrt and defining(sqrt.input, ops.AddOp)
    if not add_eps:
        return None
    mean_square, eps = add_eps.lhs, add_eps.rhs
    if splat_value(eps) is None:
        mean_square, eps = eps, mean_square
    mean = defining(mean_square, ops.ReduceMeanOp)
    square = mean and mean.input.owner
    if splat_value(eps) is None or not squares(square, base):
        return None
    if add_eps.output.type != mean_square.type:
        return None
    return RootMeanSquare(sqrt, add_eps, mean, square, eps)


def divided_by_root_mean_square(
    op: Operation,
) -> tuple[SSAValue, list[Operation], RootMeanSquare] | None:
    """`op` as d / sqrt(mean(d^2) + eps) in any of `divided_by`'s forms, the divisor read by
    the division alone: (d, the ops between, the divisor's match). Layer norm's d is x - mean,
    RMS norm's x itself."""
    found = divided_by(op)
    if found is None:
        return None
    d, s, between = found
    root = root_mean_square(s, d)
    if root is None or only_user(s) not in (op, *between):
        return None
    return d, between, root


def match_normalization(op: Operation) -> Normalization | None:
    """The decomposed normalization whose last op (the Div, or Mul by a reciprocal) is `op`."""
    found = divided_by_root_mean_square(op)
    if found is None:
        return None
    d, recip, root = found
    sub = defining(d, ops.SubOp)
    if sub is None:
        return None
    x, mean = sub.lhs, sub.rhs
    axes = _mean_axes(mean.owner, x)
    if axes is None or axes != _mean_axes(root.mean, root.square.results[0]):
        return None
    if any(only_user(v) is not user for v, user in [*root.singles, (mean, sub)]):
        return None
    if {u.operation for u in d.uses} != {root.square, op}:
        return None
    chain = [op, *recip, root.sqrt, root.add_eps, root.mean, root.square, sub, mean.owner]
    rank = len(shape_of(x.type))
    return Normalization(x, axes[0] - rank, shortest_float(root.eps), chain)


def shortest_float(value: SSAValue) -> float:
    """A splat constant's value as the shortest decimal that rounds back to it (1e-05)."""
    array = constant_array(value)
    assert array is not None
    return float(str(array.flat[0]))


def _affine_operand(
    op: Operation | None, value: SSAValue, cls: type, norm: Normalization
) -> SSAValue | None:
    """The other operand of a `cls` op applied to `value` if LayerNorm can take it instead.

    The op must keep `value`'s type (no broadcast to a larger shape), and the operand must
    have at most the normalized rank, as LayerNorm's scale and bias.
    """
    if not isinstance(op, cls) or op.results[0].type != value.type:
        return None
    other = other_operand(op, value)
    if other is None or other is value or len(shape_of(other.type)) > -norm.axis:
        return None
    return other


class RecognizeLayerNorm(RewritePattern):
    """(x - mean) / sqrt(mean((x - mean)^2) + eps) [* gamma] [+ beta] -> ge.layer_norm."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        norm = match_normalization(op)
        if norm is None:
            return
        last, tail = op.results[0], []
        scale = bias = None
        user = only_user(last)
        if (gamma := _affine_operand(user, last, ops.MulOp, norm)) is not None:
            scale, last, tail = gamma, user.results[0], [user]
            user = only_user(last)
        if (beta := _affine_operand(user, last, ops.AddOp, norm)) is not None:
            bias, last, tail = beta, user.results[0], [user, *tail]
        new_ops: list[Operation] = []
        if scale is None:
            dtype = to_numpy_dtype(element_of(norm.x.type))
            ones = ConstantOp(np.ones(shape_of(norm.x.type)[norm.axis :], dtype))
            ones.output.name_hint = "ones"
            scale, new_ops = ones.output, [ones]
        layer_norm = ops.LayerNormOp(norm.x, scale, bias, axis=norm.axis, epsilon=norm.epsilon)
        rewriter.replace(last.owner, [*new_ops, layer_norm])
        erase_dead(rewriter, [*tail[1:], *norm.chain])


@dataclass(frozen=True)
class RecognizeLayerNormPass(ModulePass):
    """Turn LayerNorm written out as ReduceMean/Sub/Pow/Sqrt/Div/Mul/Add into ge.layer_norm."""

    name = "recognize-layer-norm"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        from passes.recognize_layer_norm_tf import RecognizeTfLayerNorm  # imports this one

        patterns = [RecognizeLayerNorm(), RecognizeTfLayerNorm()]
        walker = PatternRewriteWalker(GreedyRewritePatternApplier(patterns))
        walker.rewrite_module(op)
