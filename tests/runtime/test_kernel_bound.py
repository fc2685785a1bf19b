"""What limits a kernel (`KernelProfile.bound`, REPORT.json's `bound`): its busiest pipe and
that pipe's share of the kernel's time, beside which term its roofline is."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from xdsl.parser import Parser
from xdsl.passes import PassPipeline

from ge.registry import all_passes, make_context
from ge.report import ReportError, check_report
from runtime.kernel_runner import KernelRunner
from runtime.profile import KernelProfile


def _profile(busy: dict[str, float], cores: int, cycles: float) -> KernelProfile:
    kp = KernelProfile("k", "matmul", [], None, 0, cores, cores, cycles=cycles)
    kp.busy, kp.core_cycles = Counter(busy), [cycles] * cores
    return kp


def test_the_busiest_pipe_per_core_and_its_share_of_the_time() -> None:
    kp = _profile({"MTE2": 3000.0, "M": 3600.0, "V": 400.0}, cores=4, cycles=1000.0)
    kp.roofline_limit = "cube"
    assert kp.bound() == {"pipe": "M", "busy_share": 0.9, "roofline": "cube"}
    assert _profile({}, cores=1, cycles=0.0).bound()["pipe"] is None


def _run(text: str, *shapes: tuple[tuple[int, ...], type]) -> KernelProfile:
    ctx = make_context()
    module = Parser(ctx, text).parse_module()
    PassPipeline.parse_spec(dict(all_passes()), "convert-ge-to-kernel,fuse-elementwise").apply(
        ctx, module
    )
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal(shape).astype(dtype) for shape, dtype in shapes]
    (kernel,) = KernelRunner(module).run(inputs).profile.kernels
    return kernel


def test_a_large_elementwise_op_is_bound_by_hbm_and_a_large_matmul_by_the_cube() -> None:
    t = "tensor<1024x1024xf32>"
    add = f"""func.func @main(%x: {t}, %y: {t}) -> {t} {{
  %s = ge.add %x, %y : ({t}, {t}) -> {t}
  func.return %s : {t}
}}"""
    bound = _run(add, ((1024, 1024), np.float32), ((1024, 1024), np.float32)).bound()
    assert bound["roofline"] == "hbm" and bound["pipe"] in ("MTE2", "MTE3")
    assert bound["busy_share"] > 0.5
    h = "tensor<1024x1024xf16>"
    matmul = f"""func.func @main(%a: {h}, %b: {h}) -> {h} {{
  %c = ge.matmul %a, %b : ({h}, {h}) -> {h}
  func.return %c : {h}
}}"""
    bound = _run(matmul, ((1024, 1024), np.float16), ((1024, 1024), np.float16)).bound()
    assert bound["roofline"] == "cube" and bound["busy_share"] > 0.5


def test_the_report_refuses_a_malformed_bound() -> None:
    core = dict(target="t", mode="static", cache="miss", compile_seconds=0.0, run_seconds=0.0)
    kernel = dict.fromkeys(("name", "op", "algorithm"), "k") | {"fused_from": [], "stream": 0}
    kernel |= dict.fromkeys(("start_cycle", "cycles", "roofline_cycles", "flops"), 1.0)
    kernel |= {"hbm_bytes_read": 0, "hbm_bytes_written": 0}
    good = {"pipe": "M", "busy_share": 0.5, "roofline": "cube"}
    check_report({**core, "outputs": [], "kernels": [{**kernel, "bound": good}]})
    for bad in ({**good, "busy_share": 1.5}, {**good, "roofline": "l2"}, "M"):
        with pytest.raises(ReportError, match="bound"):
            check_report({**core, "outputs": [], "kernels": [{**kernel, "bound": bad}]})
