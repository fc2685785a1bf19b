"""`schedule-streams`: independent kernels on parallel streams, events only where needed.

Preconditions: each function body is one block run in op order (one kernel per op, as
`plan-memory` sees it). Streams are assigned by dependency, as GE does: a kernel continues
the stream of a producer it depends on when that producer is the stream's last kernel,
else it opens a new stream (up to `max-streams`, then joins the stream that frees first).
An event is recorded after a producer and waited for before a consumer on another stream,
unless that order is already implied by stream order and earlier events (vector clocks).

Postconditions, as attributes: `stream.id` on every kernel, `stream.record` /
`stream.wait = array<i64: event ids>` on the kernels that signal / wait, and
`stream.count` / `stream.events` on the function. Run `plan-memory` after it: buffers of
kernels that may run at the same time then never share bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import DenseArrayBase, IntegerAttr, ModuleOp, i64
from xdsl.ir import Operation
from xdsl.passes import ModulePass

from gedialects.errors import GeError
from passes.memory.concurrency import RECORD, STREAM, WAIT
from passes.memory.liveness import Placed, classify
from passes.stream_timeline import CORES, Timeline, block_dim, roofline_cycles, simulate


def dependencies(fn: func.FuncOp) -> tuple[list[Operation], list[list[int]]]:
    """The kernels of `fn` in order, and for each the kernels whose results it reads."""
    kernels, views, _ = classify(list(fn.body.block.ops))
    index = {op: k for k, op in enumerate(kernels)}

    def producers(value) -> set[int]:
        """The kernels that write `value`'s bytes: through views to their source, through
        a placed concat to each operand's kernel."""
        owner = value.owner
        if not isinstance(owner, Operation):
            return set()
        if isinstance(views.get(owner), Placed):
            return set().union(*(producers(v) for v in owner.operands))
        if owner in views:
            return producers(owner.operands[0])
        return {index[owner]} if owner in index else set()

    preds = []
    for op in kernels:
        preds.append(sorted(set().union(*(producers(v) for v in op.operands))))
    return kernels, preds


@dataclass
class StreamSchedule:
    """The stream of each kernel and the producers each kernel waits for."""

    streams: list[int]
    waits: list[list[int]]


def assign_streams(preds: Sequence[Sequence[int]], finish: Sequence[float], max_streams: int):
    """Stream per kernel: continue a producer's stream if it ends there, else reuse a stream
    whose last kernel is an ancestor (no event needed), else open one (up to the limit)."""
    streams: list[int] = []
    tails: list[int] = []  # last kernel of each stream
    ancestors: list[set[int]] = []
    for k, ps in enumerate(preds):
        ancestors.append(set(ps).union(*(ancestors[p] for p in ps)))
        open_tails = [p for p in ps if tails[streams[p]] == p]
        done = [t for t in range(len(tails)) if tails[t] in ancestors[k]]
        if open_tails:
            s = streams[max(open_tails, key=lambda p: finish[p])]
        elif done:
            s = max(done, key=lambda t: finish[tails[t]])
        elif len(tails) < max_streams:
            s = len(tails)
            tails.append(-1)
        else:
            s = min(range(len(tails)), key=lambda t: finish[tails[t]])
        streams.append(s)
        tails[s] = k
    return streams


def insert_events(streams: Sequence[int], preds: Sequence[Sequence[int]]) -> list[list[int]]:
    """Per kernel, the producers it must wait for: cross-stream and not already implied."""
    count = max(streams, default=-1) + 1
    clocks: list[list[int]] = []
    position, last = [], {}
    waits: list[list[int]] = []
    for k, s in enumerate(streams):
        clock = list(clocks[last[s]]) if s in last else [-1] * count
        clock[s] += 1
        position.append(clock[s])
        needed = []
        for p in sorted(preds[k], reverse=True):  # the latest producers imply the most
            if clock[streams[p]] < position[p]:
                needed.append(p)
                clock = [max(a, b) for a, b in zip(clock, clocks[p])]
        clocks.append(clock)
        waits.append(sorted(needed))
        last[s] = k
    return waits


def longest_finish(preds: Sequence[Sequence[int]], cost: Sequence[float]) -> list[float]:
    """Earliest finish of each kernel with unlimited streams (the critical path)."""
    finish: list[float] = []
    for k, ps in enumerate(preds):
        finish.append(max((finish[p] for p in ps), default=0.0) + cost[k])
    return finish


def alone_cycles(op: Operation) -> float:
    """Modeled cycles of a kernel running by itself on its block_dim cores."""
    return roofline_cycles(op) * CORES / block_dim(op)


def schedule(
    fn: func.FuncOp, max_streams: int = 8
) -> tuple[list[Operation], list[list[int]], StreamSchedule]:
    """The kernels of `fn`, their producers, and their streams and events."""
    if max_streams < 1:
        raise GeError(f"schedule-streams: max_streams must be at least 1, got {max_streams}")
    kernels, preds = dependencies(fn)
    finish = longest_finish(preds, [alone_cycles(op) for op in kernels])
    streams = assign_streams(preds, finish, max_streams)
    return kernels, preds, StreamSchedule(streams, insert_events(streams, preds))


def modeled_timeline(kernels: Sequence[Operation], plan: StreamSchedule | None) -> Timeline:
    """Modeled times of the kernels on `plan`'s streams (None: all on one stream)."""
    work = [roofline_cycles(op) * CORES for op in kernels]
    demand = [block_dim(op) for op in kernels]
    if plan is None:
        plan = StreamSchedule([0] * len(kernels), [[] for _ in kernels])
    return simulate(plan.streams, plan.waits, work, demand)


def record_streams(fn: func.FuncOp, kernels: Sequence[Operation], plan: StreamSchedule) -> None:
    """Write `stream.*` attributes: one event id per producer another stream waits for."""
    event_of: dict[int, int] = {}
    for ws in plan.waits:
        for p in ws:
            event_of.setdefault(p, len(event_of))
    for k, op in enumerate(kernels):
        for name in (STREAM, RECORD, WAIT):
            op.attributes.pop(name, None)
        op.attributes[STREAM] = IntegerAttr(plan.streams[k], i64)
        if k in event_of:
            op.attributes[RECORD] = DenseArrayBase.from_list(i64, [event_of[k]])
        if plan.waits[k]:
            op.attributes[WAIT] = DenseArrayBase.from_list(
                i64, [event_of[p] for p in plan.waits[k]]
            )
    fn.attributes["stream.count"] = IntegerAttr(len(set(plan.streams)), i64)
    fn.attributes["stream.events"] = IntegerAttr(sum(map(len, plan.waits)), i64)


@dataclass(frozen=True)
class ScheduleStreams(ModulePass):
    """Put independent kernels on parallel streams with the fewest events (GE's stream assigner)."""

    name = "schedule-streams"

    max_streams: int = 8

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for fn in op.ops:
            if isinstance(fn, func.FuncOp) and not fn.is_declaration:
                kernels, _, plan = schedule(fn, self.max_streams)
                record_streams(fn, kernels, plan)
