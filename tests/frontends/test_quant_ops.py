"""Quantized ONNX ops against onnxruntime, bit for bit: QLinearConv, QLinearMatMul,
ConvInteger, MatMulInteger and DynamicQuantizeLinear, one-node models with weights, scales and
zero points as initializers (as ORT's quantizer writes them), over random shapes, attributes,
int8/uint8 and per-tensor/per-channel quantization."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import helper, numpy_helper

import ge
from ge.frontends.onnx.importer import import_onnx_model
from gedialects.errors import GeError
from gedialects.interpreter import run_reference

U8, I8 = np.dtype(np.uint8), np.dtype(np.int8)


def one_node(op: str, inputs: dict, consts: dict, out_type: int, **attrs) -> onnx.ModelProto:
    """A model of one `op` node: `inputs` are graph inputs, `consts` initializers ('' skips)."""
    names = [*inputs, *consts]
    node = helper.make_node(op, [n if not n.startswith("_") else "" for n in names], ["y"], **attrs)
    graph = helper.make_graph(
        [node],
        "g",
        [
            helper.make_tensor_value_info(k, helper.np_dtype_to_tensor_dtype(v.dtype), v.shape)
            for k, v in inputs.items()
        ],
        [helper.make_tensor_value_info("y", out_type, None)],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in consts.items() if v is not None],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])


def both(model: onnx.ModelProto, feeds: dict) -> tuple[list, list]:
    """(onnxruntime's outputs, ge's reference outputs)."""
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    want = session.run(None, feeds)
    got = run_reference(import_onnx_model(model), feeds)
    return want, list(got)


def assert_same(want: list, got: list) -> None:
    assert len(want) == len(got)
    for w, g in zip(want, got):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_array_equal(g, w)


def quantized(rng, dtype: np.dtype, shape) -> np.ndarray:
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max + 1, shape).astype(dtype)


def weights(rng, shape) -> np.ndarray:
    """int8 weights of 7 bits: ORT's u8s8 kernels on AVX2 without VNNI add pairs of products
    in int16 with saturation (pmaddubsw), which full 8-bit weights can overflow; ORT's
    quantizer offers `reduce_range` for that. Within 7 bits ORT's integers are exact."""
    return rng.integers(-64, 64, shape).astype(np.int8)


def scales(rng, count: int) -> np.ndarray:
    return rng.uniform(0.001, 0.05, count).astype(np.float32)


@st.composite
def conv_cases(draw):
    group = draw(st.sampled_from([1, 2]))
    cin, cout = group * draw(st.integers(1, 3)), group * draw(st.integers(1, 3))
    k = draw(st.sampled_from([1, 2, 3]))
    attrs = {"group": group, "strides": [draw(st.integers(1, 2))] * 2}
    attrs["dilations"] = [draw(st.integers(1, 2))] * 2
    pad = draw(st.sampled_from(["pads", "SAME_UPPER", "SAME_LOWER", "VALID"]))
    if pad == "pads":
        attrs["pads"] = draw(st.lists(st.integers(0, 2), min_size=4, max_size=4))
    else:
        attrs["auto_pad"] = pad
        if pad.startswith("SAME"):  # ORT refuses dilations with SAME padding
            attrs["dilations"] = [1, 1]
    size = draw(st.integers(k * 2, 9))
    return cin, cout, k, size, attrs, draw(st.booleans()), draw(st.integers(0, 2**31))


