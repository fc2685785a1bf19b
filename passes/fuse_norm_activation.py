"""`fuse-norm-activation`: an activation of a group norm's result into the norm's kernel.

act(ge.group_norm) -> kernel.group_norm {activation = act}, and act(ge.instance_norm) too,
as a group norm of one channel a group (InstanceNorm + ReLU: style transfer, pix2pix). An
activation behind a reshape of the norm is moved above it first. Diffusion UNets and VAEs follow
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

from gedialects.ge import ops as ge
from gedialects.ge.types import shape_of
from gedialects.kernel.base import ACTIVATIONS
from passes.epilogues import GroupNormEpilogue, fuse_into_producer, rewrite_module
from passes.matching import only_user

NORMS = (ge.GroupNormOp, ge.InstanceNormOp)
"""The norms whose kernel takes an activation (an instance norm as a group norm)."""


class NormActivation(RewritePattern):
    """act(group_norm) -> kernel.group_norm {activation = act}; act(instance_norm) likewise,
    as a group norm of one channel a group."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if type(op) not in ACTIVATIONS.values():
            return
        absorb = lambda e: e.absorb_activation(op)
        fuse_into_producer(rewriter, op, op.operands[0], absorb, (GroupNormEpilogue,))


class ActivationAboveView(RewritePattern):
    """act(reshape(norm)) -> reshape(act(norm)), the reshape the only reader of a group or
    instance norm: an elementwise op commutes with a view, and below it the activation
    meets the norm (a GroupNorm on (N, C) runs as one on (N, C, 1) viewed back)."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if type(op) not in ACTIVATIONS.values() or len(op.operands) != 1:
            return
        view = op.operands[0].owner
        if not isinstance(view, ge.ReshapeOp) or only_user(view.output) is not op:
            return
        if not isinstance(view.input.owner, NORMS) or only_user(view.input) is not view:
            return
        moved = type(op).create(
            operands=[view.input], result_types=[view.input.type], properties=dict(op.properties)
        )
        back = ge.ReshapeOp(moved.results[0], shape=list(shape_of(op.results[0].type)))
        rewriter.replace(op, [moved, back])
        rewriter.erase(view)


@dataclass(frozen=True)
class FuseNormActivation(ModulePass):
    """Fuse an activation into the group norm that produces its operand."""

    name = "fuse-norm-activation"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        rewrite_module(op, ActivationAboveView(), NormActivation())
