"""What a conv or matmul kernel can take from the op that consumes its result.

A fusion pattern matches the consumer (an activation, a bias add, a scale, a batch norm,
a residual add, a product), reads its producer as an *epilogue* under construction
(`ConvEpilogue.of` / `MatMulEpilogue.of`, from a `ge` op or an existing kernel), asks the
epilogue to absorb the consumer, and `fuse_into_producer` swaps the pair for one kernel.
The stages run in a fixed order (conv: bias, scale/shift, activation, residual,
post-activation; matmul: alpha, bias, activation, multiplier, residual), so a consumer is
absorbed only when every later stage is still empty. Per-channel factors must be constants
(weights).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from xdsl.dialects.builtin import DictionaryAttr, FloatAttr, IntegerAttr, ModuleOp, StringAttr, f64
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from gedialects.errors import UnsupportedError
from gedialects.ge import ops as ge
from gedialects.ge.constant import ConstantOp
from gedialects.ge.types import element_of, shape_of, to_numpy_dtype
from gedialects.kernel import ops as k
from gedialects.kernel.base import activation_of
from gedialects.kernel.mirrored import ConvTranspose2DKernelOp, GroupNormKernelOp
from lowering.gemm_epilogue import activation_steps
from passes.fold_batch_norm import bn_factors, erase_dead
from passes.matching import constant_array, only_user


def _const(array: np.ndarray, like: SSAValue, new_ops: list[Operation]) -> SSAValue:
    op = ConstantOp(np.ascontiguousarray(array).astype(to_numpy_dtype(element_of(like.type))))
    op.output.name_hint = like.name_hint
    new_ops.append(op)
    return op.output


def channel_vector(value: SSAValue, output: SSAValue) -> np.ndarray | None:
    """The (C,) constant a per-channel operand of an NCHW `output` holds, else None."""
    array = constant_array(value)
    out = shape_of(output.type)
    if array is None or len(out) != 4 or array.ndim > 4:
        return None
    if np.broadcast_shapes(out, array.shape) != out:
        return None
    padded = array.reshape((1,) * (4 - array.ndim) + array.shape)
    if padded.shape[0] != 1 or padded.shape[2:] != (1, 1):
        return None
    return np.broadcast_to(padded[0, :, 0, 0], (out[1],)).astype(np.float64)


def set_activation(props: dict, slot: str, found: tuple[str, DictionaryAttr]) -> None:
    """Store an activation (and its properties, when it has any) in epilogue slot `slot`."""
    props[slot] = StringAttr(found[0])
    if found[1].data:
        props[f"{slot}_attrs"] = found[1]


@dataclass
class ConvEpilogue:
    """A `kernel.conv2d` under construction: its operands, properties and provenance."""

    values: dict[str, SSAValue | None]
    props: dict[str, Attribute]
    fused: list[str]
    new_ops: list[Operation] = field(default_factory=list)

    SLOTS = ("input", "weight", "bias", "scale", "shift", "residual")

    @staticmethod
    def of(op: Operation) -> ConvEpilogue | None:
        if isinstance(op, ge.Conv2DOp):
            values = {"input": op.input, "weight": op.weight, "bias": op.bias}
            return ConvEpilogue(values, dict(op.properties), [op.name])
        if isinstance(op, k.Conv2DKernelOp):
            values = {name: getattr(op, name) for name in ConvEpilogue.SLOTS}
            props = {n: a for n, a in op.properties.items() if n != "operandSegmentSizes"}
            return ConvEpilogue(values, props, list(op.fused_names))
        return None

    def has(self, *names: str) -> bool:
        return any(self.values.get(n) is not None or n in self.props for n in names)

    def build(self) -> list[Operation]:
        operands = [self.values.get(n) for n in self.SLOTS]
        props = {n: a for n, a in self.props.items() if n != "fused_from"}
        return [*self.new_ops, k.Conv2DKernelOp(*operands, fused_from=self.fused, **props)]

    def vector(self, name: str) -> np.ndarray | None:
        value = self.values.get(name)
        return None if value is None else constant_array(value)

    def absorb_activation(self, op: Operation) -> bool:
        """act(conv) or act(conv + residual): fill the activation slot that is free."""
        found = activation_of(op)
        if found is None:
            return False
        if not self.has("residual", "activation"):
            slot = "activation"
        elif self.has("residual") and not self.has("post_activation"):
            slot = "post_activation"
        else:
            return False
        set_activation(self.props, slot, found)
        self.fused.append(op.name)
        return True

    def absorb_affine(self, op: Operation, s: np.ndarray | None, t: np.ndarray | None) -> bool:
        """y * s + t per channel, before any activation or residual (s, t: float64)."""
        if self.has("activation", "residual"):
            return False
        scale, shift = self.vector("scale"), self.vector("shift")
        if self.has("scale") and (scale is None or shift is None):
            return False
        like = self.values["weight"]
        assert like is not None
        if s is None and not self.has("scale"):  # a pure bias: into the conv's bias
            bias = self.vector("bias")
            if t is None or (self.has("bias") and bias is None):
                return False
            self.values["bias"] = _const(t if bias is None else bias + t, like, self.new_ops)
        else:
            s = np.ones_like(t) if s is None else s
            t = np.zeros_like(s) if t is None else t
            new_scale = s if scale is None else scale * s
            new_shift = t if shift is None else shift * s + t
            self.values["scale"] = _const(new_scale, like, self.new_ops)
            self.values["shift"] = _const(new_shift, like, self.new_ops)
        self.fused.append(op.name)
        return True

    def absorb_batch_norm(self, bn: ge.BatchNormOp) -> bool:
        """BN with constant parameters: into the weights if private, else as scale/shift."""
        factors = bn_factors(bn)
        if factors is None or self.has("activation", "residual"):
            return False
        s, t = factors
        weight = self.values["weight"]
        assert weight is not None
        w = constant_array(weight)
        bias = self.vector("bias") if self.has("bias") else np.zeros_like(s)
        if w is not None and bias is not None and not self.has("scale"):
            if only_user(weight) is not None:
                self.values["weight"] = _const(w * s.reshape(-1, 1, 1, 1), weight, self.new_ops)
                self.values["bias"] = _const(bias * s + t, weight, self.new_ops)
                self.fused.append(bn.name)
                return True
        return self.absorb_affine(bn, s, t)

    def absorb_residual(self, add: Operation, other: SSAValue, output: SSAValue) -> bool:
        """conv + r with r of the conv's own type: the residual slot."""
        if self.has("residual", "post_activation") or other.type != output.type:
            return False
        self.values["residual"] = other
        self.fused.append(add.name)
        return True


