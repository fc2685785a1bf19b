"""Converters of the `com.microsoft` quantized ops that onnxruntime's quantizer writes into
QOperator models (QLinearAdd, QLinearMul, QLinear(Global)AveragePool, QLinearConcat,
QLinearLeakyRelu, QLinearSigmoid, QLinearSoftmax, QGemm) and into dynamically quantized ones
(DynamicQuantizeMatMul, MatMulIntegerToFloat), composed from `ge` ops. Keys are
domain-qualified (`com.microsoft.QLinearAdd`), as the importer looks them up.

What is exact. QGemm, DynamicQuantizeMatMul and MatMulIntegerToFloat accumulate exactly
(`convert_quant_integer`); QGemm requantizes as ORT's MLAS does (`convert_qlinear`), and the
float outputs are float32(acc) * (a_scale * b_scale) + bias, ORT's scale-bias step.
The elementwise ones are their definition in float32: dequantize ((q - zp) * scale), the
float op, quantize (round half to even, then + zp, saturate). ORT runs them through
fixed-point or FMA kernels (QLinearAdd/Mul, chosen per CPU) or lookup tables built with its
own approximations (Sigmoid; Softmax's fixed-point exp table), so a value that lands within
a rounding of a .5 boundary may come out one quantization step away from ORT's: at most
one step, and `tests/frontends/test_quant_contrib.py` checks that bound.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from xdsl.dialects.builtin import f32
from xdsl.ir import SSAValue

from ge.frontends.onnx.context import Node
from ge.frontends.onnx.convert_ms_contrib import packed_attention
from ge.frontends.onnx.convert_pool import pool
from ge.frontends.onnx.convert_qlinear import requantize
from ge.frontends.onnx.convert_quant import saturate
from ge.frontends.onnx.convert_quant_integer import (
    along,
    dynamic_quantize_linear,
    integer_matmul,
    require_8bit,
)
from gedialects.ge import ops

Converter = Callable[[Node], SSAValue]


def dequantize(n: Node, q: int, scale: int, zero: int) -> SSAValue:
    """(q - zero) * scale in float32, per tensor."""
    require_8bit(n, q, zero)
    x = n.emit(ops.CastOp(n.value(q), to=f32))
    if n.has(zero):
        x = n.emit(ops.SubOp(x, n.emit(ops.CastOp(_scalar(n, zero), to=f32))))
    return n.emit(ops.MulOp(x, _scalar(n, scale)))


def quantize(n: Node, x: SSAValue, scale: int, zero: int, like: int) -> SSAValue:
    """saturate(round(x / scale) + zero), typed as the zero point (else as input `like`)."""
    dtype = n.dtype(zero) if n.has(zero) else n.dtype(like)
    rounded = n.emit(ops.RoundOp(n.emit(ops.DivOp(x, _scalar(n, scale)))))
    return saturate(n, rounded, _scalar(n, zero) if n.has(zero) else None, dtype)


def _scalar(n: Node, index: int) -> SSAValue:
    value = n.value(index)
    if int(np.prod(n.shape_of(value), dtype=np.int64)) != 1:
        raise n.unsupported(f"input {index} must be per-tensor (one element)")
    return along(n, value, 0, 0)


def _binary(op_class: type) -> Converter:
    def convert(n: Node) -> SSAValue:
        # Inputs: A, A_scale, A_zp, B, B_scale, B_zp, C_scale, C_zp.
        y = n.emit(op_class(dequantize(n, 0, 1, 2), dequantize(n, 3, 4, 5)))
        return quantize(n, y, 6, 7, 0)

    return convert


def _unary(build: Callable[[Node, SSAValue], SSAValue]) -> Converter:
    def convert(n: Node) -> SSAValue:
        # Inputs: X, X_scale, X_zp, Y_scale, Y_zp.
        return quantize(n, build(n, dequantize(n, 0, 1, 2)), 3, 4, 0)

    return convert


def _global_average(n: Node, x: SSAValue) -> SSAValue:
    rank = len(n.shape_of(x))
    axes = list(range(1, rank - 1)) if n.attr("channels_last", 0) else list(range(2, rank))
    return n.emit(ops.ReduceMeanOp(x, axes=axes, keepdims=True))


def _average_pool(n: Node, x: SSAValue) -> SSAValue:
    """AveragePool with the node's window attributes; `channels_last` input is NHWC."""
    rank = len(n.shape_of(x))
    last = bool(n.attr("channels_last", 0))
    if last:
        x = n.emit(ops.TransposeOp(x, perm=[0, rank - 1, *range(1, rank - 1)]))
    props = {k: bool(n.attr(k, 0)) for k in ("count_include_pad", "ceil_mode")}
    y = pool(n, ops.AvgPool2DOp, x, props)
    return n.emit(ops.TransposeOp(y, perm=[0, *range(2, rank), 1])) if last else y


def _softmax(n: Node, x: SSAValue) -> SSAValue:
    """Softmax along `axis`; an `opset` below 13 (the original Softmax's) flattens from it."""
    if int(n.attr("opset", 13)) >= 13:
        return n.emit(ops.SoftmaxOp(x, axis=int(n.attr("axis", -1))))
    shape = n.shape_of(x)
    axis = int(n.attr("axis", 1)) % max(len(shape), 1)
    flat = [int(np.prod(shape[:axis])), int(np.prod(shape[axis:]))]
    y = n.emit(ops.SoftmaxOp(n.emit(ops.ReshapeOp(x, shape=flat)), axis=1))
    return n.emit(ops.ReshapeOp(y, shape=list(shape)))


