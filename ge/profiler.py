"""`with ge.profile() as prof:` — per-kernel figures of every run inside the block.

Each executed kernel (or op, in eager mode) adds an event: its name, the op, the modeled
time (cycles at the target clock when the npu level ran it, else host wall time, marked
as such), HBM bytes and the chosen algorithm. `key_averages().table()` groups them as
PyTorch's profiler does; `export_chrome_trace` writes a Chrome/Perfetto trace.
"""

from __future__ import annotations

import contextlib
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gedialects.npu.attrs import PIPES
from runtime.profile import describe_bound


@dataclass
class Event:
    name: str
    op: str
    seconds: float
    clock: str = "modeled"
    """`modeled` (cycles / target clock) or `host` (wall time of the numpy reference)."""
    hbm_bytes: int = 0
    algorithm: str = ""
    costs: dict[str, float] = field(default_factory=dict)
    """Modeled cycles of every candidate implementation that selection costed."""
    stream: int = 0
    start_seconds: float | None = None
    """Modeled start on the profile's timeline (runs one after another); None (host
    clock) places the event after the last one of its stream."""
    launches: int = 1
    roofline_ratio: float | None = None
    """Roofline cycles / modeled cycles (npu level only)."""
    bound: dict[str, Any] = field(default_factory=dict)
    """REPORT.json's `bound`: the busiest pipe, its busy share, the roofline's limit."""
    pipes: list[tuple[int, str, float, float, str]] = field(default_factory=list)
    """Instructions as (core, pipe, start seconds from the kernel's start, seconds, what):
    recorded when the profile asks for pipes (npu level, static plans)."""


@dataclass
class KernelAverage:
    name: str
    op: str
    calls: int = 0
    seconds: float = 0.0
    hbm_bytes: int = 0
    algorithm: str = ""
    clock: str = "modeled"
    costs: dict[str, float] = field(default_factory=dict)
    roofline_ratio: float | None = None
    bound: dict[str, Any] = field(default_factory=dict)

    def why(self) -> str:
        """The other candidates' modeled cycles relative to the chosen one: "fft 3.1x, ..."."""
        chosen = self.costs.get(self.algorithm)
        if not chosen:
            return ""
        others = sorted((c, a) for a, c in self.costs.items() if a != self.algorithm)
        return ", ".join(f"{a} {c / chosen:.1f}x" for c, a in others)


@dataclass
class KeyAverages:
    rows: list[KernelAverage]

    def table(self, top: int | None = None) -> str:
        total = sum(r.seconds for r in self.rows) or 1.0
        rows = sorted(self.rows, key=lambda r: -r.seconds)[:top]
        header = f"{'kernel':<36} {'op':<22} {'calls':>5} {'time':>11} {'share':>6} "
        header += f"{'HBM bytes':>12} {'roofline':>8} {'busiest pipe / roofline bound':<30} "
        header += f"{'algorithm':<13} why (other candidates' modeled cycles)"
        lines = [header, "-" * len(header)]
        for r in rows:
            unit = "" if r.clock == "modeled" else " (host)"
            ratio = "" if r.roofline_ratio is None else f"{r.roofline_ratio:.2f}"
            lines.append(
                f"{r.name[:36]:<36} {r.op[:22]:<22} {r.calls:>5} "
                f"{r.seconds * 1e6:>9.1f}us {100 * r.seconds / total:>5.1f}% "
                f"{r.hbm_bytes:>12,} {ratio:>8} {describe_bound(r.bound):<30} "
                f"{r.algorithm:<13} {r.why()}{unit}".rstrip()
            )
        lines.append(f"total {total * 1e6:.1f} us over {sum(r.calls for r in self.rows)} calls")
        return "\n".join(lines)


@dataclass
class Profile:
    events: list[Event] = field(default_factory=list)
    pipes: bool = False
    """Whether runs record every instruction's core, pipe and time (slower: no replay)."""

    def record(self, event: Event) -> None:
        self.events.append(event)

    def end_seconds(self) -> float:
        """Where the events recorded so far end: the next run's kernels start there."""
        return max(
            (e.start_seconds + e.seconds for e in self.events if e.start_seconds is not None),
            default=0.0,
        )

    def key_averages(self) -> KeyAverages:
        groups: dict[tuple[str, str], KernelAverage] = {}
        for e in self.events:
            row = groups.setdefault((e.name, e.op), KernelAverage(e.name, e.op, clock=e.clock))
            row.calls += e.launches
            row.seconds += e.seconds
            row.hbm_bytes += e.hbm_bytes
            row.algorithm = e.algorithm or row.algorithm
            row.costs = e.costs or row.costs
            row.roofline_ratio = (
                e.roofline_ratio if e.roofline_ratio is not None else row.roofline_ratio
            )
            row.bound = e.bound or row.bound
        return KeyAverages(list(groups.values()))

    def export_chrome_trace(self, path: str | Path) -> None:
        """Write the events as Chrome trace JSON (open in Perfetto or chrome://tracing), one
        trace event at a time: a traced model has an event per instruction of every core
        (124,000 for ResNet-18 at 224), which as one list of dicts cost more memory than
        the run."""
        with open(path, "w") as out:
            out.write('{"traceEvents": [')
            for i, event in enumerate(self._trace_events()):
                out.write((", " if i else "") + json.dumps(event))
            out.write('], "displayTimeUnit": "ns"}')

    def _trace_events(self) -> Iterator[dict[str, Any]]:
        clock: dict[int, float] = defaultdict(float)
        yield _named("process_name", 0, 0, "streams")
        starts = []
        for e in self.events:
            starts.append(clock[e.stream] if e.start_seconds is None else e.start_seconds)
            clock[e.stream] = max(clock[e.stream], starts[-1] + e.seconds)
        busy_until: list[float] = []  # per core of the chip, when its last instruction ends
        order = sorted(range(len(self.events)), key=starts.__getitem__)
        for e, start in ((self.events[i], starts[i]) for i in order):
            core_of = _place_on_cores(e.pipes, start, busy_until)
            yield {
                "name": e.name,
                "cat": e.op,
                "ph": "X",
                "ts": start * 1e6,
                "dur": e.seconds * 1e6,
                "pid": 0,
                "tid": e.stream,
                "args": {"hbm_bytes": e.hbm_bytes, "algorithm": e.algorithm, "clock": e.clock},
            }
            for core, pipe, at, seconds, what in e.pipes:
                yield {
                    "name": what,
                    "cat": e.name,
                    "ph": "X",
                    "ts": (start + at) * 1e6,
                    "dur": seconds * 1e6,
                    "pid": 1 + core_of[core],
                    "tid": PIPES.index(pipe) if pipe in PIPES else len(PIPES),
                }
        for core in range(len(busy_until)):
            yield _named("process_name", 1 + core, 0, f"core {core}")
            yield from (_named("thread_name", 1 + core, i, pipe) for i, pipe in enumerate(PIPES))


