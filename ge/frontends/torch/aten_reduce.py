"""Converters of aten's reductions: sum, mean, max, min, arg-extremes, any/all, variance
and vector norms.

`dim=None` or `[]` reduces every axis (`ge` reductions take `axes = []` for that).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from xdsl.ir import SSAValue

from ge.frontends.reductions import log_sum_exp
from ge.frontends.torch.convert import Converter, op_key
from ge.frontends.torch.table import converts
from gedialects import ge
from gedialects.ge.types import shape_of

_REDUCE = {
    "mean": ge.ReduceMeanOp,
    "sum": ge.ReduceSumOp,
    "amax": ge.ReduceMaxOp,
    "amin": ge.ReduceMinOp,
    "prod": ge.ReduceProdOp,
}


def axes_of(dims: Any) -> list[int]:
    """`ge` reduction axes from torch's `dim` (None or [] mean every axis)."""
    return [] if dims is None else [dims] if isinstance(dims, int) else list(dims)


@converts(*_REDUCE)
def reduce(cx: Converter, a: dict[str, Any]) -> SSAValue:
    x = cx.cast(a["self"], cx.out_dtype())
    keepdim = bool(a.get("keepdim", False))
    op = _REDUCE[op_key(cx.node.target)](x, axes=axes_of(a.get("dim")), keepdims=keepdim)
    return cx.emit(op)


@converts("any", "all")
def any_all(cx: Converter, a: dict[str, Any]) -> SSAValue:
    """Whether any (all) elements are non-zero: max (min) over booleans."""
    x = cx.cast(a["self"], np.dtype(np.bool_))
    op = ge.ReduceMaxOp if op_key(cx.node.target) == "any" else ge.ReduceMinOp
    return cx.emit(op(x, axes=axes_of(a.get("dim")), keepdims=bool(a.get("keepdim", False))))


@converts("max", "min")
def max_min_dim(cx: Converter, a: dict[str, Any]) -> Any:
    """max.dim / min.dim give (values, indices); max() of a whole tensor gives a scalar."""
    is_max = op_key(cx.node.target) == "max"
    if "dim" not in a:
        if "other" in a:
            op = ge.MaximumOp if is_max else ge.MinimumOp
            return cx.emit(op(a["self"], a["other"]))
        return cx.emit((ge.ReduceMaxOp if is_max else ge.ReduceMinOp)(a["self"], keepdims=False))
    dim, keep = a["dim"], bool(a["keepdim"])
    values = cx.emit(
        (ge.ReduceMaxOp if is_max else ge.ReduceMinOp)(a["self"], axes=[dim], keepdims=keep)
    )
    index = cx.emit((ge.ArgMaxOp if is_max else ge.ArgMinOp)(a["self"], axis=dim, keepdims=keep))
    return values, index


@converts("argmax", "argmin")
def argmax(cx: Converter, a: dict[str, Any]) -> SSAValue:
    x, dim = a["self"], a["dim"]
    if dim is None:
        x, dim = cx.reshape(x, [int(np.prod(shape_of(x.type)))]), 0
    op = ge.ArgMaxOp if op_key(cx.node.target) == "argmax" else ge.ArgMinOp
    y = cx.emit(op(x, axis=dim, keepdims=bool(a["keepdim"])))
    return cx.reshape(y, cx.out_shape())


@converts("var", "std")
def var_std(cx: Converter, a: dict[str, Any]) -> SSAValue:
    """sum((x - mean)^2) / (n - correction), square-rooted for std."""
    x = cx.cast(a["self"], cx.out_dtype())
    shape = shape_of(x.type)
    axes = [d % len(shape) for d in axes_of(a.get("dim"))] or list(range(len(shape)))
    correction = a.get("correction")
    if correction is None:
        correction = 1 if a.get("unbiased", True) else 0
    count = int(np.prod([shape[d] for d in axes])) - correction
    mean = cx.emit(ge.ReduceMeanOp(x, axes=axes, keepdims=True))
    centered = cx.emit(ge.SubOp(x, mean))
    squares = cx.emit(ge.MulOp(centered, centered))
    total = cx.emit(ge.ReduceSumOp(squares, axes=axes, keepdims=bool(a.get("keepdim"))))
    var = cx.emit(ge.DivOp(total, cx.scalar(max(count, 0), cx.out_dtype())))
    return cx.emit(ge.SqrtOp(var)) if op_key(cx.node.target) == "std" else var


@converts("linalg_vector_norm", "norm")
def vector_norm(cx: Converter, a: dict[str, Any]) -> SSAValue:
    """The 2-norm (ge.reduce_l2), 1-norm and max-norm over `dim`."""
    x = cx.cast(a["self"], cx.out_dtype())
    order = a.get("ord", a.get("p"))
    order = 2 if order is None else order
    axes, keep = axes_of(a.get("dim")), bool(a.get("keepdim"))
    if order == 2:
        return cx.emit(ge.ReduceL2Op(x, axes=axes, keepdims=keep))
    magnitude = cx.emit(ge.AbsOp(x))
    if order == 1:
        return cx.emit(ge.ReduceSumOp(magnitude, axes=axes, keepdims=keep))
    if order == float("inf"):
        return cx.emit(ge.ReduceMaxOp(magnitude, axes=axes, keepdims=keep))
    raise cx.unsupported(f"vector norm of order {order}")


@converts("logsumexp")
def logsumexp(cx: Converter, a: dict[str, Any]) -> SSAValue:
    """Shifted by the max, as torch computes it (`ge.frontends.reductions.log_sum_exp`)."""
    x = cx.cast(a["self"], cx.out_dtype())
    return log_sum_exp(cx, x, axes_of(a["dim"]), bool(a["keepdim"]))
