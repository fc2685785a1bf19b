"""REPORT.json `memory` figures from `passes.memory.stats`: kernel indices stay in range."""

from __future__ import annotations

import json

from memory_programs import Program, main, seed_model

from gedialects.ge import ReluOp, ReshapeOp
from passes.memory.assign import plan_function
from passes.memory.stats import memory_report


def test_buffers_index_the_kernels_they_live_over():
    plan = plan_function(main(seed_model()))
    report = memory_report(plan)
    kernels = len(plan.liveness.kernels)
    assert kernels > 0
    for buffer in report["buffers"]:
        assert 0 <= buffer["first_kernel"] <= buffer["last_kernel"] < kernels


def test_a_program_without_kernels_reports_no_kernel_index():
    """Its input buffer is live at no kernel: null, not 0 (an index into an empty list)."""
    for build in (lambda p: p.args[0], lambda p: p(ReshapeOp(p.args[0], shape=[16]))):
        p = Program((4, 4))
        plan = plan_function(main(p.finish(build(p))))
        assert plan.liveness.kernels == []
        report = memory_report(plan)
        (buffer,) = report["buffers"]
        assert (buffer["first_kernel"], buffer["last_kernel"]) == (None, None)
        assert (buffer["name"], buffer["bytes"], buffer["offset"]) == ("arg0", 512, 0)
        assert report["peak_bytes"] == report["lower_bound_bytes"] == 512
        assert '"first_kernel": null' in json.dumps(report)


def test_one_kernel_programs_keep_index_zero():
    p = Program((4, 4))
    plan = plan_function(main(p.finish(p(ReluOp(p.args[0])))))
    report = memory_report(plan)
    assert [(b["first_kernel"], b["last_kernel"]) for b in report["buffers"]] == [(0, 0), (0, 0)]
