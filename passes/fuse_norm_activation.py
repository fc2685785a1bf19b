"""`fuse-norm-activation`: an activation of a group norm's result into the norm's kernel.

act(ge.group_norm) -> kernel.group_norm {activation = act}. Diffusion UNets and VAEs follow
nearly every GroupNorm with a SiLU; as two kernels the normalized tensor is written to HBM
and read back for the activation, as one the activation runs on each output tile before
its store (`lowering.lower_group_norm`). The norm must have no other user.
Pre: none. Post: no activation reads a single-use group norm's result.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern

from gedialects.kernel.base import ACTIVATIONS
from passes.epilogues import GroupNormEpilogue, fuse_into_producer, rewrite_module


class NormActivation(RewritePattern):
    """act(group_norm) -> kernel.group_norm {activation = act}."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if type(op) not in ACTIVATIONS.values():
            return
        absorb = lambda e: e.absorb_activation(op)
        fuse_into_producer(rewriter, op, op.operands[0], absorb, (GroupNormEpilogue,))


@dataclass(frozen=True)
class FuseNormActivation(ModulePass):
    """Fuse an activation into the group norm that produces its operand."""

    name = "fuse-norm-activation"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        rewrite_module(op, NormActivation())
