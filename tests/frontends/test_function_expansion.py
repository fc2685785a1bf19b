"""Ops without a converter, imported through their ONNX schema's function body, against
onnxruntime: opset-23 Attention, RMSNormalization and RotaryEmbedding, GroupNormalization,
window functions with default attributes, a body inside an If branch, a body that calls
another op with a body, and the npu level on one of them."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper

import ge
from ge.frontends.onnx import import_onnx_model
from ge.frontends.onnx.expand import expandable, function_body
from ge.frontends.onnx.importer import CONVERTERS
from gedialects.errors import UnsupportedError
from gedialects.interpreter import run_reference


def vi(name: str, shape, dtype=TensorProto.FLOAT) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, dtype, shape)


def model(nodes, inputs, outputs, opset: int, inits=()) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 10
    return m


def compare(m: onnx.ModelProto, feeds: dict, rtol=1e-4, atol=1e-5) -> list[np.ndarray]:
    """Run `m` on onnxruntime and through the importer; the outputs must agree."""
    want = ort.InferenceSession(m.SerializeToString()).run(None, feeds)
    got = run_reference(import_onnx_model(m), feeds)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)
    return got


def rand(*shape, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def attention(q_shape, kv_shape, **attrs) -> onnx.ModelProto:
    node = helper.make_node("Attention", ["Q", "K", "V"], ["Y"], **attrs)
    return model(
        [node], [vi("Q", q_shape), vi("K", kv_shape), vi("V", kv_shape)], [vi("Y", None)], 23
    )


@settings(deadline=None)
@given(
    batch=st.integers(1, 2),
    heads=st.sampled_from([1, 2, 4]),
    q_len=st.integers(1, 5),
    kv_len=st.integers(1, 6),
    head=st.sampled_from([4, 8]),
    causal=st.booleans(),
    softcap=st.sampled_from([0.0, 2.0]),
)
def test_attention_23_matches_onnxruntime(batch, heads, q_len, kv_len, head, causal, softcap):
    q, k = [batch, heads, q_len, head], [batch, heads, kv_len, head]
    m = attention(q, k, is_causal=int(causal), softcap=softcap)
    compare(m, {"Q": rand(*q, seed=1), "K": rand(*k, seed=2), "V": rand(*k, seed=3)})


def test_attention_3d_grouped_query_heads():
    m = attention([2, 3, 16], [2, 5, 8], q_num_heads=4, kv_num_heads=2, scale=0.3)
    compare(m, {"Q": rand(2, 3, 16), "K": rand(2, 5, 8, seed=1), "V": rand(2, 5, 8, seed=2)})


@pytest.mark.parametrize("axis", [-1, 1])
def test_rms_normalization(axis):
    node = helper.make_node("RMSNormalization", ["x", "s"], ["y"], axis=axis, epsilon=1e-3)
    scale = rand(4, 5, seed=4) if axis == 1 else rand(5, seed=4)
    s = helper.make_tensor("s", TensorProto.FLOAT, scale.shape, scale.reshape(-1))
    m = model([node], [vi("x", [3, 4, 5])], [vi("y", None)], 23, [s])
    compare(m, {"x": rand(3, 4, 5)})


@pytest.mark.parametrize("interleaved", [0, 1])
def test_rotary_embedding(interleaved):
    node = helper.make_node(
        "RotaryEmbedding", ["x", "cos", "sin", "pos"], ["y"], interleaved=interleaved
    )
    m = model(
        [node],
        [vi("x", [2, 3, 4, 8]), vi("cos", [16, 4]), vi("sin", [16, 4])]
        + [vi("pos", [2, 4], TensorProto.INT64)],
        [vi("y", None)],
        23,
    )
    pos = np.array([[0, 1, 2, 3], [5, 7, 9, 15]], np.int64)
    compare(
        m,
        {"x": rand(2, 3, 4, 8), "cos": rand(16, 4, seed=1), "sin": rand(16, 4, seed=2), "pos": pos},
    )


@pytest.mark.parametrize("opset", [21, 23])
def test_group_normalization(opset):
    """(Converted to `ge.group_norm` now, not expanded; opset 18's GroupNormalization, with
    per-group scales, is deprecated: the checker refuses it.)"""
    shape = [4]
    node = helper.make_node("GroupNormalization", ["x", "s", "b"], ["y"], num_groups=2)
    m = model(
        [node],
        [vi("x", [2, 4, 3, 3]), vi("s", shape), vi("b", shape)],
        [vi("y", [2, 4, 3, 3])],
        opset,
    )
    compare(m, {"x": rand(2, 4, 3, 3), "s": rand(*shape, seed=1), "b": rand(*shape, seed=2)})


@pytest.mark.parametrize("op", ["HannWindow", "HammingWindow", "BlackmanWindow"])
def test_window_functions_take_the_schema_defaults(op):
    """`periodic` and `output_datatype` are left out: the body's `@periodic` is bound to the
    schema's default (the inliner alone leaves the attribute unbound)."""
    size = helper.make_tensor("n", TensorProto.INT64, [], [10])
    m = model([helper.make_node(op, ["n"], ["w"])], [], [vi("w", None)], 17, [size])
    compare(m, {})


