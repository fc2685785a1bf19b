"""`fold-channel-gates`: a per-channel gate on a conv's input scales its weights instead.

Squeeze-excitation (EfficientNet, MobileNetV3, RegNet) ends in y * g, g = sigmoid(s) of
shape (1, C, 1, 1), and the product's only reader is the next conv (the block's 1x1
projection). As written, the gate is a kernel of its own that reads and writes the whole
activation in HBM. A conv is linear in each input channel, so with groups 1
    conv(y * g, W) = conv(y, W * g)    (g broadcast along W's input-channel axis)
and zero padding commutes with the scaling (0 * g = 0). Where every image shares the gate
(batch one, as inference runs SE nets) it is one vector per conv, so the product moves to
the weights: O x C x kh x kw elements instead of
N x C x H x W. The pass rewrites only where that is fewer elements (an SE at 7x7 before a
wide projection is left alone), for a gate every image shares (a batch's SE has a gate per
image, one weight tensor cannot take them all), for a plain conv (no groups; no input
activation, which would apply between the gate and the conv).

The scaled weights are a runtime operand of the conv (a small `ge.mul`, its own kernel
after `fuse-elementwise`, on (O, C) or (O, C, kh kw) tiles).
Runs after the conv fusions (the BN folds into constant weights first), before
`fuse-elementwise` (which would make the gate a kernel).
Pre: the module verifies. Post: no such gate remains on a conv's input.
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
)
from xdsl.rewriter import InsertPoint

from gedialects.ge import ops
from gedialects.ge.types import element_of, shape_of
from gedialects.kernel.ops import Conv2DKernelOp
from passes.matching import erase_dead, only_user


def per_channel(gate: tuple[int, ...], channels: int) -> bool:
    """Whether a gate of shape `gate` broadcasts along an NCHW tensor's channels only,
    one value per channel shared by every image: (1, C, 1, 1) or (C, 1, 1)."""
    return (1,) * (4 - len(gate)) + gate == (1, channels, 1, 1)


def channel_gate(conv: Operation) -> tuple[SSAValue, SSAValue] | None:
    """(y, g) if `conv`'s input is y * g with g a gate per channel (`per_channel`), read by
    `conv` alone, and scaling the weights by g touches fewer elements than y."""
    product = conv.input.owner
    if not isinstance(product, ops.MulOp) or only_user(conv.input) is not conv:
        return None
    if conv.get_int("groups") != 1 or getattr(conv, "input_activation", None) is not None:
        return None
    weight = shape_of(conv.weight.type)
    for y, g in ((product.lhs, product.rhs), (product.rhs, product.lhs)):
        shape = shape_of(y.type)
        if y.type != conv.input.type or len(shape) != 4:
            continue
        if not per_channel(shape_of(g.type), shape[1]):
            continue
        if element_of(g.type) != element_of(conv.weight.type):
            continue
        if math.prod(weight) < math.prod(shape):
            return y, g
    return None


class FoldChannelGate(RewritePattern):
    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if not isinstance(op, ops.Conv2DOp | Conv2DKernelOp):
            return
        found = channel_gate(op)
        if found is None:
            return
        y, g = found
        product = op.input.owner
        o, c, kh, kw = shape_of(op.weight.type)
        # as (O, C) and (1, C), or (O, C, kh kw) and (1, C, 1): the vector unit's tiles are
        # the last two axes, which a (1, C, 1, 1) broadcast would make one element wide
        pair = ([o, c], [1, c]) if kh * kw == 1 else ([o, c, kh * kw], [1, c, 1])
        weights, gate = ops.ReshapeOp(op.weight, shape=pair[0]), ops.ReshapeOp(g, shape=pair[1])
        new: list[Operation] = [weights, gate, ops.MulOp(weights.results[0], gate.results[0])]
        new.append(ops.ReshapeOp(new[2].results[0], shape=[o, c, kh, kw]))
        rewriter.insert(new, InsertPoint.before(op))
        op.operands = [y, new[-1].results[0], *op.operands[2:]]
        rewriter.notify_op_modified(op)
        erase_dead(rewriter, [product])


@dataclass(frozen=True)
class FoldChannelGates(ModulePass):
    """Move a per-channel gate on a conv's input into the conv's weights."""

    name = "fold-channel-gates"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        walker = PatternRewriteWalker(GreedyRewritePatternApplier([FoldChannelGate()]))
        walker.rewrite_module(op)
