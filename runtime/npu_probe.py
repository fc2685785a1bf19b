"""Count the cores that read each HBM element in a kernel, for the shared-L2 cost model.

On the chip a kernel's blocks run at once, and blocks that read the same lines share one HBM
fetch into L2 (`Core.l2_cached`). The interpreter runs blocks one after another, so before a
kernel's first real run its blocks run on throwaway cores that only count, per HBM element,
the cores that read it. A kernel whose addresses do not depend on data (`addresses_static`)
runs a probe body (index arithmetic and HBM reads only: `compile_block(..., probe=True)`)
once per executable; another runs its whole body on copies of the HBM buffers, every run.
"""

from __future__ import annotations

import numpy as np

from gedialects.errors import InterpretationError
from gedialects.npu.ops import AllocOp, KernelOp
from runtime.npu_compile import BlockRunner, compile_block
from runtime.npu_core import Buffer, Core
from runtime.npu_slots import Slots
from runtime.profile import KernelProfile
from runtime.targets import Target


class Shares(dict):
    """HBM buffer -> its reader shares, for one launch of a kernel; `sums` keeps the sums of
    shares over the windows the cores read (`Core.l2_cached`), as many cores read alike."""

    def __init__(self, items: dict) -> None:
        super().__init__(items)
        self.sums: dict[tuple, float] = {}


class ReaderCounts:
    """Per kernel of one executable: its probe body (or None) and its cached reader shares."""

    def __init__(self, target: Target, slots: Slots):
        self.target, self.slots = target, slots
        self.probes: dict[KernelOp, BlockRunner | None] = {}
        self.shares_by_slot: dict[KernelOp, list[tuple[int, np.ndarray]]] = {}
        """Per kernel, its reader shares by env slot: the access pattern is the same every run."""

    def add(self, op: KernelOp) -> None:
        static = addresses_static(op)
        self.probes[op] = (
            compile_block(op.body.block, self.target, self.slots, probe=True) if static else None
        )

    def static(self, op: KernelOp) -> bool:
        """Whether `op`'s addresses do not depend on data (its probe body runs once)."""
        return self.probes[op] is not None

    def shares(self, op: KernelOp, body: BlockRunner, env: list, cores_used: int) -> Shares:
        """1 / the number of cores that read each element of each HBM input in kernel `op`,
        counted by a run of its blocks on throwaway cores. A kernel whose addresses do not
        depend on data runs its probe body (index arithmetic and HBM reads only) once per
        executable; a failing probe stops there and the real run reports the error. Other
        kernels run their whole body on copies of the HBM buffers, every run."""
        counts: dict = {}
        probe = self.probes[op]
        if probe is None:
            copies, original = probe_env(env)
            self._count(op, body, copies, cores_used, counts)
            return Shares({original.get(b, b): _reciprocal(c) for b, c in counts.items()})
        if op not in self.shares_by_slot:
            try:
                self._count(op, probe, list(env), cores_used, counts)
            except InterpretationError:
                pass
            slot_of = {id(value): i for i, value in reversed(list(enumerate(env)))}
            self.shares_by_slot[op] = [(slot_of[id(b)], _reciprocal(c)) for b, c in counts.items()]
        return Shares({env[slot]: share for slot, share in self.shares_by_slot[op]})

    def _count(
        self, op: KernelOp, body: BlockRunner, env: list, cores_used: int, counts: dict
    ) -> None:
        target = self.target
        stats = KernelProfile(op.sym_name.data, None, [], None, 0, op.blocks, cores_used)
        capacity = dict(target.capacity)
        cores = [Core(i, capacity, target.ub_block, cores_used, stats) for i in range(cores_used)]
        for core in cores:
            core.l2_share, core.l2_readers, core.probe = counts, cores[0].l2_readers, True
        block_arg = self.slots(op.block_index)
        try:
            for block in range(op.blocks):
                env[block_arg] = block
                body(env, cores[block % cores_used])
        finally:  # the probe's cores only set their reader bits: count them once, here
            for buf, bits in cores[0].l2_readers.items():
                counts[buf] = np.bitwise_count(bits)  # uint8: at most 64 readers


def _reciprocal(counts: np.ndarray) -> np.ndarray:
    """1 / max(counts, 1) as float64, in place of `counts` first (its values are exact in
    any type, so the shares are the same bits as from int32 counts). A 0-d buffer's count
    is a numpy scalar, which has no memory to write into."""
    if not isinstance(counts, np.ndarray):
        return np.divide(1.0, np.maximum(counts, 1))
    np.maximum(counts, 1, out=counts)
    return np.divide(1.0, counts)


def probe_env(env: list) -> tuple[list, dict]:
    """A copy of `env` whose HBM buffers are copies, so a probe run writes no real data."""
    copy, original = list(env), {}
    for i, value in enumerate(env):
        if isinstance(value, Buffer) and not value.on_chip:
            twin = Buffer(value.array.copy(), value.type, value.name)
            copy[i], original[twin] = twin, value
    return copy, original


def addresses_static(kernel: KernelOp) -> bool:
    """Whether no value inside `kernel` comes from data (only arith, scf and allocations
    have results), so its HBM reads are the same every run and a probe body can count them."""
    return all(
        not op.results or isinstance(op, AllocOp) or op.dialect_name() in ("arith", "scf")
        for op in kernel.body.walk()
    )
