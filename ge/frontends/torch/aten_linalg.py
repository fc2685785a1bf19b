"""Converters of aten's matrix products and attention.

`linear` and `addmm` become `ge.matmul` plus `ge.add` (fusing them is a pass's job), and
`scaled_dot_product_attention` is decomposed into the math torch documents: a scaled
product, the mask (boolean: where; float: added; causal: a constant lower triangle),
softmax over the last axis, and the product with the values.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from xdsl.ir import SSAValue

from ge.frontends.torch.convert import Converter, dtype_of
from ge.frontends.torch.table import converts
from gedialects import ge
from gedialects.ge.types import shape_of


def transpose_last(cx: Converter, x: SSAValue) -> SSAValue:
    """Swap the last two axes."""
    rank = len(shape_of(x.type))
    perm = [*range(rank - 2), rank - 1, rank - 2]
    return cx.emit(ge.TransposeOp(x, perm=perm))


@converts("mm", "bmm", "matmul")
def matmul(cx: Converter, a: dict[str, Any]) -> SSAValue:
    other = a["mat2"] if "mat2" in a else a["other"]
    return cx.emit(ge.MatMulOp(a["self"], other))


@converts("linear")
def linear(cx: Converter, a: dict[str, Any]) -> SSAValue:
    w = a["weight"]
    wt = transpose_last(cx, w) if len(shape_of(w.type)) == 2 else w
    y = cx.emit(ge.MatMulOp(a["input"], wt))
    return y if a["bias"] is None else cx.emit(ge.AddOp(y, a["bias"]))


def _scale(cx: Converter, v: SSAValue, factor: Any) -> SSAValue:
    if factor == 1:
        return v
    return cx.emit(ge.MulOp(v, cx.scalar(factor, dtype_of(v))))


@converts("addmm", "baddbmm")
def addmm(cx: Converter, a: dict[str, Any]) -> SSAValue:
    """beta * self + alpha * (mat1 @ mat2); baddbmm's batch1/batch2 alike."""
    lhs = a.get("mat1", a.get("batch1"))
    rhs = a.get("mat2", a.get("batch2"))
    product = cx.emit(ge.MatMulOp(lhs, rhs))
    product = _scale(cx, product, a["alpha"])
    if a["beta"] == 0:
        return product
    return cx.emit(ge.AddOp(_scale(cx, a["self"], a["beta"]), product))


@converts("t")
def t(cx: Converter, a: dict[str, Any]) -> SSAValue:
    x = a["self"]
    return transpose_last(cx, x) if len(shape_of(x.type)) == 2 else x


@converts("scaled_dot_product_attention")
def scaled_dot_product_attention(cx: Converter, a: dict[str, Any]) -> SSAValue:
    q, k, v = a["query"], a["key"], a["value"]
    if a["dropout_p"]:
        raise cx.unsupported("attention with dropout_p > 0 (dropout is random)")
    if a.get("enable_gqa") and shape_of(q.type)[-3] != shape_of(k.type)[-3]:
        raise cx.unsupported("grouped-query attention (enable_gqa with fewer key heads)")
    dtype = dtype_of(q)
    length, source = shape_of(q.type)[-2], shape_of(k.type)[-2]
    scale = a["scale"] if a["scale"] is not None else 1.0 / math.sqrt(shape_of(q.type)[-1])
    scores = cx.emit(ge.MatMulOp(q, transpose_last(cx, k)))
    scores = cx.emit(ge.MulOp(scores, cx.scalar(scale, dtype)))
    if a["is_causal"]:
        keep = cx.constant(np.tril(np.ones((length, source), np.bool_)))
        scores = cx.emit(ge.WhereOp(keep, scores, cx.scalar(-np.inf, dtype)))
    mask = a["attn_mask"]
    if mask is not None:
        if dtype_of(mask) == np.bool_:
            scores = cx.emit(ge.WhereOp(mask, scores, cx.scalar(-np.inf, dtype)))
        else:
            scores = cx.emit(ge.AddOp(scores, cx.cast(mask, dtype)))
    weights = cx.emit(ge.SoftmaxOp(scores, axis=-1))
    return cx.emit(ge.MatMulOp(weights, v))
