"""How a memory plan is written into the IR, and read back to be re-verified.

The plan is plain discardable attributes, readable in text IR:
- on the function: `mem.arena_bytes`, `mem.lower_bound_bytes` (i64) and `mem.planner`;
- on every op whose results live in the arena (kernels and views): `mem.offset`, an
  `array<i64: ...>` with one arena byte offset per result;
- on a kernel that writes over an operand: `mem.inplace = <operand index> : i64`;
- on a kernel with a workspace: `mem.workspace_offset`;
- on each function argument (graph inputs live in the arena): `mem.offset` in `arg_attrs`.
Constants and weights live in their own region and carry no offset.
"""

from __future__ import annotations

from xdsl.dialects import func
from xdsl.dialects.builtin import (
    ArrayAttr,
    DenseArrayBase,
    DictionaryAttr,
    IntegerAttr,
    StringAttr,
    i64,
)
from xdsl.ir import SSAValue
from xdsl.traits import IsTerminator

from passes.memory.assign import MemoryPlan, analyze_function
from passes.memory.planners import Plan, lower_bound
from passes.memory.verify import PlanError

OFFSET = "mem.offset"
INPLACE = "mem.inplace"
WORKSPACE = "mem.workspace_offset"
ARENA = "mem.arena_bytes"
BOUND = "mem.lower_bound_bytes"
PLANNER = "mem.planner"


def write_plan(fn: func.FuncOp, memory_plan: MemoryPlan) -> None:
    """Record `memory_plan` on `fn` and its ops (replacing an earlier plan)."""
    liveness = memory_plan.liveness
    fn.attributes[ARENA] = IntegerAttr(memory_plan.arena_bytes, i64)
    fn.attributes[BOUND] = IntegerAttr(lower_bound(liveness.lifetimes()), i64)
    fn.attributes[PLANNER] = StringAttr(memory_plan.plan.planner)
    arg_attrs = []
    for index, arg in enumerate(fn.body.block.args):
        entries = dict(fn.arg_attrs.data[index].data) if fn.arg_attrs is not None else {}
        entries[OFFSET] = IntegerAttr(memory_plan.offset_of(arg), i64)
        arg_attrs.append(DictionaryAttr(entries))
    fn.arg_attrs = ArrayAttr(arg_attrs)
    inplace = {liveness.kernels[r.kernel]: r.operand for r in liveness.inplace}
    for op in fn.body.block.ops:
        for name in (OFFSET, INPLACE, WORKSPACE):
            op.attributes.pop(name, None)
        if op.results and all(r in liveness.slots for r in op.results):
            offsets = [memory_plan.offset_of(r) for r in op.results]
            op.attributes[OFFSET] = DenseArrayBase.from_list(i64, offsets)
        if op in inplace:
            op.attributes[INPLACE] = IntegerAttr(inplace[op], i64)
        if op in liveness.workspaces:
            offset = memory_plan.plan.offsets[liveness.workspaces[op]]
            op.attributes[WORKSPACE] = IntegerAttr(offset, i64)


def recorded_offsets(fn: func.FuncOp) -> dict[SSAValue, int]:
    """The arena offset the IR records for each value that has one."""
    found: dict[SSAValue, int] = {}
    for index, arg in enumerate(fn.body.block.args):
        entry = fn.arg_attrs.data[index].data.get(OFFSET) if fn.arg_attrs else None
        if isinstance(entry, IntegerAttr):
            found[arg] = entry.value.data
    for op in fn.body.block.ops:
        attr = op.attributes.get(OFFSET)
        if isinstance(attr, DenseArrayBase) and not op.has_trait(IsTerminator):
            found.update(zip(op.results, (int(v) for v in attr.get_values())))
    return found


def read_plan(fn: func.FuncOp) -> MemoryPlan:
    """Rebuild the plan the IR records (re-running liveness) and verify it."""
    liveness, conflicts = analyze_function(fn, reuse=_shares_in_place(fn))
    recorded = recorded_offsets(fn)
    offsets = [-1] * len(liveness.buffers)
    for value, slot in liveness.slots.items():
        if value not in recorded:
            raise PlanError(f"value {value.name_hint or value} has no recorded {OFFSET}")
        offsets[slot.buffer] = recorded[value] - slot.offset
    for op, buffer in liveness.workspaces.items():
        offsets[buffer] = op.attributes[WORKSPACE].value.data
    arena = fn.attributes[ARENA]
    planner = fn.attributes[PLANNER]
    assert isinstance(arena, IntegerAttr) and isinstance(planner, StringAttr)
    plan = MemoryPlan(liveness, Plan(tuple(offsets), arena.value.data, planner.data), conflicts)
    for value in liveness.slots:
        if plan.offset_of(value) != recorded[value]:
            raise PlanError(f"value {value.name_hint or value} is recorded at a shifted offset")
    plan.verify()
    return plan


def _shares_in_place(fn: func.FuncOp) -> bool:
    """Whether the recorded plan shares buffers in place (a plan without reuse does not)."""
    return any(INPLACE in op.attributes for op in fn.body.block.ops)
