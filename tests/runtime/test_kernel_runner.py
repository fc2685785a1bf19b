# ruff: noqa: E501  (lines of IR text)
"""The kernel runner: lowered kernels on the modeled NPU, the rest by reference, same outputs."""

from __future__ import annotations

import numpy as np
from xdsl.parser import Parser
from xdsl.passes import PassPipeline

from ge.registry import all_passes, make_context
from gedialects.interpreter import run_reference
from runtime.kernel_runner import KernelRunner, single_kernel_module

PROGRAM = """func.func @main(%x: tensor<2x50x300xf32>, %w: tensor<300x90xf32>) -> (tensor<2x50x90xf32>, tensor<2x50x90xf32>) {
  %c = ge.constant dense<0.5> : tensor<90xf32>
  %a = ge.matmul %x, %w : (tensor<2x50x300xf32>, tensor<300x90xf32>) -> tensor<2x50x90xf32>
  %b = ge.add %a, %c : (tensor<2x50x90xf32>, tensor<90xf32>) -> tensor<2x50x90xf32>
  %r = ge.relu %b : (tensor<2x50x90xf32>) -> tensor<2x50x90xf32>
  %s = ge.dropout %r {ratio = 0.25 : f64, is_training = true, seed = 3 : i64} : (tensor<2x50x90xf32>) -> tensor<2x50x90xf32>
  %t = ge.softmax %r {axis = -1 : i64} : (tensor<2x50x90xf32>) -> tensor<2x50x90xf32>
  func.return %s, %t : tensor<2x50x90xf32>, tensor<2x50x90xf32>
}"""


def _kernels():
    ctx = make_context()
    module = Parser(ctx, PROGRAM).parse_module()
    PassPipeline.parse_spec(dict(all_passes()), "convert-ge-to-kernel,fuse-elementwise").apply(
        ctx, module
    )
    return module


def test_runner_equals_reference_and_reports_fallbacks():
    module = _kernels()
    rng = np.random.default_rng(0)
    inputs = [
        rng.standard_normal((2, 50, 300)).astype(np.float32),
        rng.standard_normal((300, 90)).astype(np.float32),
    ]
    runner = KernelRunner(module)
    run = runner.run(inputs)
    for got, want in zip(run.outputs, run_reference(module, inputs), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    assert [name for name, _ in run.fallbacks] == ["kernel.dropout"]
    assert "'kernel.dropout' has no lowering" in run.fallbacks[0][1]
    names = [k.name for k in run.profile.kernels]
    assert names[0].startswith("matmul_") and names[-1].startswith("softmax_")
    starts = [k.start_cycle for k in run.profile.kernels]
    assert starts == sorted(starts) and starts[0] == 0
    again = runner.run(inputs)  # compiled once, runs again
    np.testing.assert_array_equal(again.outputs[0], run.outputs[0])


def test_single_kernel_module_takes_the_operands_as_arguments():
    module = _kernels()
    matmul = next(op for op in module.walk() if op.name == "kernel.matmul")
    single = single_kernel_module(matmul)
    single.verify()
    fn = single.body.block.first_op
    assert [str(t) for t in fn.function_type.inputs.data] == [
        "tensor<2x50x300xf32>",
        "tensor<300x90xf32>",
    ]


def test_a_kernel_taking_one_value_twice_gets_it_once():
    """x @ x: the one-kernel program takes x once (its free values), so running the kernel
    binds the values it takes, not its operand list."""
    text = """func.func @main(%x: tensor<24x24xf32>) -> tensor<24x24xf32> {
  %y = ge.matmul %x, %x : (tensor<24x24xf32>, tensor<24x24xf32>) -> tensor<24x24xf32>
  func.return %y : tensor<24x24xf32>
}"""
    ctx = make_context()
    module = Parser(ctx, text).parse_module()
    PassPipeline.parse_spec(dict(all_passes()), "convert-ge-to-kernel").apply(ctx, module)
    x = np.random.default_rng(0).standard_normal((24, 24)).astype(np.float32)
    run = KernelRunner(module).run([x])
    assert not run.fallbacks
    np.testing.assert_allclose(run.outputs[0], x @ x, rtol=1e-4, atol=1e-4)


def test_a_failing_lowering_falls_back_for_users_and_raises_under_strict(monkeypatch):
    """A bug in one kernel's lowering must not take a user's whole model down: the kernel runs
    by reference and the reason names the error; the test suite (GE_NPU_STRICT=1) raises it."""
    import pytest

    import lowering.lower_matmul_kernel as lower_matmul_kernel
    from runtime.kernel_runner import STRICT_ENV

    def broken(*args, **kwargs):
        raise KeyError("planted")

    monkeypatch.setattr(lower_matmul_kernel, "lower_matmul", broken)
    module = _kernels()
    monkeypatch.setenv(STRICT_ENV, "1")
    with pytest.raises(KeyError, match="planted"):
        KernelRunner(module)
    monkeypatch.setenv(STRICT_ENV, "0")
    with pytest.warns(UserWarning, match="internal error in npu lowering"):
        runner = KernelRunner(module)
    rng = np.random.default_rng(0)
    inputs = [
        rng.standard_normal((2, 50, 300)).astype(np.float32),
        rng.standard_normal((300, 90)).astype(np.float32),
    ]
    run = runner.run(inputs)
    reasons = dict(run.fallbacks)
    assert "KeyError" in reasons["kernel.matmul"]
    for got, want in zip(run.outputs, run_reference(module, inputs)):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def _layer_norm_run(scale: str, scale_type: str, x: np.ndarray):  # noqa: ANN202
    shape = "x".join(map(str, x.shape))
    text = f"""func.func @main(%x: tensor<{shape}xf32>) -> tensor<{shape}xf32> {{
  %s = ge.constant {scale} : {scale_type}
  %y = ge.layer_norm %x, %s {{axis = 1 : i64, epsilon = 1.000000e-05 : f64}} : (tensor<{shape}xf32>, {scale_type}) -> tensor<{shape}xf32>
  func.return %y : tensor<{shape}xf32>
}}"""
    ctx = make_context()
    module = Parser(ctx, text).parse_module()
    PassPipeline.parse_spec(dict(all_passes()), "convert-ge-to-kernel").apply(ctx, module)
    run = KernelRunner(module).run([x])
    np.testing.assert_allclose(run.outputs[0], run_reference(module, [x])[0], rtol=1e-5)
    return dict(run.fallbacks)


def test_layer_norm_with_a_scalar_scale_runs_on_the_npu():
    """A rank-0 scale was a malformed view (found by test_kernel_runner_random), then a
    fallback; it is a (1, 1) row the vector ops broadcast now."""
    x = np.array([[[0.5, -0.875]]], np.float32)
    assert _layer_norm_run("dense<-1.625000e+00>", "tensor<f32>", x) == {}


def test_layer_norm_with_a_partly_broadcast_scale_runs_by_reference():
    """A scale that broadcasts over some of the normalized axes has no npu lowering: the
    kernel is unsupported, named so, and runs by its reference semantics."""
    x = np.random.default_rng(0).standard_normal((2, 2, 3)).astype(np.float32)
    fallbacks = _layer_norm_run("dense<[[2.0], [-1.0]]>", "tensor<2x1xf32>", x)
    assert "broadcast within the 6 normalized" in fallbacks["kernel.layer_norm"]
