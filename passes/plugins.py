"""User passes from outside the project: entry points and the `GE_PASS_PLUGINS` variable.

A user writes a `RewritePattern` and a `ModulePass` in their own file and registers it
with `passes.registry.register_pass(name, factory)` when the file is imported. Two ways to
get the file imported, so that `ge-opt -p name` finds the pass:

- an installed package declares an entry point in the `gedialects.passes` group
  (`[project.entry-points."gedialects.passes"] my-pass = "my_pkg.module"`); the module
  is imported and registers its passes (or the entry point names the pass class itself);
- `GE_PASS_PLUGINS=path/to/file.py:other.module ge-opt -p my-pass ...` imports the listed
  files or modules (separated by `os.pathsep`), like mlir-opt's `--load-pass-plugin`.

A plugin that fails to import is an error naming the plugin, never silently skipped.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from types import ModuleType

from xdsl.passes import ModulePass

from gedialects.errors import GeError
from passes.registry import register_pass

ENV_VAR = "GE_PASS_PLUGINS"
ENTRY_POINT_GROUP = "gedialects.passes"
_loaded: set[str] = set()
_failed: dict[str, str] = {}


def _import(spec: str) -> ModuleType:
    path = Path(spec)
    if path.suffix == ".py":
        if not path.is_file():
            raise GeError(f"no such file (named by {ENV_VAR})")
        name = f"ge_pass_plugin_{path.stem}"
        module_spec = importlib.util.spec_from_file_location(name, path)
        assert module_spec is not None and module_spec.loader is not None
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
        return module
    return importlib.import_module(spec)


@functools.cache
def _entry_points() -> tuple[EntryPoint, ...]:
    """The installed plugins' entry points, read once a process: reading every installed
    distribution's metadata takes milliseconds, and eager mode builds a pipeline per op."""
    return tuple(entry_points(group=ENTRY_POINT_GROUP))


def load_plugins(strict: bool = True) -> None:
    """Import every plugin named by entry points and by `GE_PASS_PLUGINS` (once each).

    A plugin that fails is remembered with its error: `strict` raises it (now and on every
    later call, so a second lookup in the same process cannot skip it silently); otherwise
    it is left for `plugin_failures` to report (`ge-opt --help`, and the universe that stock
    `xdsl-opt` loads, which must not break on one broken plugin)."""
    for what, load in _named():
        _load(what, load)
    if strict:
        for what, error in plugin_failures().items():
            raise GeError(f"{what} failed to load: {error}")


def plugin_failures() -> dict[str, str]:
    """The plugins named now that failed to import, with their error's first line."""
    named = {what for what, _ in _named()}
    return {what: error for what, error in _failed.items() if what in named}


def _named() -> list[tuple[str, Callable[[], object]]]:
    """Each plugin named now (entry points, then `GE_PASS_PLUGINS`): how errors name it,
    and how to load it."""
    named: list[tuple[str, Callable[[], object]]] = [
        (f"entry point '{e.name} = {e.value}'", lambda e=e: _register(e)) for e in _entry_points()
    ]
    for spec in filter(None, os.environ.get(ENV_VAR, "").split(os.pathsep)):
        named.append((f"pass plugin '{spec}'", lambda spec=spec: _import(spec)))
    return named


def _register(entry: EntryPoint) -> None:
    loaded = entry.load()
    if isinstance(loaded, type) and issubclass(loaded, ModulePass):
        register_pass(entry.name, lambda cls=loaded: cls)


def _load(what: str, load: Callable[[], object]) -> None:
    if what in _loaded or what in _failed:
        return
    try:
        load()
    except Exception as error:
        _failed[what] = (str(error).strip().splitlines() or [type(error).__name__])[0]
        return
    _loaded.add(what)
