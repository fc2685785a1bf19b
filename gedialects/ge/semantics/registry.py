"""The registry of `ge` reference semantics: `REFERENCE[OpClass](op, *arrays)`, filled by
the `@reference` decorator of each family module, and `evaluate`, which runs one op."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator
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
    """Run one op's reference semantics; always returns a tuple of results.

    numpy's floating-point warnings are off (`quiet`): NaN and infinity are the ops' values."""
    with quiet():
        out = REFERENCE[type(op)](op, *args)
    return out if isinstance(out, tuple) else (out,)


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """numpy's floating-point errors ignored and its RuntimeWarnings ("Mean of empty slice")
    silenced: the semantics define what such values are, and a command's stderr is for its
    one line of error."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield
