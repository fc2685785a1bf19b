"""The `com.microsoft` quantized ops onnxruntime's quantizer writes, against onnxruntime.

QGemm's quantized output is exact (integer accumulation, MLAS's requantization). The
elementwise ones are computed by their float32 definition while ORT uses fixed-point, FMA or
lookup-table kernels chosen per CPU, so they may differ by one quantization step where a
value lies within a float rounding of a .5 boundary: the tests allow one step and require
almost every element to be exact. Float outputs (MatMulIntegerToFloat,
DynamicQuantizeMatMul) match to float32 rounding.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import helper, numpy_helper

from ge.frontends.onnx.importer import import_onnx_model
from gedialects.errors import UnsupportedError
from gedialects.interpreter import run_reference

MS = "com.microsoft"


def model_of(op: str, inputs: dict, consts: dict, out=None, **attrs) -> onnx.ModelProto:
    """One `op` node of domain com.microsoft; `consts` are initializers, None an absent input;
    the output is typed `out`, by default as the first 8-bit input."""
    if out is None:
        out = next(
            v.dtype
            for v in [*inputs.values(), *consts.values()]
            if v is not None and np.asarray(v).dtype.itemsize == 1
        )
    node = helper.make_node(
        op, [k if v is not None else "" for k, v in {**inputs, **consts}.items()], ["y"], **attrs
    )
    node.domain = MS
    graph = helper.make_graph(
        [node],
        "g",
        [
            helper.make_tensor_value_info(k, helper.np_dtype_to_tensor_dtype(v.dtype), v.shape)
            for k, v in inputs.items()
        ],
        [helper.make_tensor_value_info("y", helper.np_dtype_to_tensor_dtype(np.dtype(out)), None)],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in consts.items() if v is not None],
    )
    imports = [helper.make_opsetid("", 17), helper.make_opsetid(MS, 1)]
    return helper.make_model(graph, opset_imports=imports)


def with_output_shape(model: onnx.ModelProto, shape: tuple) -> onnx.ModelProto:
    """The output's shape as ORT computed it: ONNX's inference does not know contrib ops, and
    the checker wants graph outputs shaped (quantized models state them)."""
    dims = model.graph.output[0].type.tensor_type.shape.dim
    del dims[:]
    for d in shape:
        dims.add().dim_value = d
    return model


def both(model: onnx.ModelProto, feeds: dict) -> tuple[np.ndarray, np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (want,) = session.run(None, feeds)
    (got,) = run_reference(import_onnx_model(with_output_shape(model, want.shape)), feeds)
    assert got.dtype == want.dtype and got.shape == want.shape
    return want, got


def assert_within_a_step(want: np.ndarray, got: np.ndarray) -> None:
    diff = np.abs(want.astype(np.int32) - got.astype(np.int32))
    assert diff.max() <= 1
    # a value within f32 rounding of a .5 tie may round either way (soak: a 4x7 QLinearMul,
    # exactly 249.4999978, onnxruntime 250, ge 249): a few elements, one of a small tensor
    allowed = max(1, int(0.03 * diff.size))
    assert (diff != 0).sum() <= allowed, f"{(diff != 0).sum()} of {diff.size} differ by a step"


def q(rng, dtype, shape) -> np.ndarray:
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max + 1, shape).astype(dtype)


@given(
    st.sampled_from(["QLinearAdd", "QLinearMul"]),
    st.sampled_from([np.uint8, np.int8]),
    st.sampled_from([((2, 3, 5), (2, 3, 5)), ((2, 3, 5), (5,)), ((4, 1), (1, 7)), ((6,), ())]),
    st.integers(0, 2**31),
)
def test_qlinear_binary_within_a_step_of_onnxruntime(op, dtype, shapes, seed) -> None:
    rng = np.random.default_rng(seed)
    a, b = q(rng, dtype, shapes[0]), q(rng, dtype, shapes[1])
    scale = lambda: np.float32(rng.uniform(0.005, 0.05))
    consts = {
        "as": scale(), "az": q(rng, dtype, ()), "b": b, "bs": scale(), "bz": q(rng, dtype, ()),
        "cs": np.float32(scale() * (4 if op == "QLinearMul" else 1)), "cz": q(rng, dtype, ()),
    }  # fmt: skip
    assert_within_a_step(*both(model_of(op, {"a": a}, consts), {"a": a}))


@pytest.mark.parametrize(
    ("op", "attrs", "shape"),
    [
        ("QLinearGlobalAveragePool", {"channels_last": 0}, (2, 3, 5, 4)),
        ("QLinearGlobalAveragePool", {"channels_last": 1}, (2, 5, 4, 3)),
        ("QLinearAveragePool", {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]}, (2, 3, 6, 5)),
        (
            "QLinearAveragePool",
            {"kernel_shape": [2, 2], "strides": [2, 2], "ceil_mode": 1, "channels_last": 1},
            (1, 5, 7, 3),
        ),
        (
            "QLinearAveragePool",
            {"kernel_shape": [3], "auto_pad": "SAME_UPPER", "count_include_pad": 1},
            (2, 3, 8),
        ),
        ("QLinearLeakyRelu", {"alpha": 0.1}, (3, 40)),
        ("QLinearSigmoid", {}, (3, 40)),
    ],
)
@pytest.mark.parametrize("dtype", [np.uint8, np.int8])
def test_qlinear_unary_within_a_step_of_onnxruntime(op, attrs, shape, dtype) -> None:
    rng = np.random.default_rng(1)
    x = q(rng, dtype, shape)
    ys = np.float32(0.004 if op == "QLinearSigmoid" else 0.03)
    consts = {"xs": np.float32(0.05), "xz": q(rng, dtype, ()), "ys": ys, "yz": q(rng, dtype, ())}
    if op == "QLinearSigmoid":
        consts["yz"] = np.array(0 if dtype == np.uint8 else -128, dtype)
    assert_within_a_step(*both(model_of(op, {"x": x}, consts, **attrs), {"x": x}))


def test_qlinear_concat_within_a_step_of_onnxruntime() -> None:
    rng = np.random.default_rng(2)
    x1, x2 = q(rng, np.uint8, (2, 3, 4)), q(rng, np.uint8, (2, 5, 4))
    consts = {
        "ys": np.float32(0.04), "yz": np.uint8(120),
        "x1": x1, "s1": np.float32(0.03), "z1": np.uint8(100),
        "x2": x2, "s2": np.float32(0.04), "z2": np.uint8(120),
    }  # fmt: skip
    model = model_of("QLinearConcat", {}, consts, axis=1)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (want,) = session.run(None, {})
    (got,) = run_reference(import_onnx_model(with_output_shape(model, want.shape)), {})
    assert_within_a_step(want, got)
    np.testing.assert_array_equal(got[:, 3:], x2)  # same scale and zero point: a copy


@pytest.mark.parametrize("trans_b", [0, 1])
@pytest.mark.parametrize("per_column", [False, True])
@pytest.mark.parametrize("quantized_output", [True, False])
def test_qgemm_matches_onnxruntime(trans_b, per_column, quantized_output) -> None:
    rng = np.random.default_rng(3)
    a = q(rng, np.uint8, (5, 24))
    b = rng.integers(-64, 64, (24, 7)).astype(np.int8)  # 7 bits: see test_quant_ops.weights
    n = 7
    consts = {
        "as": np.float32(0.02), "az": np.uint8(130), "b": b.T.copy() if trans_b else b,
        "bs": rng.uniform(0.01, 0.03, n).astype(np.float32) if per_column else np.float32(0.02),
        "bz": np.zeros(n, np.int8) if per_column else np.int8(0),
        "c": rng.integers(-300, 300, n).astype(np.int32),
        "ys": np.float32(0.05) if quantized_output else None,
        "yz": np.uint8(128) if quantized_output else None,
    }  # fmt: skip
    out = np.uint8 if quantized_output else np.float32
    model = model_of("QGemm", {"a": a}, consts, out, transB=trans_b, alpha=1.0)
    want, got = both(model, {"a": a})
    if quantized_output:
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_integer_matmuls_to_float_match_onnxruntime() -> None:
    rng = np.random.default_rng(4)
    a = q(rng, np.uint8, (2, 3, 16))
    b = rng.integers(-64, 64, (16, 6)).astype(np.int8)
    consts = {
        "b": b, "as": np.float32(0.03), "bs": rng.uniform(0.01, 0.02, 6).astype(np.float32),
        "az": np.uint8(120), "bz": np.zeros(6, np.int8),
        "bias": rng.standard_normal(6).astype(np.float32),
    }  # fmt: skip
    want, got = both(model_of("MatMulIntegerToFloat", {"a": a}, consts, np.float32), {"a": a})
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    x = rng.standard_normal((4, 16)).astype(np.float32)
    consts = {"b": b, "bs": np.float32(0.02), "bz": np.int8(0), "bias": consts["bias"]}
    want, got = both(model_of("DynamicQuantizeMatMul", {"x": x}, consts, np.float32), {"x": x})
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(("axis", "opset"), [(-1, 13), (1, 13), (1, 12)])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8])
def test_qlinear_softmax_within_a_step_of_onnxruntime(axis, opset, dtype) -> None:
    rng = np.random.default_rng(5)
    x = q(rng, dtype, (2, 5, 7))
    zero = np.array(0 if dtype == np.uint8 else -128, dtype)  # ORT's quantizer: [0, 1) in 256
    consts = {"xs": np.float32(0.06), "xz": q(rng, dtype, ()), "ys": np.float32(1 / 256)}
    consts["yz"] = zero
    model = model_of("QLinearSoftmax", {"x": x}, consts, axis=axis, opset=opset)
    assert_within_a_step(*both(model, {"x": x}))


def test_unsupported_contrib_op_names_op_domain_and_node() -> None:
    x = np.zeros((1, 2, 4, 4), np.uint8)
    consts = {"xs": np.float32(0.1), "xz": np.uint8(0), "ys": np.float32(0.1)}
    consts["yz"] = np.uint8(0)
    model = model_of("QLinearReduceMean", {"x": x}, consts, axes=[1], keepdims=1)
    model.graph.node[0].name = "the_mean"
    with pytest.raises(
        UnsupportedError, match=r"the_mean.*QLinearReduceMean.*domain 'com.microsoft'"
    ):
        import_onnx_model(with_output_shape(model, (1, 1, 4, 4)))


@pytest.mark.parametrize("dtype", [np.uint16, np.int16, np.uint8])
def test_contrib_quantize_dequantize_match_onnxruntime(dtype) -> None:
    """onnxruntime's own QuantizeLinear / DequantizeLinear (its quantizer's 16-bit QDQ with
    `UseQDQContribOps`), per channel along axis 1: the same values as the standard ops."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    scale = rng.uniform(0.01, 0.02, 3).astype(np.float32) / (256 if dtype != np.uint8 else 1)
    zero = q(rng, dtype, (3,))
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "s", "z"], ["xq"], axis=1, domain=MS),
        helper.make_node("DequantizeLinear", ["xq", "s", "z"], ["y"], axis=1, domain=MS),
    ]
    graph = helper.make_graph(
        nodes,
        "qdq",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, x.shape)],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, x.shape)],
        [numpy_helper.from_array(scale, "s"), numpy_helper.from_array(zero, "z")],
    )
    imports = [helper.make_opsetid("", 17), helper.make_opsetid(MS, 1)]
    model = helper.make_model(graph, opset_imports=imports)
    want, got = both(model, {"x": x})
    np.testing.assert_array_equal(got, want)