def test_body_inside_an_if_branch_is_expanded():
    """Each branch windows x by an op ge has no converter for (their plain bodies)."""
    branch = lambda window: helper.make_graph(  # noqa: E731
        [helper.make_node(window, ["n"], ["w"]), helper.make_node("Mul", ["w", "x"], ["y"])],
        "b",
        [],
        [vi("y", [8])],
    )
    n = helper.make_tensor("n", TensorProto.INT64, [], [8])
    node = helper.make_node(
        "If", ["c"], ["out"], then_branch=branch("HannWindow"), else_branch=branch("HammingWindow")
    )
    m = model([node], [vi("c", [], TensorProto.BOOL), vi("x", [8])], [vi("out", [8])], 17, [n])
    assert not {"HannWindow", "HammingWindow"} & set(CONVERTERS)
    for c in (True, False):
        compare(m, {"c": np.array(c), "x": rand(8)})


def test_body_calling_an_op_with_a_body_is_expanded_again():
    """SoftmaxCrossEntropyLoss's body calls NegativeLogLikelihoodLoss, which has one too."""
    node = helper.make_node("SoftmaxCrossEntropyLoss", ["x", "t"], ["loss"], reduction="mean")
    m = model([node], [vi("x", [3, 5]), vi("t", [3], TensorProto.INT64)], [vi("loss", None)], 13)
    compare(m, {"x": rand(3, 5), "t": np.array([0, 4, 2], np.int64)})


def test_ops_with_a_converter_are_not_expanded():
    node = helper.make_node("LayerNormalization", ["x", "s"], ["y"])
    s = helper.make_tensor("s", TensorProto.FLOAT, [4], [1, 2, 3, 4])
    m = model([node], [vi("x", [2, 4])], [vi("y", None)], 17, [s])
    assert not expandable(m, CONVERTERS.__contains__)
    text = str(import_onnx_model(m))
    assert "ge.layer_norm" in text and "ge.reduce_mean" not in text


def test_context_dependent_body_needs_known_input_types():
    node = helper.make_node("RMSNormalization", ["x", "s"], ["y"])
    assert function_body(node, 23, {}) is None
    types = {n: helper.make_tensor_type_proto(TensorProto.FLOAT, [2, 4]) for n in ("x", "s")}
    body = function_body(node, 23, types)
    assert body is not None and {n.op_type for n in body.node} >= {"ReduceMean", "Sqrt"}


def test_op_without_a_body_or_converter_is_still_refused_by_name():
    node = helper.make_node("Det", ["x"], ["y"])
    m = model([node], [vi("x", [3, 3])], [vi("y", None)], 22)
    with pytest.raises(UnsupportedError, match="'Det'"):
        import_onnx_model(m)


def test_rms_normalization_imports_as_one_op():
    """RMSNormalization has a converter now (one ge.rms_norm), so it is not expanded."""
    node = helper.make_node("RMSNormalization", ["x", "s"], ["y"], axis=-1, epsilon=1e-3)
    m = model([node], [vi("x", [2, 4]), vi("s", [4])], [vi("y", None)], 23)
    assert not expandable(m, CONVERTERS.__contains__)
    text = str(import_onnx_model(m))
    assert "ge.rms_norm" in text and "ge.reduce_mean" not in text


def test_rms_normalization_at_the_npu_level():
    node = helper.make_node("RMSNormalization", ["x", "s"], ["y"])
    s = helper.make_tensor("s", TensorProto.FLOAT, [16], rand(16, seed=3))
    m = model([node], [vi("x", [4, 16])], [vi("y", None)], 23, [s])
    x = rand(4, 16)
    want = ort.InferenceSession(m.SerializeToString()).run(None, {"x": x})[0]
    compiled = ge.compile(import_onnx_model(m), level="npu", cache=False)
    np.testing.assert_allclose(compiled.run(x=x)[0], want, rtol=1e-4, atol=1e-5)


def test_a_failing_inliner_leaves_the_op_to_be_refused_by_name(monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("inliner failure")

    monkeypatch.setattr("ge.frontends.onnx.expand.inliner.inline_local_functions", fail)
    shape = helper.make_tensor("shape", TensorProto.INT64, [2], [2, 2])
    node = helper.make_node("CenterCropPad", ["x", "shape"], ["y"])
    m = model([node], [vi("x", [3, 3])], [vi("y", None)], 18, [shape])
    with pytest.raises(UnsupportedError, match="op type 'CenterCropPad' of node"):
        import_onnx_model(m)


def test_several_expanded_nodes_get_unique_names():
    """Two RotaryEmbeddings and an RMSNormalization in a chain: each inlined body's values
    are renamed apart."""
    nodes = [
        helper.make_node("RotaryEmbedding", ["x", "cos", "sin", "pos"], ["a"]),
        helper.make_node("RotaryEmbedding", ["a", "cos", "sin", "pos"], ["b"], interleaved=1),
        helper.make_node("RMSNormalization", ["b", "s"], ["y"]),
    ]
    s = helper.make_tensor("s", TensorProto.FLOAT, [8], rand(8, seed=9))
    inputs = [vi("x", [1, 2, 3, 8]), vi("cos", [4, 4]), vi("sin", [4, 4])]
    inputs.append(vi("pos", [1, 3], TensorProto.INT64))
    m = model(nodes, inputs, [vi("y", [1, 2, 3, 8])], 23, [s])
    feeds = {"x": rand(1, 2, 3, 8), "cos": rand(4, 4, seed=1), "sin": rand(4, 4, seed=2)}
    compare(m, {**feeds, "pos": np.array([[0, 2, 3]], np.int64)})
