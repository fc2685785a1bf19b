"""REPORT.json: the figures of one `ge-run`, for machines (the contract in DESIGN.md).

`build_report` makes the dict: the core keys every run has (`target`, `mode`, `cache`,
`compile_seconds`, `run_seconds`, `outputs`) and the sections that later levels produce
(`kernels`, `memory`, `makespan_cycles`, `critical_path_cycles`, `streams`). A section
whose feature did not run is absent, never filled with placeholders; `check_report`
checks the types of whatever is present, so each stage that adds a section can test it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

CORE_KEYS: tuple[str, ...] = (
    "target",
    "mode",
    "cache",
    "compile_seconds",
    "run_seconds",
    "outputs",
)
SECTION_KEYS: tuple[str, ...] = (
    "kernels",
    "memory",
    "makespan_cycles",
    "critical_path_cycles",
    "streams",
)
KERNEL_KEYS: tuple[str, ...] = (
    "name",
    "op",
    "fused_from",
    "algorithm",
    "stream",
    "start_cycle",
    "cycles",
    "roofline_cycles",
    "flops",
    "hbm_bytes_read",
    "hbm_bytes_written",
)
MEMORY_KEYS: tuple[str, ...] = (
    "peak_bytes",
    "lower_bound_bytes",
    "no_reuse_bytes",
    "planner",
    "buffers",
)
BUFFER_KEYS: tuple[str, ...] = ("name", "bytes", "offset", "first_kernel", "last_kernel")
MODES: tuple[str, ...] = ("static", "dynamic")
CACHE_STATES: tuple[str, ...] = ("hit", "miss")


class ReportError(ValueError):
    """A report does not follow the contract (a missing key, a wrong type)."""


def build_report(
    *,
    target: str,
    mode: str,
    cache: str,
    compile_seconds: float,
    run_seconds: float,
    outputs: list[str],
    sections: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The report dict; `sections` maps section keys (or extra keys) to values, None = absent."""
    report: dict[str, Any] = {
        "target": target,
        "mode": mode,
        "cache": cache,
        "compile_seconds": float(compile_seconds),
        "run_seconds": float(run_seconds),
        "outputs": outputs,
    }
    for key, value in (sections or {}).items():
        if key in CORE_KEYS:
            raise ReportError(f"section '{key}' would overwrite a core key")
        if value is not None:
            report[key] = value
    check_report(report)
    return report


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ReportError(f"REPORT.json: {message}")


def _is_count(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


def _check_records(records: Any, keys: tuple[str, ...], what: str) -> None:
    _require(isinstance(records, list), f"'{what}' must be a list")
    for i, record in enumerate(records):
        _require(isinstance(record, dict), f"{what}[{i}] must be an object")
        missing = [k for k in keys if k not in record]
        _require(not missing, f"{what}[{i}] lacks {missing}")


def check_report(report: Mapping[str, Any]) -> None:
    """Raise `ReportError` unless the core keys and every present section are well typed."""
    missing = [k for k in CORE_KEYS if k not in report]
    _require(not missing, f"missing core keys {missing}")
    _require(isinstance(report["target"], str), "'target' must be a string")
    _require(report["mode"] in MODES, f"'mode' must be one of {MODES}")
    _require(report["cache"] in CACHE_STATES, f"'cache' must be one of {CACHE_STATES}")
    for key in ("compile_seconds", "run_seconds"):
        _require(_is_count(report[key]), f"'{key}' must be a non-negative number")
    outputs = report["outputs"]
    _require(
        isinstance(outputs, list) and all(isinstance(n, str) for n in outputs),
        "'outputs' must be a list of names",
    )
    if "kernels" in report:
        _check_records(report["kernels"], KERNEL_KEYS, "kernels")
        for i, kernel in enumerate(report["kernels"]):
            if "bound" in kernel:
                _check_bound(kernel["bound"], f"kernels[{i}].bound")
    if "memory" in report:
        memory = report["memory"]
        _require(isinstance(memory, dict), "'memory' must be an object")
        absent = [k for k in MEMORY_KEYS if k not in memory]
        _require(not absent, f"'memory' lacks {absent}")
        _check_records(memory["buffers"], BUFFER_KEYS, "memory.buffers")
    for key in ("makespan_cycles", "critical_path_cycles"):
        if key in report:
            _require(_is_count(report[key]), f"'{key}' must be a non-negative number")


ROOFLINE_LIMITS: tuple[str | None, ...] = ("cube", "vector", "hbm", None)


def _check_bound(bound: Any, where: str) -> None:
    """A kernel's `bound` (added beside the contract): its busiest pipe, that pipe's share
    of the kernel's cycles, and which term its roofline is."""
    _require(isinstance(bound, dict), f"'{where}' must be an object")
    _require(bound.get("pipe") is None or isinstance(bound["pipe"], str), f"'{where}.pipe'")
    share = bound.get("busy_share")
    _require(_is_count(share) and share <= 1.0, f"'{where}.busy_share' must be in [0, 1]")
    _require(bound.get("roofline") in ROOFLINE_LIMITS, f"'{where}.roofline' is unknown")


def sections_from_profile(profile: Mapping[str, Any]) -> dict[str, Any]:
    """The contract sections a level's profile holds in the contract's form.

    A level may keep other figures under the same names: the reference level lists host
    wall times per op as `kernels`, without cycles or bytes; those are not modeled
    kernels, so that section stays absent from the report rather than half filled.
    """
    sections: dict[str, Any] = {}
    for key in SECTION_KEYS:
        if key not in profile:
            continue
        trial = {**_CORE_SAMPLE, key: profile[key]}
        try:
            check_report(trial)
        except ReportError:
            continue
        sections[key] = profile[key]
    return sections


_CORE_SAMPLE: dict[str, Any] = {
    "target": "",
    "mode": "static",
    "cache": "miss",
    "compile_seconds": 0.0,
    "run_seconds": 0.0,
    "outputs": [],
}


def write_report(report: Mapping[str, Any], path: str | Path) -> None:
    """Write the report as indented JSON (checked first)."""
    check_report(report)
    Path(path).write_text(json.dumps(report, indent=2) + "\n")
