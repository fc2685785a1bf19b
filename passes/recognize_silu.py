"""`recognize-silu`: rebuild `ge.silu` from x * sigmoid(x) and x * sigmoid(alpha x).

ONNX has no SiLU before opset 24's Swish, so `torch.onnx.export` of `nn.SiLU` (YOLOv5/v8,
EfficientNet, Stable Diffusion's VAE and UNet, LLaMA's MLP) writes `Mul(x, Sigmoid(x))`.
As two ops the conv before it cannot take it as its epilogue (x has two users: the
sigmoid and the mul), so every SiLU cost a kernel of its own that read and wrote the whole
activation in HBM. As one `ge.silu` it is an activation like any other (`kernel.base.
ACTIVATIONS`), which `fuse-conv-bias-activation` and the matmul fusions take.

Matches a mul of x by sigmoid(x), either operand order, and by sigmoid(x * alpha) with a
scalar constant alpha (Swish; CLIP's QuickGELU, alpha 1.702), the scaling read by the
sigmoid alone. The gate of another value, as in squeeze-excitation's y * sigmoid(s), is
not a SiLU. The sigmoid is erased once the mul was its only user; with other users it
stays for them (their kernel computes it; the SiLU computes its own).

Pre: the module verifies. Post: no such mul remains.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from gedialects.ge import ops
from passes.matching import erase_dead, only_user, splat_value


def gated_input(sigmoid: ops.SigmoidOp, x: SSAValue) -> tuple[list[Operation], float] | None:
    """([the scaling op, if any], alpha) if the sigmoid's input is x, or x times a scalar
    constant alpha read by the sigmoid alone (QuickGELU's 1.702, Swish's alpha)."""
    z = sigmoid.input
    if z is x:
        return [], 1.0
    scaling = z.owner
    if not isinstance(scaling, ops.MulOp) or only_user(z) is not sigmoid or z.type != x.type:
        return None
    for a, c in ((scaling.lhs, scaling.rhs), (scaling.rhs, scaling.lhs)):
        alpha = splat_value(c)
        if a is x and alpha is not None and math.isfinite(alpha):
            return [scaling], float(alpha)
    return None


class RecognizeSilu(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ops.MulOp, rewriter: PatternRewriter, /) -> None:
        for x, gate in ((op.lhs, op.rhs), (op.rhs, op.lhs)):
            sigmoid = gate.owner
            if not isinstance(sigmoid, ops.SigmoidOp):
                continue
            found = gated_input(sigmoid, x)
            if found is None:
                continue
            scaling, alpha = found
            rewriter.replace(op, ops.SiluOp(x, alpha=None if alpha == 1.0 else alpha))
            erase_dead(rewriter, [sigmoid, *scaling])
            return


@dataclass(frozen=True)
class RecognizeSiluPass(ModulePass):
    """Turn x * sigmoid(x) into ge.silu."""

    name = "recognize-silu"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        walker = PatternRewriteWalker(GreedyRewritePatternApplier([RecognizeSilu()]))
        walker.rewrite_module(op)
