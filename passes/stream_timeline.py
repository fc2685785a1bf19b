"""A modeled timeline of kernels on streams that share the chip's AI cores.

Each kernel has a roofline cost (cycles if it had all cores: cube work for convs and
matmuls, HBM traffic otherwise) and a block_dim, the cores it can use (one tile of
ELEMENTS_PER_CORE output elements per core). Alone it takes cost * CORES / block_dim
cycles. Kernels that run together (different streams, dependencies met) share the cores:
each gets its block_dim while they fit, else a share in proportion to it. The bounds are
the critical path of the alone-durations and the total core-cycles over CORES.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from xdsl.ir import Operation

from passes.memory.sizes import nbytes

CORES = 32
"""ascend910a AI cores."""
CUBE_FLOPS_PER_CYCLE = 2 * 16 * 16 * 16 * CORES
"""Each core multiplies-accumulates 16x16x16 per cycle."""
HBM_BYTES_PER_CYCLE = 32 * CORES
"""32 bytes per cycle per core from HBM."""
ELEMENTS_PER_CORE = 4096
"""Output elements one core's tile holds: a kernel's block_dim is its tiles, up to CORES."""


def _shape(value) -> tuple[int, ...]:
    return tuple(value.type.get_shape()) if hasattr(value.type, "get_shape") else ()


def roofline_cycles(op: Operation) -> float:
    """Cycles of `op` on the whole chip: cube work for convs and matmuls, else HBM bytes."""
    values = [v for v in (*op.operands, *op.results) if hasattr(v.type, "get_shape")]
    traffic = sum(nbytes(v.type) for v in values)
    flops = 0
    if op.name.endswith(("conv2d", "matmul")) and op.results:
        out = int(np.prod(_shape(op.results[0]), dtype=np.int64))
        if op.name.endswith("conv2d"):
            depth = int(np.prod(_shape(op.operands[1])[1:]))
        else:
            depth = _shape(op.operands[0])[-1]
        flops = 2 * out * depth
    return max(flops / CUBE_FLOPS_PER_CYCLE, traffic / HBM_BYTES_PER_CYCLE, 1.0)


def block_dim(op: Operation) -> int:
    """Cores the kernel can keep busy: its output tiles, at most CORES."""
    out = sum(int(np.prod(_shape(r), dtype=np.int64)) for r in op.results)
    return max(1, min(CORES, math.ceil(out / ELEMENTS_PER_CORE)))


@dataclass
class Timeline:
    """Modeled start and end cycle of every kernel."""

    start: list[float]
    end: list[float]

    @property
    def makespan(self) -> float:
        return max(self.end, default=0.0)


def simulate(
    streams: Sequence[int],
    waits: Sequence[Sequence[int]],
    work: Sequence[float],
    demand: Sequence[int],
) -> Timeline:
    """Run in-order streams that share CORES; work in core-cycles, demand in cores."""
    n = len(streams)
    queues: dict[int, list[int]] = {}
    for k, s in enumerate(streams):
        queues.setdefault(s, []).append(k)
    start, end = [0.0] * n, [math.inf] * n
    left, running, now = list(work), set(), 0.0
    while True:
        for queue in queues.values():
            if queue and queue[0] not in running and all(end[p] <= now for p in waits[queue[0]]):
                running.add(queue[0])
                start[queue[0]] = now
        if not running:
            break
        total = sum(demand[k] for k in running)
        rate = {k: demand[k] * min(1.0, CORES / total) for k in running}
        step = min(left[k] / rate[k] for k in running)
        now += step
        for k in list(running):
            left[k] -= rate[k] * step
            if left[k] <= 1e-9 * max(work[k], 1.0):
                running.discard(k)
                end[k] = now
                queues[streams[k]].pop(0)
    return Timeline(start, end)


def bounds(preds: Sequence[Sequence[int]], work: Sequence[float], demand: Sequence[int]):
    """(critical path of alone-durations, total core-cycles / CORES): no schedule beats them."""
    finish: list[float] = []
    for k, ps in enumerate(preds):
        finish.append(max((finish[p] for p in ps), default=0.0) + work[k] / demand[k])
    return max(finish, default=0.0), sum(work) / CORES
