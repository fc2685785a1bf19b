"""3-D convolutions (one 2-D convolution over the depth windows) equal onnxruntime at the npu
level: random geometries (hypothesis) and a small video block exported by torch."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper
from padding_windows import reads_only_padding

import ge


def _conv3d_model(x_shape, w, bias, **attrs) -> onnx.ModelProto:
    inits = [numpy_helper.from_array(w, "w")]
    inputs = ["x", "w"]
    if bias is not None:
        inits.append(numpy_helper.from_array(bias, "b"))
        inputs.append("b")
    graph = helper.make_graph(
        [helper.make_node("Conv", inputs, ["y"], **attrs)],
        "conv3d",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _assert_equals_onnxruntime(model: onnx.ModelProto, x: np.ndarray) -> None:
    session = onnxruntime.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    (want,) = session.run(None, {"x": x})
    compiled = ge.compile(model, level="npu", cache=False)
    (got,) = compiled.run(x)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    assert not compiled.last_profile["fallbacks"]
    assert "kernel.conv2d" in {k["op"] for k in compiled.last_profile["kernels"]}


@st.composite
def geometries(draw: st.DrawFn) -> dict:
    groups = draw(st.sampled_from([1, 1, 2]))
    channels = groups * draw(st.integers(1, 3))
    out_channels = groups * draw(st.integers(1, 3))
    kernel = [draw(st.integers(1, 3)) for _ in range(3)]
    dilations = [draw(st.integers(1, 2)) for _ in range(3)]
    strides = [draw(st.integers(1, 2)) for _ in range(3)]
    pads = [draw(st.integers(0, 1)) for _ in range(6)]
    sizes = [draw(st.integers((k - 1) * d + 1, (k - 1) * d + 5)) for k, d in zip(kernel, dilations)]
    spans = [(k - 1) * d + 1 for k, d in zip(kernel, dilations)]
    outs = [
        (n + pads[i] + pads[i + 3] - span) // s + 1
        for i, (n, span, s) in enumerate(zip(sizes, spans, strides))
    ]
    # a window of only padding is refused by the lowering on purpose (it runs by reference)
    assume(not reads_only_padding(sizes, outs, kernel, strides, pads[:3], dilations))
    return {
        "x_shape": [draw(st.integers(1, 2)), channels, *sizes],
        "w_shape": [out_channels, channels // groups, *kernel],
        "bias": draw(st.booleans()),
        "attrs": {"group": groups, "strides": strides, "pads": pads, "dilations": dilations},
    }


@settings(max_examples=25)
@given(geometries())
def test_random_3d_convolutions_equal_onnxruntime(geometry: dict) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal(geometry["x_shape"]).astype(np.float32)
    w = rng.standard_normal(geometry["w_shape"]).astype(np.float32)
    bias = rng.standard_normal(geometry["w_shape"][0]).astype(np.float32)
    model = _conv3d_model(x.shape, w, bias if geometry["bias"] else None, **geometry["attrs"])
    _assert_equals_onnxruntime(model, x)


def test_same_upper_auto_pad() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 2, 5, 6, 7)).astype(np.float32)
    w = rng.standard_normal((3, 2, 3, 3, 3)).astype(np.float32)
    model = _conv3d_model(x.shape, w, None, auto_pad="SAME_UPPER", strides=[2, 2, 2])
    _assert_equals_onnxruntime(model, x)


@pytest.mark.slow
def test_a_torch_video_block(tmp_path) -> None:
    """Conv3d + BatchNorm3d + ReLU + MaxPool3d + a (2+1)-D factorized conv + ConvTranspose3d,
    as torch exports it: the whole block on the npu, equal to onnxruntime."""
    torch = pytest.importorskip("torch")
    nn = torch.nn

    block = nn.Sequential(
        nn.Conv3d(3, 8, 3, padding=1),
        nn.BatchNorm3d(8),
        nn.ReLU(),
        nn.MaxPool3d((1, 2, 2)),
        nn.Conv3d(8, 8, (1, 3, 3), padding=(0, 1, 1)),
        nn.Conv3d(8, 4, (3, 1, 1), padding=(1, 0, 0), stride=(2, 1, 1)),
        nn.ConvTranspose3d(4, 4, 2, stride=2),  # a 3-D U-Net's up-convolution
        nn.AdaptiveAvgPool3d(1),
        nn.Flatten(),
    ).eval()
    with torch.no_grad():  # a trained-looking BatchNorm
        block[1].running_mean.uniform_(-0.5, 0.5)
        block[1].running_var.uniform_(0.5, 2.0)
    x = torch.randn(1, 3, 4, 8, 8)
    path = tmp_path / "video.onnx"
    torch.onnx.export(block, (x,), str(path), opset_version=17, dynamo=False, input_names=["x"])
    _assert_equals_onnxruntime(onnx.load(str(path)), x.numpy())


@st.composite
def transposed_geometries(draw: st.DrawFn) -> dict:
    groups = draw(st.sampled_from([1, 1, 2]))
    channels, per_out = groups * draw(st.integers(1, 2)), draw(st.integers(1, 3))
    kernel = [draw(st.integers(1, 3)) for _ in range(3)]
    strides = [draw(st.integers(1, 2)) for _ in range(3)]
    dilations = [draw(st.integers(1, 2)) for _ in range(3)]
    pads = [draw(st.integers(0, (k - 1) * d)) for k, d in zip(kernel * 2, dilations * 2)]
    output_padding = [draw(st.integers(0, s - 1)) for s in strides]  # onnxruntime: < stride
    return {
        "x_shape": [1, channels, *(draw(st.integers(1, 4)) for _ in range(3))],
        "w_shape": [channels, per_out, *kernel],
        "attrs": {"group": groups, "strides": strides, "pads": pads, "dilations": dilations,
                  "output_padding": output_padding},
    }  # fmt: skip


@settings(max_examples=25)
@given(transposed_geometries())
def test_random_3d_transposed_convolutions_equal_onnxruntime(geometry: dict) -> None:
    attrs = geometry["attrs"]
    for axis, size in enumerate(geometry["x_shape"][2:]):  # an output of at least one
        k, s, d = geometry["w_shape"][2 + axis], attrs["strides"][axis], attrs["dilations"][axis]
        full = s * (size - 1) + attrs["output_padding"][axis] + d * (k - 1) + 1
        assume(full - attrs["pads"][axis] - attrs["pads"][axis + 3] > 0)
    rng = np.random.default_rng(1)
    x = rng.standard_normal(geometry["x_shape"]).astype(np.float32)
    w = rng.standard_normal(geometry["w_shape"]).astype(np.float32)
    bias = rng.standard_normal(geometry["w_shape"][1] * attrs["group"])
    model = _conv3d_model(x.shape, w, bias.astype(np.float32), **geometry["attrs"])
    model.graph.node[0].op_type = "ConvTranspose"
    _assert_equals_onnxruntime(model, x)
