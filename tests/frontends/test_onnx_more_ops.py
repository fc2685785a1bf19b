"""GatherND, ReverseSequence, Compress, CumProd, NonZero/Unique and the inverse trigonometric
ops through the importer, against onnxruntime: attributes and forms the backend cases miss
(batch_dims with negative indices, batch-major sequences, runtime sequence lengths, edge
values of the trig domains), the npu level, and what is refused."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper

import ge
from ge.frontends.onnx import NonConstantInputError, import_onnx_model
from gedialects.errors import UnsupportedError
from gedialects.interpreter import run_reference

FLOAT, INT64 = TensorProto.FLOAT, TensorProto.INT64


def vi(name: str, shape, dtype=FLOAT) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, dtype, shape)


def model(node, inputs, outputs, opset=22, inits=()) -> onnx.ModelProto:
    graph = helper.make_graph([node], "g", inputs, outputs, initializer=list(inits))
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 10
    return m


def compare(m: onnx.ModelProto, feeds: dict, npu: bool = False, rtol=1e-6, atol=1e-7) -> None:
    want = ort.InferenceSession(m.SerializeToString()).run(None, feeds)
    module = import_onnx_model(m)
    runs = [run_reference(module, feeds)]
    if npu:
        runs.append(ge.compile(module, level="npu", cache=False).run(**feeds))
    for got in runs:
        for g, w in zip(got, want, strict=True):
            assert g.dtype == w.dtype and g.shape == w.shape
            np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)


@settings(deadline=None)
@given(
    batch=st.sampled_from([(), (2,), (2, 3)]),
    indexed=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    rest=st.lists(st.integers(1, 3), max_size=2),
    picks=st.lists(st.integers(1, 3), min_size=1, max_size=2),
    k=st.integers(1, 3),
    seed=st.integers(0, 1000),
)
def test_gather_nd_matches_onnxruntime(batch, indexed, rest, picks, k, seed):
    k = min(k, len(indexed))
    rng = np.random.default_rng(seed)
    data_shape = [*batch, *indexed, *rest]
    index_shape = [*batch, *picks, k]
    data = rng.standard_normal(data_shape).astype(np.float32)
    dims = np.array(indexed[:k])
    index = rng.integers(-dims, dims, size=index_shape).astype(np.int64)  # negative ones too
    node = helper.make_node("GatherND", ["d", "i"], ["y"], batch_dims=len(batch))
    m = model(node, [vi("d", data_shape), vi("i", index_shape, INT64)], [vi("y", None)], 13)
    compare(m, {"d": data, "i": index})


def test_gather_nd_at_the_npu_level():
    node = helper.make_node("GatherND", ["d", "i"], ["y"], batch_dims=1)
    m = model(node, [vi("d", [2, 5, 3]), vi("i", [2, 4, 1], INT64)], [vi("y", None)], 13)
    index = np.array([[[0], [4], [-1], [2]], [[1], [1], [3], [0]]], np.int64)
    compare(m, {"d": np.arange(30, dtype=np.float32).reshape(2, 5, 3), "i": index}, npu=True)


@pytest.mark.parametrize("time_axis", [0, 1])
def test_reverse_sequence_with_runtime_lengths(time_axis):
    shape = [4, 3, 2] if time_axis == 0 else [3, 4, 2]
    node = helper.make_node(
        "ReverseSequence", ["x", "lens"], ["y"], time_axis=time_axis, batch_axis=1 - time_axis
    )
    m = model(node, [vi("x", shape), vi("lens", [3], INT64)], [vi("y", None)], 13)
    x = np.arange(24, dtype=np.float32).reshape(shape)
    compare(m, {"x": x, "lens": np.array([1, 4, 3], np.int64)}, npu=time_axis == 0)


@pytest.mark.parametrize("axis", [None, 0, -1])
def test_compress_with_a_constant_condition(axis):
    cond = helper.make_tensor("c", TensorProto.BOOL, [3], [True, False, True])
    attrs = {} if axis is None else {"axis": axis}
    node = helper.make_node("Compress", ["x", "c"], ["y"], **attrs)
    m = model(node, [vi("x", [3, 3])], [vi("y", None)], 11, [cond])
    compare(m, {"x": np.arange(9, dtype=np.float32).reshape(3, 3)})


def test_compress_with_a_runtime_condition_is_refused_naming_it():
    node = helper.make_node("Compress", ["x", "c"], ["y"], axis=0)
    m = model(node, [vi("x", [3, 2]), vi("c", [3], TensorProto.BOOL)], [vi("y", None)], 11)
    with pytest.raises(NonConstantInputError, match=r"\(Compress\): input 'c'"):
        import_onnx_model(m)


@pytest.mark.parametrize("exclusive", [0, 1])
@pytest.mark.parametrize("reverse", [0, 1])
def test_cum_prod(exclusive, reverse):
    axis = helper.make_tensor("axis", INT64, [], [1])
    node = helper.make_node("CumProd", ["x", "axis"], ["y"], exclusive=exclusive, reverse=reverse)
    m = model(node, [vi("x", [2, 5])], [vi("y", None)], 26, [axis])
    x = np.random.default_rng(0).uniform(0.5, 2.0, (2, 5)).astype(np.float32)
    want = np.cumprod(x[:, ::-1] if reverse else x, axis=1)
    if exclusive:
        want = np.concatenate([np.ones((2, 1), np.float32), want[:, :-1]], axis=1)
    want = want[:, ::-1] if reverse else want
    np.testing.assert_allclose(run_reference(import_onnx_model(m), {"x": x})[0], want, rtol=1e-6)


def test_non_zero_and_unique_fold_on_constants_and_are_refused_on_runtime_inputs():
    """Their output shapes depend on the values: no converter, folded on constants."""
    c = helper.make_tensor("c", FLOAT, [5], [0, 2, 0, 3, 2])
    for op, dtype in (("NonZero", INT64), ("Unique", FLOAT)):
        m = model(helper.make_node(op, ["c"], ["y"]), [], [vi("y", None, dtype)], 13, [c])
        compare(m, {})
        shape = [1, "n"] if op == "NonZero" else ["n"]
        outputs = [vi("y", shape, dtype)]
        node = helper.make_node(op, ["x"], ["y"], name="values")
        runtime = model(node, [vi("x", [5])], outputs, 13)
        with pytest.raises(UnsupportedError, match=rf"op type '{op}' of node 'values' is not"):
            import_onnx_model(runtime)


EDGES = [-1.0, 1.0, 0.0, -0.0, 1e-6, -1e-6, 0.999999, -0.999999, 1e3, -1e30, 1e30, np.inf]
EDGES += [-np.inf, np.nan, 1.0000001, 2.0]


@pytest.mark.parametrize("op", ["Atan", "Asin", "Acos", "Asinh", "Acosh", "Atanh"])
@pytest.mark.parametrize("dtype", [FLOAT, TensorProto.DOUBLE])
def test_inverse_trig_over_its_domain_and_edges(op, dtype):
    """Against onnxruntime in float32; numpy in float64 (onnxruntime has no double kernels)."""
    x = np.concatenate([np.linspace(-4, 4, 801), EDGES])
    x = x.astype(np.float32 if dtype == FLOAT else np.float64)
    m = model(
        helper.make_node(op, ["x"], ["y"]), [vi("x", [x.size], dtype)], [vi("y", None, dtype)]
    )
    if dtype == FLOAT:
        want = ort.InferenceSession(m.SerializeToString()).run(None, {"x": x})[0]
    else:
        with np.errstate(all="ignore"):
            want = getattr(np, "arc" + op[1:].lower())(x)
    got = run_reference(import_onnx_model(m), {"x": x})[0]
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7, equal_nan=True)


def test_atan_and_asinh_at_the_npu_level():
    x = np.linspace(-6, 6, 300, dtype=np.float32).reshape(20, 15)
    for op in ("Atan", "Asinh"):
        m = model(helper.make_node(op, ["x"], ["y"]), [vi("x", [20, 15])], [vi("y", None)])
        compare(m, {"x": x}, npu=True, rtol=1e-5)


INTEGERS = [np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64, np.uint64]


@pytest.mark.parametrize("dtype", INTEGERS)
def test_bitwise_ops_over_the_full_range(dtype):
    """Every bit, the sign bit and 64-bit values above 2^53 included, against numpy."""
    info = np.iinfo(dtype)
    rng = np.random.default_rng(7)
    a = rng.integers(info.min, info.max, size=(3, 7), dtype=dtype, endpoint=True)
    b = rng.integers(info.min, info.max, size=(7,), dtype=dtype, endpoint=True)
    a[0, :2], b[:2] = [info.min, info.max], [info.max, info.min]
    t = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    for op, fn in [("BitwiseAnd", np.bitwise_and), ("BitwiseOr", np.bitwise_or)] + [
        ("BitwiseXor", np.bitwise_xor)
    ]:
        node = helper.make_node(op, ["a", "b"], ["y"])
        m = model(node, [vi("a", [3, 7], t), vi("b", [7], t)], [vi("y", [3, 7], t)], 18)
        got = run_reference(import_onnx_model(m), {"a": a, "b": b})[0]
        np.testing.assert_array_equal(got, fn(a, b))
    m = model(
        helper.make_node("BitwiseNot", ["a"], ["y"]), [vi("a", [3, 7], t)], [vi("y", [3, 7], t)], 18
    )
    np.testing.assert_array_equal(run_reference(import_onnx_model(m), {"a": a})[0], ~a)


@pytest.mark.parametrize("direction", ["LEFT", "RIGHT"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.uint32, np.int32, np.int64])
def test_bit_shift_with_out_of_range_shifts(direction, dtype):
    """Arithmetic right shifts of negative values, wrapping left shifts and the sign fill of
    negative or too-large shifts (opset 28's rule), against ONNX's reference."""
    from onnx.reference import ReferenceEvaluator

    width = 8 * np.dtype(dtype).itemsize
    info = np.iinfo(dtype)
    x = np.array([info.min, -5 if info.min else 5, 0, 1, 77, info.max, 3, 100], dtype)
    s = np.array([1, 2, 0, width - 1, width, width + 3, -1 if info.min else 2, 3], dtype)
    t = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    node = helper.make_node("BitShift", ["x", "s"], ["y"], direction=direction)
    m = model(node, [vi("x", [8], t), vi("s", [8], t)], [vi("y", [8], t)], 28)
    want = ReferenceEvaluator(m).run(None, {"x": x, "s": s})[0]
    np.testing.assert_array_equal(run_reference(import_onnx_model(m), {"x": x, "s": s})[0], want)


@pytest.mark.parametrize(
    ("p", "attrs"),
    [
        (1, {"kernel_shape": [3, 3]}),
        (2, {"kernel_shape": [3, 2], "strides": [2, 1], "pads": [1, 0, 1, 1]}),
        (3, {"kernel_shape": [2, 2], "auto_pad": "SAME_UPPER"}),
    ],
)
def test_lp_pool(p, attrs):
    node = helper.make_node("LpPool", ["x"], ["y"], p=p, **attrs)
    m = model(node, [vi("x", [1, 2, 7, 6])], [vi("y", None)], 18)
    compare(
        m,
        {"x": np.random.default_rng(p).standard_normal((1, 2, 7, 6)).astype(np.float32)},
        npu=p == 2,
        rtol=1e-5,
        atol=1e-6,
    )


def test_lp_pool_ceil_mode_equals_onnxruntime():
    """Ceil mode is rewritten in floor mode with onnxruntime's window count (ceil_pools.py)."""
    node = helper.make_node("LpPool", ["x"], ["y"], kernel_shape=[2, 2], ceil_mode=1)
    m = model(node, [vi("x", [1, 1, 5, 5])], [vi("y", [1, 1, 3, 3])], 18)
    x = np.random.default_rng(5).standard_normal((1, 1, 5, 5)).astype(np.float32)
    (expected,) = ort.InferenceSession(m.SerializeToString()).run(None, {"x": x})
    (got,) = run_reference(import_onnx_model(m), [x])
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("output_shape", [None, [2, 3, 8, 6]])
def test_max_unpool_of_max_pool_indices(output_shape):
    """The indices come from onnxruntime's MaxPool (ge refuses that output)."""
    x = np.random.default_rng(3).standard_normal((2, 3, 8, 6)).astype(np.float32)
    pool = model(
        helper.make_node("MaxPool", ["x"], ["p", "i"], kernel_shape=[2, 2], strides=[2, 2]),
        [vi("x", [2, 3, 8, 6])],
        [vi("p", [2, 3, 4, 3]), vi("i", [2, 3, 4, 3], INT64)],
        13,
    )
    pooled, index = ort.InferenceSession(pool.SerializeToString()).run(None, {"x": x})
    inits = []
    names = ["p", "i"]
    if output_shape:
        inits = [helper.make_tensor("shape", INT64, [4], output_shape)]
        names.append("shape")
    node = helper.make_node("MaxUnpool", names, ["y"], kernel_shape=[2, 2], strides=[2, 2])
    inputs = [vi("p", [2, 3, 4, 3]), vi("i", [2, 3, 4, 3], INT64)]
    m = model(node, inputs, [vi("y", output_shape or [2, 3, 8, 6])], 11, inits)
    compare(m, {"p": pooled, "i": index}, npu=output_shape is None)


def test_max_unpool_beyond_the_windows_is_refused():
    shape = helper.make_tensor("shape", INT64, [4], [1, 1, 5, 5])
    node = helper.make_node(
        "MaxUnpool", ["p", "i", "shape"], ["y"], kernel_shape=[2, 2], strides=[2, 2]
    )
    inputs = [vi("p", [1, 1, 2, 2]), vi("i", [1, 1, 2, 2], INT64)]
    m = model(node, inputs, [vi("y", [1, 1, 5, 5])], 11, [shape])
    with pytest.raises(UnsupportedError, match=r"\(MaxUnpool\): an output_shape \[5, 5\] beyond"):
        import_onnx_model(m)


def test_max_unpool_of_overlapping_windows_is_refused():
    node = helper.make_node("MaxUnpool", ["p", "i"], ["y"], kernel_shape=[3, 3], strides=[2, 2])
    inputs = [vi("p", [1, 1, 2, 2]), vi("i", [1, 1, 2, 2], INT64)]
    m = model(node, inputs, [vi("y", [1, 1, 5, 5])], 11)
    with pytest.raises(UnsupportedError, match=r"\(MaxUnpool\): only non-overlapping windows"):
        import_onnx_model(m)


@pytest.mark.parametrize(
    ("channels", "inverse", "onesided", "length", "axis"),
    [
        (1, 0, 0, None, 1),
        (1, 0, 1, 12, 2),  # zero-padded rfft along the other axis
        (2, 0, 0, 6, 1),  # truncated complex DFT
        (2, 1, 0, None, -2),
        (2, 1, 1, 13, 1),  # irfft to an odd length (7 = 13 // 2 + 1 bins)
        (2, 1, 1, None, 1),
    ],
)
def test_dft_matches_onnxruntime(channels, inverse, onesided, length, axis):
    shape = [2, 7, 5, channels]
    x = np.random.default_rng(channels + length if length else 0).standard_normal(shape)
    inits = [helper.make_tensor("axis", INT64, [], [axis])]
    names = ["x", "", "axis"]
    if length:
        inits.append(helper.make_tensor("n", INT64, [], [length]))
        names[1] = "n"
    node = helper.make_node("DFT", names, ["y"], inverse=inverse, onesided=onesided)
    m = model(node, [vi("x", shape)], [vi("y", None)], 20, inits)
    compare(m, {"x": x.astype(np.float32)}, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("shape", [[2, 64, 1], [2, 64]])  # (batch, length): torch's export
def test_stft_with_a_window_at_the_npu_level(shape):
    node = helper.make_node("STFT", ["s", "step", "w"], ["y"])
    inits = [helper.make_tensor("step", INT64, [], [4])]
    m = model(node, [vi("s", shape), vi("w", [16])], [vi("y", None)], 17, inits)
    signal = np.random.default_rng(5).standard_normal(shape).astype(np.float32)
    window = np.hanning(16).astype(np.float32)
    compare(m, {"s": signal, "w": window}, npu=True, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    ("image", "block", "attrs"),
    [
        ([5, 6], [2, 3], {}),
        ([7, 8], [3, 3], {"strides": [2, 3], "pads": [1, 0, 1, 2]}),  # rows no block reaches
        ([9, 6], [2, 2], {"dilations": [3, 2], "strides": [1, 2]}),
    ],
)
def test_col2im_matches_onnxruntime(image, block, attrs):
    strides, dil = attrs.get("strides", [1, 1]), attrs.get("dilations", [1, 1])
    pads = attrs.get("pads", [0, 0, 0, 0])
    counts = [
        (image[i] + pads[i] + pads[i + 2] - dil[i] * (block[i] - 1) - 1) // strides[i] + 1
        for i in range(2)
    ]
    shape = [2, 3 * block[0] * block[1], counts[0] * counts[1]]
    inits = [
        helper.make_tensor("image", INT64, [2], image),
        helper.make_tensor("block", INT64, [2], block),
    ]
    node = helper.make_node("Col2Im", ["x", "image", "block"], ["y"], **attrs)
    m = model(node, [vi("x", shape)], [vi("y", [2, 3, *image])], 18, inits)
    x = np.random.default_rng(len(attrs)).standard_normal(shape).astype(np.float32)
    compare(m, {"x": x}, npu=not attrs, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("opset", "keepdims"), [(11, 0), (13, 1), (18, 0)])
def test_reduce_log_sum_exp_of_large_and_infinite_rows(opset, keepdims):
    """exp(100) overflows f32: the max is subtracted first, as onnxruntime does; a row of -inf
    gives -inf and a row holding +inf gives +inf (not NaN), at both levels."""
    x = np.array(
        [
            [100.0, 90.0, 0.0],
            [-np.inf, -np.inf, -np.inf],
            [1.0, np.inf, 2.0],
            [-200.0, -210.0, -250.0],
        ],
        np.float32,
    )
    axes = {"axes": [1]} if opset < 18 else {}
    inputs, inits = ["x"], []
    if opset >= 18:
        inputs.append("axes")
        inits.append(helper.make_tensor("axes", INT64, [1], [1]))
    node = helper.make_node("ReduceLogSumExp", inputs, ["y"], keepdims=keepdims, **axes)
    out = [4, 1] if keepdims else [4]
    compare(
        model(node, [vi("x", [4, 3])], [vi("y", out)], opset, inits), {"x": x}, npu=True, rtol=1e-6
    )


@pytest.mark.parametrize("opset", [11, 17])
def test_top_k_smallest_of_int64_at_the_npu_level(opset):
    """Ascending TopK fills taken elements with INT64_MAX, which went through an f64 vector
    fill and came back as INT64_MIN: every value after the first was INT64_MIN."""
    node = helper.make_node("TopK", ["x", "k"], ["v", "i"], axis=-1, largest=0)
    k = helper.make_tensor("k", INT64, [1], [3])
    m = model(
        node, [vi("x", [2, 5], INT64)], [vi("v", [2, 3], INT64), vi("i", [2, 3], INT64)], opset, [k]
    )
    compare(m, {"x": np.array([[5, -3, 9, 9, 0], [1, 2, 3, 4, 5]], np.int64)}, npu=True)


@pytest.mark.parametrize("dtype", [np.int64, np.uint64])
@pytest.mark.parametrize("pick", ["max", "min", "2^53 + 1"])
def test_integer_scalars_beyond_f64_at_the_npu_level(dtype, pick):
    """A scalar constant in an elementwise body is a vector fill: one an f64 cannot hold
    (the type's extremes, 2^53 + 1) fills exactly (numpy is the oracle: onnxruntime has no
    uint64 Where)."""
    info = np.iinfo(dtype)
    value = np.array({"max": info.max, "min": info.min, "2^53 + 1": 2**53 + 1}[pick], dtype)
    elem = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    node = helper.make_node("Where", ["c", "pick", "x"], ["y"])
    inputs = [vi("c", [3, 4], TensorProto.BOOL), vi("x", [3, 4], elem)]
    m = model(
        node, inputs, [vi("y", [3, 4], elem)], 17, [onnx.numpy_helper.from_array(value, "pick")]
    )
    rng = np.random.default_rng(0)
    c, x = rng.random((3, 4)) < 0.5, rng.integers(0, 100, (3, 4)).astype(dtype)
    (got,) = ge.compile(import_onnx_model(m), level="npu", cache=False).run(c=c, x=x)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, np.where(c, value, x))
