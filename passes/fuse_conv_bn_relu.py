"""`fuse-conv-bn-relu`: conv2d + batch_norm (+ relu) as one `kernel.conv2d` (GE's ConvBnRelu).

A batch norm with constant parameters after a conv folds into the conv's weights and bias
when the weight is a constant no other op reads (GE's ConvBatchnormFusionPass), else into
a per-channel scale/shift epilogue; a following relu becomes the epilogue's activation.
It works whether or not `fold-batch-norm` already folded the BN (then conv + relu fuse).
Pre: none. Post: no conv2d -> batch_norm / relu edge whose conv result has one user.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern, op_type_rewrite_pattern

from gedialects.ge import ops as ge
from passes.epilogues import ConvEpilogue, fuse_into_producer, rewrite_module


class ConvBatchNorm(RewritePattern):
    """batch_norm(conv2d(x, W, b)) -> kernel.conv2d(x, W * s, b * s + t) or scale/shift."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, bn: ge.BatchNormOp, rewriter: PatternRewriter, /) -> None:
        absorb = lambda e: e.absorb_batch_norm(bn)
        fuse_into_producer(rewriter, bn, bn.input, absorb, (ConvEpilogue,))


class ConvRelu(RewritePattern):
    """relu(conv) -> kernel.conv2d {activation = "relu"} (after the residual: post_activation)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, relu: ge.ReluOp, rewriter: PatternRewriter, /) -> None:
        absorb = lambda e: e.absorb_activation(relu)
        fuse_into_producer(rewriter, relu, relu.input, absorb, (ConvEpilogue,))


@dataclass(frozen=True)
class FuseConvBnRelu(ModulePass):
    """Fuse conv2d + batch_norm (+ relu) into one kernel.conv2d (GE's ConvBnRelu)."""

    name = "fuse-conv-bn-relu"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        rewrite_module(op, ConvBatchNorm(), ConvRelu())
