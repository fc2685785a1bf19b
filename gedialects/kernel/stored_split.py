"""A split that its producer's stores run: the kernel-level form `combine-parallel-matmuls`
leaves, which the npu lowering, the kernel runner and the memory planner must agree on.

A `kernel.matmul` whose product only a `kernel.split` along the last axis reads writes the
pieces itself (`lowering.gemm.ColumnPieces`: each output tile's columns go to the pieces they
meet), so the product is never stored and the split launches nothing (its kernel record
has no cycles and no cores). The memory plan keeps the kernel level's meaning (the product
and the pieces, the pieces born at the split): it may count the product's bytes that the
GEMM never writes, never fewer than it writes.
"""

from __future__ import annotations

from xdsl.ir import Operation

from gedialects.ge.types import shape_of
from gedialects.kernel.mirrored import SplitKernelOp
from gedialects.kernel.ops import MatMulKernelOp


def stored_split(op: Operation) -> SplitKernelOp | None:
    """The split along the last axis that is the only reader of matmul `op`'s product, when
    the GEMM can store the pieces itself, else None."""
    if not isinstance(op, MatMulKernelOp):
        return None
    uses = list(op.output.uses)
    split = uses[0].operation if len(uses) == 1 else None
    if not isinstance(split, SplitKernelOp):
        return None
    rank = len(shape_of(op.output.type))
    if split.get_int("axis") % rank != rank - 1 or 0 in split.ints("sizes"):
        return None
    if any(len(shape_of(v.type)) < 2 for v in (op.lhs, op.rhs)) or op.get_flag("transpose_a"):
        return None
    return split
