"""A user's own rewrite, in its own file: x * hard_sigmoid(x) -> ge.hard_swish(x).

Some exporters write HardSwish as `x * HardSigmoid(x)` with alpha = 1/6 and beta = 1/2.
This file teaches gedialects to recognise it, after which the built-in fusions treat it
as any hard_swish (for example as a conv epilogue activation). Nothing here is part of
the project: it is what a user writes.

Run it from ge-opt by naming the file in `GE_PASS_PLUGINS` (or install a package that
declares it under the `gedialects.passes` entry-point group, see `passes/plugins.py`):

    GE_PASS_PLUGINS=examples/custom_pattern/hard_swish.py \\
        ge-opt model.mlir -p 'recognize-hard-swish,ge-optimize'
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from gedialects.ge import HardSigmoidOp, HardSwishOp, MulOp
from passes.registry import register_pass


class HardSwishFromHardSigmoid(RewritePattern):
    """mul(x, hard_sigmoid(x){alpha = 1/6, beta = 1/2}) -> hard_swish(x)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, mul: MulOp, rewriter: PatternRewriter, /) -> None:
        for x, gate in ((mul.lhs, mul.rhs), (mul.rhs, mul.lhs)):
            sigmoid = gate.owner
            if not isinstance(sigmoid, HardSigmoidOp) or sigmoid.input is not x:
                continue
            if not math.isclose(sigmoid.get_float("alpha"), 1 / 6, rel_tol=1e-6):
                continue
            if sigmoid.get_float("beta") != 0.5 or mul.output.type != x.type:
                continue
            rewriter.replace(mul, [HardSwishOp(x)])
            if not sigmoid.output.uses:
                rewriter.erase(sigmoid)
            return


@dataclass(frozen=True)
class RecognizeHardSwish(ModulePass):
    """Recognise x * hard_sigmoid(x) (alpha 1/6, beta 1/2) as ge.hard_swish."""

    name = "recognize-hard-swish"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        walker = PatternRewriteWalker(GreedyRewritePatternApplier([HardSwishFromHardSigmoid()]))
        walker.rewrite_module(op)


register_pass(RecognizeHardSwish.name, lambda: RecognizeHardSwish)