@given(conv_cases())
def test_qlinear_conv_matches_onnxruntime(case) -> None:
    cin, cout, k, size, attrs, per_channel, seed = case
    rng = np.random.default_rng(seed)
    xt = U8 if seed % 2 else I8
    x = quantized(rng, xt, (1, cin, size, size + 1))
    u8u8 = xt == U8 and seed % 3 == 0  # uint8 weights with a zero point (no saturation)
    wshape = (cout, cin // attrs["group"], k, k)
    w = quantized(rng, U8, wshape) if u8u8 else weights(rng, wshape)
    wn = cout if per_channel else 1
    wz = np.full(wn, rng.integers(0, 256), U8) if u8u8 else np.zeros(wn, I8)
    consts = {
        "xs": scales(rng, 1)[0], "xz": quantized(rng, xt, ()), "w": w,
        "ws": scales(rng, wn) if per_channel else scales(rng, 1)[0],
        "wz": wz if per_channel else wz[0],
        "ys": np.float32(rng.uniform(0.05, 0.5)), "yz": quantized(rng, xt, ()),
        "b": rng.integers(-5000, 5000, cout).astype(np.int32),
    }  # fmt: skip
    model = one_node("QLinearConv", {"x": x}, consts, helper.np_dtype_to_tensor_dtype(xt), **attrs)
    assert_same(*both(model, {"x": x}))


@st.composite
def matmul_cases(draw):
    batch = draw(st.sampled_from([(), (2,), (2, 1)]))
    m, k, n = (draw(st.integers(1, 9)) for _ in range(3))
    return batch, m, k, n, draw(st.booleans()), draw(st.integers(0, 2**31))


@given(matmul_cases())
def test_qlinear_matmul_matches_onnxruntime(case) -> None:
    batch, m, k, n, per_column, seed = case
    rng = np.random.default_rng(seed)
    at, bt = (U8, I8) if seed % 2 else (I8, I8)
    a = quantized(rng, at, (*batch, m, k))
    bn = n if per_column else 1
    consts = {
        "as": scales(rng, 1)[0], "az": quantized(rng, at, ()), "b": weights(rng, (k, n)),
        "bs": scales(rng, bn) if per_column else scales(rng, 1)[0],
        "bz": np.zeros(bn, bt) if per_column else np.int8(rng.integers(-3, 3)),
        "ys": np.float32(rng.uniform(0.01, 0.2)), "yz": quantized(rng, at, ()),
    }  # fmt: skip
    model = one_node("QLinearMatMul", {"a": a}, consts, helper.np_dtype_to_tensor_dtype(at))
    assert_same(*both(model, {"a": a}))


@given(conv_cases())
def test_conv_integer_matches_onnxruntime(case) -> None:
    cin, cout, k, size, attrs, _, seed = case
    rng = np.random.default_rng(seed)
    x = quantized(rng, U8, (2, cin, size, size))
    w = quantized(rng, U8, (cout, cin // attrs["group"], k, k))
    consts = {"w": w, "xz": np.uint8(rng.integers(0, 255)), "wz": np.uint8(rng.integers(0, 255))}
    model = one_node("ConvInteger", {"x": x}, consts, onnx.TensorProto.INT32, **attrs)
    assert_same(*both(model, {"x": x}))


@given(matmul_cases())
def test_matmul_integer_matches_onnxruntime(case) -> None:
    batch, m, k, n, per_column, seed = case
    rng = np.random.default_rng(seed)
    bt = U8 if seed % 2 else I8
    a = quantized(rng, U8, (*batch, m, k))
    bz = quantized(rng, bt, (n,)) if per_column else quantized(rng, bt, ())
    b = quantized(rng, bt, (k, n)) if bt == U8 else weights(rng, (k, n))
    consts = {"b": b, "az": np.uint8(rng.integers(0, 255)), "bz": bz}
    model = one_node("MatMulInteger", {"a": a}, consts, onnx.TensorProto.INT32)
    assert_same(*both(model, {"a": a}))


def test_integer_accumulation_is_exact_past_float32() -> None:
    """A sum of 4096 products of 255 * 255 (about 2^28) is exact: an f32 conv would round it."""
    rng = np.random.default_rng(3)
    x = np.full((1, 1024, 2, 2), 255, np.uint8)
    x[0, 0, 0, 0] = 254
    w = np.full((2, 1024, 2, 2), 255, np.uint8)
    consts = {"w": w, "xz": np.uint8(0), "wz": np.uint8(0)}
    want, got = both(one_node("ConvInteger", {"x": x}, consts, onnx.TensorProto.INT32), {"x": x})
    assert got[0][0, 0, 0, 0] == 255**2 * 4096 - 255
    assert_same(want, got)
    a = quantized(rng, U8, (3, 4096))
    consts = {"b": np.full((4096, 2), 255, np.uint8), "az": np.uint8(0), "bz": np.uint8(0)}
    assert_same(*both(one_node("MatMulInteger", {"a": a}, consts, 6), {"a": a}))


@pytest.mark.parametrize(
    "x",
    [
        np.linspace(-3.0, 7.0, 24, dtype=np.float32).reshape(2, 3, 4),
        np.linspace(0.5, 2.0, 10, dtype=np.float32),  # min adjusted to 0
        -np.linspace(0.5, 2.0, 10, dtype=np.float32),  # max adjusted to 0
        np.zeros((3, 3), np.float32),  # max == min: ORT's scale is 1
        np.random.default_rng(5).standard_normal((7, 5)).astype(np.float32) * 40,
    ],
)
def test_dynamic_quantize_linear_matches_onnxruntime(x) -> None:
    node = helper.make_node("DynamicQuantizeLinear", ["x"], ["y", "s", "z"])
    info = helper.make_tensor_value_info
    graph = helper.make_graph(
        [node],
        "g",
        [info("x", onnx.TensorProto.FLOAT, x.shape)],
        [info("y", 2, None), info("s", 1, None), info("z", 2, None)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    assert_same(*both(model, {"x": x}))


def test_unsupported_types_are_named() -> None:
    x = np.zeros((1, 1, 3, 3), np.int16)
    consts = {"w": np.zeros((1, 1, 1, 1), np.uint8)}
    model = one_node("ConvInteger", {"x": x}, consts, onnx.TensorProto.INT32)
    with pytest.raises(GeError, match=r"ConvInteger.*int16.*only int8 and uint8"):
        import_onnx_model(model)
    node = helper.make_node("DynamicQuantizeLinear", ["x"], ["y", "s", "z"])
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", onnx.TensorProto.DOUBLE, [2])],
        [helper.make_tensor_value_info(n, t, None) for n, t in (("y", 2), ("s", 1), ("z", 2))],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    with pytest.raises(GeError, match=r"DynamicQuantizeLinear.*float64"):
        import_onnx_model(model)


def _matmul_types(model: onnx.ModelProto) -> set[str]:
    module = import_onnx_model(model)
    return {str(op.operands[0].type.element_type) for op in module.walk() if op.name == "ge.matmul"}


def test_matmuls_accumulate_in_f32_only_when_no_partial_sum_reaches_2_to_24(tmp_path) -> None:
    """|sum_k a b| <= 255 * max_n sum_k |b| < 2^24 keeps every f32 partial sum an exact
    integer, so such GEMMs run on the cube at the npu level; others stay f64."""
    rng = np.random.default_rng(6)
    a = quantized(rng, U8, (3, 512))
    small = {"b": weights(rng, (512, 20)), "az": np.uint8(3), "bz": np.int8(0)}
    large = {"b": np.full((512, 2), 127, np.int8), "az": np.uint8(0), "bz": np.int8(-128)}
    for consts, kind in ((small, "f32"), (large, "f64")):  # 255 * 512 * 255 > 2^24
        model = one_node("MatMulInteger", {"a": a}, consts, onnx.TensorProto.INT32)
        assert _matmul_types(model) == {kind}
    model = one_node("MatMulInteger", {"a": a}, small, onnx.TensorProto.INT32)
    onnx.save(model, tmp_path / "m.onnx")
    compiled = ge.compile(str(tmp_path / "m.onnx"), level="npu", cache=False)
    (got,) = compiled.run(a=a)
    want, _ = both(model, {"a": a})
    np.testing.assert_array_equal(got, want[0])
    (matmul,) = [k for k in compiled.last_profile["kernels"] if k["op"] == "kernel.matmul"]
    assert not matmul.get("estimated")  # lowered to the cube, not run by reference


@settings(max_examples=12, deadline=None)
@given(conv_cases())
def test_qlinear_conv_on_the_npu_matches_onnxruntime(case) -> None:
    """At the npu level a QLinearConv is an f32 conv on the cube (im2col or direct: its
    sums stay exact integers below 2^24), requantized by the vector unit: still ORT's
    output bit for bit."""
    cin, cout, k, size, attrs, per_channel, seed = case
    rng = np.random.default_rng(seed)
    x = quantized(rng, U8, (1, cin, size, size + 1))
    wn = cout if per_channel else 1
    consts = {
        "xs": scales(rng, 1)[0], "xz": quantized(rng, U8, ()),
        "w": weights(rng, (cout, cin // attrs["group"], k, k)),
        "ws": scales(rng, wn) if per_channel else scales(rng, 1)[0],
        "wz": np.zeros(wn, I8) if per_channel else np.int8(0),
        "ys": np.float32(rng.uniform(0.05, 0.5)), "yz": quantized(rng, U8, ()),
        "b": rng.integers(-5000, 5000, cout).astype(np.int32),
    }  # fmt: skip
    model = one_node("QLinearConv", {"x": x}, consts, helper.np_dtype_to_tensor_dtype(U8), **attrs)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    compiled = ge.compile(model, level="npu", cache=False)
    np.testing.assert_array_equal(compiled.run(x)[0], session.run(None, {"x": x})[0])
    convs = [k for k in compiled.last_profile["kernels"] if k.get("algorithm")]
    assert convs and all(k["engine"] == "npu" for k in convs)
    assert {k["algorithm"] for k in convs} <= {"im2col", "direct"}