def test_contrib_dequantize_of_int4_weights_matches_onnxruntime() -> None:
    """4-bit weights below opset 21, which the quantizer writes as com.microsoft
    DequantizeLinear of an INT4 initializer (per output channel)."""
    rng = np.random.default_rng(7)
    w = rng.integers(-8, 8, (8, 5)).astype(ml_dtypes.int4)
    scale = rng.uniform(0.05, 0.1, 5).astype(np.float32)
    nodes = [
        helper.make_node("DequantizeLinear", ["w", "s", "z"], ["wf"], axis=1, domain=MS),
        helper.make_node("MatMul", ["x", "wf"], ["y"]),
    ]
    inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(scale, "s")]
    inits.append(numpy_helper.from_array(np.zeros(5, ml_dtypes.int4), "z"))
    graph = helper.make_graph(
        nodes,
        "w4",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, (3, 8))],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, (3, 5))],
        inits,
    )
    imports = [helper.make_opsetid("", 17), helper.make_opsetid(MS, 1)]
    model = helper.make_model(graph, opset_imports=imports)
    x = rng.standard_normal((3, 8)).astype(np.float32)
    # unoptimized: ORT's optimizer fuses the pair into its MatMulNBits, which rounds the
    # activations (8e-3 off here; DequantizeLinear alone is exact in both)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(model.SerializeToString(), options, ["CPUExecutionProvider"])
    (want,) = session.run(None, {"x": x})
    (got,) = run_reference(import_onnx_model(model), {"x": x})
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