def _place_on_cores(
    pipes: Sequence[tuple[int, str, float, float, str]], start: float, busy_until: list[float]
) -> dict[int, int]:
    """Which of the chip's cores each of a kernel's cores (numbered from 0 in every kernel)
    is drawn on: the lowest-numbered ones whose instructions have ended by `start`, so that
    kernels running at once on two streams are drawn on different cores, and no pipe's
    slices overlap (Perfetto requires them nested). A kernel that finds too few free cores
    (streams sharing the chip beyond its cores, as the timeline models by slowing both)
    takes new ones. `busy_until` is updated."""
    free = [core for core, until in enumerate(busy_until) if until <= start]
    core_of: dict[int, int] = {}
    for core in sorted({core for core, *_ in pipes}):
        if free:
            core_of[core] = free.pop(0)
        else:
            core_of[core] = len(busy_until)
            busy_until.append(start)
    for core, _, at, seconds, _ in pipes:
        busy_until[core_of[core]] = max(busy_until[core_of[core]], start + at + seconds)
    return core_of


def _named(kind: str, pid: int, tid: int, name: str) -> dict[str, Any]:
    """A metadata event naming a process (the streams, a core) or a thread (a pipe)."""
    return {"name": kind, "ph": "M", "pid": pid, "tid": tid, "args": {"name": name}}


_ACTIVE: list[Profile] = []


@contextlib.contextmanager
def profile(pipes: bool = False) -> Iterator[Profile]:
    """Collect the events of every run inside the block; with `pipes`, each npu kernel's
    instructions too (the trace then shows every core's pipes; runs are slower)."""
    prof = Profile(pipes=pipes)
    _ACTIVE.append(prof)
    try:
        yield prof
    finally:
        _ACTIVE.remove(prof)


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """Record nothing inside the block (a caller that records the events itself)."""
    saved = list(_ACTIVE)
    _ACTIVE.clear()
    try:
        yield
    finally:
        _ACTIVE[:] = saved


def record(event: Event) -> None:
    for prof in _ACTIVE:
        prof.record(event)


def active() -> bool:
    return bool(_ACTIVE)


def wants_pipes() -> bool:
    """Whether an active profile asks for the instructions of each kernel."""
    return any(prof.pipes for prof in _ACTIVE)


def record_kernels(
    kernels: list[dict[str, Any]],
    launch_op: str = "",
    pipes: Mapping[str, list[tuple[int, str, float, float, str]]] | None = None,
) -> None:
    """Record one event per kernel of a run's profile (REPORT.json's kernel entries) in the
    active profiles, if any; `launch_op` names the kernels that have no name of their own;
    `pipes` holds the instructions of kernels by name, in cycles from the kernel's start."""
    pipes = pipes or {}
    for prof in _ACTIVE:
        base = prof.end_seconds()
        for k in kernels:
            prof.record(_kernel_event(k, launch_op, base, pipes.get(k.get("name"), ())))


def _kernel_event(k: dict[str, Any], launch_op: str, base: float, pipes: Iterable) -> Event:
    modeled = k.get("clock", "modeled") == "modeled" and "start_cycle" in k and k.get("cycles")
    per_cycle = k.get("seconds", 0.0) / k["cycles"] if modeled else 0.0
    return Event(
        name=k.get("name", launch_op),
        op=k.get("op", launch_op),
        seconds=k.get("seconds", 0.0),
        clock=k.get("clock", "modeled"),
        hbm_bytes=k.get("hbm_bytes_read", 0) + k.get("hbm_bytes_written", 0),
        algorithm=k.get("algorithm") or "",
        costs=k.get("algorithm_costs", {}),
        stream=k.get("stream", 0),
        start_seconds=base + k["start_cycle"] * per_cycle if modeled else None,
        roofline_ratio=k["roofline_cycles"] / k["cycles"] if k.get("cycles") else None,
        bound=k.get("bound", {}),
        pipes=[
            (core, pipe, start * per_cycle, cycles * per_cycle, what)
            for core, pipe, start, cycles, what in pipes
        ],
    )
