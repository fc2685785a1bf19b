"""Liveness, in-place sharing, views, the recorded plan, and wrong plans being caught."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from memory_programs import Program, inputs_of, main, seed_model
from xdsl.context import Context

from ge.testing import run
from gedialects.ge import (
    ConcatOp,
    MatMulOp,
    NegOp,
    ReluOp,
    ReshapeOp,
    SliceOp,
    SoftmaxOp,
    SplitOp,
)
from passes.memory.arena_run import run_in_arena
from passes.memory.assign import MemoryPlan, plan_function
from passes.memory.memory_rules import WORKSPACE_RULES
from passes.memory.planners import Plan
from passes.memory.record import read_plan
from passes.memory.stats import memory_report, timeline
from passes.memory.verify import PlanError, check_liveness
from passes.plan_memory import PlanMemory


def test_bn_and_relu_write_into_the_conv_buffer():
    plan = plan_function(main(seed_model()))
    kinds = [b.kind for b in plan.liveness.buffers]
    # conv1 <- bn1 <- relu1; conv2 <- bn2 <- relu2 <- add <- relu, each 1024 bytes
    assert kinds == ["input", "intermediate", "output"]
    assert [len(b.versions) for b in plan.liveness.buffers] == [1, 3, 5]
    assert len(plan.liveness.inplace) == 6
    report = memory_report(plan)
    assert report["peak_bytes"] == report["lower_bound_bytes"] == 3 * 1024
    assert report["no_reuse_bytes"] == 9 * 1024


def test_graph_inputs_and_outputs_are_never_overwritten():
    p = Program((4, 4))
    r = p(ReluOp(p.args[0]))  # the input dies here, but the caller still sees it
    s = p(ReluOp(r))  # r is an output: s must not overwrite it
    plan = plan_function(main(p.finish(r, s)))
    assert not plan.liveness.inplace
    assert len({plan.offset_of(v) for v in (p.args[0], r, s)}) == 3


def test_views_share_their_source_buffer_at_the_row_offset():
    p = Program((4, 8))
    x = p(ReluOp(p.args[0]))
    flat = p(ReshapeOp(x, shape=[32]))
    rows = p(SliceOp(x, starts=[1], ends=[3], axes=[0], steps=[1]))
    cols = p(SliceOp(x, starts=[1], ends=[3], axes=[1], steps=[1]))  # not contiguous
    top, bottom = p(SplitOp(x, axis=0, sizes=[1, 3]))
    w = p.const(8, 2)
    out = [p(MatMulOp(v, w)) for v in (rows, top, bottom)] + [p(MatMulOp(cols, p.const(2, 2)))]
    module = p.finish(flat, *out)
    plan = plan_function(main(module))
    base = plan.offset_of(x)
    assert plan.offset_of(flat) == base and plan.offset_of(top) == base
    assert plan.offset_of(rows) == base + 32 and plan.offset_of(bottom) == base + 32
    assert plan.liveness.slots[cols].offset == 0 and plan.offset_of(cols) != base
    inputs = inputs_of(module)
    for want, got in zip(run(module, inputs), run_in_arena(module, inputs, memory_plan=plan)):
        np.testing.assert_array_equal(got, want)


def test_a_concat_of_contiguous_pieces_has_its_producers_write_in_place():
    """GE's no-task concat: each operand's kernel writes into the concat's result (at the
    operand's row offset); the concat moves nothing. Not placed: pieces that are not
    contiguous (a batch of two along axis 1), an operand another op reads too, a view's
    or an argument's bytes."""
    p = Program((1, 2, 4), (2, 2, 4))
    a, b = p(ReluOp(p.args[0])), p(NegOp(p.args[0]))
    joined = p(ConcatOp(a, b, axis=1))
    after = p(ReluOp(joined))
    c, d = p(ReluOp(p.args[1])), p(NegOp(p.args[1]))
    strided = p(ConcatOp(c, d, axis=1))  # batch two: rows of c and d alternate
    e = p(ReluOp(p.args[0]))
    shared = p(ConcatOp(e, p.args[0], axis=1))  # an argument's bytes are its own
    module = p.finish(after, strided, shared, e)
    plan = plan_function(main(module))
    base = plan.offset_of(joined)
    assert plan.offset_of(a) == base and plan.offset_of(b) == base + 2 * 4 * 4
    assert joined.owner not in plan.liveness.kernels
    for op in (strided.owner, shared.owner):
        assert op in plan.liveness.kernels
    assert plan.offset_of(c) != plan.offset_of(strided)
    inputs = inputs_of(module)
    for want, got in zip(run(module, inputs), run_in_arena(module, inputs, memory_plan=plan)):
        np.testing.assert_array_equal(got, want)


