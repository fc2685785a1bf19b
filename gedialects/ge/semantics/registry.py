"""The registry of `ge` reference semantics: `REFERENCE[OpClass](op, *arrays)`, filled by
the `@reference` decorator of each family module, and `evaluate`, which runs one op."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gedialects.ge.types import element_of, to_numpy_dtype

Reference = Callable[..., Any]
REFERENCE: dict[type, Reference] = {}


def reference(*op_types: type) -> Callable[[Reference], Reference]:
    def register(fn: Reference) -> Reference:
        for t in op_types:
            REFERENCE[t] = fn
        return fn

    return register


def result_dtype(op: Any, index: int = 0) -> np.dtype:
    return to_numpy_dtype(element_of(op.results[index].type))


def evaluate(op: Any, *args: np.ndarray) -> tuple[np.ndarray, ...]:
    """Run one op's reference semantics; always returns a tuple of results."""
    out = REFERENCE[type(op)](op, *args)
    return out if isinstance(out, tuple) else (out,)
