"""Plan one function: liveness, then a planner's offsets, then the verifier's proof.

`plan_function` is what the `plan-memory` pass, the arena interpreter and the benchmarks
call; `MemoryPlan` answers where any value's bytes are. When `schedule-streams` has run,
buffers of kernels that may run at the same time are kept apart as well.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.dialects import func
from xdsl.ir import SSAValue

from gedialects.errors import GeError
from passes.memory.concurrency import concurrent_conflicts, recorded_order
from passes.memory.liveness import Liveness, analyze, classify
from passes.memory.planners import PLANNERS, Plan, no_reuse
from passes.memory.verify import check_liveness, check_plan


@dataclass(frozen=True)
class MemoryPlan:
    """Buffers of a function with their offsets in one arena of `arena_bytes`."""

    liveness: Liveness
    plan: Plan
    conflicts: list[list[int]] | None = None
    """Buffers that may be live together beyond interval overlap (concurrent streams)."""

    @property
    def arena_bytes(self) -> int:
        return self.plan.peak

    def offset_of(self, value: SSAValue) -> int:
        """Arena byte offset of a value that lives in the arena."""
        slot = self.liveness.slots[value]
        return self.plan.offsets[slot.buffer] + slot.offset

    def verify(self) -> None:
        """Raise PlanError unless the plan is safe (see `passes.memory.verify`)."""
        check_liveness(self.liveness)
        names = [b.name for b in self.liveness.buffers]
        lifetimes = self.liveness.lifetimes()
        check_plan(lifetimes, self.plan.offsets, self.arena_bytes, names, self.conflicts)


def analyze_function(
    fn: func.FuncOp, reuse: bool = True
) -> tuple[Liveness, list[list[int]] | None]:
    """Liveness of `fn`, and if it has recorded streams, the conflicts they add."""
    kernels, _, _ = classify(list(fn.body.block.ops))
    before = recorded_order(kernels)
    liveness = analyze(fn, reuse_inplace=reuse, ordered=before)
    return liveness, concurrent_conflicts(liveness, before) if before else None


def plan_function(fn: func.FuncOp, reuse: bool = True, planner: str = "hybrid") -> MemoryPlan:
    """Analyze `fn` and place its buffers; `reuse=False` is GE's memory-reuse off switch."""
    if planner not in PLANNERS:
        raise GeError(f"unknown memory planner '{planner}': one of {', '.join(sorted(PLANNERS))}")
    liveness, conflicts = analyze_function(fn, reuse)
    lifetimes = liveness.lifetimes()
    if reuse:
        plan = PLANNERS[planner](lifetimes, conflicts=conflicts)
    else:
        plan = no_reuse(lifetimes)
    memory_plan = MemoryPlan(liveness, plan, conflicts)
    memory_plan.verify()
    return memory_plan
