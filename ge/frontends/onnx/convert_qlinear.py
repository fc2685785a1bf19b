"""Converters of ONNX QLinearConv and QLinearMatMul, composed from `ge` ops.

Each is the exact integer accumulation of `convert_quant_integer` (a float conv or matmul of
the centred operands, plus QLinearConv's int32 bias, exact as that module says) followed by a
requantization done the way onnxruntime's MLAS does it, so the outputs equal ORT's bit for
bit:
    multiplier = x_scale * w_scale / y_scale        (float32, in that order; per channel
                                                    when w_scale is 1-D)
    y = saturate(round_half_even(float32(acc) * multiplier) + y_zero_point)
`float32(acc)` rounds an accumulator past 2^24 exactly as ORT's int-to-float conversion
does. ONNX's reference evaluator differs in two places: it multiplies in float64 and adds
the zero point before rounding; the two agree except at exact or near ties.
Scales of another float type (float16) are converted to float32 first, exactly.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from xdsl.dialects.builtin import f32
from xdsl.ir import SSAValue

from ge.frontends.onnx.context import Node
from ge.frontends.onnx.convert_quant import saturate
from ge.frontends.onnx.convert_quant_integer import (
    along,
    integer_conv,
    integer_matmul,
    require_8bit,
)
from gedialects.ge import ops
from gedialects.ge.types import element_of

Converter = Callable[[Node], SSAValue]


def _scale(n: Node, index: int, rank: int, axis: int) -> SSAValue:
    value = along(n, n.value(index), rank, axis)
    if element_of(value.type) != f32:
        value = n.emit(ops.CastOp(value, to=f32))
    return value


def requantize(
    n: Node, acc: SSAValue, multiplier: SSAValue, zero: SSAValue | None, dtype: np.dtype
) -> SSAValue:
    """saturate(round(float32(acc) * multiplier) + zero) as `dtype`, as ORT requantizes."""
    if element_of(acc.type) != f32:
        acc = n.emit(ops.CastOp(acc, to=f32))
    scaled = n.emit(ops.MulOp(acc, multiplier))
    return saturate(n, n.emit(ops.RoundOp(scaled)), zero, dtype)


def _multiplier(n: Node, x_scale: SSAValue, w_scale: SSAValue, y_scale: SSAValue) -> SSAValue:
    return n.emit(ops.DivOp(n.emit(ops.MulOp(x_scale, w_scale)), y_scale))


def _output_dtype(n: Node, zero: int, fallback: int) -> np.dtype:
    dtype = n.dtype(zero) if n.has(zero) else n.dtype(fallback)
    if dtype not in (np.dtype(np.int8), np.dtype(np.uint8)):
        raise n.unsupported(f"output type {dtype} is not supported; only int8 and uint8")
    return dtype


def qlinear_conv(n: Node) -> SSAValue:
    # Inputs: x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B.
    require_8bit(n, 0, 2, 3, 5)
    rank = n.rank(0)
    acc = integer_conv(n, (n.value(0), n.optional(2)), (n.value(3), n.optional(5)), n.optional(8))
    multiplier = _multiplier(n, _scale(n, 1, rank, 1), _scale(n, 4, rank, 1), _scale(n, 6, rank, 1))
    zero = along(n, n.value(7), rank, 1) if n.has(7) else None
    return requantize(n, acc, multiplier, zero, _output_dtype(n, 7, 0))


def qlinear_matmul(n: Node) -> SSAValue:
    # Inputs: a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp.
    require_8bit(n, 0, 2, 3, 5)
    acc = integer_matmul(n, (n.value(0), n.optional(2)), (n.value(3), n.optional(5)))
    rank = len(n.shape_of(acc))
    multiplier = _multiplier(
        n, _scale(n, 1, rank, -2), _scale(n, 4, rank, -1), _scale(n, 6, rank, -1)
    )
    zero = along(n, n.value(7), rank, -1) if n.has(7) else None
    return requantize(n, acc, multiplier, zero, _output_dtype(n, 7, 0))


CONVERTERS: dict[str, Converter] = {
    "QLinearConv": qlinear_conv,
    "QLinearMatMul": qlinear_matmul,
}
