"""Tools to test passes on `ge` programs: run them, generate them, compare them.

- `run(module, inputs)` interprets a module with the reference semantics.
- `programs(...)`, `programs_with_inputs(...)`, `inputs_for(module)`: hypothesis
  strategies for random well-typed `ge` programs (`ge.testing.strategies`).
- `assert_preserves_semantics(pipeline, module, inputs)` and `check_pass_property(pipeline)`:
  run before and after a pass and compare (`ge.testing.equivalence`).

The three-line property test of a pass:

    @given(programs_with_inputs(ops=["binary"], max_ops=6))
    def test_my_pass(case):
        assert_preserves_semantics("my-pass", *case)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from xdsl.dialects.builtin import ModuleOp

from gedialects.interpreter import run_reference


def run(
    module: ModuleOp,
    inputs: Sequence[np.ndarray] | Mapping[str, np.ndarray],
    entry: str | None = None,
) -> list[np.ndarray]:
    """Interpret `entry` (default `main`) of `module` with the reference semantics."""
    return run_reference(module, inputs, entry)


from ge.testing.equivalence import (  # noqa: E402  (after `run`: no import cycle)
    apply_pipeline,
    assert_preserves_semantics,
    check_pass_property,
    compare_outputs,
    print_ir,
    tolerance,
)
from ge.testing.strategies import (  # noqa: E402
    FAMILIES,
    inputs_for,
    op_names,
    programs,
    programs_with_inputs,
    random_inputs,
    smooth_ops,
)

__all__ = [
    "FAMILIES",
    "apply_pipeline",
    "assert_preserves_semantics",
    "check_pass_property",
    "compare_outputs",
    "inputs_for",
    "op_names",
    "print_ir",
    "programs",
    "programs_with_inputs",
    "random_inputs",
    "run",
    "smooth_ops",
    "tolerance",
]
