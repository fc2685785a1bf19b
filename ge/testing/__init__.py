"""Tools to test passes on `ge` programs: run them, generate them, compare them.

`run(module, inputs)` interprets a module with the reference semantics. The hypothesis
strategies and `assert_preserves_semantics` live in `ge.testing.strategies` and
`ge.testing.equivalence`.
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


__all__ = ["run"]
