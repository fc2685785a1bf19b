"""Converters of ONNX QuantizeLinear and DequantizeLinear, composed from `ge` ops.

Per-tensor, per-axis (1-D scale along `axis`) and blocked (`block_size`) scales are all
broadcast to the input's shape before the arithmetic:
    DequantizeLinear: y = (x - zero_point) * scale
    QuantizeLinear:   y = saturate(round_half_even(x / scale) + zero_point)
Integer targets (8/16/32-bit, and ONNX 21's 2/4-bit ones) round and clip as above; float8
and float4 targets take x / scale + zero_point rounded to nearest even by the cast, float8
ones clipped to their range unless `saturate=0` (ge computes the narrow types in f32 or
8-bit integers: `passes/emulate_narrow_types.py`).
"""

from __future__ import annotations

from collections.abc import Callable

import ml_dtypes
import numpy as np
from onnx import TensorProto
from xdsl.ir import Attribute, SSAValue

from ge.frontends.onnx.context import Node, onnx_element_type
from gedialects.ge import ops
from gedialects.ge.types import (
    FLOAT8_TYPES,
    element_of,
    f4E2M1FN,
    f6E2M3FN,
    f6E3M2FN,
    from_numpy_dtype,
    is_float,
    is_integer,
    to_numpy_dtype,
)

Converter = Callable[[Node], SSAValue]


def broadcast_scale(n: Node, value: SSAValue, shape: tuple[int, ...]) -> SSAValue:
    """A scale or zero point laid out to broadcast against an input of `shape`."""
    vshape = n.shape_of(value)
    if len(vshape) <= 1 and int(np.prod(vshape)) == 1:
        return n.emit(ops.ReshapeOp(value, shape=[])) if vshape else value
    axis = int(n.attr("axis", 1)) % len(shape)
    block = int(n.attr("block_size", 0))
    if not block:
        target = [vshape[0] if i == axis else 1 for i in range(len(shape))]
        return n.emit(ops.ReshapeOp(value, shape=target))
    # Blocked: repeat each entry `block` times along `axis`, then cut to the input's extent.
    wide = [*vshape[: axis + 1], 1, *vshape[axis + 1 :]]
    value = n.emit(ops.ReshapeOp(value, shape=wide))
    wide[axis + 1] = block
    value = n.emit(ops.ExpandOp(value, shape=wide))
    merged = [*vshape[:axis], vshape[axis] * block, *vshape[axis + 1 :]]
    value = n.emit(ops.ReshapeOp(value, shape=merged))
    if merged[axis] != shape[axis]:
        value = n.emit(ops.SliceOp(value, starts=[0], ends=[shape[axis]], axes=[axis], steps=[1]))
    return value


def dequantize_linear(n: Node) -> SSAValue:
    x, shape = n.value(0), n.shape(0)
    scale = broadcast_scale(n, n.value(1), shape)
    to = element_of(scale.type)
    if n.attr("output_dtype"):
        to = onnx_element_type(int(n.attr("output_dtype")), f"{n.describe()}: output_dtype")
    xf = n.emit(ops.CastOp(x, to=element_of(scale.type)))
    if n.has(2):
        zero = n.emit(ops.CastOp(broadcast_scale(n, n.value(2), shape), to=element_of(scale.type)))
        xf = n.emit(ops.SubOp(xf, zero))
    y = n.emit(ops.MulOp(xf, scale))
    return y if to == element_of(y.type) else n.emit(ops.CastOp(y, to=to))


def quantize_linear(n: Node) -> SSAValue:
    x, shape = n.value(0), n.shape(0)
    scale = broadcast_scale(n, n.value(1), shape)
    if n.has(2):
        to = element_of(n.value(2).type)
    else:
        to = onnx_element_type(int(n.attr("output_dtype", 0)) or TensorProto.UINT8, "output")
    zero = broadcast_scale(n, n.value(2), shape) if n.has(2) else None
    if is_float(to):
        return _quantize_to_float(n, n.emit(ops.DivOp(x, scale)), zero, to)
    y = n.emit(ops.RoundOp(n.emit(ops.DivOp(x, scale))))
    return saturate(n, y, zero, _integer_dtype(n, to))


def _quantize_to_float(n: Node, y: SSAValue, zero: SSAValue | None, to: Attribute) -> SSAValue:
    """cast<to>(y + zero), saturating for float8 (QuantizeLinear-19's `saturate`); float4
    and float6 have no infinity, their casts keep the largest magnitude anyway."""
    if to not in FLOAT8_TYPES and to not in (f4E2M1FN, f6E2M3FN, f6E3M2FN):
        raise n.unsupported(f"quantizing to {to} is not supported")
    if zero is not None:
        y = n.emit(ops.AddOp(y, n.emit(ops.CastOp(zero, to=element_of(y.type)))))
    saturating = bool(n.attr("saturate", 1)) if to in FLOAT8_TYPES else None
    return n.emit(ops.CastOp(y, to=to, saturate=saturating))


def saturate(n: Node, rounded: SSAValue, zero: SSAValue | None, dtype: np.dtype) -> SSAValue:
    """cast<dtype>(clip(rounded + zero, dtype's range)): ORT adds the zero point after
    rounding (round(v) + zp, not round(v + zp), which differ at ties when zp is odd)."""
    if zero is not None:
        if element_of(zero.type) != element_of(rounded.type):
            zero = n.emit(ops.CastOp(zero, to=element_of(rounded.type)))
        rounded = n.emit(ops.AddOp(rounded, zero))
    limits = ml_dtypes.iinfo(dtype)
    y = n.emit(ops.ClipOp(rounded, min=float(limits.min), max=float(limits.max)))
    return n.emit(ops.CastOp(y, to=from_numpy_dtype(dtype)))


def _integer_dtype(n: Node, element: Attribute) -> np.dtype:
    if not is_integer(element):
        raise n.unsupported(f"quantizing to {element} is not supported")
    return to_numpy_dtype(element)


CONVERTERS: dict[str, Converter] = {
    "QuantizeLinear": quantize_linear,
    "DequantizeLinear": dequantize_linear,
    # onnxruntime's own, with the same inputs and `axis`: its quantizer writes them for
    # 16-bit QDQ (`UseQDQContribOps`, the usual QNN recipe) and for 4-bit weights below
    # opset 21, where the standard ops lack those types
    "com.microsoft.QuantizeLinear": quantize_linear,
    "com.microsoft.DequantizeLinear": dequantize_linear,
}