@st.composite
def quantized_lstms(draw):
    """A DynamicQuantizeLSTM as ORT's quantize_dynamic writes it (W, R int8, transposed to
    (directions, size, 4 * hidden)), over directions, per-tensor / per-column scales,
    biases, initial states, peepholes, sequence lengths, and more steps than are unrolled."""
    directions = draw(st.sampled_from([1, 2]))
    steps = draw(st.sampled_from([1, 3, 70]))
    batch, size, hidden = draw(st.integers(1, 3)), draw(st.integers(1, 6)), draw(st.integers(1, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    per_column = draw(st.booleans())
    scales = (directions, 4 * hidden) if per_column else (directions,)
    inputs = {"X": rng.standard_normal((steps, batch, size)).astype(np.float32)}
    consts = {
        "W": rng.integers(-127, 128, (directions, size, 4 * hidden)).astype(np.int8),
        "R": rng.integers(-127, 128, (directions, hidden, 4 * hidden)).astype(np.int8),
        "B": rng.standard_normal((directions, 8 * hidden)).astype(np.float32)
        if draw(st.booleans()) else None,
        "sequence_lens": rng.integers(1, steps + 1, batch).astype(np.int32)
        if draw(st.booleans()) else None,
    }  # fmt: skip
    if draw(st.booleans()):
        inputs["initial_h"] = rng.standard_normal((directions, batch, hidden)).astype(np.float32)
        inputs["initial_c"] = rng.standard_normal((directions, batch, hidden)).astype(np.float32)
    else:
        inputs["_h"] = inputs["_c"] = None
    consts["P"] = (
        rng.standard_normal((directions, 3 * hidden)).astype(np.float32) * 0.1
        if draw(st.booleans())
        else None
    )
    consts["W_scale"] = rng.uniform(0.002, 0.01, scales).astype(np.float32)
    consts["W_zero_point"] = np.zeros(scales, np.int8)
    consts["R_scale"] = rng.uniform(0.002, 0.01, scales).astype(np.float32)
    consts["R_zero_point"] = np.zeros(scales, np.int8)
    one_way = st.sampled_from(["forward", "reverse"])
    direction = "bidirectional" if directions == 2 else draw(one_way)
    return inputs, consts, hidden, direction


@settings(deadline=None, max_examples=30)
@given(quantized_lstms())
def test_dynamic_quantize_lstm_matches_onnxruntime(case) -> None:
    """As ORT computes it: X and each step's hidden state quantized to uint8 as
    DynamicQuantizeLinear does, integer products, float32 rescaling: equal to float32
    rounding (the gates' adds in another order). ORT on one thread: on more it quantizes
    each thread's share of a batch on its own (`convert_quant_lstm`)."""
    inputs, consts, hidden, direction = case
    feeds = {k: v for k, v in inputs.items() if v is not None}
    scales = ("W_scale", "W_zero_point", "R_scale", "R_zero_point")
    ordered = {"X": inputs["X"], "W": consts["W"], "R": consts["R"], "B": consts["B"],
               "sequence_lens": consts["sequence_lens"], "initial_h": inputs.get("initial_h"),
               "initial_c": inputs.get("initial_c"), "P": consts["P"],
               **{k: consts[k] for k in scales}}  # fmt: skip
    node = helper.make_node(
        "DynamicQuantizeLSTM",
        [k if v is not None else "" for k, v in ordered.items()],
        ["Y", "Y_h", "Y_c"],
        hidden_size=hidden,
        direction=direction,
        domain=MS,
    )
    graph = helper.make_graph(
        [node],
        "qlstm",
        [
            helper.make_tensor_value_info(k, onnx.TensorProto.FLOAT, v.shape)
            for k, v in feeds.items()
        ],
        [helper.make_tensor_value_info(k, onnx.TensorProto.FLOAT, None) for k in node.output],
        [
            numpy_helper.from_array(v, k)
            for k, v in ordered.items()
            if v is not None and k not in feeds
        ],
    )
    imports = [helper.make_opsetid("", 14), helper.make_opsetid(MS, 1)]
    model = helper.make_model(graph, opset_imports=imports)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options, ["CPUExecutionProvider"])
    want = session.run(None, feeds)
    for w, g in zip(want, _lstm_outputs(model, feeds, [w.shape for w in want])):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)


