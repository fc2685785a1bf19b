"""`plan-memory`: give every HBM tensor an offset in one arena, reusing memory.

Preconditions: each function body is one block executed in op order (one kernel per op,
constants in the weight region). Postconditions: the plan is recorded as `mem.*`
attributes (see `passes.memory.record`), verified safe, and `mem.arena_bytes` is the arena.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from passes.memory.assign import plan_function
from passes.memory.record import write_plan


@dataclass(frozen=True)
class PlanMemory(ModulePass):
    """Assign arena offsets to tensors from their lifetimes (in-place, views, hybrid planner)."""

    name = "plan-memory"

    reuse: bool = True
    """False is GE's memory-reuse off switch: every tensor gets its own bytes."""
    planner: str = "hybrid"
    """hybrid, greedy-by-size, greedy-by-conflicts, hill-climb, exact or no-reuse."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for fn in op.ops:
            if isinstance(fn, func.FuncOp) and not fn.is_declaration:
                write_plan(fn, plan_function(fn, reuse=self.reuse, planner=self.planner))
