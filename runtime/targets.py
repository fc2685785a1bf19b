"""Hardware targets as data: the `Target` record, its presets and the TOML loader.

Every number the npu verifier, interpreter and cost model use comes from a `Target`. The presets
`ascend910a` (the default) and `ascend910b1` are TOML files in `runtime/target_presets/`, read
with the same loader a user's own file goes through, so a preset is only data.

Rates are bytes per cycle per AI core on a transfer path `src->dst` between memory spaces; a path
the target has no rate for does not exist on that chip (the paths the lowering moves data on,
`LOWERING_PATHS`, must have one). `hbm_bandwidth` is the whole chip's HBM
bandwidth in bytes per cycle, which the cores running a kernel share.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from gedialects.errors import GeError
from gedialects.npu.attrs import PIPES, SPACES

DEFAULT_TARGET = "ascend910a"
PRESETS: tuple[str, ...] = ("ascend910a", "ascend910b1")


LOWERING_PATHS: tuple[tuple[str, str], ...] = (
    ("hbm", "l1"), ("hbm", "ub"), ("l2", "l1"), ("l2", "ub"), ("l1", "l0a"), ("l1", "l0b"),
    ("l0c", "ub"), ("ub", "l1"), ("ub", "hbm"),
)  # fmt: skip
"""Paths the npu lowering and its cost models move data on: a target must rate them."""


class TargetError(GeError):
    """A target file or name is wrong (missing key, bad value, unknown preset)."""


@dataclass(frozen=True)
class Target:
    """One modeled chip; see DESIGN.md's hardware table for what each figure means."""

    name: str
    ai_cores: int
    vector_cores: int
    clock_mhz: float
    cube_m: int
    cube_n: int
    cube_k: int
    cube_f32_cycles_per_fractal: int
    capacity: Mapping[str, int]
    rates: Mapping[tuple[str, str], float]
    vector_lanes: int
    vector_bytes_per_cycle: int
    ub_block: int
    hbm_align: int
    hbm_bandwidth: float
    l2_write_rate: float
    dma_burst: int
    vector_bf16: bool = False
    """Whether the vector unit converts between bf16 and f32/f16 (910B's vconv does; 910A
    has no bf16): a bf16 model's casts then run on the npu instead of by reference."""
    pipes: tuple[str, ...] = field(default=PIPES)

    def capacity_of(self, space: str) -> int:
        """Bytes one core (or the chip, for hbm and l2) has in `space`."""
        return self.capacity[space]

    def rate(self, src: str, dst: str) -> float | None:
        """Bytes per cycle per core on the path src -> dst, or None if the chip has no such path."""
        return self.rates.get((src, dst))

    @property
    def cube_flops_per_cycle(self) -> int:
        """Multiply-adds count two flops: one core's fp16 peak per cycle."""
        return 2 * self.cube_m * self.cube_n * self.cube_k

    @property
    def peak_flops_per_cycle(self) -> int:
        return self.ai_cores * self.cube_flops_per_cycle

    def seconds(self, cycles: float) -> float:
        return cycles / (self.clock_mhz * 1e6)


