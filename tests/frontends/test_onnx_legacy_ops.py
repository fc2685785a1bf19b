"""Retired ONNX forms the opset converter refuses (`ge/frontends/onnx/legacy_ops.py`):
ImageScaler (tiny-YOLOv2, opsets 1-9) and per-activation BatchNormalization (`spatial=0`,
opsets 6-8), imported as Mul/Add of constants, against onnxruntime where it runs the file
and a numpy formula where it does not (opset 6 BatchNormalization, ImageScaler without bias).
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from ge.frontends.onnx import import_onnx_model
from ge.frontends.onnx.legacy_ops import convert_version, rewrite_legacy_ops
from ge.testing import run

RNG = np.random.default_rng(7)
X = RNG.standard_normal((2, 4, 3, 3)).astype(np.float32)
PARAMS = {
    "s": RNG.standard_normal((4, 3, 3)).astype(np.float32),
    "b": RNG.standard_normal((4, 3, 3)).astype(np.float32),
    "m": RNG.standard_normal((4, 3, 3)).astype(np.float32),
    "v": RNG.uniform(0.5, 1.5, (4, 3, 3)).astype(np.float32),
}


def model_of(node: onnx.NodeProto, opset: int, inits: dict | None = None) -> onnx.ModelProto:
    """IR version 3, as the zoo's old files: initializers are graph inputs too."""
    inits = inits or {}
    tensors = [numpy_helper.from_array(v, k) for k, v in inits.items()]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(X.shape))]
    inputs += [
        helper.make_tensor_value_info(k, TensorProto.FLOAT, v.shape) for k, v in inits.items()
    ]
    relu = helper.make_node("Relu", ["y"], ["z"])
    outputs = [helper.make_tensor_value_info("z", TensorProto.FLOAT, list(X.shape))]
    graph = helper.make_graph([node, relu], "g", inputs, outputs, initializer=tensors)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 3
    return model


def ours(model: onnx.ModelProto) -> np.ndarray:
    return run(import_onnx_model(model), {"x": X})[0]


def onnxruntimes(model: onnx.ModelProto) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": X})[0]


@pytest.mark.parametrize("opset", [1, 6, 7, 8, 9])
def test_image_scaler_is_a_scale_and_a_channel_bias(opset: int):
    bias = [1.0, -2.0, 0.5, 3.0]
    node = helper.make_node("ImageScaler", ["x"], ["y"], scale=0.25, bias=bias)
    model = model_of(node, opset)
    want = np.maximum(0.25 * X + np.reshape(bias, (1, 4, 1, 1)), 0)
    np.testing.assert_allclose(ours(model), want, rtol=1e-6, atol=1e-6)
    if opset >= 7:
        np.testing.assert_allclose(ours(model), onnxruntimes(model), rtol=1e-6, atol=1e-6)


def test_image_scaler_without_bias_only_scales():
    model = model_of(helper.make_node("ImageScaler", ["x"], ["y"], scale=2.0), 8)
    np.testing.assert_allclose(ours(model), np.maximum(2 * X, 0), rtol=1e-6)


@pytest.mark.parametrize("opset", [6, 7, 8])
def test_per_activation_batch_norm(opset: int):
    old = {"is_test": 1} if opset < 7 else {}
    node = helper.make_node(
        "BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], spatial=0, epsilon=1e-3, **old
    )
    model = model_of(node, opset, PARAMS)
    p = PARAMS
    want = np.maximum((X - p["m"]) / np.sqrt(p["v"] + 1e-3) * p["s"] + p["b"], 0)
    np.testing.assert_allclose(ours(model), want, rtol=1e-5, atol=1e-5)
    if opset >= 7:
        np.testing.assert_allclose(ours(model), onnxruntimes(model), rtol=1e-5, atol=1e-5)


