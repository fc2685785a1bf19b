"""Converters of ONNX's integer convolution and matmul (ConvInteger, MatMulInteger) and of
DynamicQuantizeLinear, composed from `ge` ops; `convert_qlinear` builds on the same pieces.

Exactness. The integer accumulation sum((x - x_zp) * (w - w_zp)) is computed as a float
`ge.conv2d` / `ge.matmul` of the centred operands: every centred 8-bit value is an integer
of magnitude <= 255, each product < 2^16, and a sum of fewer than 2^37 of them stays below
2^53, where every f64 partial sum is an integer held exactly, whatever the summation order.
So the f64 result is the exact integer ORT accumulates in int32 (an f32 sum is not exact in
general: its partial sums round past 2^24). A matmul whose partial sums provably stay below
2^24 (`accumulation_bound`: from the constant weights' row sums, else from the types) is
built in f32 instead, which is just as exact and lets the npu level run it on the cube
(every kernel GEMM sums f32 products of exact integers); so is a conv under the same
bound (`conv_accumulation_bound`: from the constant filters' sums). The npu level keeps an
integer conv on the algorithms that sum directly (im2col, direct): `select-implementations`
knows it by its integer-valued operands (`passes.integer_values`), where Winograd's and
FFT's transforms would round. The cast to int32 is
exact too, as long as ORT's own int32 does not overflow (K < 2^31 / 255^2, about 33000
terms of extreme values).
DynamicQuantizeLinear follows ORT's float32 arithmetic step by step (range including 0,
scale = (max - min) / 255, or 1 when max == min; zero point = round(clip(-min / scale));
y = saturate(round(x / scale) + zero point)), so its three outputs match ORT's bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from xdsl.dialects.builtin import f32, f64, i32
from xdsl.ir import Attribute, SSAValue

from ge.frontends.onnx.context import Node
from ge.frontends.onnx.convert_nn import Spatial, window_attrs
from ge.frontends.onnx.convert_quant import saturate
from gedialects.ge import ops
from gedialects.ge.types import element_of

Converter = Callable[[Node], SSAValue | list[SSAValue]]

EXACT_IN_F32 = 1 << 24
"""Integers of smaller magnitude, and sums of them that stay smaller, are exact in f32."""


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


def centred(
    n: Node, q: SSAValue, zero: SSAValue | None, axis: int, to: Attribute = f64
) -> SSAValue:
    """q - zero_point as `to` (exact for 8-bit values in f32 and f64); `zero` runs along
    `axis`."""
    x = n.emit(ops.CastOp(q, to=to))
    if zero is None:
        return x
    zero = n.emit(ops.CastOp(along(n, zero, len(n.shape_of(q)), axis), to=to))
    return n.emit(ops.SubOp(x, zero))


Operand = tuple[SSAValue, SSAValue | None]
"""A quantized operand and its zero point (None: 0)."""


def integer_conv(n: Node, x: Operand, w: Operand, bias: SSAValue | None) -> SSAValue:
    """The exact convolution of centred operands with the node's conv attributes, an integer
    `bias` (QLinearConv's int32 B) added exactly: in f32 when no partial sum can reach 2^24
    (`conv_accumulation_bound`), so the npu level runs it on the cube (its exact algorithms
    only: `select-implementations` keeps integer convs off Winograd and FFT), else in f64."""
    bound = conv_accumulation_bound(n, x, w, bias)
    to = f32 if bound < EXACT_IN_F32 else f64
    sp = Spatial(n, centred(n, *x, 1, to), "convolutions")
    w_centred = centred(n, *w, 0, to)
    kernel = n.ints("kernel_shape", list(n.shape_of(w_centred)[2:]))
    strides, pads, dil = window_attrs(n, sp.shape[2:], kernel)
    b = None if bias is None else n.emit(ops.CastOp(bias, to=to))
    w = w_centred
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
    acc = integer_conv(n, (n.value(0), n.optional(2)), (n.value(1), n.optional(3)), None)
    return n.emit(ops.CastOp(acc, to=i32))


def conv_accumulation_bound(n: Node, x: Operand, w: Operand, bias: SSAValue | None) -> int:
    """A bound on |every partial sum| of a conv of centred x and w, plus the bias: the
    largest filter weight sum |w - zw| of a constant w times the largest |x - zx| x's type
    allows, else the filter size times both largest values."""
    q, zero = w
    values, z = n.state.consts.get(q), _known_zero(n, zero)
    taps = int(np.prod(n.shape_of(q)[1:], dtype=np.int64))
    bound = taps * _magnitude(n, *x) * _magnitude(n, *w)
    if values is not None and z is not None:
        z = z.reshape(-1, *[1] * (values.ndim - 1)) if z.size > 1 else z
        filters = np.abs(values.astype(np.int64) - z).reshape(values.shape[0], -1).sum(axis=1)
        bound = int(filters.max(initial=0)) * _magnitude(n, *x)
    if bias is None:
        return bound
    known = n.state.consts.get(bias)
    return bound + (int(np.abs(known).max(initial=0)) if known is not None else 1 << 31)


def integer_matmul(
    n: Node, a: Operand, b: Operand, trans_a: bool = False, trans_b: bool = False, extra: int = 0
) -> SSAValue:
    """The exact product of centred A (zero point per row) and B (per column), transposed
    first where asked: in f32 when no partial sum, plus `extra` (a bias the caller adds), can
    reach 2^24 (`accumulation_bound`), so the cube can run it; else in f64."""
    bound = accumulation_bound(n, a, b, trans_a, trans_b) + extra
    to = f32 if bound < EXACT_IN_F32 else f64
    lhs = centred(n, *a, -1 if trans_a else -2, to)
    rhs = centred(n, *b, -2 if trans_b else -1, to)
    for flag, value in ((trans_a, "lhs"), (trans_b, "rhs")):
        if flag:
            operand = lhs if value == "lhs" else rhs
            rank = len(n.shape_of(operand))
            perm = [*range(rank - 2), rank - 1, rank - 2]
            swapped = n.emit(ops.TransposeOp(operand, perm=perm))
            lhs, rhs = (swapped, rhs) if value == "lhs" else (lhs, swapped)
    return n.emit(ops.MatMulOp(lhs, rhs))


def accumulation_bound(n: Node, a: Operand, b: Operand, trans_a: bool, trans_b: bool) -> int:
    """A bound on |every partial sum| of sum_k (a - za)(b - zb): the largest row weight
    sum_k |b - zb| of a constant B times the largest |a - za| A's type allows (or the other
    way round), else K times both largest values."""
    a_rows = _row_weights(n, *a, -2 if trans_a else -1)
    b_cols = _row_weights(n, *b, -1 if trans_b else -2)
    k = n.shape_of(a[0])[-2 if trans_a else -1]
    options = [k * _magnitude(n, *a) * _magnitude(n, *b)]
    if b_cols is not None:
        options.append(b_cols * _magnitude(n, *a))
    if a_rows is not None:
        options.append(a_rows * _magnitude(n, *b))
    return min(options)


def _known_zero(n: Node, zero: SSAValue | None) -> np.ndarray | None:
    if zero is None:
        return np.zeros((), np.int64)
    value = n.state.consts.get(zero)
    return None if value is None else np.asarray(value, np.int64)


def _magnitude(n: Node, q: SSAValue, zero: SSAValue | None) -> int:
    """The largest |q - zero| q's type allows."""
    info = np.iinfo(n.dtype_of(q))
    z = _known_zero(n, zero)
    if z is None:
        return int(info.max) - int(info.min)
    return int(max(np.abs(info.min - z).max(), np.abs(info.max - z).max()))