def _lstm_outputs(model: onnx.ModelProto, feeds: dict, shapes: list) -> list[np.ndarray]:
    """ge's outputs, the graph's outputs shaped as ORT's (ONNX's inference does not know
    the contrib op)."""
    for out, shape in zip(model.graph.output, shapes):
        out.type.tensor_type.shape.Clear()
        for d in shape:
            out.type.tensor_type.shape.dim.add().dim_value = d
    return list(run_reference(import_onnx_model(model), feeds))


@pytest.mark.parametrize(
    ("per_column", "mask", "unidirectional"),
    [(False, None, 0), (True, "lengths", 0), (False, "raw", 1), (True, None, 1)],
)
def test_qattention_matches_onnxruntime(per_column, mask, unidirectional) -> None:
    """QAttention as quantize_dynamic writes it after ORT's BERT optimizer fused the
    attention: DynamicQuantizeLinear of the input, then the int8 packed-QKV attention."""
    rng = np.random.default_rng(8)
    batch, seq, hidden, heads = 2, 5, 16, 4
    x = rng.standard_normal((batch, seq, hidden)).astype(np.float32)
    w = rng.integers(-127, 128, (hidden, 3 * hidden)).astype(np.int8)
    w_scale = rng.uniform(0.002, 0.01, 3 * hidden if per_column else ()).astype(np.float32)
    inits = {"w": w, "b": rng.standard_normal(3 * hidden).astype(np.float32) * 0.1,
             "ws": w_scale, "wz": np.zeros(w_scale.shape, np.int8)}  # fmt: skip
    feeds = {"x": x}
    mask_name = ""
    if mask == "lengths":
        inits["lens"] = np.array([5, 3], np.int32)
        mask_name = "lens"
    elif mask == "raw":
        feeds["m"] = np.array([[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]], np.int32)
        mask_name = "m"
    nodes = [
        helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"]),
        helper.make_node(
            "QAttention",
            ["xq", "w", "b", "xs", "ws", mask_name, "xz", "wz"],
            ["y"],
            domain=MS,
            num_heads=heads,
            unidirectional=unidirectional,
        ),
    ]
    graph = helper.make_graph(
        nodes,
        "qattention",
        [
            helper.make_tensor_value_info(k, helper.np_dtype_to_tensor_dtype(v.dtype), v.shape)
            for k, v in feeds.items()
        ],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, (batch, seq, hidden))],
        [numpy_helper.from_array(v, k) for k, v in inits.items()],
    )
    imports = [helper.make_opsetid("", 17), helper.make_opsetid(MS, 1)]
    model = helper.make_model(graph, opset_imports=imports)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (want,) = session.run(None, feeds)
    (got,) = run_reference(import_onnx_model(model), feeds)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
