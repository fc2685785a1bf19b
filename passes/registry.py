"""Pass registry: kebab-case name -> factory of the pass class (lazy imports)."""

from __future__ import annotations

from collections.abc import Callable

from xdsl.passes import ModulePass

PASSES: dict[str, Callable[[], type[ModulePass]]] = {}


def register_pass(name: str, factory: Callable[[], type[ModulePass]]) -> None:
    PASSES[name] = factory
