"""Converters of ONNX ops that `ge` has no op for, composed exactly from several `ge` ops.

Hardmax, TopK, CumSum, LpNormalization, MeanVarianceNormalization, Shrink, Swish, IsNaN, IsInf,
EyeLike, Sinh, Cosh and Tan; each follows the formula of ONNX's reference implementation.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from xdsl.ir import SSAValue

from ge.frontends.onnx.context import Node, numpy_dtype
from ge.frontends.onnx.convert_math import scalar
from gedialects.ge import ops
from gedialects.ge.types import element_of, is_float_dtype

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


TOPK_MAX_K = 128
"""TopK is k rounds of arg-extreme over the not-yet-taken elements; larger k is refused."""


def top_k(n: Node) -> list[SSAValue]:
    """Values and i64 indices of the k largest (smallest) along `axis`, sorted, ties by index.

    Each round takes the first untaken element equal to the extreme of the untaken ones, so
    repeated values (even infinities) keep ONNX's order: equal values by ascending index.
    """
    x, shape = n.value(0), n.shape(0)
    axis = int(n.attr("axis", -1)) % len(shape)
    k = int(np.asarray(n.const(1, "K")).reshape(-1)[0]) if n.has(1) else int(n.attr("k"))
    if not 0 < k <= shape[axis]:
        raise n.error(f"K = {k} is not in 1..{shape[axis]} (the size of axis {axis})")
    if k > TOPK_MAX_K:
        raise n.unsupported(f"K = {k} is above the {TOPK_MAX_K} that ge composes TopK for")
    largest = bool(n.attr("largest", 1))
    dtype = n.dtype(0)
    if is_float_dtype(dtype):
        fill = -np.inf if largest else np.inf
    else:
        fill = np.iinfo(dtype).min if largest else np.iinfo(dtype).max
    fill = scalar(n, fill, x)
    iota = n.constant(
        np.arange(shape[axis], dtype=np.int64).reshape(
            [-1 if i == axis else 1 for i in range(len(shape))]
        )
    )
    extreme = ops.ReduceMaxOp if largest else ops.ReduceMinOp
    taken = n.constant(np.zeros(shape, np.bool_))
    values, indices = [], []
    for _ in range(k):
        free = n.emit(ops.WhereOp(taken, fill, x))
        best = n.emit(extreme(free, axes=[axis], keepdims=True))
        hits = n.emit(ops.EqualOp(x, best))
        hits = n.emit(ops.LogicalAndOp(hits, n.emit(ops.LogicalNotOp(taken))))
        first = n.emit(ops.CastOp(hits, to=element_of(iota.type)))
        index = n.emit(ops.ArgMaxOp(first, axis=axis, keepdims=True))
        taken = n.emit(ops.LogicalOrOp(taken, n.emit(ops.EqualOp(iota, index))))
        values.append(best)
        indices.append(index)
    if k == 1:
        return [values[0], indices[0]]
    return [n.emit(ops.ConcatOp(*values, axis=axis)), n.emit(ops.ConcatOp(*indices, axis=axis))]


def cumulative_terms(n: Node) -> tuple[SSAValue, np.ndarray, int]:
    """CumSum's and CumProd's shared form: x with an output axis in front of the reduced
    one (shape [..., 1, size, ...]), the 0/1 mask of the terms each output takes (shape
    [..., size, size, ...]: i <= j, i < j if exclusive, i >= j if reverse), and the axis
    of the terms to reduce."""
    x, shape = n.value(0), n.shape(0)
    axis = int(np.asarray(n.const(1, "axis")).reshape(-1)[0])
    if not -len(shape) <= axis < len(shape):
        raise n.error(f"axis {axis} is out of range for an input of rank {len(shape)}")
    axis %= len(shape)
    size = shape[axis]
    out, term = np.indices((size, size))
    reverse, exclusive = bool(n.attr("reverse", 0)), bool(n.attr("exclusive", 0))
    if reverse:
        keep = term > out if exclusive else term >= out
    else:
        keep = term < out if exclusive else term <= out
    mask_shape = [1] * (len(shape) + 1)
    mask_shape[axis : axis + 2] = [size, size]
    widened = n.emit(ops.ReshapeOp(x, shape=[*shape[:axis], 1, *shape[axis:]]))
    return widened, keep.reshape(mask_shape), axis + 1


def cum_sum(n: Node) -> SSAValue:
    """y_j = sum of x_i over i <= j (i < j if exclusive; i >= j if reverse) along `axis`.

    A masked sum: x gets an output axis in front of the summed one and a 0/1 mask picks the
    terms, so integer inputs (position ids from a cumsum of a mask) stay exact.
    """
    widened, keep, axis = cumulative_terms(n)
    terms = n.emit(ops.MulOp(widened, n.constant(keep.astype(n.dtype(0)))))
    return n.emit(ops.ReduceSumOp(terms, axes=[axis], keepdims=False))


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
    alpha = float(n.attr("alpha", 1.0))
    return n.emit(ops.SiluOp(n.value(0), alpha=None if alpha == 1.0 else alpha))


def _float_input(n: Node) -> SSAValue:
    """IsNaN's and IsInf's input: float types only (their schemas', onnxruntime's kernels)."""
    if not is_float_dtype(n.dtype(0)):
        raise n.error(f"input of type {n.dtype(0)} is not a float type")
    return n.value(0)


def is_nan(n: Node) -> SSAValue:
    x = _float_input(n)
    return n.emit(ops.LogicalNotOp(n.emit(ops.EqualOp(x, x))))


def is_inf(n: Node) -> SSAValue:
    x = _float_input(n)
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
    "TopK": top_k,
    "CumSum": cum_sum,
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
