"""schedule-streams: parallel branches on streams, only needed events, memory kept apart."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given
from memory_programs import Program, inputs_of, main, seed_model
from xdsl.context import Context

from ge.testing.strategies import programs_with_inputs
from gedialects.ge import AddOp, ConcatOp, GlobalAvgPoolOp, NegOp, ReluOp, SigmoidOp, TanhOp
from gedialects.interpreter import entry_function
from passes.memory.arena_run import run_in_arena, run_interleaved
from passes.memory.assign import plan_function
from passes.memory.concurrency import HappensBefore, recorded_order, recorded_waits
from passes.memory.liveness import classify
from passes.plan_memory import PlanMemory
from passes.schedule_streams import ScheduleStreams, dependencies, modeled_timeline, schedule
from passes.stream_timeline import CORES, block_dim, bounds, roofline_cycles, simulate


def branches(width: int = 4):
    """`width` independent two-kernel branches of one input, joined by a concat that their
    kernels write in place (a batch of one: contiguous pieces) and a kernel reading it,
    which waits for every branch through the concat."""
    p = Program((1, 8, 16, 16))
    ends = [p(SigmoidOp(p(TanhOp(p.args[0])))) for _ in range(width)]
    return p.finish(p(NegOp(p(ConcatOp(*ends, axis=1)))))


def check_schedule(fn) -> HappensBefore:
    """Every dependency is ordered, and no recorded wait is implied by the others."""
    kernels, preds = dependencies(fn)
    before = recorded_order(kernels)
    for k, ps in enumerate(preds):
        assert all(before(p, k) for p in ps), f"kernel {k} may start before its producers"
    waits = recorded_waits(kernels)
    for k, ws in enumerate(waits):
        for p in ws:
            without = [w if i != k else [q for q in w if q != p] for i, w in enumerate(waits)]
            assert not HappensBefore(before.stream, without)(p, k), f"wait {p}->{k} is redundant"
    return before


def test_a_chain_stays_on_one_stream_without_events():
    module = seed_model()
    ScheduleStreams().apply(Context(), module)
    fn = main(module)
    assert fn.attributes["stream.count"].value.data == 1
    assert fn.attributes["stream.events"].value.data == 0
    check_schedule(fn)


def test_parallel_branches_get_streams_and_events_only_at_the_join():
    module = branches(4)
    ScheduleStreams().apply(Context(), module)
    fn = main(module)
    before = check_schedule(fn)
    assert fn.attributes["stream.count"].value.data == 4
    assert fn.attributes["stream.events"].value.data == 3  # the concat waits for 3 others
    tanh = [k for k, op in enumerate(classify(list(fn.body.block.ops))[0]) if op.name == "ge.tanh"]
    assert not before(tanh[0], tanh[1]) and not before(tanh[1], tanh[0])


def test_branches_that_leave_cores_idle_finish_sooner_on_streams():
    module = branches(4)  # 2048-element kernels: one core each of 32
    kernels, preds, plan = schedule(main(module))
    one, several = modeled_timeline(kernels, None), modeled_timeline(kernels, plan)
    work = [roofline_cycles(op) * CORES for op in kernels]
    critical, total = bounds(preds, work, [block_dim(op) for op in kernels])
    assert one.makespan == pytest.approx(sum(w / block_dim(op) for w, op in zip(work, kernels)))
    assert several.makespan == pytest.approx(critical)  # the branches overlap fully
    assert several.makespan < one.makespan / 2 and critical >= total


def test_kernels_that_fill_the_chip_share_it():
    streams, waits, work = [0, 1], [[], []], [64.0, 64.0]
    assert simulate(streams, waits, work, [32, 32]).makespan == pytest.approx(4.0)
    assert simulate(streams, waits, work, [16, 16]).makespan == pytest.approx(4.0)
    assert simulate(streams, waits, work, [8, 8]).makespan == pytest.approx(8.0)
    assert simulate([0, 0], waits, work, [8, 8]).makespan == pytest.approx(16.0)


def random_interleaving(kernels, rng: random.Random) -> list[int]:
    """A legal execution order of recorded streams: any ready stream head runs next (a
    program of views alone has no kernels, and no streams to record)."""
    if not kernels:
        return []
    before = recorded_order(kernels)
    waits = recorded_waits(kernels)
    queues: dict[int, list[int]] = {}
    for k, s in enumerate(before.stream):
        queues.setdefault(s, []).append(k)
    order: list[int] = []
    while len(order) < len(kernels):
        ready = [q for q in queues.values() if q and all(p in order for p in waits[q[0]])]
        order.append(rng.choice(ready).pop(0))
    return order


def test_concurrent_branches_never_share_memory():
    p = Program((1, 4, 32, 32))
    a = p(GlobalAvgPoolOp(p(TanhOp(p.args[0]))))  # in op order, tanh's 16 KiB are free ...
    b = p(GlobalAvgPoolOp(p(ReluOp(p.args[0]))))  # ... when relu runs, but not on streams
    module = p.finish(p(AddOp(a, b)))
    fn = main(module)
    sequential = plan_function(fn)
    ScheduleStreams().apply(Context(), module)
    concurrent = plan_function(fn)  # verifies against the concurrent conflicts
    assert concurrent.arena_bytes > sequential.arena_bytes
    tanh, relu = (op.results[0] for op in fn.body.block.ops if op.name in ("ge.tanh", "ge.relu"))
    assert sequential.offset_of(tanh) == sequential.offset_of(relu)
    assert concurrent.offset_of(tanh) != concurrent.offset_of(relu)
    # tanh and relu run before either pool: legal on two streams, fatal to the
    # stream-blind plan, harmless to the stream-aware one.
    inputs = inputs_of(module)
    (want,) = run_in_arena(module, inputs, memory_plan=plan_function(fn, reuse=False))
    np.testing.assert_array_equal(
        run_interleaved(module, inputs, [0, 2, 1, 3, 4], concurrent)[0], want
    )
    assert not np.array_equal(run_interleaved(module, inputs, [0, 2, 1, 3, 4], sequential)[0], want)


def test_max_streams_bounds_the_streams():
    module = branches(6)
    ScheduleStreams(max_streams=2).apply(Context(), module)
    fn = main(module)
    assert fn.attributes["stream.count"].value.data == 2
    check_schedule(fn)


@given(programs_with_inputs(max_ops=10))
def test_random_programs_schedule_safely_and_plan_apart(case):
    _check_streams_and_plans(*case)


def test_a_program_of_views_alone_has_nothing_to_schedule():
    """Found by the soak profile: a reshape is a view, so the program launches no kernel."""
    from xdsl.parser import Parser

    from ge.registry import make_context

    text = """func.func @main(%0: tensor<f32>) -> tensor<f32> {
      %1 = ge.reshape %0 {shape = array<i64>} : (tensor<f32>) -> tensor<f32>
      func.return %1 : tensor<f32>
    }"""
    module = Parser(make_context(), text).parse_module()
    _check_streams_and_plans(module, [np.array(2.0, np.float32)])


def _check_streams_and_plans(module, inputs) -> None:  # noqa: ANN001
    """Streams scheduled safely, buffers planned apart where streams may overlap, and every
    legal interleaving computes what the program does with no reuse."""
    ScheduleStreams(max_streams=3).apply(Context(), module)
    fn = entry_function(module)
    check_schedule(fn)
    PlanMemory().apply(Context(), module)
    planned = plan_function(fn)  # verified against the concurrent conflicts
    separate = run_in_arena(module, inputs, memory_plan=plan_function(fn, reuse=False))
    for want, got in zip(separate, run_in_arena(module, inputs, memory_plan=planned)):
        np.testing.assert_array_equal(got, want)
    rng = random.Random(0)
    for _ in range(3):  # other legal interleavings of the streams compute the same
        order = random_interleaving(planned.liveness.kernels, rng)
        for want, got in zip(separate, run_interleaved(module, inputs, order, planned)):
            np.testing.assert_array_equal(got, want)
