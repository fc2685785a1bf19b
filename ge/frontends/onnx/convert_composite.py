"""Converters of ONNX ops that `ge` has no op for, composed exactly from several `ge` ops.

Hardmax, LpNormalization, MeanVarianceNormalization, Shrink, Swish, IsNaN, IsInf, EyeLike,
Sinh, Cosh and Tan; each follows the formula of ONNX's reference implementation.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from xdsl.ir import SSAValue

from ge.frontends.onnx.context import Node, numpy_dtype
from ge.frontends.onnx.convert_math import scalar
from gedialects.ge import ops
from gedialects.ge.types import element_of

Converter = Callable[[Node], SSAValue]


def hardmax(n: Node) -> SSAValue:
    x, shape = n.value(0), n.shape(0)
    axis = int(n.attr("axis", -1)) % len(shape)
    first = n.emit(ops.ArgMaxOp(x, axis=axis, keepdims=True))
    iota = np.arange(shape[axis], dtype=np.int64).reshape(
        [-1 if i == axis else 1 for i in range(len(shape))]
    )
    hit = n.emit(ops.EqualOp(first, n.constant(iota)))
    return n.emit(ops.CastOp(hit, to=element_of(x.type)))


def lp_normalization(n: Node) -> SSAValue:
    x, p = n.value(0), int(n.attr("p", 2))
    axes = [int(n.attr("axis", -1))]
    if p == 2:
        norm = n.emit(ops.ReduceL2Op(x, axes=axes, keepdims=True))
    elif p == 1:
        norm = n.emit(ops.ReduceSumOp(n.emit(ops.AbsOp(x)), axes=axes, keepdims=True))
    else:
        raise n.error(f"p must be 1 or 2, got {p}")
    zero = scalar(n, 0.0, x)
    divided = n.emit(ops.DivOp(x, norm))
    return n.emit(ops.WhereOp(n.emit(ops.EqualOp(norm, zero)), zero, divided))


def mean_variance_normalization(n: Node) -> SSAValue:
    x = n.value(0)
    axes = n.ints("axes", [0, 2, 3])
    mean = n.emit(ops.ReduceMeanOp(x, axes=axes, keepdims=True))
    centred = n.emit(ops.SubOp(x, mean))
    square_mean = n.emit(ops.ReduceMeanOp(n.emit(ops.MulOp(x, x)), axes=axes, keepdims=True))
    var = n.emit(ops.SubOp(square_mean, n.emit(ops.MulOp(mean, mean))))
    std = n.emit(ops.SqrtOp(var))
    return n.emit(ops.DivOp(centred, n.emit(ops.AddOp(std, scalar(n, 1e-9, x)))))


def shrink(n: Node) -> SSAValue:
    x = n.value(0)
    lambd, bias = float(n.attr("lambd", 0.5)), float(n.attr("bias", 0.0))
    low = n.emit(ops.LessOp(x, scalar(n, -lambd, x)))
    high = n.emit(ops.GreaterOp(x, scalar(n, lambd, x)))
    shifted_up = n.emit(ops.AddOp(x, scalar(n, bias, x)))
    shifted_down = n.emit(ops.SubOp(x, scalar(n, bias, x)))
    inner = n.emit(ops.WhereOp(high, shifted_down, scalar(n, 0, x)))
    return n.emit(ops.WhereOp(low, shifted_up, inner))


def swish(n: Node) -> SSAValue:
    x = n.value(0)
    scaled = n.emit(ops.MulOp(x, scalar(n, float(n.attr("alpha", 1.0)), x)))
    return n.emit(ops.MulOp(x, n.emit(ops.SigmoidOp(scaled))))


def is_nan(n: Node) -> SSAValue:
    x = n.value(0)
    return n.emit(ops.LogicalNotOp(n.emit(ops.EqualOp(x, x))))


def is_inf(n: Node) -> SSAValue:
    x = n.value(0)
    found = n.constant(np.zeros(n.shape(0), np.bool_))
    if n.attr("detect_positive", 1):
        found = n.emit(ops.LogicalOrOp(found, n.emit(ops.EqualOp(x, scalar(n, np.inf, x)))))
    if n.attr("detect_negative", 1):
        found = n.emit(ops.LogicalOrOp(found, n.emit(ops.EqualOp(x, scalar(n, -np.inf, x)))))
    return found


def eye_like(n: Node) -> SSAValue:
    dtype = n.dtype(0)
    if n.attr("dtype") is not None:
        dtype = numpy_dtype(int(n.attr("dtype")), f"{n.describe()}: dtype")
    rows, cols = n.shape(0)
    return n.constant(np.eye(rows, cols, k=int(n.attr("k", 0)), dtype=dtype))


def _hyperbolic(sign: float) -> Converter:
    def convert(n: Node) -> SSAValue:
        x = n.value(0)
        up = n.emit(ops.ExpOp(x))
        down = n.emit(ops.ExpOp(n.emit(ops.NegOp(x))))
        joined = n.emit(ops.AddOp(up, down) if sign > 0 else ops.SubOp(up, down))
        return n.emit(ops.MulOp(joined, scalar(n, 0.5, x)))

    return convert


def tan(n: Node) -> SSAValue:
    x = n.value(0)
    return n.emit(ops.DivOp(n.emit(ops.SinOp(x)), n.emit(ops.CosOp(x))))


CONVERTERS: dict[str, Converter] = {
    "Hardmax": hardmax,
    "LpNormalization": lp_normalization,
    "MeanVarianceNormalization": mean_variance_normalization,
    "Shrink": shrink,
    "Swish": swish,
    "IsNaN": is_nan,
    "IsInf": is_inf,
    "EyeLike": eye_like,
    "Sinh": _hyperbolic(-1.0),
    "Cosh": _hyperbolic(1.0),
    "Tan": tan,
}
