"""Converters of ONNX's integer convolution and matmul (ConvInteger, MatMulInteger) and of
DynamicQuantizeLinear, composed from `ge` ops; `convert_qlinear` builds on the same pieces.

Exactness. The integer accumulation sum((x - x_zp) * (w - w_zp)) is computed as an f64
`ge.conv2d` / `ge.matmul` of the centred operands: every centred 8-bit value is an integer
of magnitude <= 255, each product < 2^16, and a sum of fewer than 2^37 of them stays below
2^53, where every f64 partial sum is an integer held exactly, whatever the summation order.
So the f64 result is the exact integer ORT accumulates in int32 (an f32 conv would not be:
its partial sums round past 2^24). The cast to int32 is exact too, as long as ORT's own
int32 does not overflow (K < 2^31 / 255^2, about 33000 terms of extreme values).
DynamicQuantizeLinear follows ORT's float32 arithmetic step by step (range including 0,
scale = (max - min) / 255, or 1 when max == min; zero point = round(clip(-min / scale));
y = saturate(round(x / scale) + zero point)), so its three outputs match ORT's bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from xdsl.dialects.builtin import f32, f64, i32
from xdsl.ir import SSAValue

from ge.frontends.onnx.context import Node
from ge.frontends.onnx.convert_nn import Spatial, window_attrs
from ge.frontends.onnx.convert_quant import saturate
from gedialects.ge import ops
from gedialects.ge.types import element_of

Converter = Callable[[Node], SSAValue | list[SSAValue]]


def along(n: Node, value: SSAValue, rank: int, axis: int) -> SSAValue:
    """A scale or zero point laid out against a tensor of `rank`: one element is a scalar,
    a 1-D tensor of several runs along `axis`, anything else broadcasts as it is."""
    shape = n.shape_of(value)
    if int(np.prod(shape, dtype=np.int64)) == 1:
        return n.emit(ops.ReshapeOp(value, shape=[])) if shape else value
    if len(shape) != 1:
        return value
    axis %= rank
    return n.emit(ops.ReshapeOp(value, shape=[shape[0] if i == axis else 1 for i in range(rank)]))


def centred(n: Node, q: SSAValue, zero: SSAValue | None, axis: int) -> SSAValue:
    """q - zero_point as f64 (exact for every integer type ge has); `zero` runs along `axis`."""
    x = n.emit(ops.CastOp(q, to=f64))
    if zero is None:
        return x
    zero = n.emit(ops.CastOp(along(n, zero, len(n.shape_of(q)), axis), to=f64))
    return n.emit(ops.SubOp(x, zero))


def integer_conv(n: Node, x: SSAValue, w: SSAValue, bias: SSAValue | None) -> SSAValue:
    """The exact f64 convolution of centred operands with the node's conv attributes; an
    integer `bias` (QLinearConv's int32 B) is added exactly in f64."""
    sp = Spatial(n, x, "convolutions")
    kernel = n.ints("kernel_shape", list(n.shape_of(w)[2:]))
    strides, pads, dil = window_attrs(n, sp.shape[2:], kernel)
    b = None if bias is None else n.emit(ops.CastOp(bias, to=f64))
    y = ops.Conv2DOp(
        sp.x,
        sp.lift(w),
        b,
        strides=sp.attr(strides),
        pads=sp.pads(pads),
        dilations=sp.attr(dil),
        groups=int(n.attr("group", 1)),
    )
    return sp.lower(n.emit(y))


def require_8bit(n: Node, *indices: int) -> None:
    for i in indices:
        if n.has(i) and n.dtype(i) not in (np.dtype(np.int8), np.dtype(np.uint8)):
            raise n.unsupported(f"input {i} is {n.dtype(i)}; only int8 and uint8 are supported")


def conv_integer(n: Node) -> SSAValue:
    require_8bit(n, 0, 1, 2, 3)
    x = centred(n, n.value(0), n.optional(2), 1)
    w = centred(n, n.value(1), n.optional(3), 0)
    return n.emit(ops.CastOp(integer_conv(n, x, w, None), to=i32))


def integer_matmul(n: Node, a: int, a_zero: int, b: int, b_zero: int) -> SSAValue:
    """The exact f64 product of centred A (zero point per row) and B (per column)."""
    require_8bit(n, a, a_zero, b, b_zero)
    lhs = centred(n, n.value(a), n.optional(a_zero), -2)
    rhs = centred(n, n.value(b), n.optional(b_zero), -1)
    return n.emit(ops.MatMulOp(lhs, rhs))


def matmul_integer(n: Node) -> SSAValue:
    return n.emit(ops.CastOp(integer_matmul(n, 0, 2, 1, 3), to=i32))


def dynamic_quantize_linear(n: Node) -> list[SSAValue]:
    x = n.value(0)
    if element_of(x.type) != f32:
        raise n.unsupported(f"input is {n.dtype(0)}; DynamicQuantizeLinear takes float32")
    zero = n.constant(np.float32(0))
    hi = n.emit(ops.MaximumOp(n.emit(ops.ReduceMaxOp(x, axes=[], keepdims=False)), zero))
    lo = n.emit(ops.MinimumOp(n.emit(ops.ReduceMinOp(x, axes=[], keepdims=False)), zero))
    span = n.emit(ops.DivOp(n.emit(ops.SubOp(hi, lo)), n.constant(np.float32(255))))
    same = n.emit(ops.EqualOp(hi, lo))
    scale = n.emit(ops.WhereOp(same, n.constant(np.float32(1)), span))
    start = n.emit(ops.SubOp(zero, n.emit(ops.DivOp(lo, scale))))
    zp = n.emit(ops.RoundOp(n.emit(ops.ClipOp(start, min=0.0, max=255.0))))
    y = saturate(n, n.emit(ops.RoundOp(n.emit(ops.DivOp(x, scale)))), zp, np.dtype(np.uint8))
    return [y, scale, n.emit(ops.CastOp(zp, to=element_of(y.type)))]


CONVERTERS: dict[str, Converter] = {
    "ConvInteger": conv_integer,
    "MatMulInteger": matmul_integer,
    "DynamicQuantizeLinear": dynamic_quantize_linear,
}
