"""ge.rms_norm through ONNX: exported as RMSNormalization at opset 23 (written out below it),
imported back as one ge.rms_norm, equal to onnxruntime."""

from __future__ import annotations

import numpy as np
import pytest
from onnx_export_helpers import assert_exports, build, c, normal, run_onnx

import ge.frontends.onnx_export.graph as graph
from ge.frontends.onnx import import_onnx_model
from ge.frontends.onnx_export import export_onnx
from ge.testing import run
from gedialects.ge import ops as g

X = normal(2, 3, 8)


def _module(dtype=np.float32, axis: int = -1):
    x = X.astype(dtype)
    scale = normal(*X.shape[axis % 3 :]).astype(dtype)
    return build([x], lambda v: g.RMSNormOp(v, c(scale), axis=axis, epsilon=1e-5)), x


def test_below_opset_23_it_is_written_out() -> None:
    module, x = _module()
    model = assert_exports(module, [x])
    kinds = {n.op_type for n in model.graph.node}
    assert "RMSNormalization" not in kinds and {"ReduceMean", "Sqrt"} <= kinds


def test_f16_is_written_out_in_f32() -> None:
    module, x = _module(np.float16)
    model = export_onnx(module)
    got, want = run_onnx(model, [x])[0], run(module, [x])[0]
    assert got.dtype == np.float16
    np.testing.assert_allclose(got.astype(np.float32), want.astype(np.float32), atol=2e-3)


@pytest.mark.parametrize("axis", [-1, 1])
def test_at_opset_23_it_is_one_node_and_imports_back_as_one_op(monkeypatch, axis) -> None:
    monkeypatch.setattr(graph, "OPSET", 23)
    monkeypatch.setattr(graph, "IR_VERSION", 11)
    module, x = _module(axis=axis)
    model = export_onnx(module)
    assert [n.op_type for n in model.graph.node] == ["RMSNormalization"]
    np.testing.assert_allclose(run_onnx(model, [x])[0], run(module, [x])[0], rtol=1e-4, atol=1e-5)
    text = str(import_onnx_model(model))
    assert "ge.rms_norm" in text and "ge.reduce_mean" not in text


def test_stash_type_other_than_f32_is_refused() -> None:
    from onnx import TensorProto, helper

    from gedialects.errors import UnsupportedError

    node = helper.make_node("RMSNormalization", ["x", "s"], ["y"], stash_type=11)
    vi = helper.make_tensor_value_info
    graph_ = helper.make_graph(
        [node],
        "g",
        [vi("x", TensorProto.FLOAT, [2, 4]), vi("s", TensorProto.FLOAT, [4])],
        [vi("y", TensorProto.FLOAT, [2, 4])],
    )
    model = helper.make_model(graph_, opset_imports=[helper.make_opsetid("", 23)])
    with pytest.raises(UnsupportedError, match="RMSNormalization with stash_type 11"):
        import_onnx_model(model)
