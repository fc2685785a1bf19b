"""`combine-parallel-matmuls`: sibling matmuls of one input as one GEMM (TVM's
CombineParallelDense, horizontal fusion).

A transformer projects its hidden state x three times, Q = x Wq + bq, K = x Wk + bk and
V = x Wv + bv: three GEMMs of (S, H) x (H, H), each reading all of x and bound by its cores'
loads (BERT's 128 x 768 x 768 at 0.77 of its roofline on ascend910a). One GEMM of x by the
(H, 3H) concatenation of the weights, with the biases concatenated too, does the same work
with every core's A panel feeding three times the columns (0.85). The products come back as
a `kernel.split` along the last axis, which the npu lowering runs inside the GEMM's stores
(each output tile's columns go to their piece's buffer: `lowering.lower_matmul_kernel`), so
no copy kernel runs.

Taken together: `kernel.matmul`s in one block with the same lhs (rank >= 2, not transposed),
private constant rank-2 weights of the same K and `transpose_b` (a weight another op reads
would be stored twice), private constant biases that vary along the last axis only (all of
them or none), the same alpha, activation and types, no residual.
Pre: `convert-ge-to-kernel` (every matmul a kernel). Post: no two such matmuls remain.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Block, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from gedialects.ge.constant import ConstantOp
from gedialects.ge.types import element_of, shape_of
from gedialects.kernel import ops as k
from gedialects.kernel.base import provenance
from gedialects.kernel.mirrored import SplitKernelOp
from passes.matching import constant_array, only_user

KEPT = ("transpose_a", "transpose_b", "alpha", "activation", "activation_attrs")
"""The properties the siblings share and the combined matmul keeps."""


def _columns(op: k.MatMulKernelOp) -> tuple[np.ndarray, np.ndarray | None] | None:
    """(weight, bias as a vector) of a matmul that can join a combination, else None."""
    if op.residual is not None or op.get_flag("transpose_a") or op.algorithm is not None:
        return None
    if len(shape_of(op.lhs.type)) < 2 or op.attributes:
        return None
    weight = constant_array(op.rhs)
    if weight is None or weight.ndim != 2 or only_user(op.rhs) is not op:
        return None
    columns = weight.shape[0 if op.get_flag("transpose_b") else 1]
    if op.bias is None:
        return weight, None
    bias = constant_array(op.bias)
    if bias is None or only_user(op.bias) is not op:
        return None
    if bias.ndim == 0 or bias.shape[-1] != columns or bias.size != columns:
        return None  # a bias that varies along rows, or a broadcast scalar
    return weight, bias.reshape(columns)


def _sibling_key(op: k.MatMulKernelOp, weight: np.ndarray, biased: bool) -> tuple:
    """What matmuls must share to be one GEMM: the input, K, the epilogue, the types."""
    transposed = op.get_flag("transpose_b")
    props = tuple(str(op.properties.get(name)) for name in KEPT)
    types = (str(element_of(op.rhs.type)), str(op.output.type.element_type))
    return (op.lhs, weight.shape[1 if transposed else 0], props, biased, types)


def _groups(block: Block) -> list[list[tuple[k.MatMulKernelOp, np.ndarray, np.ndarray | None]]]:
    """The sibling groups of `block`, each in program order, two or more matmuls each."""
    groups: dict[tuple, list] = defaultdict(list)
    for op in block.ops:
        if isinstance(op, k.MatMulKernelOp) and (found := _columns(op)) is not None:
            groups[_sibling_key(op, found[0], found[1] is not None)].append((op, *found))
    return [group for group in groups.values() if len(group) > 1]


def _constant(array: np.ndarray, like: SSAValue) -> ConstantOp:
    """A constant of `array`, named after the first of the constants it joins."""
    op = ConstantOp(np.ascontiguousarray(array))
    op.output.name_hint = f"{like.name_hint}_combined" if like.name_hint else None
    return op


def combine(group: list[tuple[k.MatMulKernelOp, np.ndarray, np.ndarray | None]]) -> None:
    """Replace the matmuls of `group` by one over the concatenated weights and a split."""
    first = group[0][0]
    axis = 0 if first.get_flag("transpose_b") else 1
    weight = _constant(np.concatenate([w for _, w, _ in group], axis=axis), first.rhs)
    new: list[Operation] = [weight]
    bias = None
    if group[0][2] is not None:
        bias_op = _constant(np.concatenate([b for _, _, b in group]), first.bias)
        new.append(bias_op)
        bias = bias_op.output
    fused = [name for op, _, _ in group for name in provenance(op)]
    props = {n: first.properties[n] for n in KEPT if n in first.properties}
    matmul = k.MatMulKernelOp(first.lhs, weight.output, bias, None, fused_from=fused, **props)
    hint = first.output.name_hint
    matmul.output.name_hint = f"{hint}_combined" if hint else None
    widths = [shape_of(op.output.type)[-1] for op, _, _ in group]
    split = SplitKernelOp(matmul.output, fused_from=["ge.split"], axis=-1, sizes=widths)
    new += [matmul, split]
    rewriter = Rewriter()
    rewriter.insert_op(new, InsertPoint.before(first))
    for (op, _, _), piece in zip(group, split.results):
        piece.name_hint = op.output.name_hint
        rewriter.replace_op(op, [], [piece])


@dataclass(frozen=True)
class CombineParallelMatmuls(ModulePass):
    """Sibling matmuls of one input with constant weights become one GEMM and a split."""

    name = "combine-parallel-matmuls"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        blocks = [block for region_op in op.walk() for region in region_op.regions
                  for block in region.blocks]  # fmt: skip
        for block in blocks:
            for group in _groups(block):
                combine(group)
