"""Free input dims of a model imported without shapes: 1, else longer time axes."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from ge.frontends.onnx.free_dims import LADDER, longer_shapes
from ge.frontends.onnx.importer import import_onnx_model
from gedialects.errors import FrontendError
from gedialects.ge.types import shape_of


def conv1d_model(width: int, time: str | int = "time") -> onnx.ModelProto:
    """y = Conv1d(x) with x: [batch, 2, time]."""
    w = numpy_helper.from_array(np.ones((3, 2, width), np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 2, time])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [w],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def input_shape(model: onnx.ModelProto, shapes=None) -> list[int]:
    module = import_onnx_model(model, input_shapes=shapes)
    fn = next(op for op in module.walk() if op.name == "func.func")
    return list(shape_of(fn.body.block.args[0].type))


def test_free_dims_are_one_when_the_model_runs_so():
    assert input_shape(conv1d_model(1)) == [1, 2, 1]


def test_a_time_axis_too_short_for_the_window_takes_the_next_length():
    assert input_shape(conv1d_model(3)) == [1, 2, LADDER[0]]
    assert input_shape(conv1d_model(40)) == [1, 2, LADDER[1]]


def test_given_shapes_and_static_dims_are_kept():
    assert input_shape(conv1d_model(3), {"x": [2, 2, 5]}) == [2, 2, 5]
    with pytest.raises(FrontendError, match="does not fit"):
        input_shape(conv1d_model(3), {"x": [2, 2, 2]})
    with pytest.raises(FrontendError, match="does not fit"):
        input_shape(conv1d_model(3, time=2))  # static: nothing to lengthen


def test_a_named_dim_that_leads_an_input_stays_one():
    ids = helper.make_tensor_value_info("ids", TensorProto.INT64, ["n", "seq"])
    rows = helper.make_tensor_value_info("rows", TensorProto.FLOAT, [3, "n"])
    graph = helper.make_graph([], "g", [ids, rows], [])
    shapes = list(longer_shapes(helper.make_model(graph), {}))
    assert [s["ids"] for s in shapes] == [[1, n] for n in LADDER]
    assert all(s["rows"] == [3, 1] for s in shapes)


def test_when_no_guessed_size_fits_the_error_says_they_were_guessed():
    """The error named a Reshape at sizes the user never gave, and not how to give them."""
    shape = numpy_helper.from_array(np.array([-1, 5], np.int64), "shape")
    graph = helper.make_graph(
        [helper.make_node("Reshape", ["x", "shape"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "seq"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [shape],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(FrontendError) as raised:
        import_onnx_model(model)
    message = str(raised.value)
    assert "cannot reshape [1, 1] to [-1, 5]" in message
    assert "('x' axes [0, 1]); they were compiled at guessed sizes" in message
    assert "input_shapes={'x': [...]}" in message and "\n" not in message
    assert input_shape(model, {"x": [2, 10]}) == [2, 10]


def test_an_invalid_model_gets_no_hint_about_guessed_sizes():
    """onnx.checker's refusal does not depend on sizes: the hint would mislead."""
    from gedialects.errors import InvalidModelError

    model = conv1d_model(3)
    model.graph.node[0].op_type = "NoSuchOp"
    with pytest.raises(InvalidModelError) as raised:
        import_onnx_model(model)
    assert "NoSuchOp" in str(raised.value) and "guessed" not in str(raised.value)