def broken(plan: MemoryPlan) -> MemoryPlan:
    """Move conv2's buffer onto conv1's while both are live."""
    offsets = list(plan.plan.offsets)
    offsets[2] = offsets[1]
    return MemoryPlan(plan.liveness, dataclasses.replace(plan.plan, offsets=tuple(offsets)))


def test_a_wrong_plan_is_caught_by_the_verifier_and_by_the_poisoned_run():
    module = seed_model()
    plan = plan_function(main(module))
    wrong = broken(plan)
    with pytest.raises(PlanError, match="overlap"):
        wrong.verify()
    inputs = inputs_of(module)
    (want,) = run(module, inputs)
    np.testing.assert_array_equal(run_in_arena(module, inputs, memory_plan=plan)[0], want)
    assert not np.array_equal(run_in_arena(module, inputs, memory_plan=wrong)[0], want)


def test_reading_freed_memory_gives_nan():
    module = seed_model()
    plan = plan_function(main(module))
    early = plan.liveness.buffers[1]
    early.versions[-1] = dataclasses.replace(early.versions[-1], end=early.start + 1)
    (got,) = run_in_arena(module, inputs_of(module), memory_plan=plan)
    assert np.isnan(got).any()


def test_a_wrong_in_place_decision_is_caught():
    plan = plan_function(main(seed_model()))
    conv1 = plan.liveness.buffers[1]
    conv1.versions[0] = dataclasses.replace(conv1.versions[0], end=conv1.versions[1].start + 1)
    with pytest.raises(PlanError, match="overwritten"):
        check_liveness(plan.liveness)


def test_the_pass_records_a_plan_that_reads_back_and_verifies():
    module = seed_model()
    PlanMemory().apply(Context(), module)
    fn = main(module)
    plan = read_plan(fn)
    assert fn.attributes["mem.arena_bytes"].value.data == plan.arena_bytes == 3 * 1024
    assert sum("mem.inplace" in op.attributes for op in fn.body.block.ops) == 6


def test_reuse_off_gives_every_tensor_its_own_bytes():
    module = seed_model()
    PlanMemory(reuse=False).apply(Context(), module)
    plan = read_plan(main(module))
    assert not plan.liveness.inplace
    assert plan.arena_bytes == sum(b.bytes for b in plan.liveness.buffers) == 9 * 1024
    assert plan.plan == Plan(plan.plan.offsets, 9 * 1024, "no-reuse")


def test_a_kernel_workspace_is_a_buffer_live_during_its_kernel(monkeypatch):
    monkeypatch.setitem(WORKSPACE_RULES, SoftmaxOp, lambda op: 1000)
    p = Program((8, 64))
    module = p.finish(p(ReluOp(p(SoftmaxOp(p(ReluOp(p.args[0])))))))
    PlanMemory().apply(Context(), module)
    plan = read_plan(main(module))  # re-verified, workspace included
    (workspace,) = [b for b in plan.liveness.buffers if b.kind == "workspace"]
    assert (workspace.bytes, workspace.start, workspace.end) == (1024, 1, 1)
    softmax = next(op for op in main(module).body.block.ops if isinstance(op, SoftmaxOp))
    assert "mem.workspace_offset" in softmax.attributes


def test_the_live_bytes_plot_is_written(tmp_path):
    pytest.importorskip("matplotlib")
    from passes.memory.plot import plot_memory

    plan = plan_function(main(seed_model()))
    assert list(timeline(plan.liveness.lifetimes())) == [2048] * 3 + [3072] * 4 + [2048]
    plot_memory(plan, tmp_path / "memory.png", "seed")
    assert (tmp_path / "memory.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
