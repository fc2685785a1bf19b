"""ge.compile of an ONNX model with free input dims (dynamic axes): one compile per input
shape a call brings, equal to onnxruntime at each (`ge/specialize.py`)."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

import ge
from ge.api import CompiledModel
from gedialects.errors import GeError


def attention_like(staged: bool = False) -> onnx.ModelProto:
    """x [batch, seq, 8] -> softmax(x W) summed over seq, x W; dims 'batch' and 'seq' free.
    `staged`: the sum also reads a NonZero count (a host op between two stages)."""
    w = np.random.default_rng(0).standard_normal((8, 6)).astype(np.float32)
    nodes = [
        helper.make_node("MatMul", ["x", "W"], ["h"]),
        helper.make_node("Softmax", ["h"], ["p"], axis=-1),
        helper.make_node("ReduceSum", ["p", "axes"], ["y"], keepdims=0),
    ]
    if staged:
        nodes += [
            helper.make_node("Greater", ["h", "zero"], ["pos"]),
            helper.make_node("NonZero", ["pos"], ["where"]),
            helper.make_node("Shape", ["where"], ["count"]),
            helper.make_node("Cast", ["count"], ["countf"], to=TensorProto.FLOAT),
            helper.make_node("ReduceSum", ["countf"], ["n"], keepdims=1),
            helper.make_node("Add", ["y0", "n"], ["y"]),
        ]
        nodes[2].output[0] = "y0"
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "seq", 8])],
        [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 6]),
            helper.make_tensor_value_info("h", TensorProto.FLOAT, ["batch", "seq", 6]),
        ],
        [
            numpy_helper.from_array(w, "W"),
            numpy_helper.from_array(np.array([1], np.int64), "axes"),
            numpy_helper.from_array(np.array(0.0, np.float32), "zero"),
        ],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def assert_like_onnxruntime(compiled, model: onnx.ModelProto, x: np.ndarray) -> None:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    want = session.run(None, {"x": x})
    got = compiled(x)
    for g, w in zip(got, want):
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)


def x_of(batch: int, seq: int) -> np.ndarray:
    return (
        np.random.default_rng(batch * 31 + seq).standard_normal((batch, seq, 8)).astype(np.float32)
    )


@pytest.mark.parametrize("level", ["reference", "npu"])
@pytest.mark.parametrize("mode", ["static", "dynamic"])
def test_each_shape_compiles_once_and_equals_onnxruntime(level, mode):
    model = attention_like()
    compiled = ge.compile(model, mode=mode, level=level, cache=False)
    assert compiled.input_names == ["x"]
    for batch, seq in [(1, 1), (3, 5), (2, 17), (3, 5)]:
        assert_like_onnxruntime(compiled, model, x_of(batch, seq))
    assert compiled.shapes_compiled == [((1, 1, 8),), ((3, 5, 8),), ((2, 17, 8),)]


def test_a_staged_model_compiles_per_shape_too():
    model = attention_like(staged=True)
    compiled = ge.compile(model, level="npu", cache=False)
    for batch, seq in [(2, 3), (1, 9)]:
        assert_like_onnxruntime(compiled, model, x_of(batch, seq))
    assert len(compiled.shapes_compiled) == 3


@pytest.mark.parametrize("mode", ["static", "dynamic"])
def test_a_fixed_dim_keeps_its_size(mode):
    """A call that changes a fixed dim or the rank is refused naming the input, the model's
    shape (free dims as ?) and the fixed dim; nothing is compiled for it."""
    compiled = ge.compile(attention_like(), mode=mode, cache=False)
    wants = r"input 'x' has shape \(2, 4, 7\), the model wants \(\?, \?, 8\) \(dim 2 is 8\)"
    with pytest.raises(GeError, match=wants):
        compiled(np.zeros((2, 4, 7), np.float32))
    with pytest.raises(GeError, match=r"has shape \(2, 4\), the model wants rank 3: \(\?, \?, 8\)"):
        compiled(np.zeros((2, 4), np.float32))
    assert len(compiled.shapes_compiled) == 1


def test_given_shapes_or_no_free_dims_compile_once():
    compiled = ge.compile(attention_like(), input_shapes={"x": [2, 4, 8]}, cache=False)
    assert isinstance(compiled, CompiledModel)
    with pytest.raises(GeError, match="input 'x' has shape"):
        compiled(x_of(3, 4))
    fixed = attention_like()
    for value in [*fixed.graph.input, *fixed.graph.output]:
        for dim in value.type.tensor_type.shape.dim:
            if dim.HasField("dim_param"):
                dim.dim_value = 2
    assert isinstance(ge.compile(fixed, cache=False), CompiledModel)


def test_a_file_keeps_its_name_in_errors(tmp_path):
    path = tmp_path / "dyn.onnx"
    onnx.save(attention_like(), str(path))
    compiled = ge.compile(str(path), cache=False)
    assert_like_onnxruntime(compiled, attention_like(), x_of(2, 6))
    broken = attention_like()
    broken.graph.node[0].op_type = "NoSuchOp"
    onnx.save(broken, str(path))
    with pytest.raises(GeError, match=str(path)):
        ge.compile(str(path), cache=False)


@settings(max_examples=12, deadline=None)
@given(batch=st.integers(1, 4), seq=st.integers(1, 40))
def test_random_shapes_equal_onnxruntime(batch, seq):
    model = attention_like()
    compiled = ge.compile(model, level="npu", cache=False)
    assert_like_onnxruntime(compiled, model, x_of(batch, seq))


def test_a_torch_module_is_exported_again_for_each_shape():
    """torch.export fixes every dim of the example inputs; a call with other shapes exports
    and compiles the module again for them, as torch.compile recompiles per shape."""
    torch = pytest.importorskip("torch")
    module = torch.nn.Sequential(torch.nn.Conv1d(3, 4, 3, padding=1), torch.nn.ReLU()).eval()
    gen = torch.Generator().manual_seed(0)
    compiled = ge.compile(
        module, example_inputs=(torch.randn(2, 3, 8, generator=gen),), cache=False
    )
    for shape in [(1, 3, 5), (2, 3, 8), (4, 3, 11)]:
        x = torch.randn(*shape, generator=gen)
        got = compiled(x)
        assert isinstance(got, torch.Tensor)
        np.testing.assert_allclose(got.numpy(), module(x).detach().numpy(), rtol=1e-5, atol=1e-5)
    assert compiled.shapes_compiled == [((2, 3, 8),), ((1, 3, 5),), ((4, 3, 11),)]
    with pytest.raises(GeError, match="torch.export of Sequential failed"):
        compiled(torch.randn(1, 2, 8))  # 2 channels: the module cannot take it


def test_a_model_no_guessed_size_imports_compiles_at_its_first_call() -> None:
    """An exporter fixed a length in a Reshape ([-1, 5]): free dims of 1 (or 16, 128, 1024)
    cannot reshape, and `ge.compile` failed before any call could bring real shapes.
    onnxruntime runs such a model at the shapes it is given; so does ge now."""
    shape = numpy_helper.from_array(np.array([-1, 5], np.int64), "shape")
    graph = helper.make_graph(
        [
            helper.make_node("Reshape", ["x", "shape"], ["r"]),
            helper.make_node("Relu", ["r"], ["y"]),
        ],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "seq", 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [shape],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    compiled = ge.compile(model, cache=False)
    with pytest.raises(AttributeError, match="compiles at its first call"):
        compiled.last_profile  # noqa: B018
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    for shape_in in [(2, 5, 2), (3, 5, 2), (2, 5, 2)]:
        x = np.random.default_rng(0).standard_normal(shape_in).astype(np.float32)
        np.testing.assert_allclose(compiled(x), session.run(None, {"x": x})[0], rtol=1e-6)
    assert compiled.shapes_compiled == [((2, 5, 2),), ((3, 5, 2),)]
    with pytest.raises(GeError, match="dim 2 is 2"):
        compiled(np.zeros((2, 5, 3), np.float32))
