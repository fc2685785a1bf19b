"""`fuse-softmax-dropout`: scale + softmax + inference dropout as one `kernel.softmax`.

`softmax(x * c)` (or `x / c`) with a scalar constant `c` takes the scale as its prologue;
an inference-mode dropout after the softmax (the identity) is absorbed and recorded. A
training-mode dropout draws its own random mask and is never fused.
Pre: none. Post: no inference dropout reads a single-use softmax result.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import FloatAttr, ModuleOp, f64
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern, op_type_rewrite_pattern

from gedialects.ge import ops as ge
from gedialects.kernel import ops as k
from gedialects.kernel.builders import is_training_dropout
from passes.epilogues import rewrite_module
from passes.fold_batch_norm import erase_dead
from passes.fuse_matmul_scale import scalar_factor
from passes.matching import only_user


def softmax_parts(op: Operation) -> tuple[SSAValue, dict, list[str]] | None:
    """(input, properties, fused_from) of a ge or kernel softmax, to rebuild it."""
    if isinstance(op, ge.SoftmaxOp):
        return op.input, dict(op.properties), [op.name]
    if isinstance(op, k.SoftmaxKernelOp):
        props = {n: a for n, a in op.properties.items() if n != "fused_from"}
        return op.input, props, list(op.fused_names)
    return None


class SoftmaxDropout(RewritePattern):
    """dropout(softmax(x)) (inference) -> kernel.softmax(x) {dropout_ratio}."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, drop: ge.DropoutOp, rewriter: PatternRewriter, /) -> None:
        softmax = drop.input.owner
        parts = softmax_parts(softmax) if isinstance(softmax, Operation) else None
        if parts is None or is_training_dropout(drop) or only_user(drop.input) is not drop:
            return
        source, props, fused = parts
        if "dropout_ratio" in props:
            return
        props["dropout_ratio"] = drop.ratio
        rewriter.replace(drop, [k.SoftmaxKernelOp(source, fused_from=[*fused, drop.name], **props)])
        erase_dead(rewriter, [softmax])


class ScaleSoftmax(RewritePattern):
    """softmax(x * c) -> kernel.softmax(x) {scale = c}, c a scalar constant."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        parts = softmax_parts(op)
        if parts is None:
            return
        source, props, fused = parts
        scale = source.owner
        if not isinstance(scale, ge.MulOp | ge.DivOp) or only_user(source) is not op:
            return
        for x in (scale.lhs, scale.rhs):
            factor = scalar_factor(scale, x)
            if factor is not None and x.type == source.type:
                current = props.get("scale")
                old = 1.0 if current is None else current.value.data
                props["scale"] = FloatAttr(old * factor, f64)
                fused = [scale.name, *fused]
                rewriter.replace(op, [k.SoftmaxKernelOp(x, fused_from=fused, **props)])
                erase_dead(rewriter, [scale])
                return


@dataclass(frozen=True)
class FuseSoftmaxDropout(ModulePass):
    """Fuse a scalar scale before and an inference dropout after a softmax into one kernel."""

    name = "fuse-softmax-dropout"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        rewrite_module(op, SoftmaxDropout(), ScaleSoftmax())
