"""`convert-ge-to-kernel`: every `ge` op left after fusion becomes its one-op kernel.

Pre: the module verifies. Post: the functions hold only `kernel` ops, `ge.constant` (data,
not kernels) and `func` ops; `ge` ops remain only inside `kernel.elementwise` bodies,
where they are the scalar body. An inference-mode dropout, the identity, is removed.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
)

from gedialects.ge import ops as ge
from gedialects.ge.base import GeOp
from gedialects.kernel.base import KernelOp
from gedialects.kernel.builders import is_training_dropout, kernel_from_ge
from gedialects.kernel.elementwise import ElementwiseOp


def in_kernel_body(op: Operation) -> bool:
    """Whether `op` is part of a `kernel.elementwise` body (a scalar op, not a kernel)."""
    return isinstance(op.parent_op(), ElementwiseOp)


class GeToKernel(RewritePattern):
    """ge.<x>(...) -> kernel.<x>(...) {fused_from = ["ge.<x>"]}; inference dropout -> input."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if not isinstance(op, GeOp) or isinstance(op, KernelOp) or in_kernel_body(op):
            return
        if isinstance(op, ge.DropoutOp) and not is_training_dropout(op):
            rewriter.replace(op, [], [op.input])
            return
        kernel = kernel_from_ge(op)
        if kernel is not None:
            rewriter.replace(op, [kernel])


@dataclass(frozen=True)
class ConvertGeToKernel(ModulePass):
    """Turn every remaining ge op into its one-op kernel, completing the mid level."""

    name = "convert-ge-to-kernel"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        walker = PatternRewriteWalker(GeToKernel(), apply_recursively=False)
        walker.rewrite_module(op)
