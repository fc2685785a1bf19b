"""`fuse-matmul-residual-add`: a transformer's skip connection as the matmul's epilogue.

`add(kernel.matmul(...), r)` where the matmul already carries a bias or an activation and
`r` has its own result type becomes the residual slot, added after the activation:
BERT's output projections `x + (h @ W + b)` as one kernel, so the sum is written once
instead of the product being stored, read back and added by an elementwise kernel. (A bare
`A @ B + r` is the bias case of `fuse-matmul-add-gelu`.)
Pre: `fuse-matmul-add-gelu` (a bias or activation to follow). Post: no add of a single-use
biased or activated matmul result and a same-typed value remains.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from passes.epilogues import MatMulEpilogue, ResidualAdd, rewrite_module


class MatMulResidualAdd(ResidualAdd):
    """add(kernel.matmul bias b, r) -> kernel.matmul bias b residual r."""

    KINDS = (MatMulEpilogue,)


@dataclass(frozen=True)
class FuseMatMulResidualAdd(ModulePass):
    """Fuse a residual add into the producing matmul's epilogue."""

    name = "fuse-matmul-residual-add"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        rewrite_module(op, MatMulResidualAdd())
