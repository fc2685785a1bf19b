"""Turn the body of an `npu.kernel` into Python closures, once, so tile loops run fast.

Each op becomes a function `step(env, core)`: `env` is a list, indexed by the slot `Slots` gave
each SSA value, of Python ints (indices), numbers and `Buffer`s; `core` is the AI core running
the block. A tile loop (`scf.for`) is a
Python `for` over its tiles whose body is a list of such steps; each instruction is one numpy
operation on a whole tile, so the interpreter's time goes to numpy, not to walking the IR.

A probe body (`probe=True`) keeps only the index arithmetic, the control flow and the reads
of HBM through L2: the run that counts the cores reading each element (`runtime.npu_probe`)
needs nothing else, and skipping the tiles' numpy work makes it cheap.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from xdsl.dialects import scf
from xdsl.ir import Block, Operation

from gedialects.errors import UnsupportedError
from gedialects.npu.ops import AllocOp, DmaOp, SetFlagOp, WaitFlagOp
from runtime.npu_core import Core
from runtime.npu_instructions import INSTRUCTIONS, l2_probe
from runtime.npu_scalar import is_scalar, scalar_run
from runtime.npu_slots import Slots
from runtime.targets import Target

Step = Callable[[list, Core], None]
BlockRunner = Callable[[list, Core], tuple]


def _for(op: scf.ForOp, target: Target, slots: Slots, probe: bool) -> Step:
    body = compile_block(op.body.block, target, slots, probe)
    iv, iter_args = slots(op.body.block.args[0]), [slots(a) for a in op.body.block.args[1:]]
    lb, ub, step_v = slots(op.lb), slots(op.ub), slots(op.step)
    inits, results = [slots(v) for v in op.iter_args], [slots(v) for v in op.results]

    if not inits and not results:

        def plain(env: list, core: Core) -> None:
            for i in range(env[lb], env[ub], env[step_v]):
                env[iv] = i
                body(env, core)

        return plain

    def step(env: list, core: Core) -> None:
        carried = [env[v] for v in inits]
        for i in range(env[lb], env[ub], env[step_v]):
            env[iv] = i
            for arg, value in zip(iter_args, carried):
                env[arg] = value
            carried = body(env, core)
        for res, value in zip(results, carried):
            env[res] = value

    return step


def _if(op: scf.IfOp, target: Target, slots: Slots, probe: bool) -> Step:
    then = compile_block(op.true_region.block, target, slots, probe)
    other = (
        compile_block(op.false_region.block, target, slots, probe)
        if op.false_region.blocks
        else None
    )
    cond, results = slots(op.cond), [slots(v) for v in op.results]

    def step(env: list, core: Core) -> None:
        runner = then if env[cond] else other
        values = runner(env, core) if runner is not None else ()
        for res, value in zip(results, values):
            env[res] = value

    return step


def _alloc(op: AllocOp, slots: Slots) -> Step:
    result, buf_type = slots(op.buffer), op.buffer.type
    name = f"%{op.buffer.name_hint or 'buffer'}"
    layout = (buf_type.space_name, buf_type.nbytes, buf_type.dims, buf_type.dtype)
    site = object()  # the allocation's key in `Core.sites` and the pool: xDSL ops hash slowly

    def step(env: list, core: Core) -> None:
        env[result] = core.allocate(site, buf_type, name, layout)

    return step


def _flag(op: SetFlagOp | WaitFlagOp, slots: Slots) -> Step:
    (src, dst), event = op.key, op.event
    if isinstance(event, int):  # the common case, inlined: one flag queue per key
        key = (src, dst, event)
        if isinstance(op, SetFlagOp):

            def set_flag(env: list, core: Core) -> None:
                queue = core.flags.get(key)
                if queue is None:
                    queue = core.flags[key] = deque()
                queue.append(core.clocks[src])

            return set_flag

        def wait_flag(env: list, core: Core) -> None:
            queue = core.flags.get(key)
            if not queue:
                core.wait_flag(src, dst, event)  # raises: the core would hang
            clocks = core.clocks
            clocks[dst] = max(clocks[dst], queue.popleft())

        return wait_flag
    action = Core.set_flag if isinstance(op, SetFlagOp) else Core.wait_flag
    if isinstance(event, int):
        return lambda env, core: action(core, src, dst, event)
    slot = slots(event)
    return lambda env, core: action(core, src, dst, env[slot])


def compile_op(op: Operation, target: Target, slots: Slots, probe: bool = False) -> Step | None:
    """The step of `op`; None for an op a probe body skips."""
    kind = type(op)
    if is_scalar(op):
        return scalar_run([op], slots, probe)
    if kind is scf.ForOp:
        return _for(op, target, slots, probe)
    if kind is scf.IfOp:
        return _if(op, target, slots, probe)
    if kind is AllocOp:
        return None if probe else _alloc(op, slots)
    if kind in (SetFlagOp, WaitFlagOp):
        return None if probe else _flag(op, slots)
    if probe:
        return l2_probe(op, target, slots) if isinstance(op, DmaOp) else None
    for base, compiler in INSTRUCTIONS.items():
        if isinstance(op, base):
            return compiler(op, target, slots)
    raise UnsupportedError(f"the npu interpreter cannot execute '{op.name}' inside a kernel")


def _steps(ops: list[Operation], target: Target, slots: Slots, probe: bool) -> list:
    """The steps of `ops`, a run of consecutive scalar ops fused into one (`scalar_run`)."""
    steps, run = [], []
    for op in ops:
        if is_scalar(op):
            run.append(op)
            continue
        if run:
            steps.append(scalar_run(run, slots, probe))
            run = []
        steps.append(compile_op(op, target, slots, probe))
    if run:
        steps.append(scalar_run(run, slots, probe))
    return steps


def compile_block(block: Block, target: Target, slots: Slots, probe: bool = False) -> BlockRunner:
    """A runner for `block`: runs its steps in a fresh allocation scope; returns yielded values."""
    ops = list(block.ops)
    yielded: tuple[int, ...] = ()
    if ops and isinstance(ops[-1], scf.YieldOp):
        yielded = tuple(slots(v) for v in ops.pop().operands)
    steps = tuple(s for s in _steps(ops, target, slots, probe) if s)
    scoped = not probe and any(isinstance(op, AllocOp) for op in ops)

    def run(env: list, core: Core) -> tuple:
        if scoped:
            core.push_scope()
        for step in steps:
            step(env, core)
        if scoped:
            core.pop_scope()
        return tuple([env[v] for v in yielded])

    def plain(env: list, core: Core) -> tuple:  # most loop bodies: no allocation, no yield
        for step in steps:
            step(env, core)
        return ()

    return plain if not scoped and not yielded else run
