"""Old-opset semantics the version converter loses or changes, against onnxruntime: sizes of
Upsample / Resize-10 from float32 scales, their nearest pixel per axis, Hardmax's 2-D
coercion before opset 13, Dropout's typed mask before opset 10, RoiAlign's sampling before
opset 16, the order recurrent layers read activation parameters in, and the experimental
ops of opsets 1-9 that onnxruntime still runs (found by a sweep of torch exports and
hand-built nodes at opsets 7-10)."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import ge
from ge.frontends.onnx import import_onnx_model
from ge.testing import run
from gedialects.errors import UnsupportedError

RNG = np.random.default_rng(11)


def model_of(nodes, inputs, outputs, opset: int, inits=()) -> onnx.ModelProto:
    """IR version 3 (opsets 7-8), 4 (9), 5 (10) or 7 as files of those years: with IR 3 the
    initializers are graph inputs too."""
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    if opset <= 8:
        graph.input.extend(
            helper.make_tensor_value_info(t.name, t.data_type, t.dims) for t in inits
        )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 3 if opset <= 8 else 4 if opset == 9 else 5 if opset == 10 else 7
    return model


def vi(name: str, shape, dtype=TensorProto.FLOAT) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, dtype, shape)


def both(model: onnx.ModelProto, feeds: dict) -> tuple[list, list]:
    """(ge's outputs, onnxruntime's)."""
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return run(import_onnx_model(model), feeds), session.run(None, feeds)


def resize_node(opset: int, scales: np.ndarray, mode: str = "nearest"):
    """Upsample-7 (scales attribute), Upsample-9 or Resize-10 (a scales initializer)."""
    if opset <= 8:
        floats = [float(s) for s in scales]
        return helper.make_node("Upsample", ["x"], ["y"], mode=mode, scales=floats), []
    op = "Upsample" if opset == 9 else "Resize"
    node = helper.make_node(op, ["x", "s"], ["y"], mode=mode)
    return node, [numpy_helper.from_array(scales, "s")]


@pytest.mark.parametrize("opset", [7, 9, 10])
@pytest.mark.parametrize("declared", [True, False])
def test_a_size_torch_exported_as_a_float32_scale_keeps_its_rows(opset: int, declared: bool):
    """`F.interpolate(size=(20, 30))` of 12x12 exports the scales 20/12 and 30/12 in float32:
    20 rows in float32 (onnxruntime, torch), 19.99999 -> 19 in float64. ge refused the model
    (its 19 rows against the declared 20), or gave 19 rows where none was declared."""
    x = RNG.standard_normal((1, 3, 12, 12)).astype(np.float32)
    scales = np.array([1, 1, 20 / 12, 30 / 12], np.float32)
    node, inits = resize_node(opset, scales)
    out = vi("y", [1, 3, 20, 30] if declared else None)
    model = model_of([node], [vi("x", [1, 3, 12, 12])], [out], opset, inits)
    (got,), (want,) = both(model, {"x": x})
    assert got.shape == want.shape == (1, 3, 20, 30)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("scales", [[1, 1, 0.6, 2], [1, 1, 2.5, 0.5], [1, 1, 0.75, 0.6]])
def test_resize_10_nearest_takes_its_pixel_per_axis(scales: list[float]):
    """Resize-10 rounds a shrinking axis's source coordinate up and a growing one's down
    (onnxruntime; it refuses Upsample's scales below 1); ge rounded every axis down unless
    all shrank."""
    opset = 10
    x = np.arange(8 * 6, dtype=np.float32).reshape(1, 1, 8, 6)
    s = np.array(scales, np.float32)
    node, inits = resize_node(opset, s)
    shape = [int(np.floor(np.float32(d) * v)) for d, v in zip(x.shape, s)]
    model = model_of([node], [vi("x", list(x.shape))], [vi("y", shape)], opset, inits)
    (got,), (want,) = both(model, {"x": x})
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("opset", [7, 10, 11, 12])
@pytest.mark.parametrize("axis", [None, 0, 1, 2, -2])
def test_hardmax_before_opset_13_takes_one_per_flattened_row(opset: int, axis: int | None):
    """The converter keeps an old Hardmax node as it is, and opset 13 takes one 1 per slice
    along `axis` (whose default became -1); ge did so for every old model."""
    if axis is not None and axis < 0 and opset < 11:
        pytest.skip("negative axes came with opset 11")
    x = RNG.standard_normal((2, 3, 4)).astype(np.float32)
    node = helper.make_node("Hardmax", ["x"], ["y"], **({} if axis is None else {"axis": axis}))
    model = model_of([node], [vi("x", [2, 3, 4])], [vi("y", [2, 3, 4])], opset)
    (got,), (want,) = both(model, {"x": x})
    np.testing.assert_array_equal(got, want)
    assert got.sum() == np.prod(x.shape[: (1 if axis is None else axis % 3)])


@pytest.mark.parametrize("opset", [7, 8, 9])
@pytest.mark.parametrize("mask_is_output", [True, False])
def test_dropout_mask_before_opset_10_has_the_input_type(opset: int, mask_is_output: bool):
    """Old exports type the mask as the input (float), often in value_info with the mask
    unused: ge refused them ('m' is tensor<3x4xi1> by ge's inference but tensor<3x4xf32>).
    In inference the mask keeps everything: ones (onnxruntime's old kernel writes zeros, the
    spec says nothing; the opset-12 spec's inference mask is all true)."""
    x = RNG.standard_normal((3, 4)).astype(np.float32)
    nodes = [
        helper.make_node("Dropout", ["x"], ["d", "m"], ratio=0.3),
        helper.make_node("Relu", ["d"], ["y"]),
    ]
    outputs = [vi("y", [3, 4])] + ([vi("m", [3, 4])] if mask_is_output else [])
    model = model_of(nodes, [vi("x", [3, 4])], outputs, opset)
    if not mask_is_output:
        model.graph.value_info.append(vi("m", [3, 4]))
    got, want = both(model, {"x": x})
    np.testing.assert_array_equal(got[0], want[0])
    if mask_is_output:
        assert got[1].dtype == np.float32 and (got[1] == 1).all()


@pytest.mark.parametrize("opset", [10, 13, 15])
@pytest.mark.parametrize("mode", ["avg", "max"])
def test_roi_align_before_opset_16_samples_at_output_half_pixel(opset: int, mode: str):
    """RoiAlign runs on the host by ONNX's reference, which applies opset 16's default
    coordinate mode 'half_pixel' to every node; before 16 the op sampled as
    'output_half_pixel' (onnxruntime). Max abs diff was 0.97 at opsets 10-15."""
    x = RNG.standard_normal((1, 2, 8, 8)).astype(np.float32)
    rois = numpy_helper.from_array(np.array([[0, 0, 8, 8], [2, 2, 10, 12]], np.float32), "r")
    index = numpy_helper.from_array(np.zeros(2, np.int64), "i")
    node = helper.make_node(
        "RoiAlign", ["x", "r", "i"], ["y"], mode=mode, output_height=2, output_width=3,
        sampling_ratio=2, spatial_scale=0.5,
    )  # fmt: skip
    model = model_of([node], [vi("x", [1, 2, 8, 8])], [vi("y", [2, 2, 2, 3])], opset, [rois, index])
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (want,) = session.run(None, {"x": x})
    got = ge.compile(model, level="reference", cache=False)(x=x)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("opset", [7, 14])
@pytest.mark.parametrize(
    ("names", "alphas", "betas"),
    [
        (["Sigmoid", "LeakyRelu"], [0.1], []),
        (["Sigmoid", "LeakyRelu"], [0.0, 0.1], []),
        (["HardSigmoid", "Elu"], [0.3, 0.7], [0.4]),
        (["Affine", "ScaledTanh"], [0.7, 1.5], [0.2, 0.8]),
        (["ThresholdedRelu", "Softsign"], [0.1], []),
        (["Softsign", "Affine"], [], []),  # onnxruntime's missing alpha and beta: 0
        (["ScaledTanh", "ThresholdedRelu"], [1.2], [0.5]),
    ],
)
def test_recurrent_activation_parameters_go_to_the_activations_that_take_them(
    opset: int, names: list[str], alphas: list[float], betas: list[float]
):
    """Alphas and betas are consumed in order by the activations that take one (onnxruntime):
    ge indexed them by activation position, giving LeakyRelu the second alpha (0.12 off)."""
    t, b, i, h = 5, 2, 3, 4
    x = RNG.standard_normal((t, b, i)).astype(np.float32)
    w = numpy_helper.from_array((RNG.standard_normal((1, 3 * h, i)) / 2).astype(np.float32), "W")
    r = numpy_helper.from_array((RNG.standard_normal((1, 3 * h, h)) / 2).astype(np.float32), "R")
    params = {key: v for key, v in (("activation_alpha", alphas), ("activation_beta", betas)) if v}
    node = helper.make_node(
        "GRU", ["x", "W", "R"], ["Y"], hidden_size=h, activations=names, **params
    )
    model = model_of([node], [vi("x", [t, b, i])], [vi("Y", [t, 1, b, h])], opset, [w, r])
    (got,), (want,) = both(model, {"x": x})
    # (five steps of f32 rounding, which ScaledTanh's and Affine's gains carry: ~2e-6)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


EXPERIMENTAL = [
    ("Affine", {"alpha": 0.5, "beta": 2.0}, [1, 3, 8, 8]),
    ("ScaledTanh", {"alpha": 0.5, "beta": 2.0}, [1, 3, 8, 8]),
    ("ParametricSoftplus", {"alpha": 0.5, "beta": 2.0}, [1, 3, 8, 8]),
    ("ThresholdedRelu", {"alpha": 0.5}, [1, 3, 8, 8]),
    ("ThresholdedRelu", {}, [1, 3, 8, 8]),
    ("Crop", {"border": [1, 2, 1, 0]}, [1, 3, 6, 6]),
    ("Crop", {"border": [0, 1, 3, 2], "scale": [4, 5]}, [1, 3, 4, 5]),
]


@pytest.mark.parametrize("opset", [7, 9])
@pytest.mark.parametrize(("op", "attrs", "shape"), EXPERIMENTAL)
def test_experimental_ops_onnxruntime_still_runs(opset: int, op: str, attrs: dict, shape):
    """They have no schema (ThresholdedRelu none before opset 10): the converter failed with
    an unformatted assertion (`Op '%s' has no registered schema ... Affine713`) and the
    checker refused ThresholdedRelu."""
    x = RNG.standard_normal((1, 3, 8, 8)).astype(np.float32) * 2
    node = helper.make_node(op, ["x"], ["y"], **attrs)
    model = model_of([node], [vi("x", [1, 3, 8, 8])], [vi("y", shape)], opset)
    (got,), (want,) = both(model, {"x": x})
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_a_retired_op_without_a_rewrite_is_named_in_one_line():
    node = helper.make_node("GRUUnit", ["x", "x", "x", "x"], ["y"], name="unit")
    model = model_of([node], [vi("x", [2, 3])], [vi("y", [2, 3])], 7)
    with pytest.raises(UnsupportedError) as info:
        import_onnx_model(model)
    message = str(info.value)
    assert "node 'unit' (GRUUnit): an experimental op that ONNX retired" in message
    assert "\n" not in message and "%s" not in message


@pytest.mark.parametrize("opset", [7, 14])
@pytest.mark.parametrize("direction", ["forward", "bidirectional"])
def test_lstm_input_forget_couples_the_forget_gate_to_the_input_gate(opset: int, direction: str):
    """input_forget=1: f = 1 - i (onnxruntime); it was refused as unsupported."""
    t, b, i, h = 5, 2, 3, 4
    d = 2 if direction == "bidirectional" else 1
    x = RNG.standard_normal((t, b, i)).astype(np.float32)
    w = numpy_helper.from_array((RNG.standard_normal((d, 4 * h, i)) / 2).astype(np.float32), "W")
    r = numpy_helper.from_array((RNG.standard_normal((d, 4 * h, h)) / 2).astype(np.float32), "R")
    node = helper.make_node(
        "LSTM", ["x", "W", "R"], ["Y"], hidden_size=h, input_forget=1, direction=direction
    )
    model = model_of([node], [vi("x", [t, b, i])], [vi("Y", [t, d, b, h])], opset, [w, r])
    (got,), (want,) = both(model, {"x": x})
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("opset", [7, 11])
def test_the_opset_converter_sees_no_large_weights(opset: int, monkeypatch) -> None:  # noqa: ANN001
    """The converter serializes what it converts, which protobuf refuses over 2 GB ("Failed
    to serialize proto": an old-opset LLM export); it converts the skeleton, the weights go
    back after, bit for bit, and the model still equals onnxruntime (IR 3 files list their
    initializers as graph inputs too: they stay inputs)."""
    from onnx import version_converter

    seen: list[int] = []
    convert = version_converter.convert_version

    def measured(model, target):  # noqa: ANN001, ANN202
        seen.append(model.ByteSize())
        return convert(model, target)

    monkeypatch.setattr(version_converter, "convert_version", measured)
    w = RNG.standard_normal((64, 256)).astype(np.float32)
    b = RNG.standard_normal((256,)).astype(np.float32)
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["m"]),
        helper.make_node("Add", ["m", "b"], ["y"]),
    ]
    inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")]
    model = model_of(nodes, [vi("x", [3, 64])], [vi("y", [3, 256])], opset, inits)
    x = RNG.standard_normal((3, 64)).astype(np.float32)
    got, want = both(model, {"x": x})
    np.testing.assert_allclose(got[0], want[0], rtol=1e-5, atol=1e-5)
    assert seen and max(seen) < w.nbytes  # (the 64 KB filter never went in)
