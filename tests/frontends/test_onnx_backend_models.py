"""ONNX's backend model cases, beside its node cases: the `pytorch-converted`,
`pytorch-operator` and `simple` models with their stored inputs and outputs, at both levels,
and the `real` ones (model-zoo networks: AlexNet, DenseNet-121, Inception v1/v2, ResNet-50,
ShuffleNet, SqueezeNet, VGG-19, ZFNet-512, converted from caffe2 at opset 9) against
onnxruntime at the npu level.

The `real` cases come as ONNX's "light" files, whose weights are `ConstantOfShape` nodes of
one value: every logit of such a network is the same ~1e9 number, and which of them a
different summation order rounds highest decides its softmax. They run here with seeded
random weights of the same shapes instead (scaled by fan-in, so activations stay O(1)).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.backend.test.loader import load_model_tests

import ge
from gedialects.errors import GeError

EXPECTED_FAILURES = {
    "test_gradient_of_add": "ai.onnx.preview.training's Gradient: a training op",
    "test_gradient_of_add_and_mul": "ai.onnx.preview.training's Gradient: a training op",
    **{
        f"test_strnorm_model_{case}": "string tensors"
        for case in (
            "monday_casesensintive_lower",
            "monday_casesensintive_nochangecase",
            "monday_casesensintive_upper",
            "monday_empty_output",
            "monday_insensintive_upper_twodim",
            "nostopwords_nochangecase",
        )
    },
}
"""Cases ge refuses, with why (each refusal is checked to be a clear error)."""

CASES = [
    case
    for kind in ("pytorch-converted", "pytorch-operator", "simple")
    for case in load_model_tests(kind=kind)
]


def _data_set(model_dir: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
    folder = Path(model_dir) / "test_data_set_0"

    def read(prefix: str) -> list[np.ndarray]:
        files = sorted(folder.glob(f"{prefix}_*.pb"), key=lambda p: int(p.stem.split("_")[1]))
        return [numpy_helper.to_array(onnx.load_tensor(str(f))) for f in files]

    return read("input"), read("output")


@pytest.mark.parametrize("level", ["reference", "npu"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.kind}/{c.name}")
def test_backend_model_case(case, level):
    model = onnx.load(str(Path(case.model_dir) / "model.onnx"))
    inputs, outputs = _data_set(case.model_dir)
    if case.name in EXPECTED_FAILURES:
        with pytest.raises(GeError):
            ge.compile(model, level=level, cache=False)
        return
    names = [
        i.name for i in model.graph.input if i.name not in {t.name for t in model.graph.initializer}
    ]
    shapes = {n: list(x.shape) for n, x in zip(names, inputs)}
    compiled = ge.compile(model, level=level, cache=False, input_shapes=shapes)
    got = compiled(*inputs)
    got = list(got) if isinstance(got, list | tuple) else [got]
    assert len(got) == len(outputs)
    for g, want in zip(got, outputs):
        g = np.asarray(g)
        assert g.shape == want.shape and g.dtype == want.dtype
        np.testing.assert_allclose(g, want, rtol=case.rtol, atol=1e-5, equal_nan=True)


def _with_random_weights(model: onnx.ModelProto, seed: int) -> onnx.ModelProto:
    """`model` whose ConstantOfShape weights are seeded random initializers of their shapes
    (batch-norm scales and variances positive)."""
    rng = np.random.default_rng(seed)
    fixed = onnx.ModelProto()
    fixed.CopyFrom(model)
    constants = {t.name: numpy_helper.to_array(t) for t in fixed.graph.initializer}
    positive = {
        node.input[i]
        for node in fixed.graph.node
        if node.op_type == "BatchNormalization"
        for i in (1, 4)
    }
    nodes = []
    for node in fixed.graph.node:
        shape = constants.get(node.input[0]) if node.op_type == "ConstantOfShape" else None
        if shape is None:
            nodes.append(node)
            continue
        shape = [int(d) for d in shape]
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
        value = rng.standard_normal(shape) * (np.sqrt(2.0 / fan_in) if len(shape) > 1 else 0.1)
        if node.output[0] in positive:
            value = 1.0 + np.abs(value)
        fixed.graph.initializer.append(
            numpy_helper.from_array(value.astype(np.float32), node.output[0])
        )
        if fixed.ir_version < 4:  # initializers were graph inputs too before IR 4
            fixed.graph.input.append(
                helper.make_tensor_value_info(node.output[0], TensorProto.FLOAT, shape)
            )
    del fixed.graph.node[:]
    fixed.graph.node.extend(nodes)
    return fixed


@pytest.mark.slow
@pytest.mark.parametrize("case", load_model_tests(kind="real"), ids=lambda c: c.model_name)
def test_model_zoo_network_equals_onnxruntime(case):
    light = Path(onnx.__file__).parent.parent / case.url
    model = _with_random_weights(onnx.load(str(light)), seed=0)
    initialized = {t.name for t in model.graph.initializer}
    (image,) = [i for i in model.graph.input if i.name not in initialized]
    shape = [d.dim_value for d in image.type.tensor_type.shape.dim]
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    want = session.run(None, {image.name: x})
    compiled = ge.compile(model, level="npu", cache=False)
    got = compiled(**{image.name: x})
    got = list(got) if isinstance(got, list | tuple) else [got]
    assert compiled.last_profile["fallbacks"] == []
    for g, w in zip(got, want):
        assert np.isfinite(w).all()
        scale = float(np.abs(w).max())
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-4 * scale)
