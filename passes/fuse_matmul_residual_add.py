"""`fuse-matmul-residual-add`: a transformer's skip connection as the matmul's epilogue.

`add(kernel.matmul(...), r)` where the matmul already carries a bias or an activation and
`r` has its own result type becomes the residual slot, added after the activation:
BERT's output projections `x + (h @ W + b)` as one kernel, so the sum is written once
instead of the product being stored, read back and added by an elementwise kernel. (A bare
`A @ B + r` is the bias case of `fuse-matmul-add-gelu`.) An add that meets the matmul
through a reshape of its result (torch's `nn.MultiheadAttention` projects (L N, E) rows,
then views them as (N, L, E) for the skip connection) is first moved above the reshape
(`AddAboveReshape`, which `fuse-matmul-add-gelu` runs too).
Pre: `fuse-matmul-add-gelu` (a bias or activation to follow). Post: no add of a single-use
biased or activated matmul result and a same-typed value remains.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern, op_type_rewrite_pattern
from xdsl.rewriter import InsertPoint

from gedialects.ge import ops as ge
from gedialects.ge.types import shape_of
from gedialects.kernel import ops as k
from passes.epilogues import MatMulEpilogue, ResidualAdd, rewrite_module
from passes.matching import only_user


class AddAboveReshape(RewritePattern):
    """add(reshape(m), r) -> reshape(add(m, reshape(r))) for m a matmul's result that only
    the reshape reads, and r of the add's own type: an elementwise add of two same-shaped
    operands commutes with viewing both alike (the reshape of r moves no data), and the
    add then meets the matmul, which takes it as its bias or residual."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, add: ge.AddOp, rewriter: PatternRewriter, /) -> None:
        for viewed, other in ((add.lhs, add.rhs), (add.rhs, add.lhs)):
            reshape = viewed.owner
            if not isinstance(reshape, ge.ReshapeOp) or only_user(viewed) is not add:
                continue
            product = reshape.input
            if not isinstance(product.owner, ge.MatMulOp | k.MatMulKernelOp):
                continue
            if only_user(product) is not reshape or other.type != viewed.type:
                continue
            if isinstance(other.owner, ge.MatMulOp | k.MatMulKernelOp):
                continue  # two products: viewing the other would move it back, for ever

            flat = ge.ReshapeOp(other, shape=list(shape_of(product.type)))
            owner = other.owner  # r's view right after r: it then reaches the matmul too
            where = InsertPoint.after if isinstance(owner, Operation) else InsertPoint.at_start
            rewriter.insert(flat, where(owner))
            pair = (product, flat.output) if viewed is add.lhs else (flat.output, product)
            total = ge.AddOp(*pair)
            back = ge.ReshapeOp(total.output, shape=list(shape_of(add.output.type)))
            rewriter.replace(add, [total, back], [back.output])
            return


class MatMulResidualAdd(ResidualAdd):
    """add(kernel.matmul bias b, r) -> kernel.matmul bias b residual r."""

    KINDS = (MatMulEpilogue,)


@dataclass(frozen=True)
class FuseMatMulResidualAdd(ModulePass):
    """Fuse a residual add into the producing matmul's epilogue."""

    name = "fuse-matmul-residual-add"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        rewrite_module(op, AddAboveReshape(), MatMulResidualAdd())
