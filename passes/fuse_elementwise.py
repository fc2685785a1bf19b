"""`fuse-elementwise`: elementwise and broadcast ops fused by TVM's rules.

First, an elementwise op whose producer is a conv or matmul that can take it as an
epilogue (activation, bias, per-channel scale, residual, scalar scale, a matmul's
multiplier) joins that kernel.
Then every other elementwise op (and `ge.expand`) becomes a `kernel.elementwise`, and a
producer kernel.elementwise whose only user is another one merges into its consumer's
body, so a chain of any length is one kernel. A producer is never merged when its result
is broadcast to a larger shape by the consumer (that would recompute it per broadcast
element), nor when another op also reads it.
Pre: none. Post: no elementwise `ge` op at the top level; no single-use, same-shape
kernel.elementwise feeds another.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern, op_type_rewrite_pattern

from gedialects.ge import ops as ge
from gedialects.ge.types import shape_of
from gedialects.kernel.builders import merge_elementwise, singleton_elementwise
from gedialects.kernel.elementwise import ElementwiseOp, is_elementwise
from lowering.convert_ge_to_kernel import in_kernel_body
from passes.epilogues import rewrite_module
from passes.fuse_conv_bias_activation import ConvActivation, ConvChannelAffine
from passes.fuse_conv_residual_add import ConvResidualAdd, ResidualActivation
from passes.fuse_matmul_add_gelu import MatMulActivation, MatMulBias
from passes.fuse_matmul_multiply import MatMulMultiplier
from passes.fuse_matmul_residual_add import MatMulResidualAdd
from passes.fuse_matmul_scale import MatMulScale
from passes.fuse_norm_activation import ActivationAboveView, NormActivation
from passes.matching import only_user

EPILOGUE_PATTERNS = (
    ConvChannelAffine,
    ConvActivation,
    ConvResidualAdd,
    ResidualActivation,
    MatMulScale,
    MatMulBias,
    MatMulActivation,
    MatMulMultiplier,
    MatMulResidualAdd,
    ActivationAboveView,
    NormActivation,
)
"""Patterns that move an elementwise consumer into its producer's epilogue."""


class WrapElementwise(RewritePattern):
    """ge.<elementwise>(...) -> kernel.elementwise with that op as its body."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if (is_elementwise(op) or isinstance(op, ge.ExpandOp)) and not in_kernel_body(op):
            rewriter.replace(op, [singleton_elementwise(op)])


class MergeElementwise(RewritePattern):
    """elementwise(elementwise(x)) -> one kernel.elementwise, when the inner one is private."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ElementwiseOp, rewriter: PatternRewriter, /) -> None:
        for value in op.inputs:
            producer = value.owner
            if not isinstance(producer, ElementwiseOp) or only_user(value) is not op:
                continue
            if shape_of(value.type) != shape_of(op.output.type):
                continue
            rewriter.replace(op, [merge_elementwise(producer, op)])
            rewriter.erase(producer)
            return


@dataclass(frozen=True)
class FuseElementwise(ModulePass):
    """Fuse elementwise chains into epilogues or into single kernel.elementwise kernels."""

    name = "fuse-elementwise"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        rewrite_module(op, *(pattern() for pattern in EPILOGUE_PATTERNS))
        rewrite_module(op, WrapElementwise(), MergeElementwise())
