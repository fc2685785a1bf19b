"""`recognize-rms-norm`: rebuild `ge.rms_norm` from its decomposed form.

`torch.onnx.export` of LLaMA / T5 / Mistral's RMSNorm (and ONNX's own RMSNormalization
function body) writes the normalization out:

    ms = ReduceMean(Pow(x, 2), axes, keepdims)   (or Mul(x, x))
    s  = Sqrt(Add(ms, eps))
    n  = Mul(x, Reciprocal(s))                   (or Div(x, s), or Mul(x, Div(1, s)))
    y  = Mul(n, weight)                          (weight optional)

and this pass turns the chain into one `ge.rms_norm(x, weight)`. It fires only when the
reduced axes are the trailing dims of x, eps is a constant splat, and every intermediate
value is used by the chain alone (x itself may have other users). It runs after
`recognize-layer-norm`: layer norm's (x - mean) / sqrt(mean((x - mean)^2) + eps) holds this
chain with x - mean as x, and is the bigger match.

Pre: the module verifies. Post: no chain above with those properties remains.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import PatternRewriter, PatternRewriteWalker, RewritePattern

from gedialects.ge import ops
from gedialects.ge.constant import ConstantOp
from gedialects.ge.types import element_of, shape_of, to_numpy_dtype
from passes.matching import erase_dead, only_user, other_operand
from passes.recognize_layer_norm import _mean_axes, divided_by_root_mean_square, shortest_float


@dataclass
class RmsMatch:
    """A matched x / sqrt(mean(x^2) + eps): its input, axis, eps and ops (users first)."""

    x: SSAValue
    axis: int
    epsilon: float
    chain: list[Operation]


def match_rms(op: Operation) -> RmsMatch | None:
    """The decomposed RMS normalization whose last op (before any weight) is `op`."""
    found = divided_by_root_mean_square(op)
    if found is None:
        return None
    x, between, root = found
    axes = _mean_axes(root.mean, root.square.results[0])
    if axes is None or any(only_user(v) is not user for v, user in root.singles):
        return None
    if op.results[0].type != x.type or to_numpy_dtype(element_of(x.type)).kind != "f":
        return None
    rank = len(shape_of(x.type))
    chain = [op, *between, root.sqrt, root.add_eps, root.mean, root.square]
    return RmsMatch(x, axes[0] - rank, shortest_float(root.eps), chain)


class RecognizeRmsNorm(RewritePattern):
    """x / sqrt(mean(x^2) + eps) [* weight] -> ge.rms_norm."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        norm = match_rms(op)
        if norm is None:
            return
        last, scale = op.results[0], None
        user = only_user(last)
        if isinstance(user, ops.MulOp) and user.results[0].type == last.type:
            weight = other_operand(user, last)
            if weight is not None and weight is not last:
                if len(shape_of(weight.type)) <= -norm.axis:
                    scale, last = weight, user.results[0]
        new_ops: list[Operation] = []
        if scale is None:
            dtype = to_numpy_dtype(element_of(norm.x.type))
            ones = ConstantOp(np.ones(shape_of(norm.x.type)[norm.axis :], dtype))
            ones.output.name_hint = "ones"
            scale, new_ops = ones.output, [ones]
        rms = ops.RMSNormOp(norm.x, scale, axis=norm.axis, epsilon=norm.epsilon)
        rewriter.replace(last.owner, [*new_ops, rms])
        erase_dead(rewriter, norm.chain)


@dataclass(frozen=True)
class RecognizeRmsNormPass(ModulePass):
    """Turn RMSNorm written out as Pow/ReduceMean/Add/Sqrt/Reciprocal/Mul into ge.rms_norm."""

    name = "recognize-rms-norm"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(RecognizeRmsNorm()).rewrite_module(op)
