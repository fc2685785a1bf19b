"""The table of aten converters: op packet name (`add`, `convolution`) -> converter.

Converter modules register with `@converts("name", ...)`; `converters()` imports them all
once and returns the table. Ops in `IGNORED` produce no value (runtime assertions).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

Handler = Callable[[Any, dict[str, Any]], Any]

_TABLE: dict[str, Handler] = {}

MODULES = (
    "ge.frontends.torch.aten_elementwise",
    "ge.frontends.torch.aten_fft",
    "ge.frontends.torch.aten_linalg",
    "ge.frontends.torch.aten_nn",
    "ge.frontends.torch.aten_norm",
    "ge.frontends.torch.aten_reduce",
    "ge.frontends.torch.aten_scatter",
    "ge.frontends.torch.aten_shape",
)

IGNORED = frozenset(
    {
        "_assert_tensor_metadata",
        "_assert_scalar",
        "_assert_async",
        "sym_constrain_range_for_size",
        "sym_constrain_range",
    }
)
"""Ops that only check facts at run time; they have no result to convert."""


def converts(*names: str) -> Callable[[Handler], Handler]:
    """Register a converter for the aten ops `names` (packet names, without overload)."""

    def register(fn: Handler) -> Handler:
        for name in names:
            assert name not in _TABLE, f"two converters for aten.{name}"
            _TABLE[name] = fn
        return fn

    return register


def converters() -> dict[str, Handler]:
    """Every registered converter, by aten packet name."""
    for module in MODULES:
        importlib.import_module(module)
    return _TABLE
