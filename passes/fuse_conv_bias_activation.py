"""`fuse-conv-bias-activation`: per-channel bias / scale and an activation into the conv.

`conv + c` and `conv * c` with a constant per-channel `c` (shape (C,1,1), (1,C,1,1) or a
scalar: never one that grows the conv's result) join the conv's bias or scale/shift; an
activation (relu, clip/relu6, sigmoid, hard_swish, gelu, leaky_relu, tanh, elu, ...)
becomes the epilogue's activation. Depthwise and grouped convs fuse alike: the epilogue
acts per output channel, whatever the grouping. A transposed conv takes an activation too
(`kernel.conv_transpose2d {activation}`: a DCGAN's or a UNet's upsampling and its ReLU).
Pre: none. Post: no such consumer remains on a conv result that has one user.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern

from gedialects.ge import ops as ge
from gedialects.kernel.base import ACTIVATIONS
from passes.epilogues import (
    ConvEpilogue,
    ConvTransposeEpilogue,
    channel_vector,
    fuse_into_producer,
    rewrite_module,
)


class ConvChannelAffine(RewritePattern):
    """conv + c -> kernel.conv2d {bias += c}; conv * c -> {scale *= c}, c per channel."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if not isinstance(op, ge.AddOp | ge.MulOp):
            return
        for produced, other in ((op.lhs, op.rhs), (op.rhs, op.lhs)):
            vector = channel_vector(other, produced)
            if vector is None or op.output.type != produced.type:
                continue
            s, t = (vector, None) if isinstance(op, ge.MulOp) else (None, vector)
            absorb = lambda e: e.absorb_affine(op, s, t)
            if fuse_into_producer(rewriter, op, produced, absorb, (ConvEpilogue,)):
                return


class ConvActivation(RewritePattern):
    """act(conv) -> kernel.conv2d {activation = act}; act(conv_transpose) ->
    kernel.conv_transpose2d {activation = act}."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if type(op) not in ACTIVATIONS.values():
            return
        absorb = lambda e: e.absorb_activation(op)
        kinds = (ConvEpilogue, ConvTransposeEpilogue)
        fuse_into_producer(rewriter, op, op.operands[0], absorb, kinds)


@dataclass(frozen=True)
class FuseConvBiasActivation(ModulePass):
    """Fuse a per-channel bias/scale and an activation into the producing conv's epilogue."""

    name = "fuse-conv-bias-activation"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        rewrite_module(op, ConvChannelAffine(), ConvActivation())
