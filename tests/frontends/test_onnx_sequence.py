"""ONNX sequence ops as lists known at import, against onnxruntime."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from ge.frontends.onnx import import_onnx_model
from ge.testing import run
from gedialects.errors import UnsupportedError

RNG = np.random.default_rng(0)


def model(nodes, inputs, outputs, inits=(), opset=17) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def f32(name: str, shape) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def seq(name: str) -> onnx.ValueInfoProto:
    element = helper.make_tensor_type_proto(TensorProto.FLOAT, None)
    return helper.make_value_info(name, helper.make_sequence_type_proto(element))


def i64(name: str, value) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(value, np.int64), name)


def assert_like_onnxruntime(m: onnx.ModelProto, feeds: dict) -> None:
    want = ort.InferenceSession(m.SerializeToString()).run(None, feeds)
    got = run(import_onnx_model(m), feeds)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


def test_construct_insert_erase_at_length_and_concat():
    nodes = [
        helper.make_node("SequenceConstruct", ["a", "b"], ["s0"]),
        helper.make_node("SequenceInsert", ["s0", "c", "one"], ["s1"]),  # a, c, b
        helper.make_node("SequenceInsert", ["s1", "a"], ["s2"]),  # a, c, b, a
        helper.make_node("SequenceErase", ["s2", "minus_two"], ["s3"]),  # a, c, a
        helper.make_node("SequenceAt", ["s3", "one"], ["at"]),
        helper.make_node("SequenceLength", ["s3"], ["length"]),
        helper.make_node("ConcatFromSequence", ["s3"], ["cat"], axis=0),
        helper.make_node("ConcatFromSequence", ["s3"], ["stack"], axis=-1, new_axis=1),
    ]
    outs = [f32("at", [2, 3]), helper.make_tensor_value_info("length", TensorProto.INT64, [])]
    outs += [f32("cat", [6, 3]), f32("stack", [2, 3, 3])]
    m = model(nodes, [f32(n, [2, 3]) for n in "abc"], outs, [i64("one", 1), i64("minus_two", -2)])
    assert_like_onnxruntime(m, {n: RNG.standard_normal((2, 3)).astype(np.float32) for n in "abc"})


@pytest.mark.parametrize(
    ("split", "keepdims", "axis"), [(None, 0, 1), (None, 1, 0), (2, 1, 1), ([1, 3], 1, 1)]
)
def test_split_to_sequence_then_stack(split, keepdims, axis):
    inputs, inits = ["x"], []
    if split is not None:
        inputs.append("split")
        inits.append(i64("split", split))
    nodes = [
        helper.make_node("SplitToSequence", inputs, ["s"], axis=axis, keepdims=keepdims),
        helper.make_node("SequenceAt", ["s", "last"], ["y"]),
        helper.make_node("ConcatFromSequence", ["s"], ["z"], axis=axis, new_axis=1 - keepdims),
    ]
    out = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in "yz"]
    m = model(nodes, [f32("x", [3, 4])], out, [*inits, i64("last", -1)])
    assert_like_onnxruntime(m, {"x": RNG.standard_normal((3, 4)).astype(np.float32)})


def loop_appending(trip: onnx.TensorProto | None) -> onnx.ModelProto:
    """for i in range(trip): acc = acc + x; seq.append(acc) -> stack(seq, 1)."""
    body = helper.make_graph(
        [
            helper.make_node("Add", ["acc_in", "x"], ["acc_out"]),
            helper.make_node("SequenceInsert", ["seq_in", "acc_out"], ["seq_out"]),
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
        ],
        "body",
        [
            helper.make_tensor_value_info("i", TensorProto.INT64, []),
            helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
            f32("acc_in", [2]),
            seq("seq_in"),
        ],
        [
            helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
            f32("acc_out", [2]),
            seq("seq_out"),
        ],
    )
    nodes = [
        helper.make_node("SequenceEmpty", [], ["empty"], dtype=TensorProto.FLOAT),
        helper.make_node("Loop", ["trip", "true", "x", "empty"], ["acc", "seq"], body=body),
        helper.make_node("ConcatFromSequence", ["seq"], ["y"], axis=1, new_axis=1),
    ]
    inits = [numpy_helper.from_array(np.array(True), "true")]
    inputs = [f32("x", [2])]
    if trip is None:
        inputs.append(helper.make_tensor_value_info("trip", TensorProto.INT64, []))
    else:
        inits.append(trip)
    return model(nodes, inputs, [f32("acc", [2]), f32("y", [2, 4])], inits)


def test_a_list_appended_to_in_an_unrolled_loop_is_stacked():
    assert_like_onnxruntime(loop_appending(i64("trip", 4)), {"x": np.float32([1.5, -2.0])})


def test_a_list_appended_to_in_a_loop_of_run_time_length_is_refused():
    with pytest.raises(UnsupportedError, match="sequence carried by the loop needs the loop"):
        import_onnx_model(loop_appending(None))


def test_a_sequence_as_a_graph_output_is_refused():
    nodes = [helper.make_node("SequenceConstruct", ["a"], ["s"])]
    out = seq("s")
    with pytest.raises(UnsupportedError, match="sequence"):
        import_onnx_model(model(nodes, [f32("a", [2])], [out]))