def test_models_without_retired_forms_are_returned_as_they_are():
    spatial = helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], spatial=1)
    model = model_of(spatial, 7, {k: v[:, 0, 0] for k, v in PARAMS.items()})
    assert rewrite_legacy_ops(model, 7) is model
    scaler = model_of(helper.make_node("ImageScaler", ["x"], ["y"], scale=0.5), 8)
    assert rewrite_legacy_ops(scaler, 10) is scaler


@pytest.mark.parametrize("opset", [1, 3, 5])
def test_opsets_before_6_step_through_opset_6(opset: int):
    """Relu-1 (consumed_inputs) has no shape inference; the Add after it with a caffe2-style
    `broadcast=1, axis=1` bias needs its input's shape to be upgraded."""
    bias = RNG.standard_normal(4).astype(np.float32)
    nodes = [
        helper.make_node("Relu", ["x"], ["r"]),
        helper.make_node("Add", ["r", "bias"], ["y"], broadcast=1, axis=1),
    ]
    inputs = [
        helper.make_tensor_value_info("x", TensorProto.FLOAT, list(X.shape)),
        helper.make_tensor_value_info("bias", TensorProto.FLOAT, [4]),
    ]
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(X.shape))]
    graph = helper.make_graph(
        nodes, "g", inputs, outputs, initializer=[numpy_helper.from_array(bias, "bias")]
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 3
    want = np.maximum(X, 0) + bias.reshape(1, 4, 1, 1)
    np.testing.assert_allclose(ours(model), want, rtol=1e-6)


def test_mxnets_per_channel_spatial_0_is_per_channel():
    """MXNet exported per-channel BatchNormalization as spatial=0 with [C] parameters
    (onnxruntime refuses those files; the zoo re-exported them with spatial=1)."""
    params = {k: v[:, 0, 0] for k, v in PARAMS.items()}
    node = helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], spatial=0)
    fixed = model_of(node, 7, params)
    fixed.graph.node[0].attribute[0].i = 1
    np.testing.assert_allclose(ours(model_of(node, 7, params)), onnxruntimes(fixed), rtol=1e-5)


def test_symbolic_batch_through_the_broadcast_upgrade():
    """Gemm-6 `broadcast=1` and Sum: the converter checks broadcasts on numbers only; the
    batch 'N' stays symbolic in the upgraded model and takes the given input's size."""
    w = RNG.standard_normal((5, 3)).astype(np.float32)
    b = RNG.standard_normal(5).astype(np.float32)
    nodes = [
        helper.make_node("Gemm", ["x", "w", "b"], ["g"], transB=1, broadcast=1),
        helper.make_node("Sum", ["g", "g"], ["y"]),
    ]
    inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])]
    inputs += [helper.make_tensor_value_info(t.name, TensorProto.FLOAT, t.dims) for t in inits]
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 5])]
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 6)])
    model.ir_version = 3
    upgraded = convert_version(model, 13)
    assert upgraded.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "N"
    x = RNG.standard_normal((4, 3)).astype(np.float32)
    got = run(import_onnx_model(model, input_shapes={"x": [4, 3]}), {"x": x})[0]
    np.testing.assert_allclose(got, 2 * (x @ w.T + b), rtol=1e-5)


def test_symbolic_value_info_keeps_its_batch():
    """A value_info with the batch 'N' stays symbolic: the converter's types inferred at 1
    would not fit a batch of 3."""
    nodes = [
        helper.make_node("Relu", ["x"], ["r"]),
        helper.make_node("Sum", ["r", "x"], ["y"]),
    ]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])]
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])]
    graph = helper.make_graph(nodes, "g", inputs, outputs)
    graph.value_info.append(helper.make_tensor_value_info("r", TensorProto.FLOAT, ["N", 4]))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 6)])
    model.ir_version = 3
    x = RNG.standard_normal((3, 4)).astype(np.float32)
    got = run(import_onnx_model(model, input_shapes={"x": [3, 4]}), {"x": x})[0]
    np.testing.assert_allclose(got, np.maximum(x, 0) + x, rtol=1e-6)
