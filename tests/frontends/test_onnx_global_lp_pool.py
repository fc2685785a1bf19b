"""GlobalLpPool (`convert_pool_extra.global_lp_pool`) against onnxruntime: p = 1, 2, 3 over
1-D, 2-D and 3-D maps, at the reference level and (2-D) at the npu level."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

import ge.api
from ge.frontends.onnx import import_onnx_model
from ge.testing import run


def global_lp_pool(shape, p: int):
    node = helper.make_node("GlobalLpPool", ["x"], ["y"], p=p)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model


@pytest.mark.parametrize("shape", [(2, 3, 7), (1, 4, 5, 6), (1, 2, 3, 4, 5)])
@pytest.mark.parametrize("p", [1, 2, 3])
def test_global_lp_pool_is_onnxruntimes(shape, p: int):
    x = np.random.default_rng(p).standard_normal(shape).astype(np.float32)
    model = global_lp_pool(shape, p)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    want = session.run(None, {"x": x})[0]
    got = run(import_onnx_model(model), {"x": x})[0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_global_lp_pool_on_the_npu_level():
    x = np.random.default_rng(0).standard_normal((1, 16, 12, 12)).astype(np.float32)
    model = global_lp_pool(x.shape, 2)
    want = run(import_onnx_model(model), {"x": x})[0]
    compiled = ge.api.compile(import_onnx_model(model), level="npu", cache=False)
    np.testing.assert_allclose(compiled.run(x=x)[0], want, rtol=1e-5, atol=1e-6)
    assert not compiled.last_profile["fallbacks"]
