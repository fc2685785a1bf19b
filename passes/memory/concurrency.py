"""Which kernels may run at the same time, from the stream schedule recorded in the IR.

`schedule-streams` puts `stream.id` on every kernel, `stream.record = array<i64: ...>` on a
kernel that signals events and `stream.wait = array<i64: ...>` on one that waits for them.
A stream runs its kernels in order; an event orders its recorder before its waiter.
Vector clocks give the happens-before relation; two buffers may share bytes only when
every access to one happens before the first write of the other.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import DenseArrayBase, IntegerAttr
from xdsl.ir import Operation

from passes.memory.liveness import Liveness

STREAM = "stream.id"
RECORD = "stream.record"
WAIT = "stream.wait"


class HappensBefore:
    """a -> b: kernel a surely finishes before kernel b starts (a != b)."""

    def __init__(self, streams: Sequence[int], waits: Sequence[Sequence[int]]):
        count = max(streams, default=-1) + 1
        self.stream, self.position, self.clocks = list(streams), [], []
        last: dict[int, int] = {}
        for k, s in enumerate(streams):
            clock = list(self.clocks[last[s]]) if s in last else [-1] * count
            self.position.append(clock[s] + 1)
            clock[s] += 1
            for producer in waits[k]:
                clock = [max(a, b) for a, b in zip(clock, self.clocks[producer])]
            self.clocks.append(clock)
            last[s] = k

    def __call__(self, a: int, b: int) -> bool:
        return a != b and self.clocks[b][self.stream[a]] >= self.position[a]


def _ints(op: Operation, name: str) -> list[int]:
    attr = op.attributes.get(name)
    return [int(v) for v in attr.get_values()] if isinstance(attr, DenseArrayBase) else []


def recorded_waits(kernels: Sequence[Operation]) -> list[list[int]]:
    """Per kernel, the kernels whose recorded events it waits for."""
    recorder = {e: k for k, op in enumerate(kernels) for e in _ints(op, RECORD)}
    return [[recorder[e] for e in _ints(op, WAIT)] for op in kernels]


def recorded_order(kernels: Sequence[Operation]) -> HappensBefore | None:
    """The happens-before relation of the recorded streams, or None if there are none."""
    if not any(STREAM in op.attributes for op in kernels):
        return None
    streams = []
    for op in kernels:
        attr = op.attributes.get(STREAM)
        streams.append(attr.value.data if isinstance(attr, IntegerAttr) else 0)
    return HappensBefore(streams, recorded_waits(kernels))


def concurrent_conflicts(liveness: Liveness, before: HappensBefore) -> list[list[int]]:
    """For each buffer, the others it may be live together with on some execution."""
    accesses = liveness.accesses()
    first = [buffer.versions[0].start for buffer in liveness.buffers]
    pinned = [b.kind in ("input", "output") for b in liveness.buffers]

    def done_before(i: int, j: int) -> bool:
        """Graph inputs and outputs are held for the whole run, so never done."""
        if pinned[i] or liveness.buffers[j].kind == "input":
            return False
        return all(before(a, first[j]) for a in accesses[i])

    n = len(liveness.buffers)
    conflicts: list[list[int]] = [[] for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            if not (done_before(i, j) or done_before(j, i)):
                conflicts[i].append(j)
                conflicts[j].append(i)
    return conflicts