@dataclass
class ActivatedMirrorEpilogue:
    """A mirrored kernel that takes an activation of its result (`kernel.mirrored`'s
    `ActivatedMirrorKernelOp`) under construction: `GE_OP` or `KERNEL` with operands `SLOTS`."""

    values: dict[str, SSAValue | None]
    props: dict[str, Attribute]
    fused: list[str]

    GE_OP: ClassVar[type]
    KERNEL: ClassVar[type]
    SLOTS: ClassVar[tuple[str, ...]]
    SCRATCH: ClassVar[bool] = True
    """Whether its lowerings have room for an activation's scratch tile."""

    @classmethod
    def of(cls, op: Operation):  # noqa: ANN206 (the subclass)
        if not isinstance(op, cls.GE_OP | cls.KERNEL):
            return None
        values = {name: getattr(op, name) for name in cls.SLOTS}
        props = {n: a for n, a in op.properties.items() if n != "fused_from"}
        fused = list(op.fused_names) if isinstance(op, cls.KERNEL) else [op.name]
        return cls(values, props, fused)

    def build(self) -> list[Operation]:
        operands = [self.values[n] for n in self.SLOTS]
        return [self.KERNEL(*operands, fused_from=self.fused, **self.props)]

    def absorb_activation(self, op: Operation) -> bool:
        found = activation_of(op)
        if found is None or "activation" in self.props:
            return False
        try:
            steps = activation_steps(*found)
        except UnsupportedError:
            return False
        if not self.SCRATCH and any(step.needs_scratch for step in steps):
            return False
        set_activation(self.props, "activation", found)
        self.fused.append(op.name)
        return True