def _row_weights(n: Node, q: SSAValue, zero: SSAValue | None, k_axis: int) -> int | None:
    """max of sum over `k_axis` of |q - zero| for a constant q, else None."""
    values, z = n.state.consts.get(q), _known_zero(n, zero)
    if values is None or z is None or values.ndim < 2:
        return None
    if z.size > 1:  # per row / per column: along the axis that is not K
        axis = values.ndim - 1 if k_axis % values.ndim == values.ndim - 2 else values.ndim - 2
        z = z.reshape([z.size if i == axis else 1 for i in range(values.ndim)])
    return int(np.abs(values.astype(np.int64) - z).sum(axis=k_axis).max())


def matmul_integer(n: Node) -> SSAValue:
    require_8bit(n, 0, 1, 2, 3)
    acc = integer_matmul(n, (n.value(0), n.optional(2)), (n.value(1), n.optional(3)))
    return n.emit(ops.CastOp(acc, to=i32))


def dynamic_quantize_linear(n: Node) -> list[SSAValue]:
    if n.dtype(0) != np.dtype(np.float32):
        raise n.unsupported(f"input is {n.dtype(0)}; DynamicQuantizeLinear takes float32")
    return dynamic_quantize(n, n.value(0))


def dynamic_quantize(n: Node, x: SSAValue, range_of: SSAValue | None = None) -> list[SSAValue]:
    """DynamicQuantizeLinear of an f32 `x`: (uint8 x, scale, uint8 zero point), as onnxruntime
    also quantizes the activations of its dynamically quantized matmuls and LSTMs; the scale
    spans `range_of`'s values where given (a part of `x`, or `x` with rows zeroed)."""
    zero = n.constant(np.float32(0))
    source = x if range_of is None else range_of
    hi = n.emit(ops.MaximumOp(n.emit(ops.ReduceMaxOp(source, axes=[], keepdims=False)), zero))
    lo = n.emit(ops.MinimumOp(n.emit(ops.ReduceMinOp(source, axes=[], keepdims=False)), zero))
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
