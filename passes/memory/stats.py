"""Memory statistics of a plan: peak, lower bound, no-reuse total, live bytes over time.

`memory_report` gives DESIGN.md's REPORT.json `memory` keys, so anyone can re-check the
plan and the bound from the report alone. A buffer's `first_kernel`/`last_kernel` index the
report's `kernels`; a program with no kernels (its outputs are inputs or views of them) has
no index to give, so its buffers say `null` there but still list their bytes and offset.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from passes.memory.assign import MemoryPlan
from passes.memory.planners import Lifetime, lower_bound
from passes.memory.sizes import align, nbytes


def timeline(lifetimes: Sequence[Lifetime]) -> np.ndarray:
    """Live aligned bytes at each kernel index."""
    horizon = max((t.end for t in lifetimes), default=-1) + 1
    delta = np.zeros(horizon + 1, dtype=np.int64)
    for t in lifetimes:
        delta[t.start] += t.size
        delta[t.end + 1] -= t.size
    return np.cumsum(delta)[:horizon]


def memory_report(memory_plan: MemoryPlan) -> dict[str, Any]:
    """The REPORT.json `memory` dict: peak, bound, no-reuse total, planner, buffers."""
    liveness, plan = memory_plan.liveness, memory_plan.plan
    lifetimes = liveness.lifetimes()
    has_kernels = bool(liveness.kernels)
    return {
        "peak_bytes": plan.peak,
        "lower_bound_bytes": lower_bound(lifetimes),
        "no_reuse_bytes": no_reuse_bytes(memory_plan),
        "planner": plan.planner,
        "inplace_reuses": len(liveness.inplace),
        "buffers": [
            {
                "name": b.name,
                "bytes": b.bytes,
                "offset": offset,
                "first_kernel": b.start if has_kernels else None,
                "last_kernel": b.end if has_kernels else None,
            }
            for b, offset in zip(liveness.buffers, plan.offsets)
        ],
    }


def no_reuse_bytes(memory_plan: MemoryPlan) -> int:
    """Arena bytes with no reuse at all: every tensor its own buffer, views still free."""
    return sum(
        b.bytes if v.value is None else align(nbytes(v.value.type))
        for b in memory_plan.liveness.buffers
        for v in b.versions
    )


def ratio(memory_plan: MemoryPlan) -> float:
    """Peak over the lower bound (1.0 is optimal)."""
    bound = lower_bound(memory_plan.liveness.lifetimes())
    return memory_plan.plan.peak / bound if bound else 1.0
