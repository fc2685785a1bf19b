"""com.microsoft.MatMulNBits, MatMulBnb4 and GatherBlockQuantized: the block-quantized weights
and embeddings of LLM exports (onnxruntime-genai, optimum's and transformers.js's q4 and bnb4
models, Olive), as a float matmul and a float gather.

B holds, for each of the N output columns, ceil(K / block_size) blocks of block_size
`bits`-wide unsigned values packed little-end first into bytes; every block has a scale and a
zero point (packed the same way as uint8, or given as floats; 2^(bits-1) when absent). The
weights are constants, so the importer dequantizes them once, (q - zero) * scale, into a
(K, N) matrix of A's dtype, and the node becomes MatMul (+ bias): what the npu level then
runs on the cube, as it does for any float matmul. (A chip with int4 cube support would keep
them packed; the modeled 910 has none, and GE itself dequantizes such weights ahead of time.)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from xdsl.ir import SSAValue

from ge.frontends.onnx.context import Node
from gedialects.ge import ops

Converter = Callable[[Node], SSAValue]


def unpack_bits(packed: np.ndarray, bits: int, count: int) -> np.ndarray:
    """The first `count` `bits`-wide values along the last axis of uint8 `packed`, each byte
    holding 8 // bits of them from its low bits up."""
    per_byte = 8 // bits
    shifts = np.arange(per_byte, dtype=np.uint8) * bits
    values = (packed[..., None] >> shifts) & np.uint8((1 << bits) - 1)
    return values.reshape(*packed.shape[:-1], -1)[..., :count]


def dequantized_weights(n: Node) -> np.ndarray:
    """B as a (K, N) float matrix of A's dtype."""
    k, cols = int(n.attr("K")), int(n.attr("N"))
    bits, block = int(n.attr("bits", 4)), int(n.attr("block_size"))
    if bits not in (2, 4, 8):
        raise n.unsupported(f"{bits}-bit weights (2, 4 or 8 are)")
    if n.has(4):
        raise n.unsupported("input 'g_idx' (act-order groups) is not supported")
    blocks = -(-k // block)
    packed = n.const(1, "B").reshape(cols, blocks, -1).astype(np.uint8)
    q = unpack_bits(packed, bits, block).astype(np.float32)  # (N, blocks, block)
    scales = n.const(2, "scales").astype(np.float32).reshape(cols, blocks)
    if not n.has(3):
        zeros = np.full((cols, blocks), 2.0 ** (bits - 1), np.float32)
    elif n.dtype(3) == np.uint8:
        zp = n.const(3, "zero_points").reshape(cols, -1)
        zeros = unpack_bits(zp, bits, blocks).astype(np.float32)
    else:
        zeros = n.const(3, "zero_points").astype(np.float32).reshape(cols, blocks)
    weights = (q - zeros[..., None]) * scales[..., None]  # (N, blocks, block)
    weights = weights.reshape(cols, blocks * block)[:, :k]
    return np.ascontiguousarray(weights.T).astype(n.dtype(0))


def gather_block_quantized(n: Node) -> SSAValue:
    """Gather rows of a block-quantized table (uint8-packed data, one scale and zero point per
    block along `quantize_axis`), dequantized once at import."""
    bits, block = int(n.attr("bits", 4)), int(n.attr("block_size", 128))
    if bits not in (4, 8) or n.dtype(0) != np.uint8:
        raise n.unsupported(f"{bits}-bit data of type {n.dtype(0)} (uint8-packed 4 or 8 are)")
    data, scales = n.const(0, "data"), n.const(2, "scales")
    axis = int(n.attr("quantize_axis", data.ndim - 1)) % data.ndim
    count = data.shape[axis] * (8 // bits)
    q = np.moveaxis(unpack_bits(np.moveaxis(data, axis, -1), bits, count), -1, axis)
    if n.has(3):
        zp = n.const(3, "zero_points")
        zeros = np.moveaxis(
            unpack_bits(np.moveaxis(zp, axis, -1), bits, scales.shape[axis]), -1, axis
        )
    else:
        zeros = np.full(scales.shape, 2 ** (bits - 1))

    def per_block(values: np.ndarray) -> np.ndarray:  # one per block -> one per element
        return np.repeat(values, block, axis=axis).take(range(count), axis=axis)

    table = (q.astype(np.float32) - per_block(zeros)) * per_block(scales.astype(np.float32))
    table = n.constant(table.astype(scales.dtype))
    return n.emit(ops.GatherOp(table, n.value(1), axis=int(n.attr("gather_axis", 0))))


BNB4_CODES = {
    0: (0.0, 5.208333333e-03, 0.66666667, 1.0, 0.33333333, 0.5, 0.16666667, 0.25,
        -0.0, -5.208333333e-03, -0.66666667, -1.0, -0.33333333, -0.5, -0.16666667, -0.25),
    1: (-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
        -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
        0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
        0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0),
}  # fmt: skip
"""bitsandbytes' 4-bit code books: quant_type 0 is FP4, 1 is NF4 (values before absmax)."""


def matmul_bnb4(n: Node) -> SSAValue:
    """A @ dequant(B)^T: B's N x K codes packed two a byte (the first in the high bits), each
    block of `block_size` codes scaled by its absmax."""
    k, cols, block = int(n.attr("K")), int(n.attr("N")), int(n.attr("block_size"))
    kind = int(n.attr("quant_type", 1))
    if kind not in BNB4_CODES or not int(n.attr("transB", 1)):
        raise n.unsupported(f"quant_type {kind} / transB 0 is not supported")
    packed = n.const(1, "B").astype(np.uint8).reshape(-1)
    codes = np.stack([packed >> 4, packed & 0x0F], axis=-1).reshape(-1)[: cols * k]
    absmax = np.repeat(n.const(2, "absmax").astype(np.float32), block)[: cols * k]
    weights = (np.asarray(BNB4_CODES[kind], np.float32)[codes] * absmax).reshape(cols, k)
    return n.emit(ops.MatMulOp(n.value(0), n.constant(weights.T.astype(n.dtype(0)))))


def matmul_nbits(n: Node) -> SSAValue:
    y = n.emit(ops.MatMulOp(n.value(0), n.constant(dequantized_weights(n))))
    return n.emit(ops.AddOp(y, n.value(5))) if n.has(5) else y


CONVERTERS: dict[str, Converter] = {
    "com.microsoft.MatMulNBits": matmul_nbits,
    "com.microsoft.GatherBlockQuantized": gather_block_quantized,
    "com.microsoft.MatMulBnb4": matmul_bnb4,
}
