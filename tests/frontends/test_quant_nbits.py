"""com.microsoft.MatMulNBits (block-quantized LLM weights) equals onnxruntime: weights packed
here by the contrib spec (values little-end first in each byte), for 2/4/8 bits, K a
multiple of the block or not, packed or float zero points or none, with and without bias."""

from __future__ import annotations

import numpy as np
import onnxruntime
import pytest
from onnx import TensorProto, helper, numpy_helper

import ge
from ge.frontends.onnx.convert_quant_nbits import unpack_bits
from gedialects.errors import UnsupportedError

MS = "com.microsoft"


def pack_bits(values: np.ndarray, bits: int) -> np.ndarray:
    """`values` (last axis a multiple of 8 // bits) packed into uint8, low bits first."""
    per_byte = 8 // bits
    grouped = values.astype(np.uint8).reshape(*values.shape[:-1], -1, per_byte)
    shifts = np.arange(per_byte, dtype=np.uint8) * bits
    return np.bitwise_or.reduce(grouped << shifts, axis=-1).astype(np.uint8)


def _model(k: int, n: int, bits: int, block: int, zero: str, bias: bool, seed: int = 0):
    rng = np.random.default_rng(seed)
    blocks = -(-k // block)
    q = rng.integers(0, 1 << bits, (n, blocks, block))
    inits = [
        numpy_helper.from_array(pack_bits(q, bits), "B"),
        numpy_helper.from_array(rng.uniform(0.01, 0.1, n * blocks).astype(np.float32), "scales"),
    ]
    names = ["a", "B", "scales"]
    if zero == "packed":
        zp = rng.integers(0, 1 << bits, (n, -(-blocks // (8 // bits)) * (8 // bits)))
        inits.append(numpy_helper.from_array(pack_bits(zp, bits).reshape(-1), "zp"))
        names.append("zp")
    elif zero == "float":
        zp = rng.uniform(0, (1 << bits) - 1, n * blocks).astype(np.float32)
        inits.append(numpy_helper.from_array(zp, "zp"))
        names.append("zp")
    if bias:
        names += [""] * (5 - len(names)) + ["bias"]
        inits.append(numpy_helper.from_array(rng.standard_normal(n).astype(np.float32), "bias"))
    node = helper.make_node(
        "MatMulNBits", names, ["y"], domain=MS, K=k, N=n, bits=bits, block_size=block
    )
    graph = helper.make_graph(
        [node],
        "nbits",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, [2, 3, k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3, n])],
        inits,
    )
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid(MS, 1)]
    return helper.make_model(graph, opset_imports=opsets)


@pytest.mark.parametrize(
    ("k", "n", "bits", "block", "zero", "bias"),
    [
        (64, 24, 4, 32, None, False),
        (64, 24, 4, 16, "packed", True),
        (80, 16, 4, 32, "packed", False),  # K not a multiple of the block
        (48, 16, 4, 16, "float", False),
        (64, 16, 8, 32, "packed", True),
        (64, 16, 2, 32, None, False),
    ],
)
def test_matmul_nbits_equals_onnxruntime(k, n, bits, block, zero, bias) -> None:
    model = _model(k, n, bits, block, zero, bias)
    a = np.random.default_rng(1).standard_normal((2, 3, k)).astype(np.float32)
    session = onnxruntime.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    try:
        (want,) = session.run(None, {"a": a})
    except Exception as error:  # this onnxruntime build lacks the bit width
        pytest.skip(f"onnxruntime does not run {bits}-bit MatMulNBits: {error}")
    compiled = ge.compile(model, level="npu", cache=False)
    (got,) = compiled.run(a)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    assert "kernel.matmul" in {k["op"] for k in compiled.last_profile["kernels"]}


def test_unpack_inverts_pack() -> None:
    values = np.random.default_rng(2).integers(0, 16, (3, 8))
    np.testing.assert_array_equal(unpack_bits(pack_bits(values, 4), 4, 8), values)


def test_act_order_groups_are_refused_naming_them() -> None:
    model = _model(64, 16, 4, 32, None, False)
    node = model.graph.node[0]
    node.input.extend(["", "g_idx"])
    model.graph.initializer.append(numpy_helper.from_array(np.zeros(64, np.int32), "g_idx"))
    with pytest.raises(UnsupportedError, match="g_idx"):
        ge.compile(model, cache=False)


@pytest.mark.parametrize(("bits", "zero_points"), [(4, False), (4, True), (8, True)])
def test_gather_block_quantized_equals_onnxruntime(bits: int, zero_points: bool) -> None:
    """Quantized embedding tables (transformers.js / optimum q4 exports)."""
    rng = np.random.default_rng(bits)
    vocab, dim, block = 10, 32, 16
    q = rng.integers(0, 1 << bits, (vocab, dim))
    inits = [
        numpy_helper.from_array(pack_bits(q, bits), "data"),
        numpy_helper.from_array(rng.uniform(0.01, 0.1, (vocab, dim // block)).astype(np.float32),
                                "scales"),
    ]  # fmt: skip
    names = ["data", "ids", "scales"]
    if zero_points:
        zp = rng.integers(0, 1 << bits, (vocab, dim // block))
        inits.append(numpy_helper.from_array(pack_bits(zp, bits), "zp"))
        names.append("zp")
    node = helper.make_node(
        "GatherBlockQuantized", names, ["y"], domain=MS, block_size=block, bits=bits,
        gather_axis=0, quantize_axis=1,
    )  # fmt: skip
    graph = helper.make_graph(
        [node],
        "gbq",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, [2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3, dim])],
        inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(MS, 1)]
    )
    ids = np.array([[1, 2, 3], [9, 0, 4]], np.int64)
    session = onnxruntime.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    (want,) = session.run(None, {"ids": ids})
    (got,) = ge.compile(model, level="npu", cache=False).run(ids)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("quant_type", "k"), [(0, 64), (1, 64), (1, 40)])
def test_matmul_bnb4_equals_onnxruntime(quant_type: int, k: int) -> None:
    """bitsandbytes FP4 / NF4 weights (transformers.js's bnb4 models)."""
    rng = np.random.default_rng(quant_type + k)
    n, block = 12, 16
    codes = rng.integers(0, 16, n * k + (n * k) % 2)
    packed = ((codes[0::2] << 4) | codes[1::2]).astype(np.uint8)
    absmax = rng.uniform(0.1, 1.0, -(-n * k // block)).astype(np.float32)
    node = helper.make_node(
        "MatMulBnb4", ["a", "B", "absmax"], ["y"], domain=MS, K=k, N=n, block_size=block,
        quant_type=quant_type,
    )  # fmt: skip
    graph = helper.make_graph(
        [node],
        "bnb4",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, [3, k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, n])],
        [numpy_helper.from_array(packed, "B"), numpy_helper.from_array(absmax, "absmax")],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(MS, 1)]
    )
    a = rng.standard_normal((3, k)).astype(np.float32)
    session = onnxruntime.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    (want,) = session.run(None, {"a": a})
    (got,) = ge.compile(model, level="npu", cache=False).run(a)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_matmul_nbits_with_fp16_activations_and_scales() -> None:
    """q4f16 exports: A and the scales in fp16; the dequantized weights are fp16 too, so
    the result is within fp16 rounding of onnxruntime's (whose kernel sums in other order)."""
    model = _model(64, 16, 4, 32, "packed", False)
    scales = next(t for t in model.graph.initializer if t.name == "scales")
    scales.CopyFrom(
        numpy_helper.from_array(numpy_helper.to_array(scales).astype(np.float16), "scales")
    )
    model.graph.input[0].type.tensor_type.elem_type = TensorProto.FLOAT16
    model.graph.output[0].type.tensor_type.elem_type = TensorProto.FLOAT16
    a = np.random.default_rng(1).standard_normal((2, 3, 64)).astype(np.float16)
    session = onnxruntime.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    (want,) = session.run(None, {"a": a})
    (got,) = ge.compile(model, level="npu", cache=False).run(a)
    assert got.dtype == np.float16
    scale = float(np.abs(want).max())
    np.testing.assert_allclose(got.astype(np.float32), want, atol=2e-3 * scale)
