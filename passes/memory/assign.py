"""Plan one function: liveness, then a planner's offsets, then the verifier's proof.

`plan_function` is what the `plan-memory` pass, the arena interpreter and the benchmarks
call; `MemoryPlan` answers where any value's bytes are.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.dialects import func
from xdsl.ir import SSAValue

from passes.memory.liveness import Liveness, analyze
from passes.memory.planners import PLANNERS, Plan, no_reuse
from passes.memory.verify import check_liveness, check_plan


@dataclass(frozen=True)
class MemoryPlan:
    """Buffers of a function with their offsets in one arena of `arena_bytes`."""

    liveness: Liveness
    plan: Plan

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
        check_plan(self.liveness.lifetimes(), self.plan.offsets, self.arena_bytes, names)


def plan_function(fn: func.FuncOp, reuse: bool = True, planner: str = "hybrid") -> MemoryPlan:
    """Analyze `fn` and place its buffers; `reuse=False` is GE's memory-reuse off switch."""
    liveness = analyze(fn, reuse_inplace=reuse)
    lifetimes = liveness.lifetimes()
    plan = PLANNERS[planner](lifetimes) if reuse else no_reuse(lifetimes)
    memory_plan = MemoryPlan(liveness, plan)
    memory_plan.verify()
    return memory_plan
