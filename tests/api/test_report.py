"""REPORT.json contract: core keys always, sections only in the contract's form."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ge.report import (
    BUFFER_KEYS,
    CORE_KEYS,
    KERNEL_KEYS,
    ReportError,
    build_report,
    check_report,
    sections_from_profile,
    write_report,
)

CORE = dict(
    target="ascend910a",
    mode="static",
    cache="miss",
    compile_seconds=0.5,
    run_seconds=0.25,
    outputs=["y"],
)
KERNEL = {k: 0 for k in KERNEL_KEYS} | {"name": "k0", "op": "kernel.conv2d", "fused_from": []}
MEMORY = {
    "peak_bytes": 1024,
    "lower_bound_bytes": 1024,
    "no_reuse_bytes": 2048,
    "planner": "greedy",
    "buffers": [{k: 0 for k in BUFFER_KEYS} | {"name": "b0"}],
}


def test_core_report_round_trips_through_json(tmp_path: Path) -> None:
    report = build_report(**CORE)
    assert list(report) == list(CORE_KEYS)
    write_report(report, tmp_path / "r.json")
    assert json.loads((tmp_path / "r.json").read_text()) == report


def test_sections_are_absent_unless_given() -> None:
    report = build_report(**CORE, sections={"kernels": [KERNEL], "streams": None})
    assert "kernels" in report and "streams" not in report and "memory" not in report


@pytest.mark.parametrize(
    "change, message",
    [
        ({"cache": "warm"}, "'cache'"),
        ({"mode": "eager"}, "'mode'"),
        ({"run_seconds": -1.0}, "'run_seconds'"),
        ({"outputs": "y"}, "'outputs'"),
    ],
)
def test_bad_core_values_are_refused(change: dict, message: str) -> None:
    with pytest.raises(ReportError, match=message):
        build_report(**(CORE | change))


def test_sections_are_checked() -> None:
    with pytest.raises(ReportError, match="kernels\\[0\\] lacks"):
        check_report(CORE | {"kernels": [{"name": "k0"}]})
    with pytest.raises(ReportError, match="'memory' lacks"):
        check_report(CORE | {"memory": {"peak_bytes": 1}})
    check_report(CORE | {"kernels": [KERNEL], "memory": MEMORY, "makespan_cycles": 10})


def test_host_timings_are_not_taken_for_modeled_kernels() -> None:
    host = {"kernels": [{"name": "relu_0", "op": "ge.relu", "seconds": 1e-5, "clock": "host"}]}
    assert sections_from_profile(host) == {}
    modeled = {"kernels": [KERNEL], "memory": MEMORY, "run_seconds": 1.0}
    assert sections_from_profile(modeled) == {"kernels": [KERNEL], "memory": MEMORY}
