"""Converters of aten's normalizations: batch, layer, group and instance norm.

Batch norm is kept as `ge.batch_norm` (folding it into the convolution is a pass's job);
training-mode batch norm is refused. Group norm is an instance norm over (N, groups, rest)
followed by the per-channel affine.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from xdsl.ir import SSAValue

from ge.frontends.torch.convert import Converter, dtype_of
from ge.frontends.torch.table import converts
from gedialects import ge
from gedialects.ge.types import shape_of


def _param_or(cx: Converter, v: SSAValue | None, channels: int, fill: float, dtype) -> SSAValue:
    return v if v is not None else cx.constant(np.full((channels,), fill, dtype))


def _batch_norm(cx: Converter, a: dict[str, Any]) -> SSAValue:
    x = a["input"]
    if a.get("training"):
        raise cx.in_training_mode("batch norm")
    if a["running_mean"] is None or a["running_var"] is None:
        raise cx.unsupported("batch norm without running statistics")
    c, dtype = shape_of(x.type)[1], dtype_of(x)
    scale = _param_or(cx, a["weight"], c, 1.0, dtype)
    bias = _param_or(cx, a["bias"], c, 0.0, dtype)
    return cx.emit(
        ge.BatchNormOp(x, scale, bias, a["running_mean"], a["running_var"], epsilon=a["eps"])
    )


@converts("batch_norm")
def batch_norm(cx: Converter, a: dict[str, Any]) -> SSAValue:
    return _batch_norm(cx, a)


@converts("_native_batch_norm_legit_no_training", "native_batch_norm")
def native_batch_norm(cx: Converter, a: dict[str, Any]) -> tuple:
    return _batch_norm(cx, a), None, None


def _layer_norm(cx: Converter, a: dict[str, Any]) -> SSAValue:
    x, shape = a["input"], list(a["normalized_shape"])
    dtype = dtype_of(x)
    scale = a["weight"] if a["weight"] is not None else cx.constant(np.ones(shape, dtype))
    op = ge.LayerNormOp(x, scale, a["bias"], axis=-len(shape), epsilon=a["eps"])
    return cx.emit(op)


@converts("layer_norm")
def layer_norm(cx: Converter, a: dict[str, Any]) -> SSAValue:
    return _layer_norm(cx, a)


@converts("native_layer_norm")
def native_layer_norm(cx: Converter, a: dict[str, Any]) -> tuple:
    return _layer_norm(cx, a), None, None


def _affine(cx: Converter, y: SSAValue, weight: Any, bias: Any) -> SSAValue:
    """y * weight + bias with per-channel (axis 1) vectors; None skips a term."""
    rank = len(shape_of(y.type))
    for v, op in ((weight, ge.MulOp), (bias, ge.AddOp)):
        if v is not None:
            channel = cx.reshape(v, [shape_of(v.type)[0], *[1] * (rank - 2)])
            y = cx.emit(op(y, channel))
    return y


def _group_norm(cx: Converter, x: SSAValue, groups: int, weight, bias, eps: float):
    """One `ge.group_norm`; a missing weight or bias is ones or zeros. A rank-2 input
    (N, C) is viewed as (N, C, 1), the spatial extent torch gives it."""
    shape = shape_of(x.type)
    channels, dtype = shape[1], dtype_of(x)
    weight = cx.constant(np.ones(channels, dtype)) if weight is None else weight
    bias = cx.constant(np.zeros(channels, dtype)) if bias is None else bias
    flat = cx.reshape(x, [*shape, 1]) if len(shape) == 2 else x
    y = cx.emit(ge.GroupNormOp(flat, weight, bias, num_groups=groups, epsilon=eps))
    return cx.reshape(y, shape) if len(shape) == 2 else y


@converts("group_norm")
def group_norm(cx: Converter, a: dict[str, Any]) -> SSAValue:
    return _group_norm(cx, a["input"], a["num_groups"], a["weight"], a["bias"], a["eps"])


@converts("native_group_norm")
def native_group_norm(cx: Converter, a: dict[str, Any]) -> tuple:
    y = _group_norm(cx, a["input"], a["group"], a["weight"], a["bias"], a["eps"])
    return y, None, None


@converts("instance_norm")
def instance_norm(cx: Converter, a: dict[str, Any]) -> SSAValue:
    """Statistics of each sample and channel (use_input_stats, as in eval by default)."""
    x = a["input"]
    if not a["use_input_stats"]:
        return _batch_norm(cx, {**a, "training": False})
    c, dtype = shape_of(x.type)[1], dtype_of(x)
    scale = _param_or(cx, a["weight"], c, 1.0, dtype)
    bias = _param_or(cx, a["bias"], c, 0.0, dtype)
    return cx.emit(ge.InstanceNormOp(x, scale, bias, epsilon=a["eps"]))


@converts("_native_batch_norm_legit")
def batch_norm_batch_stats(cx: Converter, a: dict[str, Any]) -> tuple:
    """Batch norm with the batch's own statistics (the `no_stats` overload that instance
    norm decomposes into): an instance norm of (1, C, N * spatial)."""
    x = a["input"]
    if a.get("running_mean") is not None:
        return _batch_norm(cx, a), None, None
    shape = shape_of(x.type)
    rank, c, dtype = len(shape), shape[1], dtype_of(x)
    channels_first = cx.emit(ge.TransposeOp(x, perm=[1, 0, *range(2, rank)]))
    flat = cx.reshape(channels_first, [1, c, int(np.prod(shape)) // c])
    ones, zeros = cx.constant(np.ones(c, dtype)), cx.constant(np.zeros(c, dtype))
    normed = cx.emit(ge.InstanceNormOp(flat, ones, zeros, epsilon=a["eps"]))
    back = cx.reshape(normed, [c, shape[0], *shape[2:]])
    y = cx.emit(ge.TransposeOp(back, perm=[1, 0, *range(2, rank)]))
    return _affine(cx, y, a["weight"], a["bias"]), None, None
