"""`turn-1d-convs`: a 1-D conv run along the height computes what it computed along the
width (any stride, dilation, padding, grouping and epilogue), and the pass turns exactly
the convs its cost model says are cheaper turned; on the modeled NPU a long waveform's conv
that no direct-summing lowering planned runs on the cube, equal to onnxruntime."""

from __future__ import annotations

import numpy as np
from conv_programs import ConvCase, conv_cases, soak
from hypothesis import event, given, settings
from hypothesis import strategies as st
from xdsl.rewriter import Rewriter

from ge.pipeline import apply_pipeline
from ge.testing.equivalence import assert_preserves_semantics
from gedialects.interpreter import run_reference
from gedialects.kernel.conv_algorithms import ConvGeometry
from gedialects.kernel.mirrored import ReshapeKernelOp
from gedialects.kernel.ops import Conv2DKernelOp
from passes.select_implementations import conv_geometry, expected_cycles
from passes.turn_1d_convs import column_geometry, turn_to_columns
from runtime.targets import default_target

TOLERANCE = {"rtol": 1e-5, "atol": 1e-5}
"""The same products summed in the same order (the reference conv of either form)."""


def _convs(module) -> list[Conv2DKernelOp]:  # noqa: ANN001
    return [op for op in module.walk() if isinstance(op, Conv2DKernelOp)]


@settings(max_examples=soak(60), deadline=None)
@given(conv_cases(one_dimensional=True, widths=(1, 64)))
def test_a_turned_conv_computes_the_same(case: ConvCase) -> None:
    module, inputs = case.module(), case.inputs()
    (want,) = run_reference(module.clone(), inputs)
    (conv,) = _convs(module)
    turn_to_columns(conv, Rewriter())
    module.verify()
    (turned,) = _convs(module)
    assert conv_geometry(turned) == column_geometry(case.g)
    (got,) = run_reference(module, inputs)
    np.testing.assert_allclose(got, want, **TOLERANCE)


@settings(max_examples=soak(40), deadline=None)
@given(conv_cases(one_dimensional=True, widths=(1, 4000)), st.just(default_target()))
def test_the_pass_turns_the_convs_estimated_cheaper_turned(case: ConvCase, target) -> None:  # noqa: ANN001
    module = assert_preserves_semantics("turn-1d-convs", case.module(), case.inputs(), **TOLERANCE)
    (conv,) = _convs(module)
    dtype = np.dtype(np.float32)
    row = expected_cycles(case.g, target, dtype, exact=False)
    column = expected_cycles(column_geometry(case.g), target, dtype, exact=False)
    turned = conv_geometry(conv) != case.g
    assert turned == (case.g.w > 1 and column < row)
    event(f"turned: {turned}")
    if turned:  # the reshapes are the only other ops
        assert len([op for op in module.walk() if isinstance(op, ReshapeKernelOp)]) >= 2


def test_a_waveform_conv_runs_on_the_cube_equal_to_onnxruntime() -> None:
    """wav2vec2's first conv (1 -> 512, kernel 10, stride 5) over a second of 16 kHz audio:
    its one row of 16,000 samples filled L1 (FFT was its only candidate); turned, im2col
    plans it and the npu level equals onnxruntime."""
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    import ge

    rng = np.random.default_rng(0)
    weight = (rng.standard_normal((512, 1, 10)) * 0.3).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[10], strides=[5])],
        "wav2vec2_stem",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 16000])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 512, 3199])],
        [numpy_helper.from_array(weight, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    x = rng.standard_normal((1, 1, 16000)).astype(np.float32)
    (want,) = ort.InferenceSession(model.SerializeToString()).run(None, {"x": x})
    compiled = ge.compile(model, level="npu", cache=False)
    (got,) = compiled.run(x)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    kernels = compiled.last_profile["kernels"]
    assert [k["algorithm"] for k in kernels if k["algorithm"]] == ["im2col"]
    assert all(k["engine"] == "npu" for k in kernels)


def test_a_conv_that_is_not_one_dimensional_stays() -> None:
    case = ConvCase(ConvGeometry(1, 4, 3, 50, 4, 3, 3, pads=(1, 1, 1, 1)))
    module = case.module()
    apply_pipeline(module, "turn-1d-convs")
    assert conv_geometry(_convs(module)[0]) == case.g


@settings(max_examples=soak(100), deadline=None)
@given(conv_cases(one_dimensional=True, widths=(1, 700)))
def test_turned_convs_run_on_the_npu_equal_to_the_reference(case: ConvCase) -> None:
    """Whatever the cost model turns, the npu lowerings (im2col, direct, ...) run on rows of
    one pixel equal to the reference of the conv as written, with no kernel left to the
    reference engine except where the untouched form would be too (an epilogue the npu
    level has no lowering for)."""
    from runtime.kernel_runner import KernelRunner

    module, inputs = case.module(), case.inputs()
    (want,) = run_reference(module.clone(), inputs)
    apply_pipeline(module, "turn-1d-convs,select-implementations")
    run = KernelRunner(module).run(inputs)
    event(f"algorithm: {[c.algorithm.data for c in _convs(module)]}")
    if run.fallbacks:  # (a window of padding alone, say): refused as written too
        untouched = case.module()
        apply_pipeline(untouched, "select-implementations")
        assert KernelRunner(untouched).run(inputs).fallbacks, run.fallbacks
    np.testing.assert_allclose(run.outputs[0], want, rtol=1e-4, atol=1e-4)
