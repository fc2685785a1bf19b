"""`recognize-group-norm`: rebuild `ge.group_norm` from the form exporters write.

ONNX had no GroupNormalization before opset 18 (and opset 18's took per-group scales), so
`torch.onnx.export` writes `nn.GroupNorm(G, C)` as

    g = Reshape(x, [N, G, -1])                     x: (N, C, *spatial)
    n = InstanceNormalization(g, ones(G), zeros(G))
    y = Add(Mul(Reshape(n, shape(x)), weight), bias)   weight, bias: (C, 1, ...)

and this pass turns the chain into one `ge.group_norm(x, scale, bias)`, which lowers to one
kernel that can also take the SiLU after it (`fuse-norm-activation`). The instance norm's
own scale and bias must be constants (one per group: they become per-channel values); the
Mul and the Add are optional and taken when they scale and shift per channel without
growing the result, folded with the group values when constant, else (weights given as
graph inputs) taken as they are when the group values are ones and zeros. Every
intermediate value must have the chain as its only user.

Pre: the module verifies. Post: no chain above with those properties remains.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from gedialects.ge import ops
from gedialects.ge.constant import ConstantOp
from gedialects.ge.types import element_of, shape_of, to_numpy_dtype
from passes.matching import constant_array, erase_dead, only_user, other_operand


@dataclass
class _Affine:
    """The per-channel scale and bias built so far: constants (float64 arrays) while every
    factor was one, else a runtime (C,) value in one of them."""

    scale: np.ndarray | SSAValue
    bias: np.ndarray | SSAValue

    def take(self, kind: type, vector: np.ndarray | SSAValue, channels: int, new_ops: list) -> bool:
        """Fold y * vector (kind MulOp) or y + vector (AddOp), a `channel_column`."""
        if isinstance(vector, np.ndarray):
            if kind is ops.MulOp and isinstance(self.scale, np.ndarray):
                if not isinstance(self.bias, np.ndarray):
                    return False
                self.scale, self.bias = self.scale * vector, self.bias * vector
                return True
            if kind is ops.AddOp and isinstance(self.bias, np.ndarray):
                self.bias = self.bias + vector
                return True
            return False
        if kind is ops.MulOp and _is(self.scale, 1.0) and _is(self.bias, 0.0):
            slot = "scale"
        elif kind is ops.AddOp and _is(self.bias, 0.0):
            slot = "bias"
        else:
            return False  # (built only when taken: a dropped op would still use `vector`)
        flat = ops.ReshapeOp(vector, shape=[channels])
        setattr(self, slot, flat.output)
        new_ops.append(flat)
        return True


def _is(value: np.ndarray | SSAValue, splat: float) -> bool:
    return isinstance(value, np.ndarray) and bool(np.all(value == splat))


def channel_column(value: SSAValue, rank: int, channels: int) -> np.ndarray | SSAValue | None:
    """`value` as a per-channel factor of a rank-`rank` (N, C, *spatial) tensor: a shape that
    broadcasts as (1, C, 1, ...) without growing it. A constant comes back as a float64 (C,)
    array, a runtime value as itself; None if it is not per channel."""
    shape = shape_of(value.type)
    if len(shape) > rank:
        return None
    padded = (1,) * (rank - len(shape)) + tuple(shape)
    if padded[1] != channels or any(d != 1 for i, d in enumerate(padded) if i != 1):
        return None
    array = constant_array(value)
    return value if array is None else array.reshape(-1).astype(np.float64)


@dataclass
class GroupNormMatch:
    x: SSAValue
    """The value normalized, in any shape of the chain's result's elements."""
    shape: tuple[int, ...]
    """The chain's result's shape, (N, C, ...)."""
    groups: int
    epsilon: float
    chain: list[Operation]
    """The ops replaced, the last first."""
    affine: _Affine
    new_ops: list[Operation]


def _grouping(norm: ops.InstanceNormOp) -> tuple[SSAValue, list[Operation], SSAValue, int] | None:
    """(the value normalized, the chain so far, its last value, the groups): the Reshape to
    (N, G, ...), the norm and the Reshape back to (N, C, ...), or the norm alone (G = C: a
    GroupNorm(C, C) on (N, C, T), whose identity reshapes `simplify` removed). The reshape
    back fixes the layout; what the first one reshapes may be in any shape (a Conv1d's 4-D
    result, whose view `simplify` merged into it)."""
    grouped, back = norm.input.owner, only_user(norm.output)
    if isinstance(grouped, ops.ReshapeOp) and isinstance(back, ops.ReshapeOp):
        out, grouping = shape_of(back.output.type), shape_of(norm.input.type)
        if only_user(norm.input) is norm and len(out) >= 2 and out[0] == grouping[0]:
            if out[1] % grouping[1] == 0:
                return grouped.input, [back, norm, grouped], back.output, grouping[1]
    return norm.input, [norm], norm.output, shape_of(norm.input.type)[1]


def match_group_norm(norm: ops.InstanceNormOp) -> GroupNormMatch | None:
    """The Reshape -> InstanceNormalization -> Reshape [-> Mul] [-> Add] chain around `norm`
    (an instance norm alone needs a Mul or an Add after it: else it stays what it is)."""
    found = _grouping(norm)
    if found is None or to_numpy_dtype(element_of(norm.input.type)).kind != "f":
        return None
    x, chain, last, groups = found
    shape = shape_of(last.type)
    group_scale, group_bias = constant_array(norm.scale), constant_array(norm.bias)
    if group_scale is None or group_bias is None:
        return None
    per = shape[1] // groups
    spread = [np.repeat(v.astype(np.float64).reshape(-1), per) for v in (group_scale, group_bias)]
    affine = _Affine(*spread)
    match = GroupNormMatch(x, shape, groups, norm.get_float("epsilon"), chain, affine, [])
    for kind in (ops.MulOp, ops.AddOp):
        user = only_user(last)
        if not isinstance(user, kind) or user.results[0].type != last.type:
            continue
        other = other_operand(user, last)
        if other is None or other is last:
            continue
        column = channel_column(other, len(shape), shape[1])
        if column is None or not affine.take(kind, column, shape[1], match.new_ops):
            continue
        match.chain.insert(0, user)
        last = user.results[0]
    if match.chain[-1] is norm and len(match.chain) == 1:
        return None  # an instance norm and nothing to take
    return match


class RecognizeGroupNorm(RewritePattern):
    """Reshape / InstanceNormalization / Reshape [/ Mul / Add] -> ge.group_norm."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, norm: ops.InstanceNormOp, rewriter: PatternRewriter, /) -> None:
        found = match_group_norm(norm)
        if found is None:
            return
        dtype = to_numpy_dtype(element_of(found.x.type))
        operands: list[SSAValue] = []
        new_ops = list(found.new_ops)
        for part, hint in ((found.affine.scale, "scale"), (found.affine.bias, "bias")):
            if isinstance(part, np.ndarray):
                constant = ConstantOp(part.astype(dtype))
                constant.output.name_hint = hint
                new_ops.append(constant)
                part = constant.output
            operands.append(part)
        # the op's layout: the chain's (N, C, ...), a rank-2 one as (N, C, 1)
        layout = found.shape if len(found.shape) >= 3 else (*found.shape, 1)
        x = found.x
        if shape_of(x.type) != layout:
            new_ops.append(ops.ReshapeOp(x, shape=list(layout)))
            x = new_ops[-1].results[0]
        new_ops.append(
            ops.GroupNormOp(x, *operands, num_groups=found.groups, epsilon=found.epsilon)
        )
        if layout != found.shape:
            new_ops.append(ops.ReshapeOp(new_ops[-1].results[0], shape=list(found.shape)))
        last = found.chain[0]
        orphans = [v.owner for v in last.operands if isinstance(v.owner, ConstantOp)]
        rewriter.replace(last, new_ops)
        erase_dead(rewriter, [*found.chain[1:], *orphans])


@dataclass(frozen=True)
class RecognizeGroupNormPass(ModulePass):
    """Turn GroupNorm written as InstanceNormalization between Reshapes into ge.group_norm."""

    name = "recognize-group-norm"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(RecognizeGroupNorm()).rewrite_module(op)
