"""`fuse-matmul-transpose`: a transpose of a matmul's result as the product of the swapped
operands.

transpose(act(alpha A W + b)), swapping the last two dims, with W a private 2-D constant
(K, N) and b varying along N only, is act(alpha Wᵀ Aᵀ + bᵀ): a matmul of the constant Wᵀ
(N, K) by A read transposed (`transpose_b`: the GEMM's MTE1 loads transpose A's (M, K)
tiles into L0B, so no transpose kernel runs) with the bias as an (N, 1) column. The
transpose kernel that wrote the result again in the other order goes, and what follows
the transpose then meets the matmul: Stable Diffusion's VAE attention projects its output
on (HW, C) rows and views it back as an NCHW image for the skip connection (`o(h).
transpose(1, 2).reshape(b, c, h, w) + x`), which after this is the matmul's residual
(`fuse-matmul-residual-add` looks through the view). SDXL's transformer blocks view the
rows as (b, H, W, C) first and permute (0, 3, 1, 2): `TransposeAboveRowSplit` moves that
transpose above the view. A constant W stored as Wᵀ already
(`transpose_b`) is taken as it is; another W is stored transposed, once. An activation
commutes with the transpose; a residual or a multiplier (of the untransposed shape) does
not, and such a matmul stays.
Pre: `fuse-matmul-add-gelu` (the bias and activation in the kernel). Post: no transpose of
the last two dims reads a single-use matmul result of that kind.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import BoolAttr, ModuleOp
from xdsl.ir import Operation
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern, op_type_rewrite_pattern

from gedialects.ge import ops as ge
from gedialects.ge.types import shape_of
from passes.epilogues import MatMulEpilogue, rewrite_module
from passes.fold_batch_norm import constant_of, private_weight
from passes.fuse_matmul_scale import swaps_last_two
from passes.matching import erase_dead, only_user


class TransposedProduct(RewritePattern):
    """transpose(matmul(A, W) [bias b], swap last two) -> kernel.matmul(Wᵀ, A)
    {transpose_b} [bias b as (N, 1)] (the matmul a kernel or still a `ge.matmul`)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ge.TransposeOp, rewriter: PatternRewriter, /) -> None:
        if not swaps_last_two(op):
            return
        product = op.input.owner
        epilogue = MatMulEpilogue.of(product) if isinstance(product, Operation) else None
        if epilogue is None or only_user(op.input) is not op:
            return
        if epilogue.has("residual", "multiplier") or epilogue.flag("transpose_a"):
            return
        if len(shape_of(product.lhs.type)) < 2:
            return
        weight = private_weight(product.rhs, product)
        if weight is None or weight.ndim != 2:
            return
        bias = epilogue.values.get("bias")
        if bias is not None and any(d != 1 for d in shape_of(bias.type)[:-1]):
            return  # a bias along the rows too would need transposing
        new_ops = []
        if not epilogue.flag("transpose_b"):  # W (K, N): store Wᵀ (N, K)
            transposed = constant_of(weight.T, product.rhs)
            new_ops.append(transposed)
            epilogue.values["lhs"] = transposed.output
        else:  # the constant already holds Wᵀ
            epilogue.values["lhs"] = product.rhs
        epilogue.values["rhs"] = product.lhs
        if bias is not None:  # (.., N) as an (.., N, 1) column of the swapped product
            dims = shape_of(bias.type)
            lead = [1] * min(len(dims) - 1, len(shape_of(op.output.type)) - 2)
            column = ge.ReshapeOp(bias, shape=[*lead, dims[-1], 1])
            new_ops.append(column)
            epilogue.values["bias"] = column.output
        epilogue.props["transpose_a"] = BoolAttr.from_bool(False)
        epilogue.props["transpose_b"] = BoolAttr.from_bool(True)
        epilogue.fused.append(op.name)
        rewriter.replace(op, [*new_ops, *epilogue.build()])  # Wᵀ Aᵀ: (.., N, M), op's type
        erase_dead(rewriter, [product])


class TransposeAboveRowSplit(RewritePattern):
    """transpose(reshape(P, [*lead, *f, N]), perm [*lead, last, *f]) -> reshape(transpose(P,
    swap last two), [*lead, N, *f]) for P (*lead, M, N) a single-use matmul result and f
    the factors of M: SDXL's `proj_out(h).reshape(b, H, W, C).permute(0, 3, 1, 2)`, the
    same transpose behind a view, brought next to the matmul for `TransposedProduct`."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ge.TransposeOp, rewriter: PatternRewriter, /) -> None:
        view = op.input.owner
        if not isinstance(view, ge.ReshapeOp) or only_user(op.input) is not op:
            return
        product = view.input
        if not isinstance(product.owner, Operation) or MatMulEpilogue.of(product.owner) is None:
            return
        if only_user(product) is not view:
            return
        rows, split = shape_of(product.type), shape_of(view.output.type)
        lead = len(rows) - 2
        if len(split) <= len(rows) or split[:lead] != rows[:lead] or split[-1] != rows[-1]:
            return
        if math.prod(split[lead:-1]) != rows[-2]:
            return
        last = len(split) - 1
        if op.ints("perm") != (*range(lead), last, *range(lead, last)):
            return
        swapped = ge.TransposeOp(product, perm=[*range(lead), lead + 1, lead])
        back = ge.ReshapeOp(swapped.output, shape=list(shape_of(op.output.type)))
        rewriter.replace(op, [swapped, back])
        rewriter.erase(view)


@dataclass(frozen=True)
class FuseMatMulTranspose(ModulePass):
    """Compute a transposed matmul result as the product of the swapped operands."""

    name = "fuse-matmul-transpose"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        rewrite_module(op, TransposeAboveRowSplit(), TransposedProduct())
