"""`fuse-conv-residual-add`: conv + residual (+ activation) as one `kernel.conv2d`.

`add(conv, r)` where `r` has the conv's own result type (a broadcast that would grow the
result is never fused) becomes the residual slot of the conv's epilogue, and an
activation after it the post-activation: ResNet's Conv2+BN2+Add+ReLU as one kernel.
Pre: none. Post: no add of a single-use conv result and a same-typed value remains.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern

from gedialects.kernel import ops as k
from gedialects.kernel.base import ACTIVATIONS
from passes.epilogues import ConvEpilogue, ResidualAdd, fuse_into_producer, rewrite_module


class ConvResidualAdd(ResidualAdd):
    """add(conv, r) -> kernel.conv2d residual r (the later-defined conv when both are)."""

    KINDS = (ConvEpilogue,)


class ResidualActivation(RewritePattern):
    """act(kernel.conv2d with residual) -> kernel.conv2d {post_activation = act}."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if type(op) not in ACTIVATIONS.values():
            return
        conv = op.operands[0].owner
        if not isinstance(conv, k.Conv2DKernelOp) or conv.residual is None:
            return
        absorb = lambda e: e.absorb_activation(op)
        fuse_into_producer(rewriter, op, op.operands[0], absorb, (ConvEpilogue,))


@dataclass(frozen=True)
class FuseConvResidualAdd(ModulePass):
    """Fuse a residual add (and the activation after it) into the producing conv."""

    name = "fuse-conv-residual-add"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        rewrite_module(op, ConvResidualAdd(), ResidualActivation())
