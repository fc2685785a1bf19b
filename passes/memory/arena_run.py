"""A debug interpreter that keeps every tensor inside one byte arena, at its planned offset.

Each op runs with the reference interpreter functions (`ge` today, any dialect registered
with `gedialects.interpreter` later), but its operands are read back from the arena and its
results written into it, so tensors that a plan wrongly overlaps corrupt each other. The
arena starts as 0xFF bytes (NaN in every float width) and each buffer is poisoned again
when its last kernel ends, so reading freed memory gives NaN instead of passing by luck.
Views are checked to really be views: their result must already be in the arena.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

import numpy as np
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation, SSAValue
from xdsl.traits import IsTerminator

from gedialects.interpreter import bind_inputs, entry_function, make_interpreter
from passes.memory.assign import MemoryPlan, plan_function
from passes.memory.sizes import dtype_of, nbytes, shape_of
from passes.memory.verify import PlanError

POISON = 0xFF
"""Every byte of freed memory: all-ones is NaN in f16, f32 and f64."""


class Arena:
    """The bytes of one plan, with typed reads and writes of values."""

    def __init__(self, memory_plan: MemoryPlan):
        self.plan = memory_plan
        self.bytes = np.full(memory_plan.arena_bytes, POISON, dtype=np.uint8)
        self.constants: dict[SSAValue, np.ndarray] = {}

    def _range(self, value: SSAValue) -> slice:
        offset = self.plan.offset_of(value)
        return slice(offset, offset + nbytes(value.type))

    def load(self, value: SSAValue) -> np.ndarray:
        if value in self.constants:
            return self.constants[value]
        raw = self.bytes[self._range(value)]
        return raw.view(dtype_of(value.type)).reshape(shape_of(value.type)).copy()

    def store(self, value: SSAValue, array: np.ndarray) -> None:
        if value in self.plan.liveness.constants:
            self.constants[value] = array
            return
        data = np.ascontiguousarray(array, dtype=dtype_of(value.type))
        self.bytes[self._range(value)] = data.reshape(-1).view(np.uint8)

    def poison(self, buffer: int) -> None:
        offset = self.plan.plan.offsets[buffer]
        self.bytes[offset : offset + self.plan.liveness.buffers[buffer].bytes] = POISON


def _dying(memory_plan: MemoryPlan) -> dict[int, list[int]]:
    """Per kernel, the buffers freed after it (graph inputs and outputs never are)."""
    dying: dict[int, list[int]] = defaultdict(list)
    for index, buffer in enumerate(memory_plan.liveness.buffers):
        if buffer.kind not in ("input", "output"):
            dying[buffer.end].append(index)
    return dying


def _check_view(arena: Arena, op: Operation, results: Sequence[np.ndarray]) -> None:
    for value, array in zip(op.results, results):
        if value in arena.constants or not value.uses:
            continue
        if not np.array_equal(arena.load(value), np.asarray(array), equal_nan=True):
            raise PlanError(f"'{op.name}' is planned as a view but its bytes are not its result")


def run_in_arena(
    module: ModuleOp,
    inputs: Sequence[np.ndarray] | Mapping[str, np.ndarray],
    entry: str | None = None,
    memory_plan: MemoryPlan | None = None,
) -> list[np.ndarray]:
    """Interpret `entry` with every tensor in the arena of `memory_plan` (planned if None)."""
    fn = entry_function(module, entry)
    plan = memory_plan if memory_plan is not None else plan_function(fn)
    interpreter = make_interpreter(module)
    arena, dying = Arena(plan), _dying(plan)
    kernel_of = {op: k for k, op in enumerate(plan.liveness.kernels)}
    for arg, value in zip(fn.body.block.args, bind_inputs(fn, inputs)):
        arena.store(arg, value)
    for op in fn.body.block.ops:
        operands = tuple(arena.load(v) for v in op.operands)
        if op.has_trait(IsTerminator):
            return [np.asarray(v) for v in operands]
        results = interpreter.run_op(op, operands)
        if op not in kernel_of and op.results[0] not in plan.liveness.constants:
            _check_view(arena, op, results)
            continue
        for value, array in zip(op.results, results):
            arena.store(value, np.asarray(array))
        for buffer in dying.get(kernel_of.get(op, -1), ()):
            arena.poison(buffer)
    raise PlanError(f"function '{fn.sym_name.data}' has no terminator")


def run_interleaved(
    module: ModuleOp,
    inputs: Sequence[np.ndarray] | Mapping[str, np.ndarray],
    order: Sequence[int],
    memory_plan: MemoryPlan,
    entry: str | None = None,
) -> list[np.ndarray]:
    """Run the kernels in `order` (e.g. one legal interleaving of concurrent streams).

    Views are read through their slots; weights are evaluated first; a buffer is poisoned
    once every kernel that touches it has run, so a plan that lets concurrent kernels
    share bytes breaks the outputs of some interleaving."""
    fn = entry_function(module, entry)
    interpreter, arena = make_interpreter(module), Arena(memory_plan)
    liveness = memory_plan.liveness
    for arg, value in zip(fn.body.block.args, bind_inputs(fn, inputs)):
        arena.store(arg, value)
    for op in fn.body.block.ops:
        if op.results and all(r in liveness.constants for r in op.results):
            results = interpreter.run_op(op, tuple(arena.load(v) for v in op.operands))
            for value, array in zip(op.results, results):
                arena.store(value, np.asarray(array))
    accesses = liveness.accesses()
    pending = [len(a) for a in accesses]
    touched: dict[int, list[int]] = defaultdict(list)
    for buffer, kernels in enumerate(accesses):
        for k in kernels:
            touched[k].append(buffer)
    for k in order:
        op = liveness.kernels[k]
        results = interpreter.run_op(op, tuple(arena.load(v) for v in op.operands))
        for value, array in zip(op.results, results):
            arena.store(value, np.asarray(array))
        for buffer in touched[k]:
            pending[buffer] -= 1
            if not pending[buffer] and liveness.buffers[buffer].kind not in ("input", "output"):
                arena.poison(buffer)
    terminator = fn.body.block.last_op
    return [arena.load(v) for v in terminator.operands]
