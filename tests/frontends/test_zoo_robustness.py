"""Regressions found by running model-zoo-style ONNX graphs through the importer and `ge-run`.

Each case is a small graph with an op or attribute that real exported models carry (old
opsets, unsorted nodes, folded constant subgraphs, ...); the imported program must compute
what onnxruntime computes on the same file.
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from ge.frontends.onnx import import_onnx_model
from ge.testing import run

RNG = np.random.default_rng(0)


def f32(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def vi(name: str, shape, dtype=TensorProto.FLOAT) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, dtype, shape)


def model_of(nodes, inputs, outputs, initializers=(), opset=17) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 6 if opset < 13 else 8
    return model


def onnxruntime_outputs(model: onnx.ModelProto, feeds: dict) -> list[np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def assert_matches_onnxruntime(model: onnx.ModelProto, feeds: dict, atol: float = 1e-5) -> None:
    module = import_onnx_model(model)
    got = run(module, feeds)
    want = onnxruntime_outputs(model, feeds)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=atol)


@pytest.mark.parametrize(
    ("op", "opset", "mode", "scales"),
    [
        ("Upsample", 9, "linear", [1, 1, 2, 2]),
        ("Upsample", 9, "linear", [1, 1, 2, 1.5]),
        ("Upsample", 9, "nearest", [1, 1, 1.5, 2.5]),
        ("Resize", 10, "nearest", [1, 1, 0.5, 0.7]),
        ("Resize", 10, "nearest", [1, 1, 1.7, 0.5]),
        ("Resize", 10, "linear", [1, 1, 0.5, 0.7]),
    ],
)
def test_legacy_upsample_and_resize_keep_asymmetric_sampling(op, opset, mode, scales):
    """Upsample-9 and Resize-10 sample at x/scale; the opset converter's Resize-11 did not."""
    x = f32(1, 2, 4, 6)
    out = [int(np.floor(d * s)) for d, s in zip(x.shape, scales)]
    node = helper.make_node(op, ["x", "s"], ["y"], mode=mode)
    s = numpy_helper.from_array(np.array(scales, np.float32), "s")
    model = model_of([node], [vi("x", list(x.shape))], [vi("y", out)], [s], opset=opset)
    assert_matches_onnxruntime(model, {"x": x})


def test_upsample_with_scales_attribute_opset7():
    x = f32(1, 2, 3, 3)
    node = helper.make_node("Upsample", ["x"], ["y"], mode="linear", scales=[1.0, 1.0, 2.0, 2.0])
    model = model_of([node], [vi("x", [1, 2, 3, 3])], [vi("y", [1, 2, 6, 6])], opset=7)
    assert_matches_onnxruntime(model, {"x": x})
