"""Execute an `npu` program on the modeled chip: outputs and a profile per kernel.

The program is a `func.func` whose arguments and results are HBM buffers. Its body allocates
device memory (`npu.hbm_alloc`: inside one planned arena when it has an offset, so a wrong
memory plan corrupts data as it would on the chip), launches kernels and orders streams.

The multi-core model: a kernel with block_dim B runs on P = min(B, cores) AI cores (the cube
cores, or the vector cores for a kernel without cube instructions); block b runs on core
b mod P, after the blocks that core ran before (each core keeps its own pipe clocks across its
blocks). The kernel takes as long as its slowest core. The P cores share the chip's HBM
bandwidth (`runtime.cost_model`). Kernels on one stream run one after another; kernels on
different streams overlap unless ordered by `npu.record_event` / `npu.wait_event`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from threadpoolctl import ThreadpoolController
from xdsl.dialects import func
from xdsl.dialects.builtin import DenseIntOrFPElementsAttr, ModuleOp

from gedialects.errors import InterpretationError, UnsupportedError
from gedialects.ge.constant import dense_to_numpy
from gedialects.interpreter import entry_function, input_names, output_names
from gedialects.npu.attrs import BufferType, aligned, buffer_type
from gedialects.npu.ops import (
    HbmAllocOp,
    HbmConstantOp,
    KernelOp,
    MmadOp,
    RecordEventOp,
    ReshapeOp,
    ViewOp,
    WaitEventOp,
)
from gedialects.npu.verify import verify_npu_module
from runtime.cost_model import roofline_terms
from runtime.npu_compile import BlockRunner, compile_block
from runtime.npu_core import Buffer, Core
from runtime.npu_probe import ReaderCounts
from runtime.npu_replay import HbmMemory, Replay
from runtime.npu_slots import Slots
from runtime.profile import KernelProfile, ProgramProfile
from runtime.targets import Target, load_target


@dataclass
class NpuResult:
    outputs: list[np.ndarray]
    profile: ProgramProfile

    def named(self, names: Sequence[str]) -> dict[str, np.ndarray]:
        return dict(zip(names, self.outputs))


def _arena_bytes(fn: func.FuncOp) -> int:
    ends = [0]
    for op in fn.body.walk():
        if isinstance(op, HbmAllocOp) and op.offset is not None:
            ends.append(op.offset.value.data + op.buffer.type.nbytes)
    return max(ends)


def _compulsory_hbm_bytes(kp: KernelProfile, chip: Core) -> int:
    """The HBM bytes no schedule of the kernel avoids: of each buffer it writes, what it
    writes up to the buffer's size, and of each it reads, the elements it reads at least
    once where the L2 model marked them (`Core.l2_cached`: later reads of an element come
    from L2, so a stride-2 1x1 conv that reads every other row of its input fetches half
    of it from HBM; counting the whole buffer put the roofline above the modeled cycles). A
    buffer L2 does not cache pays HBM on every read: what it reads, up to its size."""
    total = 0
    for (buf, direction), moved in kp.hbm_traffic.items():
        once = min(buf.type.nbytes, moved)
        seen = chip.l2.get(buf) if direction == "r" else None
        if seen is None and direction == "r":
            seen = chip.l2_readers.get(buf)
        if seen is not None:
            once = min(once, int(np.count_nonzero(seen)) * buf.array.itemsize)
        total += once
    return total


class NpuExecutable:
    """An npu program verified and compiled for one target; `run` may be called many times."""

    def __init__(
        self, module: ModuleOp, target: str | Target | None = None, entry: str | None = None
    ):
        self.target = load_target(target)
        verify_npu_module(module, self.target)
        self.fn = entry_function(module, entry)
        self.slots = Slots()
        self.constants: dict[HbmConstantOp, np.ndarray] = {}
        self.kernels: dict[KernelOp, BlockRunner] = {}
        self.readers = ReaderCounts(self.target, self.slots)
        self.pool: dict = {}
        """On-chip arrays by alloc site (a row per core), reused (poisoned again) by later
        launches."""
        self.l2_logs: dict[KernelOp, list] = {}
        """Per kernel whose addresses do not depend on data, the answers of its L2 model in the
        order its first run asked them (`Core.l2_log`): later runs replay them."""
        self.compulsory: dict[KernelOp, int] = {}
        """Per such kernel, its first run's compulsory HBM bytes (`_compulsory_hbm_bytes`),
        which needs the L2 model's marks that a replay of its answers does not make."""
        for op in self.fn.body.walk():
            if isinstance(op, KernelOp):
                self.slots(op.block_index)
                self.kernels[op] = compile_block(op.body.block, self.target, self.slots)
                self.readers.add(op)
        for value in self.fn.body.block.args:
            self.slots(value)
        for op in self.fn.body.block.ops:
            for value in op.results:
                self.slots(value)
        self.arena_bytes = aligned(_arena_bytes(self.fn), self.target.hbm_align)
        self.memory = HbmMemory(self.arena_bytes)
        self.replays: dict[KernelOp, Replay] = {}
        """Per kernel whose addresses do not depend on data, its captured work (`npu_replay`)."""
        self.constant_ops = [op for op in self.fn.body.walk() if isinstance(op, HbmConstantOp)]
        self.own: dict[HbmConstantOp, np.ndarray] = {}
        """The program's own value of each constant whose array held another's."""
        self.loaded: dict[HbmConstantOp, np.ndarray] = {}
        self.varying = False

    def run(
        self,
        inputs: Sequence[np.ndarray] | Mapping[str, np.ndarray],
        trace: bool = False,
        constants: Sequence[np.ndarray] | None = None,
    ) -> NpuResult:
        """Execute once; `trace` records every instruction's pipe, core and time (slower).
        `constants` (one array per `npu.hbm_constant`, in walk order) replace the program's
        constant values for this run: kernels whose programs differ only there share one
        executable (`runtime.kernel_share`).

        Not reentrant: the executable's HBM and on-chip arrays are reused by every run."""
        self._bind_constants(constants)
        env, slot, memory = self.slots.new_env(), self.slots, self.memory
        bound = enumerate(zip(self.fn.body.block.args, self._bind(inputs), strict=True))
        for i, (arg, value) in bound:
            array = memory.argument(i, value)
            env[slot(arg)] = Buffer(array, arg.type, f"%{arg.name_hint or 'arg'}")
        memory.reset()
        arena = memory.arena
        profile = ProgramProfile(self.target.name)
        streams: dict[int, float] = {}
        events: dict[int, float] = {}
        # Tiles are small: BLAS threads only contend (20x slower on a loaded 2-core machine).
        with np.errstate(all="ignore"), _blas().limit(limits=1, user_api="blas"):
            for op in self.fn.body.block.ops:
                if isinstance(op, HbmAllocOp):
                    env[slot(op.buffer)] = self._hbm_buffer(op, arena)
                elif isinstance(op, HbmConstantOp):
                    env[slot(op.buffer)] = self._constant(op)
                elif isinstance(op, ReshapeOp):
                    src, t = env[slot(op.source)], op.result.type
                    view = Buffer(src.array.reshape(t.dims), t, f"%{op.result.name_hint or 'view'}")
                    env[slot(op.result)] = view
                elif isinstance(op, ViewOp):
                    src, t, start = env[slot(op.source)], op.result.type, op.offset.value.data
                    flat = np.reshape(src.array, -1, copy=False)  # device memory is contiguous
                    window = flat[start : start + t.num_elements].reshape(t.dims)
                    env[slot(op.result)] = Buffer(window, t, f"%{op.result.name_hint or 'view'}")
                elif isinstance(op, KernelOp):
                    kp = self._launch(op, env, trace)
                    kp.start_cycle = streams.get(kp.stream, 0.0)
                    streams[kp.stream] = kp.start_cycle + kp.cycles
                    profile.kernels.append(kp)
                elif isinstance(op, RecordEventOp):
                    events[op.event.value.data] = streams.get(op.stream.value.data, 0.0)
                elif isinstance(op, WaitEventOp):
                    s, e = op.stream.value.data, op.event.value.data
                    if e not in events:
                        raise InterpretationError(f"npu.wait_event: event {e} was never recorded")
                    streams[s] = max(streams.get(s, 0.0), events[e])
                elif isinstance(op, func.ReturnOp):
                    outputs = [env[slot(v)].array.copy() for v in op.arguments]
                    return NpuResult(outputs, profile)
                else:
                    raise UnsupportedError(f"'{op.name}' cannot run between npu kernels")
        raise InterpretationError("the npu function has no func.return")

    def release(self) -> None:
        """Let the HBM arrays go (a copy of every argument, every unplanned buffer, the arena)
        and the captured replays that read them: the next run interprets and captures again."""
        self.replays.clear()
        self.memory = HbmMemory(self.arena_bytes)

    def _bind(self, inputs: Sequence[np.ndarray] | Mapping[str, np.ndarray]) -> list[np.ndarray]:
        names = input_names(self.fn)
        if isinstance(inputs, Mapping):
            inputs = [inputs[n] for n in names]
        if len(inputs) != len(names):
            raise InterpretationError(f"expected {len(names)} inputs {names}, got {len(inputs)}")
        bound = []
        for name, value, t in zip(names, inputs, self.fn.function_type.inputs.data):
            buf = buffer_type(t, f"input '{name}'")
            array = np.asarray(value)
            if array.shape != buf.dims:
                raise InterpretationError(f"input '{name}' has shape {array.shape}, wants {buf}")
            bound.append(np.asarray(array, dtype=buf.dtype, order="C"))  # keeps rank 0
        return bound

    def _constant(self, op: HbmConstantOp) -> Buffer:
        data = self.constants.get(op)
        if data is None:
            if not isinstance(op.value, DenseIntOrFPElementsAttr):
                raise InterpretationError(f"npu.hbm_constant {op.buffer.type} was printed elided")
            data = dense_to_numpy(op.value)  # a read-only view of the attribute's bytes
            self.constants[op] = data = data.copy() if self.varying else data
        return Buffer(data, op.buffer.type, f"%{op.buffer.name_hint or 'const'}")

    def vary_constants(self) -> None:
        """Let runs bind constants of their own (`run(constants=...)`): the constants' arrays
        become writable copies (a run that captured the read-only ones is captured again)."""
        if not self.varying:
            self.varying = True
            self.constants = {op: a.copy() for op, a in self.constants.items()}
            self.replays.clear()

    def _bind_constants(self, constants: Sequence[np.ndarray] | None) -> None:
        """Put `constants` (None: the program's own) into the constants' arrays, which stay
        the same arrays (captured replays read them), copying only what changed."""
        if constants is None and not self.own:
            return
        if constants is not None and (not self.varying or len(constants) != len(self.constant_ops)):
            n = len(self.constant_ops)
            raise InterpretationError(f"{len(constants)} constants bound, not {n} that vary")
        for i, op in enumerate(self.constant_ops):
            live = self._constant(op).array
            value = self.own.get(op) if constants is None else constants[i]
            if value is None or self.loaded.get(op, live) is value:
                continue
            if value.shape != live.shape or value.dtype != live.dtype:
                raise InterpretationError(
                    f"constant {i} is {value.dtype}{value.shape}, not {live.dtype}{live.shape}"
                )
            if op not in self.own:
                self.own[op] = live.copy()
            np.copyto(live, value)
            self.loaded[op] = value

    def _hbm_buffer(self, op: HbmAllocOp, arena: np.ndarray) -> Buffer:
        t = op.buffer.type
        assert isinstance(t, BufferType)
        name = f"%{op.buffer.name_hint or 'hbm'}"
        if op.offset is None:
            return Buffer(self.memory.zeros(op, t.dims, t.dtype), t, name)
        start = op.offset.value.data
        raw = arena[start : start + t.nbytes]
        return Buffer(raw.view(t.dtype).reshape(t.dims), t, name)

    def _launch(self, op: KernelOp, env: list, trace: bool = False) -> KernelProfile:
        captured = self.replays.get(op)
        if captured is not None and not trace:
            return captured.run()
        target = self.target
        vector_only = not any(isinstance(o, MmadOp) for o in op.body.walk())
        available = target.vector_cores if vector_only else target.ai_cores
        cores_used = min(op.blocks, available)
        kp = KernelProfile(
            name=op.sym_name.data,
            kind=None if op.kind is None else op.kind.data,
            fused_from=[s.data for s in op.fused_from.data] if op.fused_from else [],
            algorithm=None if op.algorithm is None else op.algorithm.data,
            stream=op.stream_id,
            block_dim=op.blocks,
            cores=cores_used,
            events=[] if trace else None,
        )
        capacity = dict(target.capacity)
        cores = [Core(i, capacity, target.ub_block, cores_used, kp) for i in range(cores_used)]
        body, block_arg = self.kernels[op], self.slots(op.block_index)
        log = self.l2_logs.get(op)
        shared = not vector_only and 1 < cores_used <= 64  # a reader bit per core
        share = (
            self.readers.shares(op, self.kernels[op], env, cores_used)
            if shared and log is None
            else None
        )
        replay = None if log is None else iter(log)
        static = self.readers.static(op)
        record = [] if log is None and static else None
        actions = [] if static and op not in self.replays else None
        for core in cores:  # one L2 for the chip
            core.l2, core.l2_share, core.l2_readers = cores[0].l2, share, cores[0].l2_readers
            core.l2_log, core.l2_replay, core.pool = record, replay, self.pool
            core.record = actions
        starts = []  # where each block's captured work begins
        for block in range(op.blocks):
            core = cores[block % cores_used]
            env[block_arg] = block
            if actions is not None:
                starts.append(len(actions))
            body(env, core)
        for core in cores:
            if core.pending_flags():
                raise InterpretationError(
                    f"kernel {kp.name}: flags {core.pending_flags()} were set and never waited"
                )
        if record is not None:
            self.l2_logs[op] = record
        assert replay is None or next(replay, None) is None, "an L2 answer was never asked for"
        kp.core_cycles = [core.end for core in cores]
        kp.cycles = max(kp.core_cycles)
        if log is None:
            kp.hbm_compulsory_bytes = _compulsory_hbm_bytes(kp, cores[0])
            if record is not None:
                self.compulsory[op] = kp.hbm_compulsory_bytes
        else:
            kp.hbm_compulsory_bytes = self.compulsory[op]
        terms = roofline_terms(
            target,
            kp.cube_flops,
            kp.vector_bytes,
            kp.hbm_compulsory_bytes,
            vector_only,
            kp.cube_f32_flops,
        )
        limit = max(terms, key=terms.__getitem__)
        kp.roofline_cycles = terms[limit]
        kp.roofline_limit = limit if kp.roofline_cycles else None
        if actions is not None:
            self.replays[op] = Replay.captured(actions, starts, cores_used, kp, self.pool)
        return kp


@functools.cache
def _blas() -> ThreadpoolController:
    """The BLAS libraries loaded (found once: finding them reads the process's memory map)."""
    return ThreadpoolController()


def run_npu(
    module: ModuleOp,
    inputs: Sequence[np.ndarray] | Mapping[str, np.ndarray],
    target: str | Target | None = None,
    entry: str | None = None,
) -> NpuResult:
    """Verify, compile and run `entry` (default `main`) of an npu module on the modeled chip."""
    return NpuExecutable(module, target, entry).run(inputs)


def output_names_of(module: ModuleOp, entry: str | None = None) -> list[str]:
    return output_names(entry_function(module, entry))
