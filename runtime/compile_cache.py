"""The compile cache: compiled modules kept in memory and on disk, keyed by content.

A key is the SHA-256 of everything that decides the compiled result: the input IR (its
text with constants elided to their content digests, so weights count by content), input
shapes, target, options, the versions of gedialects and xDSL, and a digest of the
compiler's own source files (an editable install keeps its version number while its passes
change: a cache written before a change must not answer after it). An entry on disk is a
folder with the compiled module (text IR + side-car weights, see
`gedialects.serialization`) and `meta.json`, which records a checksum of each file.

Writes are atomic: an entry is assembled in a temporary folder and renamed into place, so
two processes compiling the same model at once both succeed and readers never see half an
entry. Reads check the checksums: a corrupted or truncated entry is reported once (a
warning), removed, and reported as a miss so the caller rebuilds it. Nothing is pickled.

The disk holds at most `max_bytes` (`GE_CACHE_MAX_BYTES`, default 4 GiB), as ccache does:
each entry weighs as much as its model's weights (VGG-16: 528 MB), so a user who compiles
many models would otherwise fill the disk. After a write, entries least recently used (a
hit touches its folder) are removed until the rest fit; an entry larger than the whole
budget is not kept.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, BinaryIO

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp

from gedialects.errors import GeError
from gedialects.serialization import (
    SerializationError,
    module_from_text_and_weights,
    module_to_text_and_weights,
    read_weights,
    write_weights,
)

FORMAT_VERSION = 1
MODULE_FILE, WEIGHTS_FILE, META_FILE = "module.mlir", "weights.npz", "meta.json"
DEFAULT_MAX_BYTES = 4 << 30


COMPILER_PACKAGES = ("ge", "gedialects", "lowering", "passes", "runtime")
"""The packages whose sources decide what a compile produces."""
SOURCE_ROOT = Path(__file__).resolve().parent.parent
"""Where those packages are (the repository, or site-packages)."""


@functools.cache
def compiler_digest(root: Path = SOURCE_ROOT) -> str:
    """SHA-256 (16 hex digits) over the compiler's Python sources and target presets under
    `root`, by relative path: any edit to a pass or lowering changes it."""
    h = hashlib.sha256()
    for package in COMPILER_PACKAGES:
        files = [*(root / package).rglob("*.py"), *(root / package).rglob("*.toml")]
        for path in sorted(files):
            h.update(str(path.relative_to(root)).encode() + b"\0")
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


def toolchain_version() -> str:
    """Versions that change what a compile produces."""
    try:
        ours = version("gedialects")
    except PackageNotFoundError:
        ours = "source"
    return (
        f"gedialects={ours};compiler={compiler_digest()};xdsl={version('xdsl')};"
        f"format={FORMAT_VERSION}"
    )


def cache_key(module_text: str, **parts: Any) -> str:
    """SHA-256 over the IR text and the JSON of every other part (sorted keys)."""
    h = hashlib.sha256()
    h.update(toolchain_version().encode())
    h.update(json.dumps(parts, sort_keys=True, default=str).encode())
    h.update(module_text.encode())
    return h.hexdigest()


def default_cache_dir() -> Path:
    env = os.environ.get("GE_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "gedialects"


def default_max_bytes() -> int:
    """`GE_CACHE_MAX_BYTES` (a whole number of bytes), else 4 GiB."""
    env = os.environ.get("GE_CACHE_MAX_BYTES", "").strip()
    if not env:
        return DEFAULT_MAX_BYTES
    if not env.isdigit():
        raise GeError(f"GE_CACHE_MAX_BYTES must be a whole number of bytes, got {env!r}")
    return int(env)


@dataclass
class CacheEntry:
    module: ModuleOp
    meta: dict[str, Any] = field(default_factory=dict)


class CompileCache:
    """In-memory and on-disk cache of compiled modules."""

    def __init__(
        self, root: str | Path | None = None, *, disk: bool = True, max_bytes: int | None = None
    ):
        self.root = Path(root) if root is not None else default_cache_dir()
        self.disk = disk
        self.max_bytes = default_max_bytes() if max_bytes is None else max_bytes
        self._memory: dict[str, CacheEntry] = {}
        self.reported: set[str] = set()

    def get(self, key: str, ctx: Context) -> CacheEntry | None:
        if key in self._memory:
            return self._memory[key]
        if not self.disk:
            return None
        folder = self.root / key
        if not folder.is_dir():
            return None
        try:
            entry = self._read(folder, ctx)
        except (SerializationError, OSError, ValueError, KeyError) as error:
            self._report_corrupt(key, error)
            shutil.rmtree(folder, ignore_errors=True)
            return None
        self._memory[key] = entry
        _touch(folder)
        return entry

    def put(self, key: str, module: ModuleOp, meta: dict[str, Any] | None = None) -> None:
        entry = CacheEntry(module, dict(meta or {}))
        self._memory[key] = entry
        if self.disk:
            try:
                self._write(key, entry)
                self.evict()
            except OSError as error:  # a full disk or a read-only home: compile without it
                warnings.warn(
                    f"compile cache entry {key[:12]} not written ({error}); continuing",
                    stacklevel=2,
                )

    def clear_memory(self) -> None:
        self._memory.clear()

    def evict(self) -> list[str]:
        """Remove least recently used entries until the disk holds at most `max_bytes`;
        the keys removed."""
        entries = []
        for folder in self.root.iterdir():
            if folder.is_dir() and not folder.name.startswith("."):  # not a staging folder
                size = sum(f.stat().st_size for f in folder.iterdir() if f.is_file())
                entries.append((folder.stat().st_mtime, folder.name, size))
        total = sum(size for _, _, size in entries)
        removed = []
        for _, name, size in sorted(entries):
            if total <= self.max_bytes:
                break
            shutil.rmtree(self.root / name, ignore_errors=True)
            total -= size
            removed.append(name)
        return removed

    # -- disk format ---------------------------------------------------------------

    def _write(self, key: str, entry: CacheEntry) -> None:
        """The weights go to their file straight from the constants' arrays (a model's worth
        of bytes assembled in memory first was a second copy of every weight), and their
        checksum is taken by reading the file back."""
        text, weights = module_to_text_and_weights(entry.module)
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{key[:12]}-", dir=self.root))
        try:
            _write_file(staging / MODULE_FILE, lambda f: f.write(text.encode()))
            _write_file(staging / WEIGHTS_FILE, lambda f: write_weights(f, weights))
            checksums = {}
            for name in (MODULE_FILE, WEIGHTS_FILE):
                with open(staging / name, "rb") as f:
                    checksums[name] = hashlib.file_digest(f, "sha256").hexdigest()
            meta = {
                "key": key,
                "toolchain": toolchain_version(),
                "checksums": checksums,
                "meta": entry.meta,
            }
            encoded = json.dumps(meta, indent=1, sort_keys=True).encode()
            _write_file(staging / META_FILE, lambda f: f.write(encoded))
            try:
                os.rename(staging, self.root / key)
            except OSError:
                pass  # another process installed the same entry first: keep theirs
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _read(self, folder: Path, ctx: Context) -> CacheEntry:
        """Files are checksummed and read as streams (a model's weights once in memory, as
        arrays; the whole file as bytes first was another copy)."""
        meta = json.loads((folder / META_FILE).read_text())
        if meta.get("toolchain") != toolchain_version():
            raise ValueError("written by another toolchain version")
        for name, expected in meta["checksums"].items():
            with open(folder / name, "rb") as f:
                if hashlib.file_digest(f, "sha256").hexdigest() != expected:
                    raise ValueError(f"{name} does not match its checksum (truncated or corrupted)")
        weights = read_weights(folder / WEIGHTS_FILE)
        text = (folder / MODULE_FILE).read_bytes().decode()
        module = module_from_text_and_weights(ctx, text, weights, str(folder / MODULE_FILE))
        return CacheEntry(module, meta.get("meta", {}))

    def _report_corrupt(self, key: str, error: Exception) -> None:
        if key in self.reported:
            return
        self.reported.add(key)
        warnings.warn(
            f"compile cache entry {key[:12]} is unusable ({error}); rebuilding it",
            stacklevel=3,
        )


def _touch(folder: Path) -> None:
    """Mark an entry as just used (its folder's mtime orders eviction)."""
    try:
        os.utime(folder)
    except OSError:
        pass  # a read-only cache still serves hits


def _write_file(path: Path, write: Callable[[BinaryIO], object]) -> None:
    with open(path, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
