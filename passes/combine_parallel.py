"""`combine-parallel-matmuls` and `combine-parallel-convs`: sibling kernels of one input as
one (TVM's CombineParallelDense and CombineParallelConv2D: horizontal fusion).

A transformer projects its hidden state x three times, Q = x Wq + bq, K = x Wk + bk and
V = x Wv + bv: three GEMMs of (S, H) x (H, H), each reading all of x and bound by its cores'
loads (BERT's 128 x 768 x 768 at 0.77 of its roofline on ascend910a). One GEMM of x by the
(H, 3H) concatenation of the weights, with the biases concatenated too, does the same work
with every core's A panel feeding three times the columns (0.85). The products come back as
a `kernel.split` along the last axis, which the npu lowering runs inside the GEMM's stores
(`gedialects.kernel.stored_split`), so no copy kernel runs. An inception block's 1x1 convs
of one input likewise become one conv over the concatenated output channels; with a batch
of one, the split along channels cuts contiguous pieces: a view, no launch.

Taken together, matmuls: `kernel.matmul`s in one block with the same lhs (rank >= 2, not
transposed), private constant rank-2 weights of the same K and `transpose_b` (a weight
another op reads would be stored twice), private constant biases that vary along the last
axis only (one without a bias gets zeros), the same alpha, activation and types, no
residual or multiplier. Convs: `kernel.conv2d`s of the same input with a batch of one,
private constant weights of the same (C, kh, kw), the same strides, pads, dilations and
activations, groups 1, private per-channel constants (a missing bias is zeros; scale and
shift all or none), no residual.
Pre: `convert-ge-to-kernel` (every matmul and conv a kernel). Post: no two such kernels
remain.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Block, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from gedialects.ge.types import element_of, shape_of
from gedialects.kernel import ops as k
from gedialects.kernel.base import KernelOp, provenance
from gedialects.kernel.mirrored import SplitKernelOp
from passes.fold_batch_norm import constant_of, private_weight


@dataclass(frozen=True)
class Sibling:
    """A kernel that may join a combination: its weight and per-output constants."""

    op: KernelOp
    weight: np.ndarray
    vectors: dict[str, np.ndarray]
    """Each present per-output constant operand (bias, scale, shift) as a vector."""


class Combination:
    """What one kind of kernel needs to be combined: which ops, the key siblings share,
    how weights and results concatenate, and the combined kernel."""

    KIND: ClassVar[type[KernelOp]]
    VECTORS: ClassVar[tuple[str, ...]]
    """The per-output constant operands, in operand order."""
    FILLED: ClassVar[dict[str, float]] = {"bias": 0.0}
    """Per-output constants a sibling may lack where another has them: its part of the
    combined one holds this value (Whisper's K projection has no bias, Q's and V's do)."""
    KEPT: ClassVar[tuple[str, ...]]
    """The properties siblings share and the combined kernel keeps."""
    RESULT_AXIS: ClassVar[int]
    """The axis of the result that holds the outputs (the split's)."""

    def sibling(self, op: KernelOp) -> Sibling | None:
        raise NotImplementedError

    def weight_axis(self, op: KernelOp) -> int:
        raise NotImplementedError

    def key(self, s: Sibling) -> tuple:
        props = tuple(str(s.op.properties.get(name)) for name in self.KEPT)
        types = tuple(str(element_of(v.type)) for v in (*s.op.operands[:2], *s.op.results))
        outputs = self.weight_axis(s.op)
        shape = tuple(d for a, d in enumerate(s.weight.shape) if a != outputs)
        present = tuple(sorted(n for n in s.vectors if n not in self.FILLED))
        return (s.op.operands[0], shape, props, present, types)

    def vectors(self, op: KernelOp, outputs: int) -> dict[str, np.ndarray] | None:
        """The present per-output constants of `op` as vectors of `outputs`, None if one
        is not a private constant that varies along the outputs only."""
        found = {}
        for name in self.VECTORS:
            value = getattr(op, name)
            if value is None:
                continue
            array = private_weight(value, op)
            if array is None or array.ndim == 0 or array.size != outputs:
                return None
            if array.shape[-1] != outputs:
                return None  # varies along another axis (a matmul's (M, 1) bias)
            found[name] = array.reshape(outputs)
        return found


class MatMuls(Combination):
    KIND = k.MatMulKernelOp
    VECTORS = ("bias",)
    KEPT = ("transpose_a", "transpose_b", "alpha", "activation", "activation_attrs")
    RESULT_AXIS = -1

    def weight_axis(self, op: KernelOp) -> int:
        return 0 if op.get_flag("transpose_b") else 1

    def sibling(self, op: KernelOp) -> Sibling | None:
        if op.residual is not None or op.multiplier is not None or op.get_flag("transpose_a"):
            return None
        if op.algorithm is not None:
            return None
        if len(shape_of(op.lhs.type)) < 2 or op.attributes:
            return None
        weight = private_weight(op.rhs, op)
        if weight is None or weight.ndim != 2:
            return None
        vectors = self.vectors(op, weight.shape[self.weight_axis(op)])
        return None if vectors is None else Sibling(op, weight, vectors)


class Convs(Combination):
    KIND = k.Conv2DKernelOp
    VECTORS = ("bias", "scale", "shift")
    KEPT = ("strides", "pads", "dilations", "groups", "activation", "activation_attrs",
            "post_activation", "post_activation_attrs", "input_activation",
            "input_activation_attrs")  # fmt: skip
    RESULT_AXIS = 1

    def weight_axis(self, op: KernelOp) -> int:
        return 0

    def sibling(self, op: KernelOp) -> Sibling | None:
        if op.residual is not None or op.algorithm is not None or op.attributes:
            return None
        if op.get_int("groups") != 1 or shape_of(op.input.type)[0] != 1:
            return None  # a batch of one: the channel pieces are contiguous (a view)
        weight = private_weight(op.weight, op)
        if weight is None or weight.ndim != 4:
            return None
        vectors = self.vectors(op, weight.shape[0])
        return None if vectors is None else Sibling(op, weight, vectors)


def _groups(block: Block, kind: Combination) -> list[list[Sibling]]:
    """The sibling groups of `block`, each in program order, two or more kernels each."""
    groups: dict[tuple, list[Sibling]] = defaultdict(list)
    for op in block.ops:
        if isinstance(op, kind.KIND) and (found := kind.sibling(op)) is not None:
            groups[kind.key(found)].append(found)
    return [group for group in groups.values() if len(group) > 1]


def _constant(array: np.ndarray, like: SSAValue) -> Operation:
    """A constant of `array`, named after the first of the constants it joins."""
    return constant_of(array, like, f"{like.name_hint}_combined" if like.name_hint else None)


def combine(group: list[Sibling], kind: Combination) -> None:
    """Replace the kernels of `group` by one over the concatenated weights and a split."""
    first = group[0].op
    axis = kind.weight_axis(first)
    weight = _constant(np.concatenate([s.weight for s in group], axis=axis), first.operands[1])
    new: list[Operation] = [weight]
    vectors: dict[str, SSAValue] = {}
    for name in kind.VECTORS:
        having = [s for s in group if name in s.vectors]
        if not having:
            continue
        like = having[0].vectors[name]
        parts = [s.vectors.get(name, np.full(s.weight.shape[axis], kind.FILLED.get(name, 0.0),
                                             like.dtype)) for s in group]  # fmt: skip
        joined = _constant(np.concatenate(parts), getattr(having[0].op, name))
        new.append(joined)
        vectors[name] = joined.output
    operands = [first.operands[0], weight.output, *(vectors.get(n) for n in kind.VECTORS), None]
    props = {n: first.properties[n] for n in kind.KEPT if n in first.properties}
    fused = [name for s in group for name in provenance(s.op)]
    combined = kind.KIND(*operands, fused_from=fused, **props)
    hint = first.results[0].name_hint
    combined.results[0].name_hint = f"{hint}_combined" if hint else None
    sizes = [shape_of(s.op.results[0].type)[kind.RESULT_AXIS] for s in group]
    split = SplitKernelOp(combined.results[0], fused_from=["ge.split"], axis=kind.RESULT_AXIS,
                          sizes=sizes)  # fmt: skip
    new += [combined, split]
    rewriter = Rewriter()
    rewriter.insert_op(new, InsertPoint.before(first))
    for s, piece in zip(group, split.results):
        piece.name_hint = s.op.results[0].name_hint
        rewriter.replace_op(s.op, [], [piece])


def blocks(module: ModuleOp) -> list[Block]:
    """Every block of `module` (siblings are looked for within one block)."""
    return [block for op in module.walk() for region in op.regions for block in region.blocks]


def combine_module(module: ModuleOp, kind: Combination) -> None:
    for block in blocks(module):
        for group in _groups(block, kind):
            combine(group, kind)


@dataclass(frozen=True)
class CombineParallelMatmuls(ModulePass):
    """Sibling matmuls of one input with constant weights become one GEMM and a split."""

    name = "combine-parallel-matmuls"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        combine_module(op, MatMuls())


@dataclass(frozen=True)
class CombineParallelConvs(ModulePass):
    """Sibling convs of one input (batch one) become one conv and a split of channels."""

    name = "combine-parallel-convs"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        combine_module(op, Convs())
