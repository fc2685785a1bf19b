"""Every dialect and pass of the project, by name: the one list `ge-opt` and xdsl-opt read."""

from __future__ import annotations

from collections.abc import Callable

from xdsl.ir import Dialect
from xdsl.passes import ModulePass


def _ge() -> Dialect:
    from gedialects.ge import GE

    return GE


def all_dialects() -> dict[str, Callable[[], Dialect]]:
    return {"ge": _ge}


def all_passes() -> dict[str, Callable[[], type[ModulePass]]]:
    from passes.registry import PASSES

    return dict(PASSES)
