"""`fuse-matmul-scale`: Q·Kᵀ/√d as one `kernel.matmul` (transpose and scale inside).

`(A @ B) * c` and `(A @ B) / c` with a scalar constant `c` fold into the matmul's `alpha`;
a `ge.transpose` that swaps the last two dims of an operand, read by nothing else,
becomes the matmul's `transpose_a` / `transpose_b` flag.
Pre: none. Post: no scalar scale of a single-use matmul result, no private swap-transpose
feeding a matmul.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import BoolAttr, ModuleOp
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern

from gedialects.ge import ops as ge
from passes.epilogues import MatMulEpilogue, fuse_into_producer, rewrite_module
from passes.fold_batch_norm import erase_dead
from passes.matching import only_user, splat_value


def scalar_factor(op: Operation, produced: SSAValue) -> float | None:
    """c if `op` is produced * c, c * produced or produced / c with a splat c, else None."""
    if not isinstance(op, ge.MulOp | ge.DivOp) or op.output.type != produced.type:
        return None
    if isinstance(op, ge.DivOp):
        c = splat_value(op.rhs) if op.lhs is produced else None
        return None if not c else 1.0 / c
    other = op.rhs if op.lhs is produced else op.lhs
    return splat_value(other)


class MatMulScale(RewritePattern):
    """(A @ B) * c or / c -> kernel.matmul {alpha = c or 1/c}."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if not isinstance(op, ge.MulOp | ge.DivOp):
            return
        for produced in (op.lhs, op.rhs):
            factor = scalar_factor(op, produced)
            if factor is None:
                continue
            absorb = lambda e: e.absorb_scale(op, factor)
            if fuse_into_producer(rewriter, op, produced, absorb, (MatMulEpilogue,)):
                return


def swaps_last_two(op: ge.TransposeOp) -> bool:
    """Whether the transpose swaps the last two dims and keeps the others."""
    perm = op.ints("perm")
    rank = len(perm)
    return rank >= 2 and perm == (*range(rank - 2), rank - 1, rank - 2)


def swapped_input(value: SSAValue, reader: Operation) -> SSAValue | None:
    """x if `value` = transpose(x) swapping the last two dims, read only by `reader`."""
    owner = value.owner
    if not isinstance(owner, ge.TransposeOp) or only_user(value) is not reader:
        return None
    return owner.input if swaps_last_two(owner) else None


class MatMulTranspose(RewritePattern):
    """A @ transpose(B) -> kernel.matmul(A, B) {transpose_b}; likewise for A."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        epilogue = MatMulEpilogue.of(op)
        if epilogue is None:
            return
        transposes = []
        for slot, flag in (("lhs", "transpose_a"), ("rhs", "transpose_b")):
            value = epilogue.values[slot]
            assert value is not None
            source = swapped_input(value, op)
            if source is None or sum(1 for o in op.operands if o is value) != 1:
                continue
            transposes.append(value.owner)
            epilogue.values[slot] = source
            epilogue.props[flag] = BoolAttr.from_bool(not epilogue.flag(flag))
            epilogue.fused.insert(0, "ge.transpose")
        if transposes:
            rewriter.replace(op, epilogue.build())
            erase_dead(rewriter, transposes)


@dataclass(frozen=True)
class FuseMatMulScale(ModulePass):
    """Fuse a scalar scale and last-two-dims transposes into the matmul (Q·Kᵀ/√d)."""

    name = "fuse-matmul-scale"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        rewrite_module(op, MatMulTranspose(), MatMulScale())