class ConvTransposeEpilogue(ActivatedMirrorEpilogue):
    """A `kernel.conv_transpose2d`: it takes an activation, after its bias (its lowerings
    apply it where they add the bias); one that keeps a scratch copy (gelu, hard_swish, elu,
    softplus, silu) would need a second canvas in col2im's UB, so a conv that fits whole
    might no longer; it stays a kernel of its own."""

    GE_OP = ge.ConvTranspose2DOp
    KERNEL = ConvTranspose2DKernelOp
    SLOTS = ("input", "weight", "bias")
    SCRATCH = False


class GroupNormEpilogue(ActivatedMirrorEpilogue):
    """A `kernel.group_norm`: the activation runs on each output tile before its store (a
    diffusion net's GroupNorm + SiLU); its tile choice leaves room for a scratch tile. An
    instance norm is a group norm of one channel a group, so it becomes one to take an
    activation (a style-transfer net's InstanceNorm + ReLU)."""

    GE_OP = ge.GroupNormOp
    KERNEL = GroupNormKernelOp
    SLOTS = ("input", "scale", "bias")

    @classmethod
    def of(cls, op: Operation):  # noqa: ANN206
        if not isinstance(op, ge.InstanceNormOp):
            return super().of(op)
        values = {name: getattr(op, name) for name in cls.SLOTS}
        props = dict(op.properties)
        props["num_groups"] = IntegerAttr(shape_of(op.input.type)[1], 64)
        return cls(values, props, [op.name])


@dataclass
class MatMulEpilogue:
    """A `kernel.matmul` under construction."""

    values: dict[str, SSAValue | None]
    props: dict[str, Attribute]
    fused: list[str]

    SLOTS = ("lhs", "rhs", "bias", "residual", "multiplier")

    @staticmethod
    def of(op: Operation) -> MatMulEpilogue | None:
        if isinstance(op, ge.MatMulOp):
            return MatMulEpilogue({"lhs": op.lhs, "rhs": op.rhs}, {}, [op.name])
        if isinstance(op, k.MatMulKernelOp):
            values = {name: getattr(op, name) for name in MatMulEpilogue.SLOTS}
            props = {n: a for n, a in op.properties.items() if n != "operandSegmentSizes"}
            return MatMulEpilogue(values, props, list(op.fused_names))
        return None

    def has(self, *names: str) -> bool:
        return any(self.values.get(n) is not None or n in self.props for n in names)

    def flag(self, name: str) -> bool:
        """`transpose_a` / `transpose_b` as set so far (a `ge.matmul` has neither)."""
        attr = self.props.get(name)
        return isinstance(attr, IntegerAttr) and bool(attr.value.data)

    def build(self) -> list[Operation]:
        operands = [self.values.get(n) for n in self.SLOTS]
        props = {n: a for n, a in self.props.items() if n != "fused_from"}
        return [k.MatMulKernelOp(*operands, fused_from=self.fused, **props)]

    def absorb_scale(self, op: Operation, factor: float) -> bool:
        """(A @ B) * c or / c with a scalar c: into alpha, before bias and activation."""
        if self.has("bias", "activation", "multiplier", "residual"):
            return False
        alpha = self.props.get("alpha")
        current = 1.0 if alpha is None else alpha.value.data  # type: ignore[attr-defined]
        self.props["alpha"] = FloatAttr(current * factor, f64)
        self.fused.append(op.name)
        return True

    def absorb_bias(self, add: Operation, bias: SSAValue, output: SSAValue) -> bool:
        """A @ B + b, b broadcasting into the product without growing it."""
        if self.has("bias", "activation", "multiplier", "residual"):
            return False
        if add.results[0].type != output.type:
            return False
        self.values["bias"] = bias
        self.fused.append(add.name)
        return True

    def absorb_activation(self, op: Operation) -> bool:
        found = activation_of(op)
        if found is None or self.has("activation", "multiplier", "residual"):
            return False
        set_activation(self.props, "activation", found)
        self.fused.append(op.name)
        return True

    def absorb_residual(self, add: Operation, other: SSAValue, output: SSAValue) -> bool:
        """act(A @ B + b) * m + r with r of the product's own type, after a bias: the
        residual slot (without a bias, the add is the bias: `absorb_bias`)."""
        if not self.has("bias", "activation", "multiplier") or self.has("residual"):
            return False
        inputs = (self.values["lhs"], self.values["rhs"])
        if other.type != output.type or not _computed_before(other, *inputs):
            return False
        self.values["residual"] = other
        self.fused.append(add.name)
        return True


    def absorb_multiplier(self, mul: Operation, other: SSAValue, output: SSAValue) -> bool:
        """act(A @ B + b) * m, m broadcasting into the product without growing it: a gated
        linear unit's other half, or a layer scale."""
        if self.has("multiplier", "residual") or mul.results[0].type != output.type:
            return False
        out, extra = shape_of(output.type), shape_of(other.type)
        if element_of(other.type) != element_of(output.type) or len(extra) > len(out):
            return False
        if any(e not in (1, o) for e, o in zip(reversed(extra), reversed(out))):
            return False
        self.values["multiplier"] = other
        self.fused.append(mul.name)
        return True


