"""Reference semantics of the `ge` ops that normalize or activate along an axis."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from gedialects.ge import ops
from gedialects.ge.ops.norm import rotated_width
from gedialects.ge.semantics.registry import reference


def _channel(v: np.ndarray, rank: int) -> np.ndarray:
    return v.reshape(1, -1, *[1] * (rank - 2))


@reference(ops.BatchNormOp)
def batch_norm(op: ops.BatchNormOp, x, scale, bias, mean, var) -> np.ndarray:
    r = x.ndim
    inv = 1.0 / np.sqrt(var.astype(np.float64) + op.get_float("epsilon"))
    y = (x - _channel(mean, r)) * _channel(inv * scale, r) + _channel(bias, r)
    return y.astype(x.dtype)


@reference(ops.InstanceNormOp)
def instance_norm(op: ops.InstanceNormOp, x, scale, bias) -> np.ndarray:
    axes = tuple(range(2, x.ndim))
    x64 = x.astype(np.float64)
    mean = x64.mean(axis=axes, keepdims=True)
    var = x64.var(axis=axes, keepdims=True)
    y = (x64 - mean) / np.sqrt(var + op.get_float("epsilon"))
    return (y * _channel(scale, x.ndim) + _channel(bias, x.ndim)).astype(x.dtype)


@reference(ops.GroupNormOp)
def group_norm(op: ops.GroupNormOp, x, scale, bias) -> np.ndarray:
    groups = op.get_int("num_groups")
    grouped = x.astype(np.float64).reshape(x.shape[0], groups, -1)
    mean = grouped.mean(axis=2, keepdims=True)
    var = grouped.var(axis=2, keepdims=True)
    y = ((grouped - mean) / np.sqrt(var + op.get_float("epsilon"))).reshape(x.shape)
    return (y * _channel(scale, x.ndim) + _channel(bias, x.ndim)).astype(x.dtype)


@reference(ops.RopeOp)
def rope(op: ops.RopeOp, x, cos, sin) -> np.ndarray:
    size = rotated_width(op)
    part, rest = x[..., :size], x[..., size:]
    half = part.shape[-1] // 2
    rotated = np.concatenate([-part[..., half:], part[..., :half]], axis=-1)
    y = (part * cos + rotated * sin).astype(x.dtype)
    return y if not rest.shape[-1] else np.concatenate([y, rest], axis=-1)


@reference(ops.LayerNormOp)
def layer_norm(op: ops.LayerNormOp, x, scale, bias=None) -> np.ndarray:
    axis = op.get_int("axis") % x.ndim
    axes = tuple(range(axis, x.ndim))
    x32 = x.astype(np.float32) if x.dtype != np.float64 else x
    mean = x32.mean(axis=axes, keepdims=True)
    var = np.square(x32 - mean).mean(axis=axes, keepdims=True)
    y = (x32 - mean) / np.sqrt(var + np.asarray(op.get_float("epsilon"), x32.dtype))
    y = y * scale
    if bias is not None:
        y = y + bias
    return y.astype(x.dtype)


@reference(ops.RMSNormOp)
def rms_norm(op: ops.RMSNormOp, x, scale) -> np.ndarray:
    axis = op.get_int("axis") % x.ndim
    axes = tuple(range(axis, x.ndim))
    x32 = x.astype(np.float32) if x.dtype != np.float64 else x
    ms = np.square(x32).mean(axis=axes, keepdims=True)
    y = x32 / np.sqrt(ms + np.asarray(op.get_float("epsilon"), x32.dtype)) * scale
    return y.astype(x.dtype)


@reference(ops.SoftmaxOp)
def softmax(op: ops.SoftmaxOp, x: np.ndarray) -> np.ndarray:
    axis = op.get_int("axis")
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return (e / e.sum(axis=axis, keepdims=True)).astype(x.dtype)


@reference(ops.LogSoftmaxOp)
def log_softmax(op: ops.LogSoftmaxOp, x: np.ndarray) -> np.ndarray:
    axis = op.get_int("axis")
    shifted = x - x.max(axis=axis, keepdims=True)
    return (shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))).astype(x.dtype)


@reference(ops.LRNOp)
def lrn(op: ops.LRNOp, x: np.ndarray) -> np.ndarray:
    size = op.get_int("size")
    lo, hi = (size - 1) // 2, size - 1 - (size - 1) // 2
    sq = np.pad(np.square(x.astype(np.float64)), [(0, 0), (lo, hi)] + [(0, 0)] * (x.ndim - 2))
    window = sliding_window_view(sq, size, axis=1).sum(axis=-1)
    denom = (op.get_float("bias") + op.get_float("alpha") / size * window) ** op.get_float("beta")
    return (x / denom).astype(x.dtype)


@reference(ops.DropoutOp)
def dropout(op: ops.DropoutOp, x: np.ndarray) -> np.ndarray:
    ratio = op.get_float("ratio")
    if not op.get_flag("is_training") or ratio == 0.0:
        return x
    keep = np.random.default_rng(op.get_int("seed")).random(x.shape) >= ratio
    return (x * keep / (1.0 - ratio)).astype(x.dtype)
