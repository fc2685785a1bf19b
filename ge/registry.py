"""Every dialect and pass of the project, by name: the one list `ge-opt` and xdsl-opt read."""

from __future__ import annotations

import functools
from collections.abc import Callable

from xdsl.context import Context
from xdsl.ir import Dialect
from xdsl.passes import ModulePass


def _ge() -> Dialect:
    from gedialects.ge import GE

    return GE


def _kernel() -> Dialect:
    from gedialects.kernel import KERNEL

    return KERNEL


def _npu() -> Dialect:
    from gedialects.npu import NPU

    return NPU


def all_dialects() -> dict[str, Callable[[], Dialect]]:
    return {"ge": _ge, "kernel": _kernel, "npu": _npu}


@functools.cache
def _dialect_factories() -> tuple[tuple[str, Callable[[], Dialect]], ...]:
    """xDSL's multiverse of dialects, read once a process (it scans installed entry points:
    milliseconds a call, and eager mode makes a context per op)."""
    from xdsl.universe import Universe

    return tuple(Universe.get_multiverse().all_dialects.items())


def make_context() -> Context:
    """A context with every xDSL dialect and ours registered (lazily loaded)."""
    ctx = Context()
    for name, factory in _dialect_factories():
        ctx.register_dialect(name, factory)
    return ctx


def all_passes(strict: bool = True) -> dict[str, Callable[[], type[ModulePass]]]:
    """Our passes and the plugins' (`strict`: a plugin that fails to load is an error)."""
    from passes.plugins import load_plugins
    from passes.registry import PASSES

    load_plugins(strict)

    return dict(PASSES)
