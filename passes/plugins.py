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
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from types import ModuleType

from xdsl.passes import ModulePass

from gedialects.errors import GeError
from passes.registry import register_pass

ENV_VAR = "GE_PASS_PLUGINS"
ENTRY_POINT_GROUP = "gedialects.passes"
_loaded: set[str] = set()


def _import(spec: str) -> ModuleType:
    path = Path(spec)
    if path.suffix == ".py":
        if not path.is_file():
            raise GeError(f"pass plugin '{spec}' ({ENV_VAR}) is not a file")
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


def load_plugins() -> None:
    """Import every plugin named by entry points and by `GE_PASS_PLUGINS` (once each)."""
    for entry in _entry_points():
        if entry.value in _loaded:
            continue
        _loaded.add(entry.value)
        loaded = entry.load()
        if isinstance(loaded, type) and issubclass(loaded, ModulePass):
            register_pass(entry.name, lambda cls=loaded: cls)
    for spec in filter(None, os.environ.get(ENV_VAR, "").split(os.pathsep)):
        if spec in _loaded:
            continue
        _loaded.add(spec)
        try:
            _import(spec)
        except GeError:
            raise
        except Exception as error:
            raise GeError(f"pass plugin '{spec}' failed to load: {error}") from error
