"""ONNX models with bfloat16, float8 and 4-bit tensors, against onnxruntime and ONNX's reference.

onnxruntime's CPU kernels cover Cast to and from bf16 and float8, QuantizeLinear /
DequantizeLinear of float8, and blocked int4/uint4 DequantizeLinear (opset 21); it is the
oracle there, run with graph optimizations off: its optimizer turns DequantizeLinear(int4
weights) -> MatMul into a MatMulNBits whose default accuracy level quantizes the activations
(0.05 off on the model below). bf16 arithmetic has no onnxruntime CPU kernel; ONNX's
reference computes it op by op. Each model runs at the reference and npu levels: the npu
computes the widened ops (`emulate-narrow-types`), the casts to and from narrow types run by
reference (the modeled units have no such types), except bf16's on a target whose vector unit
converts bf16 (the 910B).
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto as T
from onnx import helper, numpy_helper
from onnx.reference import ReferenceEvaluator

import ge
from gedialects.errors import GeError

LEVELS = ("reference", "npu")


def _model(nodes, inputs, outputs, initializers=(), opset=21) -> onnx.ModelProto:  # noqa: ANN001
    graph = helper.make_graph(nodes, "narrow", inputs, outputs, list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _ort(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(model.SerializeToString(), options, ["CPUExecutionProvider"])
    return session.run(None, feeds)


def _ge(model: onnx.ModelProto, feeds: dict[str, np.ndarray], level: str) -> list[np.ndarray]:
    got = ge.compile(model, level=level)(**feeds)
    return list(got) if isinstance(got, list | tuple) else [got]


def int4_matmul(k: int, n: int, m: int, block: int, signed: bool, seed: int = 0):  # noqa: ANN201
    """x @ DequantizeLinear(q, scale, zero_point; axis 0, block_size) on 4-bit weights: the
    weight-only QDQ form onnxruntime's int4 quantizer writes for LLM MatMuls."""
    rng = np.random.default_rng(seed)
    dtype, low, high = (ml_dtypes.int4, -8, 7) if signed else (ml_dtypes.uint4, 0, 15)
    blocks = -(-k // block)
    q = rng.integers(low, high + 1, (k, n)).astype(dtype)
    scale = (rng.random((blocks, n)) * 0.1 + 0.01).astype(np.float32)
    zero = rng.integers(low, high + 1, (blocks, n)).astype(dtype)
    model = _model(
        [
            helper.make_node("DequantizeLinear", ["q", "s", "z"], ["w"], axis=0, block_size=block),
            helper.make_node("MatMul", ["x", "w"], ["y"]),
        ],
        [helper.make_tensor_value_info("x", T.FLOAT, [m, k])],
        [helper.make_tensor_value_info("y", T.FLOAT, [m, n])],
        [numpy_helper.from_array(a, name) for a, name in ((q, "q"), (scale, "s"), (zero, "z"))],
    )
    return model, {"x": rng.standard_normal((m, k)).astype(np.float32)}


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("signed", [True, False])
def test_int4_weight_only_matmul_equals_onnxruntime(level, signed):
    model, feeds = int4_matmul(64, 48, 8, 16, signed)
    (want,) = _ort(model, feeds)
    (got,) = _ge(model, feeds, level)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


@settings(max_examples=25, deadline=None)
@given(
    st.integers(1, 40),
    st.integers(1, 24),
    st.integers(1, 5),
    st.sampled_from([2, 4, 16, 32]),
    st.booleans(),
    st.integers(0, 2**16),
)
def test_random_int4_blocks_equal_onnxruntime(k, n, m, block, signed, seed):
    """Block sizes that do not divide K (the last block is cut), any signedness."""
    model, feeds = int4_matmul(k, n, m, block, signed, seed)
    (want,) = _ort(model, feeds)
    (got,) = _ge(model, feeds, "reference")
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("to", [T.FLOAT8E4M3FN, T.FLOAT8E5M2, T.FLOAT8E4M3FNUZ, T.FLOAT8E5M2FNUZ])
def test_float8_qdq_equals_onnxruntime(level, to):
    """Values far beyond the float8 range saturate to its largest magnitude (the default)."""
    rng = np.random.default_rng(1)
    model = _model(
        [
            helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"]),
            helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"]),
        ],
        [helper.make_tensor_value_info("x", T.FLOAT, [6, 7])],
        [helper.make_tensor_value_info("y", T.FLOAT, [6, 7])],
        [
            numpy_helper.from_array(np.array(0.05, np.float32), "s"),
            helper.make_tensor("z", to, [], [0.0]),
        ],
    )
    x = (rng.standard_normal((6, 7)) * 40).astype(np.float32)
    x[0, :3] = [1e6, -1e6, 0.0]
    (want,) = _ort(model, {"x": x})
    (got,) = _ge(model, {"x": x}, level)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("saturate", [1, 0])
@pytest.mark.parametrize("to", [T.BFLOAT16, T.FLOAT8E4M3FN, T.FLOAT8E5M2])
def test_cast_round_trips_equal_onnxruntime(level, saturate, to):
    """f32 -> narrow -> f32: round to nearest even; without saturation, overflow is inf/NaN."""
    rng = np.random.default_rng(2)
    attrs = {"saturate": saturate} if to != T.BFLOAT16 else {}
    model = _model(
        [
            helper.make_node("Cast", ["x"], ["n"], to=to, **attrs),
            helper.make_node("Cast", ["n"], ["y"], to=T.FLOAT),
        ],
        [helper.make_tensor_value_info("x", T.FLOAT, [5, 8])],
        [helper.make_tensor_value_info("y", T.FLOAT, [5, 8])],
    )
    x = (rng.standard_normal((5, 8)) * 100).astype(np.float32)
    x[0, :4] = [1e5, -1e5, np.inf, np.nan]
    (want,) = _ort(model, {"x": x})
    (got,) = _ge(model, {"x": x}, level)
    np.testing.assert_array_equal(got, want)


def bf16_block() -> tuple[onnx.ModelProto, dict[str, np.ndarray]]:
    """A bf16 MLP block with bf16 input and output: MatMul, Add, Relu, Softmax."""
    rng = np.random.default_rng(3)
    w = rng.standard_normal((16, 8)).astype(np.float32).astype(ml_dtypes.bfloat16)
    b = rng.standard_normal(8).astype(np.float32).astype(ml_dtypes.bfloat16)
    model = _model(
        [
            helper.make_node("MatMul", ["x", "w"], ["h"]),
            helper.make_node("Add", ["h", "b"], ["a"]),
            helper.make_node("Relu", ["a"], ["r"]),
            helper.make_node("Softmax", ["r"], ["y"], axis=-1),
        ],
        [helper.make_tensor_value_info("x", T.BFLOAT16, [4, 16])],
        [helper.make_tensor_value_info("y", T.BFLOAT16, [4, 8])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")],
    )
    x = (rng.standard_normal((4, 16)) * 0.5).astype(np.float32).astype(ml_dtypes.bfloat16)
    return model, {"x": x}


@pytest.mark.parametrize("level", LEVELS)
def test_bf16_block_equals_the_reference_within_bf16_rounding(level):
    """ONNX's reference rounds every numpy step to bf16, ge once per chain: within a few
    bf16 ulps (2^-8 relative) of each other."""
    model, feeds = bf16_block()
    want = ReferenceEvaluator(model).run(None, feeds)[0]
    (got,) = _ge(model, feeds, level)
    assert got.dtype == ml_dtypes.bfloat16 and got.shape == want.shape
    np.testing.assert_allclose(
        got.astype(np.float32), want.astype(np.float32), rtol=3 * 2**-8, atol=2**-10
    )


def test_int4_quantize_output_equals_the_reference():
    """QuantizeLinear to int4 (a graph output of a 4-bit type): round half to even, clip."""
    x = np.linspace(-3, 3, 24, dtype=np.float32).reshape(4, 6)
    model = _model(
        [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"])],
        [helper.make_tensor_value_info("x", T.FLOAT, [4, 6])],
        [helper.make_tensor_value_info("q", T.INT4, [4, 6])],
        [
            numpy_helper.from_array(np.array(0.25, np.float32), "s"),
            helper.make_tensor("z", T.INT4, [], [1]),
        ],
    )
    want = ReferenceEvaluator(model).run(None, {"x": x})[0]
    for level in LEVELS:
        (got,) = _ge(model, {"x": x}, level)
        assert got.dtype == ml_dtypes.int4
        np.testing.assert_array_equal(got.astype(np.int8), want.astype(np.int8))


def test_ge_run_reads_and_writes_bf16_npz(tmp_path):
    """.npz keeps bf16 as raw 2-byte records; ge-run views them as the model's bf16 input."""
    from ge.cli.run import main

    model, feeds = bf16_block()
    onnx.save(model, tmp_path / "m.onnx")
    np.savez(tmp_path / "in.npz", x=feeds["x"])
    assert main([str(tmp_path / "m.onnx"), "--inputs", str(tmp_path / "in.npz"),
                 "--output", str(tmp_path / "out.npz")]) == 0  # fmt: skip
    with np.load(tmp_path / "out.npz") as out:
        y = out["y"].view(ml_dtypes.bfloat16)
    (want,) = _ge(model, feeds, "npu")
    np.testing.assert_array_equal(y.astype(np.float32), want.astype(np.float32))


@pytest.mark.parametrize("round_mode", ["up", "down", "nearest"])
@pytest.mark.parametrize("saturate", [1, 0])
def test_e8m0_scales_equal_the_reference(round_mode, saturate):
    """Cast to float8 e8m0 (MX formats' power-of-two scales, opset 24): the exponent rounded
    by `round_mode`, and back to f32."""
    x = np.array([1.0, 1.5, 3.0, 0.7, 1e-30, 3e38, -2.5, np.inf, np.nan, 0.0], np.float32)
    model = _model(
        [
            helper.make_node("Cast", ["x"], ["e"], to=T.FLOAT8E8M0, round_mode=round_mode,
                             saturate=saturate),
            helper.make_node("Cast", ["e"], ["y"], to=T.FLOAT),
        ],
        [helper.make_tensor_value_info("x", T.FLOAT, [10])],
        [helper.make_tensor_value_info("y", T.FLOAT, [10])],
        opset=24,
    )  # fmt: skip
    want = ReferenceEvaluator(model).run(None, {"x": x})[0]
    for level in LEVELS:
        (got,) = _ge(model, {"x": x}, level)
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("to", [T.FLOAT4E2M1, T.FLOAT6E2M3, T.FLOAT6E3M2])
def test_float4_and_float6_qdq_equal_the_reference(to):
    """MX element types: x / scale rounded to nearest even, the largest magnitude kept."""
    x = np.linspace(-40, 40, 33, dtype=np.float32)
    model = _model(
        [
            helper.make_node("QuantizeLinear", ["x", "s"], ["q"], output_dtype=to),
            helper.make_node("DequantizeLinear", ["q", "s"], ["y"]),
        ],
        [helper.make_tensor_value_info("x", T.FLOAT, [33])],
        [helper.make_tensor_value_info("y", T.FLOAT, [33])],
        [numpy_helper.from_array(np.array(0.5, np.float32), "s")],
        opset=25,
    )
    want = ReferenceEvaluator(model).run(None, {"x": x})[0]
    for level in LEVELS:
        (got,) = _ge(model, {"x": x}, level)
        np.testing.assert_array_equal(got, want)


def test_string_tensors_are_refused_naming_the_type():
    model = _model(
        [helper.make_node("Identity", ["x"], ["y"])],
        [helper.make_tensor_value_info("x", T.STRING, [2])],
        [helper.make_tensor_value_info("y", T.STRING, [2])],
    )
    with pytest.raises(GeError, match="STRING, which ge does not support"):
        ge.compile(model)


def _bf16_casts(rows: int, cols: int) -> onnx.ModelProto:
    """f32 -> bf16 (an output), its round trip back to f32, and a bf16 input widened."""
    return _model(
        [
            helper.make_node("Cast", ["x"], ["xb"], to=T.BFLOAT16),
            helper.make_node("Cast", ["xb"], ["back"], to=T.FLOAT),
            helper.make_node("Cast", ["b"], ["wide"], to=T.FLOAT),
        ],
        [
            helper.make_tensor_value_info("x", T.FLOAT, [rows, cols]),
            helper.make_tensor_value_info("b", T.BFLOAT16, [rows, cols]),
        ],
        [
            helper.make_tensor_value_info("xb", T.BFLOAT16, [rows, cols]),
            helper.make_tensor_value_info("back", T.FLOAT, [rows, cols]),
            helper.make_tensor_value_info("wide", T.FLOAT, [rows, cols]),
        ],
    )


@settings(max_examples=30)
@given(st.integers(1, 300), st.integers(1, 70), st.integers(0, 2**16))
def test_bf16_casts_run_on_a_910b_equal_to_onnxruntime(rows, cols, seed):
    """The 910B's vector unit converts bf16 (`vector.bf16` in its target file): the casts run
    on the npu, rounding to nearest even as onnxruntime and ONNX's reference do, over
    magnitudes from 1e-38 to 3e38 with infinities and NaN; shapes that do not divide the
    vector tiles. (onnxruntime's Python API takes no bf16 arrays: it checks the f32 round
    trip, ONNX's reference every output.)"""
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((rows, cols)) * 10.0 ** rng.uniform(-38, 38, (rows, cols)))
    x = x.astype(np.float32)
    x.flat[rng.integers(0, x.size, 3)] = [np.inf, -np.inf, np.nan]
    b = rng.standard_normal((rows, cols)).astype(np.float32).astype(ml_dtypes.bfloat16)
    model = _bf16_casts(rows, cols)
    want = ReferenceEvaluator(model).run(None, {"x": x, "b": b})
    compiled = ge.compile(model, level="npu", target="ascend910b1", cache=False)
    got = compiled(x=x, b=b)
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype
        np.testing.assert_array_equal(g.astype(np.float32), w.astype(np.float32))
    assert compiled.last_profile["fallbacks"] == []
    trip = _model(model.graph.node[:2], [model.graph.input[0]], [model.graph.output[1]])
    np.testing.assert_array_equal(got[1], _ort(trip, {"x": x})[0])


def test_bf16_casts_run_by_reference_on_a_910a_naming_the_target():
    model = _bf16_casts(4, 6)
    compiled = ge.compile(model, level="npu", cache=False)  # ascend910a: no bf16 units
    x = np.linspace(-3, 3, 24, dtype=np.float32).reshape(4, 6)
    compiled(x=x, b=x.astype(ml_dtypes.bfloat16))
    reasons = [k["fallback_reason"] for k in compiled.last_profile["kernels"]]
    assert reasons and all("converts bf16" in r and "'ascend910a'" in r for r in reasons)