_SIZE = re.compile(r"^\s*(\d+)\s*(B|KiB|MiB|GiB)?\s*$")
_UNITS = {None: 1, "B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}


class _Reader:
    """Typed access to a parsed TOML table with errors that name the file and the key."""

    def __init__(self, data: Mapping[str, Any], source: str):
        self.data, self.source = data, source
        self.used: set[str] = set()

    def fail(self, key: str, message: str) -> TargetError:
        return TargetError(f"target file {self.source}: key '{key}' {message}")

    def _lookup(self, key: str) -> tuple[bool, Any]:
        """(whether the file has `key`, its value)."""
        table, _, leaf = key.rpartition(".")
        node: Any = self.data
        for part in table.split(".") if table else ():
            node = node.get(part) if isinstance(node, Mapping) else None
        if not isinstance(node, Mapping) or leaf not in node:
            return False, None
        return True, node[leaf]

    def get(self, key: str, kinds: tuple[type, ...]) -> Any:
        present, value = self._lookup(key)
        if not present:
            raise self.fail(key, "is missing")
        if isinstance(value, bool) or not isinstance(value, kinds):
            names = " or ".join(k.__name__ for k in kinds)
            raise self.fail(key, f"must be {names}, got {value!r}")
        self.used.add(key)
        return value

    def optional_flag(self, key: str, default: bool) -> bool:
        """A true/false key that older target files may leave out."""
        present, value = self._lookup(key)
        if not present:
            return default
        if not isinstance(value, bool):
            raise self.fail(key, f"must be true or false, got {value!r}")
        self.used.add(key)
        return value

    def positive(self, key: str, integer: bool = True) -> Any:
        value = self.get(key, (int,) if integer else (int, float))
        if value <= 0:
            raise self.fail(key, f"must be positive, got {value!r}")
        return value

    def size(self, key: str) -> int:
        value = self.get(key, (int, str))
        if isinstance(value, int):
            if value <= 0:
                raise self.fail(key, f"must be a positive size, got {value!r}")
            return value
        match = _SIZE.match(value)
        if match is None or int(match.group(1)) == 0:
            raise self.fail(key, f"must be a size like 64KiB, got {value!r}")
        return int(match.group(1)) * _UNITS[match.group(2)]

    def rates(self, key: str) -> dict[tuple[str, str], float]:
        table = self.get(key, (dict,))
        rates: dict[tuple[str, str], float] = {}
        for path in table:
            src, sep, dst = path.partition("->")
            if not sep or src.strip() not in SPACES or dst.strip() not in SPACES:
                raise self.fail(f"{key}.{path}", f"must name a path 'src->dst' between {SPACES}")
            rates[(src.strip(), dst.strip())] = self.positive(f"{key}.{path}", integer=False)
        return rates

    def check_unknown(self) -> None:
        for key in _leaf_keys(self.data):
            if key not in self.used and not key.startswith("rates."):
                raise self.fail(key, "is not a target parameter (misspelt?)")


def _leaf_keys(data: Mapping[str, Any], prefix: str = "") -> list[str]:
    keys = []
    for key, value in data.items():
        if isinstance(value, Mapping) and key != "rates":
            keys += _leaf_keys(value, f"{prefix}{key}.")
        else:
            keys.append(f"{prefix}{key}")
    return keys


def target_from_dict(data: Mapping[str, Any], source: str = "<dict>") -> Target:
    """Build a target from the parsed contents of a target file; `source` names it in errors."""
    r = _Reader(data, source)
    target = Target(
        name=r.get("name", (str,)),
        ai_cores=r.positive("ai_cores"),
        vector_cores=r.positive("vector_cores"),
        clock_mhz=r.positive("clock_mhz", integer=False),
        cube_m=r.positive("cube.m"),
        cube_n=r.positive("cube.n"),
        cube_k=r.positive("cube.k"),
        cube_f32_cycles_per_fractal=r.positive("cube.f32_cycles_per_fractal"),
        capacity={space: r.size(f"capacity.{space}") for space in SPACES},
        rates=r.rates("rates"),
        vector_lanes=r.positive("vector.lanes"),
        vector_bytes_per_cycle=r.positive("vector.bytes_per_cycle"),
        ub_block=r.positive("vector.ub_block"),
        hbm_align=r.positive("memory.hbm_align"),
        hbm_bandwidth=r.positive("memory.hbm_bandwidth", integer=False),
        l2_write_rate=r.positive("memory.l2_write_rate", integer=False),
        dma_burst=r.positive("memory.dma_burst"),
        vector_bf16=r.optional_flag("vector.bf16", default=False),
    )
    r.check_unknown()
    for src, dst in LOWERING_PATHS:
        if (src, dst) not in target.rates:
            raise r.fail(f'rates."{src}->{dst}"', "is missing: the npu lowering moves data on it")
    if not math.log2(target.hbm_align).is_integer():
        raise r.fail("memory.hbm_align", f"must be a power of two, got {target.hbm_align}")
    return target


def _read_toml(text: str, source: str) -> Target:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise TargetError(f"target file {source} is not valid TOML: {error}") from None
    return target_from_dict(data, source)


_CACHE: dict[str, Target] = {}
_PRESET_DIR = Path(__file__).parent / "target_presets"


def load_target(name_or_path: str | Path | Target | None = None) -> Target:
    """A preset by name (default `ascend910a`), or the target a TOML file describes."""
    if isinstance(name_or_path, Target):
        return name_or_path
    key = str(name_or_path or DEFAULT_TARGET)
    if key in PRESETS:
        if key not in _CACHE:
            text = (_PRESET_DIR / f"{key}.toml").read_text()
            _CACHE[key] = _read_toml(text, f"<preset {key}>")
        return _CACHE[key]
    path = Path(key)
    if not path.is_file():
        raise TargetError(f"unknown target '{key}': not a preset {PRESETS} nor a TOML file")
    return _read_toml(path.read_text(), str(path))


def fingerprint(target: Target) -> str:
    """Every figure of `target` as one canonical string: equal for equal chips whatever file,
    path or key order they came from. The compile cache keys on it: a target file edited in
    place, or another file at the same relative path, is another chip."""

    def canonical(value: Any) -> Any:
        if isinstance(value, Mapping):
            return sorted((str(key), canonical(item)) for key, item in value.items())
        return value

    return repr([(f.name, canonical(getattr(target, f.name))) for f in fields(target)])


def default_target() -> Target:
    return load_target(DEFAULT_TARGET)