def _computed_before(value: SSAValue, *inputs: SSAValue | None) -> bool:
    """Whether `value` is an argument, a constant, or computed on the way to `inputs`: only
    then does a kernel reading it and `inputs` start as early as one reading `inputs`. (A
    residual from a parallel branch, GPT-NeoX's attention beside its MLP, would make the
    MLP's last matmul wait for the attention, which the stream scheduler ran beside it.)"""
    source = value.owner
    while isinstance(source, ge.ReshapeOp):  # a view is computed when what it views is
        source = source.input.owner
    if not isinstance(source, Operation) or isinstance(source, ConstantOp):
        return True
    seen: set[int] = set()
    stack = [v.owner for v in inputs if v is not None and isinstance(v.owner, Operation)]
    while stack:
        op = stack.pop()
        if op is source:
            return True
        if id(op) in seen:
            continue
        seen.add(id(op))
        stack += [v.owner for v in op.operands if isinstance(v.owner, Operation)]
    return False


def fuse_into_producer(
    rewriter: PatternRewriter,
    consumer: Operation,
    produced: SSAValue,
    absorb: Callable[[Any], bool],
    kinds: tuple[type, ...] = (ConvEpilogue, MatMulEpilogue),
) -> bool:
    """Replace `consumer` and the producer of `produced` by one kernel, if `absorb` agrees.

    The producer must have no user but `consumer` (so no work is duplicated for another
    consumer), and the consumer must not use the result twice.
    """
    producer = produced.owner
    if not isinstance(producer, Operation) or only_user(produced) is not consumer:
        return False
    if sum(1 for o in consumer.operands if o is produced) != 1:
        return False
    epilogue = next((e for kind in kinds if (e := kind.of(producer)) is not None), None)
    if epilogue is None or not absorb(epilogue):
        return False
    new_ops = epilogue.build()
    rewriter.replace(consumer, new_ops, [new_ops[-1].results[0]])
    erase_dead(rewriter, [producer])
    return True


class ResidualAdd(RewritePattern):
    """add(kernel, r) -> the kernel with residual r, r of the kernel's own result type (the
    later-defined kernel when both sides are one); `KINDS` are the epilogues it builds."""

    KINDS: ClassVar[tuple[type, ...]] = ()

    @op_type_rewrite_pattern
    def match_and_rewrite(self, add: ge.AddOp, rewriter: PatternRewriter, /) -> None:
        for produced, other in ((add.lhs, add.rhs), (add.rhs, add.lhs)):
            if produced.type != add.output.type:
                continue
            absorb = lambda e: e.absorb_residual(add, other, produced)
            if fuse_into_producer(rewriter, add, produced, absorb, self.KINDS):
                return


def rewrite_module(module: ModuleOp, *patterns: RewritePattern) -> None:
    """Apply `patterns` greedily to a fixpoint (dead ops removed), as every fusion pass does."""
    applier = GreedyRewritePatternApplier(list(patterns))
    PatternRewriteWalker(applier).rewrite_module(module)
