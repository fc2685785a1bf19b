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
from passes.turn_1d_convs import TURN_GAIN, column_geometry, turn_to_columns
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
    assert turned == (case.g.w > 1 and column < TURN_GAIN * row)
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


@st.composite
def transposed_1d(draw):  # noqa: ANN201
    """A ConvTranspose1d of any stride, dilation, padding, output padding and grouping, as
    the importer gives it: a 2-D one over rows of height 1."""
    from xdsl.dialects import func
    from xdsl.dialects.builtin import ModuleOp, f32
    from xdsl.ir import Block, Region

    from gedialects.ge.constant import ConstantOp
    from gedialects.ge.types import tensor
    from gedialects.kernel.mirrored import ConvTranspose2DKernelOp

    groups = draw(st.sampled_from([1, 1, 2]))
    c, og = groups * draw(st.integers(1, 4)), draw(st.integers(1, 4))
    kw, sw, dw = draw(st.integers(1, 6)), draw(st.integers(1, 4)), draw(st.integers(1, 2))
    span = dw * (kw - 1) + 1
    left, right = draw(st.integers(0, span - 1)), draw(st.integers(0, span - 1))
    extra = draw(st.integers(0, max(sw, dw) - 1))
    shortest = 1 + max(0, -(-(1 + left + right - span - extra) // sw))  # an output >= 1
    length = draw(st.integers(max(2, shortest), 40))  # (a length of 1 is not turned)
    n, rng = draw(st.integers(1, 2)), np.random.default_rng(draw(st.integers(0, 2**16)))
    block = Block(arg_types=[tensor((n, c, 1, length), f32)])
    weight = ConstantOp(rng.standard_normal((c, og, 1, kw)).astype(np.float32))
    bias = ConstantOp(rng.standard_normal((og * groups,)).astype(np.float32))
    conv = ConvTranspose2DKernelOp(
        block.args[0], weight.output, bias.output if draw(st.booleans()) else None,
        fused_from=["ge.conv_transpose2d"], strides=[1, sw], pads=[0, left, 0, right],
        dilations=[1, dw], output_padding=[0, extra], groups=groups,
    )  # fmt: skip
    block.add_ops([weight, bias, conv, func.ReturnOp(conv.output)])
    module = ModuleOp(
        [func.FuncOp("main", ([block.args[0].type], [conv.output.type]), Region(block))]
    )
    return module, [rng.standard_normal((n, c, 1, length)).astype(np.float32)]


@settings(max_examples=soak(60), deadline=None)
@given(transposed_1d())
def test_a_turned_transposed_conv_computes_the_same(case) -> None:  # noqa: ANN001
    from gedialects.kernel.mirrored import ConvTranspose2DKernelOp
    from passes.turn_1d_convs import turn_transposed

    module, inputs = case
    (want,) = run_reference(module.clone(), inputs)
    (op,) = [o for o in module.walk() if isinstance(o, ConvTranspose2DKernelOp)]
    assert turn_transposed(op, default_target(), Rewriter(), force=True)
    module.verify()
    (got,) = run_reference(module, inputs)
    np.testing.assert_allclose(got, want, **TOLERANCE)


def test_conv_tasnets_decoder_runs_turned_on_the_npu() -> None:
    """A ConvTranspose1d 512 -> 1, kernel 16, stride 8, over 3,999 frames: its zero-inserted
    row fitted no route (reference); turned, it runs on the npu equal to the reference."""
    from xdsl.dialects import func
    from xdsl.dialects.builtin import ModuleOp, f32
    from xdsl.ir import Block, Region

    from gedialects.ge.constant import ConstantOp
    from gedialects.ge.types import tensor
    from gedialects.kernel.mirrored import ConvTranspose2DKernelOp
    from runtime.kernel_runner import KernelRunner

    rng = np.random.default_rng(3)
    block = Block(arg_types=[tensor((1, 512, 1, 3999), f32)])
    weight = ConstantOp((rng.standard_normal((512, 1, 1, 16)) * 0.05).astype(np.float32))
    conv = ConvTranspose2DKernelOp(
        block.args[0], weight.output, fused_from=["ge.conv_transpose2d"], strides=[1, 8],
        pads=[0, 0, 0, 0], dilations=[1, 1], output_padding=[0, 0], groups=1,
    )  # fmt: skip
    block.add_ops([weight, conv, func.ReturnOp(conv.output)])
    module = ModuleOp(
        [func.FuncOp("main", ([block.args[0].type], [conv.output.type]), Region(block))]
    )
    inputs = [rng.standard_normal((1, 512, 1, 3999)).astype(np.float32)]
    assert KernelRunner(module.clone()).run(inputs).fallbacks  # (as written: no route fits)
    (want,) = run_reference(module.clone(), inputs)
    apply_pipeline(module, "turn-1d-convs")
    run = KernelRunner(module).run(inputs)
    assert not run.fallbacks
    np.testing.assert_allclose(run.outputs[0], want, rtol=1e-4, atol=1e-4)
