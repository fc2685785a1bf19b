"""`fold-batch-norm`: fold inference batch norm into the weights of a neighbouring op.

Inference BN is a per-channel affine map y = x * s + t, with s = scale / sqrt(var + eps)
and t = bias - mean * s, once its four parameters are constants. It then folds into:
- a preceding `ge.conv2d` (GE's ConvBatchnormFusionPass): W'[o] = W[o] * s[o],
  b' = b * s + t; grouped and depthwise convs alike, since the output channel is the
  weight's first dim;
- a preceding `ge.conv_transpose2d`: the output channel is (group, weight dim 1);
- a preceding `ge.matmul` (optionally followed by a constant bias `ge.add`, the Gemm
  form) whose constant operand carries the channel: the rhs columns for a 2-D result,
  the lhs rows of a rank-2 constant lhs for a 3-D result (N, C, L);
- a following `ge.matmul` of 2-D activations with a constant rhs W:
  (x * s + t) @ W = x @ (s[:, None] * W) + t @ W.
The folded-into op must be BN's only producer-consumer link: its result (or BN's) has
no other user, and its weight no other reader, so no work or weight is duplicated.
A BN that folds nowhere becomes `x * s + t` with constant per-channel factors
(`scale-shift=true`, the default), which later fuses as an elementwise epilogue.

Pre: the module verifies. Post: no `ge.batch_norm` with constant parameters remains
(with scale-shift), and every rewritten op computes the same values up to f32 rounding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
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
from gedialects.ge.constant import ConstantOp
from gedialects.ge.types import element_of, shape_of, to_numpy_dtype
from passes.matching import constant_array, erase_dead, only_user


def bn_factors(bn: ops.BatchNormOp) -> tuple[np.ndarray, np.ndarray] | None:
    """Per-channel (s, t) in float64 with BN(x) = x * s + t, if the parameters are constant."""
    params = [constant_array(v) for v in (bn.scale, bn.bias, bn.mean, bn.variance)]
    if any(p is None for p in params):
        return None
    scale, bias, mean, var = (np.asarray(p, np.float64) for p in params)
    s = scale / np.sqrt(var + bn.get_float("epsilon"))
    return s, bias - mean * s


def private_weight(value: SSAValue, reader: Operation) -> np.ndarray | None:
    """The constant `value` holds if `reader` is its only user (so it can be rewritten)."""
    array = constant_array(value)
    return array if array is not None and only_user(value) is reader else None


def constant_of(array: np.ndarray, like: SSAValue, hint: str | None = None) -> ConstantOp:
    """A constant holding `array` in the element type of `like`, named `hint` (or like's)."""
    dtype = to_numpy_dtype(element_of(like.type))
    op = ConstantOp(np.ascontiguousarray(array).astype(dtype))
    op.output.name_hint = hint or like.name_hint
    return op


def _bias_name(weight: SSAValue) -> str | None:
    return f"{weight.name_hint}_bias" if weight.name_hint else None


class FoldIntoConv(RewritePattern):
    """batch_norm(conv2d(x, W, b)) -> conv2d(x, W * s, b * s + t); also conv_transpose2d."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, bn: ops.BatchNormOp, rewriter: PatternRewriter, /) -> None:
        conv = bn.input.owner
        if not isinstance(conv, ops.Conv2DOp | ops.ConvTranspose2DOp):
            return
        if only_user(conv.output) is not bn or (factors := bn_factors(bn)) is None:
            return
        weight = private_weight(conv.weight, conv)
        bias = np.zeros(1) if conv.bias is None else constant_array(conv.bias)
        if weight is None or bias is None:
            return
        s, t = factors
        if isinstance(conv, ops.Conv2DOp):
            new_weight = weight * s.reshape(-1, 1, 1, 1)
        else:
            groups = conv.get_int("groups")
            c, og, kh, kw = weight.shape
            grouped = weight.reshape(groups, c // groups, og, kh, kw)
            new_weight = (grouped * s.reshape(groups, 1, og, 1, 1)).reshape(weight.shape)
        w_op = constant_of(new_weight, conv.weight)
        b_op = constant_of(bias * s + t, conv.weight, _bias_name(conv.weight))
        props = dict(conv.properties)
        new_conv = type(conv)(conv.input, w_op, b_op, **props)
        rewriter.replace(bn, [w_op, b_op, new_conv])
        erase_dead(rewriter, [conv])


def _gemm_producer(value: SSAValue, bn: Operation) -> tuple[ops.MatMulOp, ops.AddOp | None] | None:
    """(matmul, bias add or None) if `value` is matmul(...) [+ constant], private to `bn`."""
    add = value.owner
    if isinstance(add, ops.AddOp) and only_user(add.output) is bn:
        for mm_value, bias in ((add.lhs, add.rhs), (add.rhs, add.lhs)):
            mm = mm_value.owner
            if isinstance(mm, ops.MatMulOp) and constant_array(bias) is not None:
                if add.output.type == mm.output.type and only_user(mm.output) is add:
                    return mm, add
    if isinstance(add, ops.MatMulOp) and only_user(add.output) is bn:
        return add, None
    return None


class FoldIntoPrecedingMatMul(RewritePattern):
    """batch_norm(matmul(x, W) [+ b]) -> matmul(x, W * s) + (b * s + t), channel in W."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, bn: ops.BatchNormOp, rewriter: PatternRewriter, /) -> None:
        found = _gemm_producer(bn.input, bn)
        if found is None or (factors := bn_factors(bn)) is None:
            return
        mm, add = found
        s, t = factors
        rank = len(shape_of(bn.input.type))
        lhs_rank, rhs_rank = len(shape_of(mm.lhs.type)), len(shape_of(mm.rhs.type))
        if lhs_rank < 2 or rhs_rank < 2 or rank not in (2, 3):
            return
        along = s if rank == 2 else s.reshape(-1, 1)  # the channel is the last or the row dim
        weight_value = mm.rhs if rank == 2 else mm.lhs
        weight = private_weight(weight_value, mm)
        if weight is None:
            return
        w_op = constant_of(weight * along, weight_value)
        bias = np.zeros(1)
        if add is not None:
            bias_value = add.rhs if add.lhs is mm.output else add.lhs
            bias = constant_array(bias_value)
        shift = t if rank == 2 else t.reshape(-1, 1)
        b_op = constant_of(bias * along + shift, weight_value, _bias_name(weight_value))
        operands = (mm.lhs, w_op) if rank == 2 else (w_op, mm.rhs)
        new_mm = ops.MatMulOp(*operands)
        new_add = ops.AddOp(new_mm, b_op)
        rewriter.replace(bn, [w_op, b_op, new_mm, new_add])
        erase_dead(rewriter, [add, mm] if add is not None else [mm])


class FoldIntoFollowingMatMul(RewritePattern):
    """matmul(batch_norm(x), W) -> matmul(x, s[:, None] * W) + t @ W, for 2-D x and W."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, bn: ops.BatchNormOp, rewriter: PatternRewriter, /) -> None:
        mm = only_user(bn.output)
        if not isinstance(mm, ops.MatMulOp) or mm.lhs is not bn.output or mm.rhs is bn.output:
            return
        if len(shape_of(bn.input.type)) != 2 or len(shape_of(mm.rhs.type)) != 2:
            return
        weight = private_weight(mm.rhs, mm)
        if weight is None or (factors := bn_factors(bn)) is None:
            return
        s, t = factors
        w_op = constant_of(s.reshape(-1, 1) * weight, mm.rhs)
        b_op = constant_of(t @ weight.astype(np.float64), mm.rhs, _bias_name(mm.rhs))
        new_mm = ops.MatMulOp(bn.input, w_op)
        new_add = ops.AddOp(new_mm, b_op)
        rewriter.replace(mm, [w_op, b_op, new_mm, new_add])
        erase_dead(rewriter, [bn])


class BatchNormToScaleShift(RewritePattern):
    """batch_norm(x) with constant parameters -> x * s + t (per-channel constants)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, bn: ops.BatchNormOp, rewriter: PatternRewriter, /) -> None:
        if (factors := bn_factors(bn)) is None:
            return
        s, t = factors
        rank = len(shape_of(bn.input.type))
        channel = (-1, *[1] * (rank - 2))
        s_op = constant_of(s.reshape(channel), bn.scale, "bn_scale")
        t_op = constant_of(t.reshape(channel), bn.scale, "bn_shift")
        mul = ops.MulOp(bn.input, s_op)
        rewriter.replace(bn, [s_op, t_op, mul, ops.AddOp(mul, t_op)])


@dataclass(frozen=True)
class FoldBatchNorm(ModulePass):
    """Fold inference batch norm into adjacent conv / matmul weights, else into x * s + t."""

    name = "fold-batch-norm"

    scale_shift: bool = True
    """Turn a batch norm that folds nowhere into a constant per-channel multiply-add."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        patterns: list[RewritePattern] = [
            FoldIntoConv(),
            FoldIntoPrecedingMatMul(),
            FoldIntoFollowingMatMul(),
        ]
        if self.scale_shift:
            patterns.append(BatchNormToScaleShift())
        PatternRewriteWalker(GreedyRewritePatternApplier(patterns)).rewrite_module(op)
