"""Chrome / Perfetto trace of a modeled run: kernels on their streams, instructions on pipes.

`chrome_trace(profile, target)` returns the JSON object of the Trace Event Format: one
"streams" process with a thread per stream holding its kernels, and one process per AI core
with a thread per pipe holding the instructions it ran (when the run recorded them with
`trace=True`). Times are microseconds at the target's clock.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from runtime.profile import ProgramProfile
from runtime.targets import Target


def chrome_trace(profile: ProgramProfile, target: Target) -> dict[str, Any]:
    per_us = target.clock_mhz  # cycles per microsecond
    events: list[dict[str, Any]] = [
        {"name": "process_name", "ph": "M", "pid": 0, "args": {"name": "streams"}}
    ]
    cores: set[int] = set()
    for kernel in profile.kernels:
        args = {"op": kernel.kind, "fused_from": kernel.fused_from, "cycles": kernel.cycles}
        args["roofline_cycles"] = kernel.roofline_cycles
        args["bound"] = kernel.bound()  # what limits it, as REPORT.json says
        events.append(
            {
                "name": kernel.name,
                "ph": "X",
                "pid": 0,
                "tid": kernel.stream,
                "ts": kernel.start_cycle / per_us,
                "dur": kernel.cycles / per_us,
                "args": args,
            }
        )
        for core, pipe, start, cycles, what in kernel.events or ():
            cores.add(core)
            events.append(
                {
                    "name": what,
                    "ph": "X",
                    "pid": core + 1,
                    "tid": pipe,
                    "ts": (kernel.start_cycle + start) / per_us,
                    "dur": cycles / per_us,
                    "args": {"kernel": kernel.name},
                }
            )
    for core in sorted(cores):
        events.append(
            {
                "name": "process_name",
                "ph": "M",
                "pid": core + 1,
                "args": {"name": f"AI core {core}"},
            }
        )
    return {"traceEvents": events, "displayTimeUnit": "ns", "otherData": {"target": target.name}}


def write_trace(path: str | Path, profile: ProgramProfile, target: Target) -> None:
    Path(path).write_text(json.dumps(chrome_trace(profile, target)))
