"""What the npu interpreter measures: per kernel and per program, in modeled cycles.

`KernelProfile` sums what every core of a kernel did (and says what limits it: `bound`);
`ProgramProfile` holds the kernels in launch order with their stream timing. Each core's
pipe clocks are `runtime.npu_core.Core`'s.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from gedialects.npu.attrs import PIPES


@dataclass
class KernelProfile:
    """Modeled cost of one kernel launch (every block on every core it used)."""

    name: str
    kind: str | None
    fused_from: list[str]
    algorithm: str | None
    stream: int
    block_dim: int
    cores: int
    start_cycle: float = 0.0
    cycles: float = 0.0
    busy: Counter = field(default_factory=Counter)
    """Busy cycles per pipe, summed over cores."""
    bytes_read: Counter = field(default_factory=Counter)
    """Bytes read per memory space (the DMA source side and compute operands)."""
    bytes_written: Counter = field(default_factory=Counter)
    cube_flops: int = 0
    cube_f32_flops: int = 0
    """Of `cube_flops`, those of mmads in the cube's f32 mode, which runs at a fraction of the
    fp16 peak (the target's `cube_f32_cycles_per_fractal`): the roofline counts them so."""
    vector_flops: int = 0
    vector_bytes: int = 0
    instructions: int = 0
    hbm_compulsory_bytes: int = 0
    roofline_cycles: float = 0.0
    roofline_limit: str | None = None
    """Which bound the roofline is (`cost_model.roofline_terms`): "cube", "vector" or "hbm"."""
    core_cycles: list[float] = field(default_factory=list)
    events: list[tuple[int, str, float, float, str]] | None = None
    """With tracing on: (core, pipe, start cycle in the kernel, cycles, op name) per instruction."""
    hbm_traffic: Counter = field(default_factory=Counter)
    """Bytes moved per (HBM buffer, "r" or "w"), for the compulsory traffic of the roofline."""

    @property
    def flops(self) -> int:
        return self.cube_flops + self.vector_flops

    @property
    def hbm_bytes_read(self) -> int:
        return self.bytes_read["hbm"]

    @property
    def hbm_bytes_written(self) -> int:
        return self.bytes_written["hbm"]

    @property
    def roofline_ratio(self) -> float:
        """Roofline cycles / modeled cycles: 1.0 is as fast as the chip allows."""
        return self.roofline_cycles / self.cycles if self.cycles else 0.0

    def bound(self) -> dict[str, Any]:
        """What limits this kernel: its busiest pipe (busy cycles per core that ran blocks)
        and that pipe's share of the kernel's cycles, beside which bound the roofline is.
        A pipe near 100% is the bottleneck; when even the busiest is well below, the time
        goes to the pipes waiting on one another (the first loads, the last stores,
        dependencies the flags order)."""
        cores = len(self.core_cycles) or self.cores or 1
        busy = {p: self.busy[p] / cores for p in PIPES if self.busy[p]}
        pipe = max(busy, key=busy.__getitem__, default=None)
        share = busy[pipe] / self.cycles if pipe is not None and self.cycles else 0.0
        return {"pipe": pipe, "busy_share": round(share, 4), "roofline": self.roofline_limit}

    def as_dict(self) -> dict[str, Any]:
        """The REPORT.json entry of this kernel (DESIGN.md's keys, and a few more)."""
        return {
            "name": self.name,
            "op": self.kind,
            "fused_from": self.fused_from,
            "algorithm": self.algorithm,
            "stream": self.stream,
            "block_dim": self.block_dim,
            "start_cycle": self.start_cycle,
            "cycles": self.cycles,
            "roofline_cycles": self.roofline_cycles,
            "flops": self.flops,
            "hbm_bytes_read": self.hbm_bytes_read,
            "hbm_bytes_written": self.hbm_bytes_written,
            "busy_cycles": {p: self.busy[p] for p in PIPES if self.busy[p]},
            "bytes_read": dict(self.bytes_read),
            "bytes_written": dict(self.bytes_written),
            "bound": self.bound(),
        }


def describe_bound(bound: dict[str, Any]) -> str:
    """`KernelProfile.bound` as the tables print it: "M 65% / cube" (the busiest pipe's share
    of the kernel's time, and the roofline's term), "" when no pipe was busy."""
    if bound.get("pipe") is None:
        return ""
    roofline = bound.get("roofline")
    return f"{bound['pipe']} {bound['busy_share']:.0%}" + (f" / {roofline}" if roofline else "")


@dataclass
class ProgramProfile:
    """Kernels in launch order; the makespan is when the last stream finishes."""

    target: str
    kernels: list[KernelProfile] = field(default_factory=list)

    @property
    def makespan_cycles(self) -> float:
        return max((k.start_cycle + k.cycles for k in self.kernels), default=0.0)

    @property
    def total_cycles(self) -> float:
        return sum(k.cycles for k in self.kernels)
