"""Shared by the fusion property tests: run a pass, check outputs and that nothing doubled.

Besides equal outputs, a fusion must never duplicate work: every high-level op of the
program is, after the pass, at most one kernel's `fused_from` entry or still itself, so
the ops counted that way never exceed the ops before the pass.
"""

from __future__ import annotations

from collections import Counter

from hypothesis import event, settings
from xdsl.dialects.builtin import ModuleOp

from ge.testing.equivalence import assert_preserves_semantics
from ge.testing.strategies import inputs_for
from gedialects.ge.base import GeOp
from gedialects.kernel import KernelOp
from lowering.convert_ge_to_kernel import in_kernel_body

EXAMPLES = max(200, settings.default.max_examples)
"""Each pass must hold on at least 200 random programs in CI (more under `soak`)."""


def high_level_ops(module: ModuleOp) -> Counter[str]:
    """ge op names a module computes: top-level ge ops plus every kernel's fused_from."""
    counts: Counter[str] = Counter()
    for op in module.walk():
        if isinstance(op, KernelOp):
            counts.update(op.fused_names)
        elif isinstance(op, GeOp) and not in_kernel_body(op):
            counts[op.name] += 1
    return counts


def check_fusion(
    pass_name: str, data, programs, kernel: str, may_split: tuple[str, ...] = (), **tolerance
) -> ModuleOp:
    """Draw a program and inputs; the pass keeps the outputs and duplicates no op (but those
    named in `may_split`, whose work a pass may cut between kernels: a projection's columns
    as two matmuls)."""
    module = data.draw(programs)
    inputs = data.draw(inputs_for(module))
    before = high_level_ops(module)
    after = assert_preserves_semantics(pass_name, module, inputs, **tolerance)
    assert after is not None
    grown = high_level_ops(after) - before
    grown.pop("ge.reshape", None)  # a view moves no data: the matmul fusions may view the
    # residual as the product instead of the product as the residual (AddAboveReshape)
    for name in may_split:
        grown.pop(name, None)
    assert not grown, f"{pass_name} duplicated {dict(grown)}"
    fused = sum(1 for op in after.walk() if op.name == kernel)
    event(f"{kernel}: {'some' if fused else 'none'}")
    return after