def qlinear_concat(n: Node) -> SSAValue:
    # Inputs: Y_scale, Y_zp, then (X, X_scale, X_zp) per input.
    parts = [dequantize(n, i, i + 1, i + 2) for i in range(2, n.num_inputs, 3)]
    y = n.emit(ops.ConcatOp(*parts, axis=int(n.attr("axis"))))
    return quantize(n, y, 0, 1, 2)


def qgemm(n: Node) -> SSAValue:
    # Inputs: A, a_scale, a_zp, B, b_scale, b_zp, C (int32 bias), y_scale, y_zp.
    require_8bit(n, 0, 2, 3, 5)
    bias = n.const(6).astype(np.int64) if n.is_const(6) else None
    extra = 0 if not n.has(6) else int(np.abs(bias).max()) if bias is not None else 1 << 31
    a, b = (n.value(0), n.optional(2)), (n.value(3), n.optional(5))
    acc = integer_matmul(n, a, b, bool(n.attr("transA", 0)), bool(n.attr("transB", 0)), extra)
    if n.has(6):
        acc = n.emit(ops.AddOp(acc, n.emit(ops.CastOp(n.value(6), to=acc.type.element_type))))
    scale = n.emit(ops.MulOp(_f32(n, 1, 2, -2), _f32(n, 4, 2, -1)))
    alpha = float(n.attr("alpha", 1.0))
    if alpha != 1.0:
        scale = n.emit(ops.MulOp(scale, n.constant(np.float32(alpha))))
    if not n.has(7):
        return _scaled_float(n, acc, scale, None)
    multiplier = n.emit(ops.DivOp(scale, _f32(n, 7, 2, -1)))
    dtype = n.dtype(8) if n.has(8) else n.dtype(0)
    zero = _scalar(n, 8) if n.has(8) else None
    return requantize(n, acc, multiplier, zero, dtype)


def _f32(n: Node, index: int, rank: int, axis: int) -> SSAValue:
    value = along(n, n.value(index), rank, axis)
    return value if value.type.element_type == f32 else n.emit(ops.CastOp(value, to=f32))


def _scaled_float(n: Node, acc: SSAValue, scale: SSAValue, bias: int | None) -> SSAValue:
    """float32(acc) * scale (+ bias): ORT's scale-bias output of an integer GEMM."""
    if acc.type.element_type != f32:
        acc = n.emit(ops.CastOp(acc, to=f32))
    y = n.emit(ops.MulOp(acc, scale))
    return n.emit(ops.AddOp(y, n.value(bias))) if bias is not None and n.has(bias) else y


def matmul_integer_to_float(n: Node) -> SSAValue:
    # Inputs: A, B, a_scale, b_scale, a_zp, b_zp, bias.
    require_8bit(n, 0, 1, 4, 5)
    rank = max(n.rank(0), n.rank(1))
    acc = integer_matmul(n, (n.value(0), n.optional(4)), (n.value(1), n.optional(5)))
    scale = n.emit(ops.MulOp(_f32(n, 2, rank, -2), _f32(n, 3, rank, -1)))
    return _scaled_float(n, acc, scale, 6)


def dynamic_quantize_matmul(n: Node) -> SSAValue:
    # Inputs: A (float), B, b_scale, b_zp, bias. A is quantized to uint8 as
    # DynamicQuantizeLinear does.
    require_8bit(n, 1, 3)
    qa, a_scale, a_zero = dynamic_quantize_linear(n)
    acc = integer_matmul(n, (qa, a_zero), (n.value(1), n.optional(3)))
    scale = n.emit(ops.MulOp(a_scale, _f32(n, 2, n.rank(1), -1)))
    return _scaled_float(n, acc, scale, 4)


def qattention(n: Node) -> SSAValue:
    """com.microsoft.QAttention (quantize_dynamic of a fused Attention): the packed QKV
    projection as an integer GEMM of the quantized input and weight, float32(acc) *
    (input_scale * weight_scale) + bias, then Attention's own. Inputs: input, weight, bias,
    input_scale, weight_scale, mask_index, input_zero_point, weight_zero_point, past."""
    if n.has(8):
        raise n.unsupported("input 'past' is not supported")
    if n.wants(1):
        raise n.unsupported("output 'present' is not supported")
    require_8bit(n, 0, 1, 6, 7)
    acc = integer_matmul(n, (n.value(0), n.optional(6)), (n.value(1), n.optional(7)))
    scale = n.emit(ops.MulOp(_f32(n, 3, 1, 0), _f32(n, 4, 1, 0)))
    return packed_attention(n, _scaled_float(n, acc, scale, 2), mask=5)


CONVERTERS: dict[str, Converter] = {
    "com.microsoft.QLinearAdd": _binary(ops.AddOp),
    "com.microsoft.QLinearMul": _binary(ops.MulOp),
    "com.microsoft.QLinearGlobalAveragePool": _unary(_global_average),
    "com.microsoft.QLinearAveragePool": _unary(_average_pool),
    "com.microsoft.QLinearLeakyRelu": _unary(
        lambda n, x: n.emit(ops.LeakyReluOp(x, alpha=float(n.attr("alpha", 0.01))))
    ),
    "com.microsoft.QLinearSigmoid": _unary(lambda n, x: n.emit(ops.SigmoidOp(x))),
    "com.microsoft.QLinearSoftmax": _unary(_softmax),
    "com.microsoft.QLinearConcat": qlinear_concat,
    "com.microsoft.QGemm": qgemm,
    "com.microsoft.MatMulIntegerToFloat": matmul_integer_to_float,
    "com.microsoft.DynamicQuantizeMatMul": dynamic_quantize_matmul,
    "com.microsoft.QAttention": qattention,
}
