"""Tile decisions measured on the modeled chip instead of estimated: CANN AOE's op tuning.

Each tile search (`conv_tiling.choose_conv_tile`, `tiling.choose_matmul_split`,
`tiling.choose_matmul_tile`, `conv_direct_tiling.choose_band`,
`winograd_fused_tiling.choose_fused_tile`) ranks its candidates by an estimate built from the
interpreter's own costs. The estimate is a few percent off what the interpreter then
charges, so its cheapest candidate is not always the fastest one (ResNet-50's stem on
ascend910a: two tiles estimated 5,727 and 5,780 cycles run 5,654 and 5,478). An im2col
conv's UB staging chunk, which the search sets to the most rows UB holds, is a second
decision after its tile (`conv_tiling.ranked_chunk_rows`).
`runtime.tile_tuner` lowers a kernel with each of a search's best few candidates, runs each
and records the fastest in a `Decisions` table; while the table is active (`use`), every
search first looks up its own arguments (the *site*: which search, the target, the shape)
and takes the recorded decision, so each later lowering of that shape on that target
follows the measurement. A search called inside another one (a split's per-part tile
search) is part of the outer decision and neither looks up nor records (`inner`).

A table is saved as JSON (`Decisions.save` / `load`; never pickle): a list of entries, each
the site and the decision's fields, so a tuning run's results serve later compiles, as
AOE's custom knowledge base does. A site records the target's name and a digest of all its
parameters, so a decision measured on one target never answers for another.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import importlib
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from gedialects.errors import GeError
from runtime.targets import Target

DECISION_MODULES = ("lowering.conv_tiling", "lowering.tiling", "lowering.winograd_fused_tiling")
"""The modules whose searches decide dataclasses (`decision_type`): a saved table names
them, so loading one imports these first."""

FORMAT = "gedialects-tile-decisions"
VERSION = 1

Site = tuple
"""(search kind, target name, target digest, the search's arguments as nested tuples)."""


class Decisions:
    """Measured tile decisions by site, and the sites the searches consulted while recording."""

    def __init__(self) -> None:
        self.chosen: dict[Site, Any] = {}
        self.seen: list[Site] | None = None
        """When recording (`record`), the sites searched since, in order, each once."""
        self.candidates: dict[Site, Callable[[int], list]] = {}
        """Per site seen while recording, a function giving its best `top` candidates."""

    def __len__(self) -> int:
        return len(self.chosen)

    def save(self, path: str | Path) -> None:
        entries = [
            {"site": _jsonable(site), "decision": _encode(decision)}
            for site, decision in self.chosen.items()
        ]
        text = json.dumps({"format": FORMAT, "version": VERSION, "entries": entries}, indent=1)
        path = Path(path)
        partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            partial.write_text(text)
            os.replace(partial, path)  # readers never see half a table
        except OSError as error:
            partial.unlink(missing_ok=True)
            raise GeError(f"tile decisions '{path}' cannot be written: {error}") from None

    @classmethod
    def load(cls, path: str | Path) -> Decisions:
        """The table saved at `path`; a file that is not one is a `GeError` naming it."""
        for module in DECISION_MODULES:  # their decision types, though no lowering ran yet
            importlib.import_module(module)
        table = cls()
        try:
            data = json.loads(Path(path).read_text())
            if data.get("format") != FORMAT or data.get("version") != VERSION:
                raise ValueError(f"not a version-{VERSION} {FORMAT} file")
            for entry in data["entries"]:
                table.chosen[_tupled(entry["site"])] = _decode(entry["decision"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            raise GeError(f"tile decisions '{path}': {error}") from None
        return table


_ACTIVE: list[Decisions] = []
_INNER = [0]


@contextlib.contextmanager
def use(decisions: Decisions) -> Iterator[Decisions]:
    """Searches inside take `decisions`' recorded choices (and record into it if asked)."""
    _ACTIVE.append(decisions)
    try:
        yield decisions
    finally:
        _ACTIVE.pop()


@contextlib.contextmanager
def record(decisions: Decisions) -> Iterator[list[Site]]:
    """`use(decisions)`, noting each site searched inside (outer searches only)."""
    saved, decisions.seen = decisions.seen, []
    try:
        with use(decisions):
            yield decisions.seen
    finally:
        decisions.seen = saved


@contextlib.contextmanager
def inner() -> Iterator[None]:
    """Searches inside are part of an enclosing search's decision: no lookup, no record."""
    _INNER[0] += 1
    try:
        yield
    finally:
        _INNER[0] -= 1


def decided(kind: str, target: Target, args: tuple, ranked: Callable[[int], list]) -> Any:
    """The active table's decision for this search, or None (the search then runs). While
    recording, the site is noted with `ranked`, its candidates best first."""
    if not _ACTIVE or _INNER[0]:
        return None
    table = _ACTIVE[-1]
    site = (kind, target.name, target_digest(target), _tupled(args))
    if table.seen is not None and site not in table.seen:
        table.seen.append(site)
        table.candidates[site] = ranked
    return table.chosen.get(site)


def target_digest(target: Target) -> str:
    """A digest of every parameter of `target` (its dataclass fields, in order)."""
    digest = _DIGESTS.get(id(target))
    if digest is None or digest[0] is not target:
        text = repr(dataclasses.astuple(target))
        digest = _DIGESTS[id(target)] = (target, hashlib.sha256(text.encode()).hexdigest()[:16])
    return digest[1]


_DIGESTS: dict[int, tuple[Target, str]] = {}


def _tupled(value: Any) -> Any:
    """Lists (JSON's arrays) and dataclasses as tuples: hashable, equal to the live site."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.astuple(value)
    if isinstance(value, list | tuple):
        return tuple(_tupled(v) for v in value)
    return value


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value


_TYPES: dict[str, type] = {}


def decision_type(cls: type) -> type:
    """Register a decision dataclass so that saved tables can rebuild it by name."""
    _TYPES[cls.__name__] = cls
    return cls


def _encode(decision: Any) -> Any:
    if dataclasses.is_dataclass(decision) and not isinstance(decision, type):
        names = (f.name for f in dataclasses.fields(decision))
        fields = {name: _jsonable(getattr(decision, name)) for name in names}
        return {"type": type(decision).__name__, "fields": fields}
    if isinstance(decision, tuple):
        return {"tuple": [_encode(d) for d in decision]}
    return decision


def _decode(data: Any) -> Any:
    if isinstance(data, dict) and "tuple" in data:
        return tuple(_decode(d) for d in data["tuple"])
    if isinstance(data, dict) and "type" in data:
        cls = _TYPES.get(data["type"])
        if cls is None:
            raise ValueError(f"unknown decision type '{data['type']}'")
        fields = {k: _tupled(v) if isinstance(v, list) else v for k, v in data["fields"].items()}
        return cls(**fields)
    return data
