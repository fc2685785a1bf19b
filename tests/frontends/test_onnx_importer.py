"""The ONNX importer: names, initializers, shapes, opset upgrade, errors, and `ge-opt x.onnx`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

from ge.frontends.onnx import (
    NonConstantInputError,
    import_onnx_bytes,
    import_onnx_file,
    import_onnx_model,
)
from ge.frontends.onnx.recurrence import UNROLL_STEPS
from ge.testing import run
from gedialects.errors import FrontendError, UnsupportedError
from gedialects.ge.constant import ConstantOp
from gedialects.interpreter import entry_function, input_names, output_names

RNG = np.random.default_rng(0)
GE_OPT = [str(Path(sys.executable).with_name("ge-opt"))]


def f32(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def model_of(nodes, inputs, outputs, initializers=(), opset=17) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def vi(name: str, shape, dtype=TensorProto.FLOAT) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, dtype, shape)


def onnxruntime_outputs(model: onnx.ModelProto, feeds: dict) -> list[np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def conv_net(opset: int = 17, batch="N") -> onnx.ModelProto:
    """Conv, BatchNormalization, Relu, MaxPool, Flatten, Gemm, Softmax: a small CNN."""
    inits = [
        numpy_helper.from_array(f32(4, 3, 3, 3), "conv.w"),
        numpy_helper.from_array(f32(4), "conv.b"),
        numpy_helper.from_array(np.abs(f32(4)) + 0.5, "bn.scale"),
        numpy_helper.from_array(f32(4), "bn.bias"),
        numpy_helper.from_array(f32(4), "bn.mean"),
        numpy_helper.from_array(np.abs(f32(4)) + 0.5, "bn.var"),
        numpy_helper.from_array(f32(5, 64), "fc.w"),
        numpy_helper.from_array(f32(5), "fc.b"),
    ]
    nodes = [
        helper.make_node("Conv", ["image", "conv.w", "conv.b"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node(
            "BatchNormalization", ["c", "bn.scale", "bn.bias", "bn.mean", "bn.var"], ["bn"]
        ),
        helper.make_node("Relu", ["bn"], ["r"]),
        helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p"], ["flat"]),
        helper.make_node("Gemm", ["flat", "fc.w", "fc.b"], ["logits"], transB=1),
        helper.make_node("Softmax", ["logits"], ["probs"], axis=1),
    ]
    return model_of(nodes, [vi("image", [batch, 3, 8, 8])], [vi("probs", [batch, 5])], inits, opset)


def test_names_initializers_and_results_match_onnxruntime():
    model = conv_net()
    before = model.SerializeToString()
    module = import_onnx_model(model)
    assert model.SerializeToString() == before  # the caller's model is left alone
    fn = entry_function(module)
    assert input_names(fn) == ["image"] and output_names(fn) == ["probs"]
    constants = [op for op in fn.body.ops if isinstance(op, ConstantOp)]
    assert len(constants) == 8
    x = f32(1, 3, 8, 8)
    (got,) = run(module, {"image": x})
    (want,) = onnxruntime_outputs(model, {"image": x})
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_symbolic_dims_default_to_one_or_take_input_shapes():
    model = conv_net()
    fn = entry_function(import_onnx_model(model))
    assert fn.function_type.inputs.data[0].get_shape() == (1, 3, 8, 8)
    module = import_onnx_model(model, input_shapes={"image": [3, 3, 8, 8]})
    x = f32(3, 3, 8, 8)
    (got,) = run(module, [x])
    (want,) = onnxruntime_outputs(model, {"image": x})
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    with pytest.raises(FrontendError, match="input_shapes gives"):
        import_onnx_model(model, input_shapes={"image": [1, 4, 8, 8]})


def opset9_model() -> onnx.ModelProto:
    """Opset 9: Unsqueeze axes and Slice bounds as attributes, Upsample, Clip bounds."""
    nodes = [
        helper.make_node("Slice", ["x"], ["s"], starts=[0, 1], ends=[1, 3], axes=[0, 2]),
        helper.make_node("Clip", ["s"], ["c"], min=-0.5, max=0.5),
        helper.make_node("Unsqueeze", ["c"], ["u"], axes=[0]),
        helper.make_node("Upsample", ["u", "scales"], ["up"], mode="nearest"),
        helper.make_node("ReduceSum", ["up"], ["y"], axes=[3], keepdims=0),
    ]
    scales = numpy_helper.from_array(np.array([1, 1, 1, 2, 2], np.float32), "scales")
    return model_of(nodes, [vi("x", [2, 3, 4, 4])], [vi("y", [1, 1, 3, 8])], [scales], opset=9)


@pytest.mark.parametrize("opset", [9, 11])
def test_old_opsets_are_upgraded(opset: int):
    model = opset9_model() if opset == 9 else conv_net(opset=11, batch=1)
    module = import_onnx_model(model)
    name = model.graph.input[0].name
    shape = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    x = f32(*shape)
    (got,) = run(module, {name: x})
    (want,) = onnxruntime_outputs(model, {name: x})
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_shape_subgraph_folds_at_import():
    inits = [
        numpy_helper.from_array(np.array(0, np.int64), "zero"),
        numpy_helper.from_array(np.array([-1], np.int64), "minus_one"),
    ]
    nodes = [
        helper.make_node("Shape", ["x"], ["shape"]),
        helper.make_node("Gather", ["shape", "zero"], ["batch"]),
        helper.make_node("Unsqueeze", ["batch", "axes"], ["batch1"]),
        helper.make_node("Concat", ["batch1", "minus_one"], ["target"], axis=0),
        helper.make_node("Reshape", ["x", "target"], ["y"]),
    ]
    inits.append(numpy_helper.from_array(np.array([0], np.int64), "axes"))
    model = model_of(nodes, [vi("x", [2, 3, 4])], [vi("y", [2, 12])], inits)
    fn = entry_function(import_onnx_model(model))
    assert [op.name for op in fn.body.ops] == ["ge.reshape", "func.return"]


def test_unsupported_op_names_op_node_and_supported_list():
    node = helper.make_node("NonZero", ["x"], ["y"], name="find_them")
    model = model_of([node], [vi("x", [3])], [vi("y", [1, "n"], TensorProto.INT64)])
    with pytest.raises(UnsupportedError) as info:
        import_onnx_model(model)
    message = str(info.value)
    assert "'NonZero'" in message and "'find_them'" in message and "Conv" in message
    assert "\n" not in message


def test_shape_input_that_is_not_constant_is_refused_clearly():
    node = helper.make_node("Reshape", ["x", "shape"], ["y"], name="reshape_it")
    model = model_of(
        [node], [vi("x", [2, 3]), vi("shape", [2], TensorProto.INT64)], [vi("y", [3, 2])]
    )
    with pytest.raises(NonConstantInputError, match="'shape'.*must be a constant") as info:
        import_onnx_model(model)
    assert info.value.value_name == "shape"


def test_inconsistent_declared_shape_is_an_error():
    node = helper.make_node("Relu", ["x"], ["y"])
    model = model_of([node], [vi("x", [2, 3])], [vi("y", [3, 2])])
    with pytest.raises(FrontendError, match="inconsistent shapes"):
        import_onnx_model(model)


@pytest.mark.parametrize("auto_pad", ["SAME_UPPER", "SAME_LOWER"])
def test_same_padded_conv_transpose_with_output_padding_runs_as_onnxruntime(auto_pad: str):
    """ONNX's shape inference adds output_padding to the SAME output (input x stride: 5 rows
    at stride 3, 16) where the spec and onnxruntime absorb it in the padding (15): the
    inferred type is not held against ge's, which matches onnxruntime's output."""
    rng = np.random.default_rng(0)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    node = helper.make_node(
        "ConvTranspose", ["x", "w"], ["y"], strides=[3, 2], auto_pad=auto_pad,
        output_padding=[1, 1],
    )  # fmt: skip
    model = model_of(
        [node], [vi("x", [1, 4, 5, 7])], [vi("y", None)], [numpy_helper.from_array(w, "w")]
    )
    x = rng.standard_normal((1, 4, 5, 7)).astype(np.float32)
    (want,) = onnxruntime_outputs(model, {"x": x})
    (got,) = run(import_onnx_model(model), [x])
    assert got.shape == want.shape == (1, 3, 15, 14)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_checker_failure_is_an_error_on_one_line_naming_the_node():
    """The checker names the node on a line after the first, which the message dropped."""
    node = helper.make_node("Relu", ["missing"], ["y"], name="relu_7")
    model = model_of([node], [vi("x", [2])], [vi("y", [2])])
    with pytest.raises(FrontendError, match="fails onnx.checker") as caught:
        import_onnx_model(model)
    assert "name: relu_7 OpType: Relu" in str(caught.value) and "\n" not in str(caught.value)
    odd = model_of(
        [helper.make_node("Frobnicate", ["x"], ["y"], name="odd_1")], [vi("x", [2])], [vi("y", [2])]
    )
    with pytest.raises(
        FrontendError, match="No Op registered for Frobnicate .* Name: odd_1 OpType: Frobnicate"
    ):
        import_onnx_model(odd)


@pytest.mark.parametrize(
    "data",
    [b"", b"this is not an onnx model at all", bytes(range(256)) * 4],
    ids=["empty", "text", "binary"],
)
def test_non_onnx_bytes_are_one_line_errors(data: bytes):
    with pytest.raises(FrontendError) as info:
        import_onnx_bytes(data, source="junk.onnx")
    assert "junk.onnx" in str(info.value) and "\n" not in str(info.value)


def test_truncated_file_is_an_error(tmp_path: Path):
    data = conv_net().SerializeToString()
    path = tmp_path / "cut.onnx"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(FrontendError, match="cut.onnx"):
        import_onnx_file(path)


def save_with_external_weight(folder: Path, location: str) -> Path:
    """A Mul by an initializer whose data lives in the file `location` (relative to folder)."""
    weight = numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(2, 3), "w")
    model = model_of(
        [helper.make_node("Mul", ["x", "w"], ["y"])], [vi("x", [2, 3])], [vi("y", [2, 3])], [weight]
    )
    data_path = (folder / location).resolve()
    data_path.parent.mkdir(parents=True, exist_ok=True)
    data_path.write_bytes(np.arange(6, dtype=np.float32).tobytes())
    tensor = model.graph.initializer[0]
    tensor.ClearField("raw_data")
    tensor.data_location = TensorProto.EXTERNAL
    for key, value in {"location": location, "offset": "0", "length": "24"}.items():
        entry = tensor.external_data.add()
        entry.key, entry.value = key, value
    path = folder / "model.onnx"
    path.write_bytes(model.SerializeToString())
    return path


def test_external_data_inside_the_folder_is_read(tmp_path: Path):
    path = save_with_external_weight(tmp_path, "weights/w.bin")
    (got,) = run(import_onnx_file(path), [np.ones((2, 3), np.float32)])
    np.testing.assert_array_equal(got, np.arange(6, dtype=np.float32).reshape(2, 3))


def test_external_data_outside_the_folder_is_refused(tmp_path: Path):
    folder = tmp_path / "model"
    folder.mkdir()
    path = save_with_external_weight(folder, "../secret.bin")
    with pytest.raises(FrontendError, match="outside the model's folder"):
        import_onnx_file(path)


def test_ge_opt_prints_ge_ir_for_an_onnx_file(tmp_path: Path):
    path = tmp_path / "net.onnx"
    onnx.save(conv_net(), path)
    done = subprocess.run([*GE_OPT, str(path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "ge.conv2d" in done.stdout and 'ge.name = "probs"' in done.stdout


def test_ge_opt_reports_a_bad_onnx_file_in_one_line(tmp_path: Path):
    path = tmp_path / "bad.onnx"
    path.write_bytes(b"\x08\x07garbage")
    done = subprocess.run([*GE_OPT, str(path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def recurrent_model(
    op: str, direction: str, seq: int = 6, layout: int = 0, lens: list[int] | None = None
) -> onnx.ModelProto:
    """A one-layer LSTM/GRU/RNN with random weights, biases, initial state (and lengths)."""
    gates = {"LSTM": 4, "GRU": 3, "RNN": 1}[op]
    dirs, batch, size, hidden = (2 if direction == "bidirectional" else 1), 2, 3, 4
    inits = [
        numpy_helper.from_array(f32(dirs, gates * hidden, size), "W"),
        numpy_helper.from_array(f32(dirs, gates * hidden, hidden), "R"),
        numpy_helper.from_array(f32(dirs, 2 * gates * hidden), "B"),
        numpy_helper.from_array(f32(*((batch, dirs) if layout else (dirs, batch)), hidden), "h0"),
    ]
    x_shape = [batch, seq, size] if layout else [seq, batch, size]
    y_shape = [batch, seq, dirs, hidden] if layout else [seq, dirs, batch, hidden]
    h_shape = [batch, dirs, hidden] if layout else [dirs, batch, hidden]
    if lens is not None:
        inits.append(numpy_helper.from_array(np.array(lens, np.int32), "lens"))
    node = helper.make_node(
        op,
        ["x", "W", "R", "B", "lens" if lens is not None else "", "h0"],
        ["y", "y_h"],
        hidden_size=hidden,
        direction=direction,
        layout=layout,
    )
    return model_of(
        [node], [vi("x", x_shape)], [vi("y", y_shape), vi("y_h", h_shape)], inits, opset=14
    )


@pytest.mark.parametrize(
    ("op", "direction", "layout"),
    [
        ("LSTM", "forward", 0),
        ("LSTM", "bidirectional", 1),
        ("GRU", "reverse", 0),
        ("GRU", "bidirectional", 0),
        ("RNN", "forward", 1),
    ],
)
def test_recurrent_layers_loop_and_match_onnxruntime(op: str, direction: str, layout: int):
    model = recurrent_model(op, direction, seq=UNROLL_STEPS + 1, layout=layout)
    module = import_onnx_model(model)
    fn = entry_function(module)
    loops = [o for o in fn.body.ops if o.name == "scf.for"]
    assert len(loops) == (2 if direction == "bidirectional" else 1)
    assert all(len(list(loop.body.block.ops)) < 25 for loop in loops)  # one step, not 65
    shape = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    x = f32(*shape)
    got = run(module, {"x": x})
    if layout:  # onnxruntime runs only layout 0; ONNX's reference runs both
        want = ReferenceEvaluator(model).run(None, {"x": x})
    else:
        want = onnxruntime_outputs(model, {"x": x})
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    ("op", "direction", "lens"),
    [("LSTM", "bidirectional", None), ("GRU", "reverse", [2, 5]), ("RNN", "forward", None)],
)
def test_short_recurrences_are_unrolled_and_match_onnxruntime(op, direction, lens):
    """Up to UNROLL_STEPS steps, every step's cell is imported: no scf.for, so the steps run
    as kernels on the NPU."""
    model = recurrent_model(op, direction, lens=lens)
    module = import_onnx_model(model)
    assert "scf.for" not in str(module) and "ge.extract_step" not in str(module)
    x = f32(6, 2, 3)
    for got, want in zip(run(module, {"x": x}), onnxruntime_outputs(model, {"x": x})):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def if_model() -> onnx.ModelProto:
    """y = cond ? x + 1 : x * 2, branches reading the outer x."""
    one = numpy_helper.from_array(np.array(1.0, np.float32), "one")
    two = numpy_helper.from_array(np.array(2.0, np.float32), "two")
    then_graph = helper.make_graph(
        [helper.make_node("Add", ["x", "one"], ["t"])], "then", [], [vi("t", [3])]
    )
    else_graph = helper.make_graph(
        [helper.make_node("Mul", ["x", "two"], ["e"])], "else", [], [vi("e", [3])]
    )
    node = helper.make_node("If", ["cond"], ["y"], then_branch=then_graph, else_branch=else_graph)
    return model_of(
        [node], [vi("cond", [], TensorProto.BOOL), vi("x", [3])], [vi("y", [3])], [one, two]
    )


def test_if_becomes_scf_if_with_both_branches():
    module = import_onnx_model(if_model())
    assert "scf.if" in str(module)
    x = np.array([1.0, 2.0, 3.0], np.float32)
    for cond in (True, False):
        (got,) = run(module, {"cond": np.array(cond), "x": x})
        np.testing.assert_array_equal(got, x + 1 if cond else x * 2)


def test_control_flow_at_the_npu_level_says_it_runs_by_reference():
    """scf.if (and a recurrent layer's scf.for) runs on the reference interpreter by design:
    REPORT says so, rather than that an index is not a tensor."""
    import ge

    compiled = ge.compile(import_onnx_model(if_model()), level="npu", cache=False)
    x = np.array([1.0, 2.0, 3.0], np.float32)
    (got,) = compiled.run(cond=np.array(False), x=x)
    np.testing.assert_array_equal(got, x * 2)
    (kernel,) = [k for k in compiled.last_profile["kernels"] if k["op"] == "scf.if"]
    assert kernel["engine"] == "reference"
    assert "control flow ('scf.if') runs on the reference interpreter" in kernel["fallback_reason"]


def test_if_with_a_constant_condition_is_folded():
    model = if_model()
    model.graph.initializer.append(numpy_helper.from_array(np.array(False), "cond"))
    del model.graph.input[0]
    module = import_onnx_model(model)
    assert "scf.if" not in str(module)
    x = np.array([1.0, 2.0, 3.0], np.float32)
    np.testing.assert_array_equal(run(module, {"x": x})[0], x * 2)


def test_bad_attribute_is_an_error_naming_the_node():
    node = helper.make_node("Transpose", ["x"], ["y"], perm=[0, 0], name="swap")
    model = model_of([node], [vi("x", [2, 3])], [vi("y", [3, 2])])
    with pytest.raises(FrontendError, match="node 'swap' \\(Transpose\\).*perm") as info:
        import_onnx_model(model)
    assert "\n" not in str(info.value)


def test_missing_file_is_an_error(tmp_path: Path):
    with pytest.raises(FrontendError, match="cannot read"):
        import_onnx_file(tmp_path / "absent.onnx")


def test_imported_loops_print_and_parse_back():
    from xdsl.parser import Parser

    from ge.registry import make_context
    from gedialects.ge.constant import print_constants_in_full

    model = recurrent_model("GRU", "bidirectional", seq=UNROLL_STEPS + 1)
    module = import_onnx_model(model)
    with print_constants_in_full():
        text = str(module)
    assert "ge.extract_step" in text and "ge.insert_step" in text
    parsed = Parser(make_context(), text).parse_module()
    parsed.verify()
    x = f32(UNROLL_STEPS + 1, 2, 3)
    for a, b in zip(run(module, {"x": x}), run(parsed, {"x": x})):
        np.testing.assert_array_equal(a, b)


def test_scan_is_one_loop_and_matches_onnxruntime():
    """A running sum over axis 1, scanned backwards, with the steps stacked on axis 1."""
    body = helper.make_graph(
        [
            helper.make_node("Add", ["sum_in", "step"], ["sum_out"]),
            helper.make_node("Relu", ["sum_out"], ["relu_out"]),
        ],
        "body",
        [vi("sum_in", [2]), vi("step", [2])],
        [vi("sum_out", [2]), vi("relu_out", [2])],
    )
    node = helper.make_node(
        "Scan",
        ["init", "xs"],
        ["total", "partials"],
        body=body,
        num_scan_inputs=1,
        scan_input_axes=[1],
        scan_input_directions=[1],
        scan_output_axes=[1],
    )
    model = model_of(
        [node], [vi("init", [2]), vi("xs", [2, 5])], [vi("total", [2]), vi("partials", [2, 5])]
    )
    module = import_onnx_model(model)
    assert str(module).count("scf.for") == 1
    feeds = {"init": f32(2), "xs": f32(2, 5)}
    for got, want in zip(run(module, feeds), onnxruntime_outputs(model, feeds)):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    ("op", "direction", "lens"),
    [("LSTM", "bidirectional", [6, 3]), ("GRU", "reverse", [2, 5]), ("RNN", "forward", [0, 4])],
)
def test_sequence_lens_mask_the_padding_steps(op: str, direction: str, lens: list[int]):
    model = recurrent_model(op, direction, lens=lens)
    module = import_onnx_model(model)
    x = f32(6, 2, 3)
    for got, want in zip(run(module, {"x": x}), onnxruntime_outputs(model, {"x": x})):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("op", ["LSTM", "GRU", "RNN"])
def test_clip_bounds_the_gates_as_onnxruntime(op: str):
    model = recurrent_model(op, "bidirectional")
    model.graph.node[0].attribute.append(helper.make_attribute("clip", 0.5))
    x = 3 * f32(6, 2, 3)
    got = run(import_onnx_model(model), {"x": x})
    for g, w in zip(got, onnxruntime_outputs(model, {"x": x})):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)
