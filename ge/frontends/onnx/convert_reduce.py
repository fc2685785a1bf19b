"""Converters of ONNX reductions (ReduceX, ArgMax, ArgMin).

The axes are an attribute before opset 13 (ReduceSum) or 18 (the others) and an optional
constant input after; `noop_with_empty_axes` makes empty axes an identity. ReduceL1,
ReduceSumSquare and ReduceLogSum are composed from `ge.reduce_sum`; ReduceLogSumExp of floats
subtracts the max first (as onnxruntime and torch do: exp of 100 overflows f32).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from xdsl.ir import SSAValue

from ge.frontends.onnx.context import Node
from ge.frontends.reductions import log_sum_exp
from gedialects.ge import ops

Converter = Callable[[Node], SSAValue]

AXES_INPUT_SINCE = {"ReduceSum": 13}
"""The opset from which the axes are an input; 18 for the reductions not listed."""


def reduce_axes(n: Node) -> list[int] | None:
    """The axes to reduce; None when the reduction is an identity (noop on empty axes)."""
    if n.opset >= AXES_INPUT_SINCE.get(n.op_type, 18):
        axes = [int(a) for a in n.const_or(1, [], "axes").reshape(-1)] if n.has(1) else []
    else:
        axes = n.ints("axes", [])
    if not axes and n.attr("noop_with_empty_axes", 0):
        return None
    return axes


def _reduce(op_class: type, pre: Callable | None = None, post: Callable | None = None):
    def convert(n: Node) -> SSAValue:
        x = n.value(0)
        axes = reduce_axes(n)
        if axes is None:
            return x
        if pre is not None:
            x = pre(n, x)
        y = n.emit(op_class(x, axes=axes, keepdims=bool(n.attr("keepdims", 1))))
        return post(n, y) if post is not None else y

    return convert


def _abs(n: Node, x: SSAValue) -> SSAValue:
    return n.emit(ops.AbsOp(x))


def _square(n: Node, x: SSAValue) -> SSAValue:
    return n.emit(ops.MulOp(x, x))


def _exp(n: Node, x: SSAValue) -> SSAValue:
    return n.emit(ops.ExpOp(x))


def _log(n: Node, x: SSAValue) -> SSAValue:
    return n.emit(ops.LogOp(x))


def _log_sum_exp(n: Node) -> SSAValue:
    """Floats shifted by their max (`ge.frontends.reductions.log_sum_exp`); integers as
    log(sum(exp(x)))."""
    axes = reduce_axes(n)
    if axes is None:
        return n.value(0)
    if not np.issubdtype(n.dtype(0), np.floating):
        return _reduce(ops.ReduceSumOp, pre=_exp, post=_log)(n)
    return log_sum_exp(n, n.value(0), axes, bool(n.attr("keepdims", 1)))


def _arg(op_class: type) -> Converter:
    def convert(n: Node) -> SSAValue:
        return n.emit(
            op_class(
                n.value(0),
                axis=int(n.attr("axis", 0)),
                keepdims=bool(n.attr("keepdims", 1)),
                select_last_index=bool(n.attr("select_last_index", 0)),
            )
        )

    return convert


CONVERTERS: dict[str, Converter] = {
    "ReduceSum": _reduce(ops.ReduceSumOp),
    "ReduceMean": _reduce(ops.ReduceMeanOp),
    "ReduceMax": _reduce(ops.ReduceMaxOp),
    "ReduceMin": _reduce(ops.ReduceMinOp),
    "ReduceProd": _reduce(ops.ReduceProdOp),
    "ReduceL2": _reduce(ops.ReduceL2Op),
    "ReduceL1": _reduce(ops.ReduceSumOp, pre=_abs),
    "ReduceSumSquare": _reduce(ops.ReduceSumOp, pre=_square),
    "ReduceLogSum": _reduce(ops.ReduceSumOp, post=_log),
    "ReduceLogSumExp": _log_sum_exp,
    "ArgMax": _arg(ops.ArgMaxOp),
    "ArgMin": _arg(ops.ArgMinOp),
}
