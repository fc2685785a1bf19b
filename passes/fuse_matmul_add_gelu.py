"""`fuse-matmul-add-gelu`: matmul + bias add (+ activation) as one `kernel.matmul`.

`add(A @ B, b)` where `b` broadcasts into the product without growing it becomes the
matmul's bias, and a gelu (either form), relu or other epilogue activation after it the
activation: BERT's bias-GELU feed-forward as one kernel.
Pre: none. Post: no bias add or activation consumes a single-use matmul result.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern, op_type_rewrite_pattern

from gedialects.ge import ops as ge
from gedialects.kernel.base import ACTIVATIONS
from passes.epilogues import MatMulEpilogue, fuse_into_producer, rewrite_module
from passes.fuse_matmul_residual_add import AddAboveReshape


class MatMulBias(RewritePattern):
    """add(A @ B, b) -> kernel.matmul(A, B) bias b."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, add: ge.AddOp, rewriter: PatternRewriter, /) -> None:
        for produced, other in ((add.lhs, add.rhs), (add.rhs, add.lhs)):
            absorb = lambda e: e.absorb_bias(add, other, produced)
            if fuse_into_producer(rewriter, add, produced, absorb, (MatMulEpilogue,)):
                return


class MatMulActivation(RewritePattern):
    """act(A @ B [+ b]) -> kernel.matmul {activation = act}."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if type(op) not in ACTIVATIONS.values():
            return
        absorb = lambda e: e.absorb_activation(op)
        fuse_into_producer(rewriter, op, op.operands[0], absorb, (MatMulEpilogue,))


@dataclass(frozen=True)
class FuseMatMulAddGelu(ModulePass):
    """Fuse a bias add and an activation (gelu, relu...) into the producing matmul."""

    name = "fuse-matmul-add-gelu"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        rewrite_module(op, AddAboveReshape(), MatMulBias(), MatMulActivation())
