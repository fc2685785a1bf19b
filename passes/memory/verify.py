"""Plan verifier: proves a memory plan safe instead of trusting the planner.

`check_plan` shows that no two buffers live at the same kernel share a byte, that every
buffer lies inside the arena, and that offsets keep GE's 512-byte alignment.
`check_liveness` re-proves the in-place decisions: in every buffer each tensor is dead
before the next one is written over it, and graph inputs and outputs are never overwritten.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gedialects.errors import GeError
from passes.memory.liveness import Liveness
from passes.memory.planners import Lifetime
from passes.memory.sizes import MEM_ALIGN_SIZE


class PlanError(GeError):
    """A memory plan lets two live tensors share bytes, or leaves the arena."""


def _name(names: Sequence[str] | None, i: int) -> str:
    return f"'{names[i]}'" if names is not None else f"#{i}"


def check_plan(
    lifetimes: Sequence[Lifetime],
    offsets: Sequence[int],
    arena_bytes: int,
    names: Sequence[str] | None = None,
    conflicts: list[list[int]] | None = None,
) -> None:
    """Raise PlanError unless the offsets place every buffer safely in the arena.

    `conflicts` adds pairs that may run concurrently (streams) to those live at once."""
    if len(offsets) != len(lifetimes):
        raise PlanError(f"the plan has {len(offsets)} offsets for {len(lifetimes)} buffers")
    for i, (offset, t) in enumerate(zip(offsets, lifetimes)):
        if offset < 0 or offset + t.size > arena_bytes:
            raise PlanError(
                f"buffer {_name(names, i)} at [{offset}, {offset + t.size}) leaves the arena "
                f"of {arena_bytes} bytes"
            )
        if offset % MEM_ALIGN_SIZE:
            raise PlanError(f"buffer {_name(names, i)} at offset {offset} is not aligned")
    if not lifetimes:
        return
    start = np.array([t.start for t in lifetimes])
    end = np.array([t.end for t in lifetimes])
    lo = np.asarray(offsets, dtype=np.int64)
    hi = lo + np.array([t.size for t in lifetimes])
    live_together = (start[:, None] <= end[None, :]) & (start[None, :] <= end[:, None])
    for i, others in enumerate(conflicts or ()):
        live_together[i, others] = True
        live_together[others, i] = True
    share_bytes = (lo[:, None] < hi[None, :]) & (lo[None, :] < hi[:, None])
    clash = np.triu(live_together & share_bytes, k=1)
    if clash.any():
        i, j = (int(x) for x in np.argwhere(clash)[0])
        raise PlanError(
            f"buffers {_name(names, i)} (kernels {start[i]}..{end[i]}, bytes {lo[i]}..{hi[i]}) "
            f"and {_name(names, j)} (kernels {start[j]}..{end[j]}, bytes {lo[j]}..{hi[j]}) "
            "may be live at the same time and overlap"
        )


def check_liveness(liveness: Liveness) -> None:
    """Raise PlanError unless every buffer's tensors follow one another without overlap."""
    for buffer in liveness.buffers:
        versions = sorted(buffer.versions, key=lambda v: v.start)
        if buffer.kind == "input" and len(versions) > 1:
            raise PlanError(f"graph input '{buffer.name}' is overwritten in place")
        for old, new in zip(versions, versions[1:]):
            if old.output:
                raise PlanError(f"graph output in '{buffer.name}' is overwritten in place")
            if old.end > new.start:
                raise PlanError(
                    f"buffer '{buffer.name}': a tensor read until kernel {old.end} is "
                    f"overwritten at kernel {new.start}"
                )
    for record in liveness.inplace:
        op = liveness.kernels[record.kernel]
        operand = liveness.slots[op.operands[record.operand]]
        if liveness.slots[record.result] != operand:
            raise PlanError(f"'{op.name}' (kernel {record.kernel}) is not in its operand's bytes")
