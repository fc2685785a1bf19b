"""Reference semantics of the `ge` pools and reductions (ONNX identities for empty sets)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from gedialects.ge import ops
from gedialects.ge.semantics.registry import REFERENCE, Reference, reference, result_dtype


def _pool_windows(op: ops.Pool2DOp, x: np.ndarray, fill: float) -> tuple[np.ndarray, np.ndarray]:
    """Window views of the padded input, and of a mask of where the explicit pads end."""
    (kh, kw), (sh, sw) = op.ints("kernel_shape"), op.ints("strides")
    (dh, dw), pads = op.ints("dilations"), op.ints("pads")
    oh, ow = op.output.type.get_shape()[2:]
    span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    extra_h = max(0, (oh - 1) * sh + span_h - (x.shape[2] + pads[0] + pads[2]))
    extra_w = max(0, (ow - 1) * sw + span_w - (x.shape[3] + pads[1] + pads[3]))
    widths = ((0, 0), (0, 0), (pads[0], pads[2] + extra_h), (pads[1], pads[3] + extra_w))
    xp = np.pad(x, widths, constant_values=fill)
    inside = np.pad(np.ones(x.shape[2:], np.float64), widths[2:])
    with_pads = np.pad(
        np.ones((x.shape[2] + pads[0] + pads[2], x.shape[3] + pads[1] + pads[3])),
        ((0, extra_h), (0, extra_w)),
    )

    def view(a: np.ndarray, axes: tuple[int, int]) -> np.ndarray:
        v = sliding_window_view(a, (span_h, span_w), axis=axes)
        return v[..., ::sh, ::sw, ::dh, ::dw][..., :oh, :ow, :, :]

    mask = np.stack([view(inside, (0, 1)), view(with_pads, (0, 1))])
    return view(xp, (2, 3)), mask


def _over_taps(windows: np.ndarray, combine: Callable[..., np.ndarray]) -> np.ndarray:
    """`combine` of the window's taps, each a strided view of the padded input, into one
    array (a reduction over the two window axes of the 6-D view is ~10x slower: numpy
    reduces it element by element)."""
    kh, kw = windows.shape[-2:]
    result = windows[..., 0, 0].copy()
    for i in range(kh):
        for j in range(kw):
            if i or j:
                combine(result, windows[..., i, j], out=result)
    return result


@reference(ops.MaxPool2DOp)
def max_pool2d(op: ops.MaxPool2DOp, x: np.ndarray) -> np.ndarray:
    """The running maximum of the taps; NaN propagates as in `max`."""
    windows, _ = _pool_windows(op, x, -np.inf)
    return _over_taps(windows, np.maximum).astype(x.dtype, copy=False)


@reference(ops.AvgPool2DOp)
def avg_pool2d(op: ops.AvgPool2DOp, x: np.ndarray) -> np.ndarray:
    """The taps summed in f64, over the count of those inside (and, with
    count_include_pad, of the explicit pads). A dilated window whose taps all miss the
    input averages nothing: 0, as onnxruntime gives (numpy's 0 / 0 is NaN)."""
    windows, mask = _pool_windows(op, x.astype(np.float64), 0.0)
    count = mask[1 if op.get_flag("count_include_pad") else 0].sum(axis=(-2, -1))
    return (_over_taps(windows, np.add) / np.maximum(count, 1)).astype(x.dtype)


@reference(ops.GlobalAvgPoolOp)
def global_avg_pool(op: ops.GlobalAvgPoolOp, x: np.ndarray) -> np.ndarray:
    return x.mean(axis=tuple(range(2, x.ndim)), keepdims=True).astype(x.dtype)


@reference(ops.GlobalMaxPoolOp)
def global_max_pool(op: ops.GlobalMaxPoolOp, x: np.ndarray) -> np.ndarray:
    return x.max(axis=tuple(range(2, x.ndim)), keepdims=True)


def _extreme(dtype: np.dtype, high: bool) -> Any:
    """The identity of min (`high`) or max over `dtype`: ONNX's value for an empty set."""
    if dtype == np.bool_:
        return high
    if np.issubdtype(dtype, np.integer):
        return np.iinfo(dtype).max if high else np.iinfo(dtype).min
    return np.inf if high else -np.inf


def _reduce(fn: Callable[..., np.ndarray]) -> Reference:
    def run(op: ops.ReduceOp, x: np.ndarray) -> np.ndarray:
        axes = tuple(a % max(x.ndim, 1) for a in op.ints("axes")) or None
        y = fn(x, axis=axes, keepdims=op.get_flag("keepdims"))
        return np.asarray(y).astype(result_dtype(op), copy=False)

    return run


def _mean(x: np.ndarray, axis: tuple[int, ...] | None, keepdims: bool) -> np.ndarray:
    """The mean; 0 over no elements (onnxruntime's answer, and torch's EmbeddingBag's for an
    empty bag; the ONNX spec leaves it undefined), where numpy's 0 / 0 gives NaN."""
    count = x.size if axis is None else math.prod(x.shape[a] for a in axis)
    if count == 0:
        return np.sum(x, axis=axis, keepdims=keepdims)
    return np.mean(x, axis=axis, keepdims=keepdims)


for _op, _fn in {
    ops.ReduceSumOp: np.sum,
    ops.ReduceMeanOp: _mean,
    ops.ReduceMaxOp: lambda x, **kw: np.max(x, initial=_extreme(x.dtype, False), **kw),
    ops.ReduceMinOp: lambda x, **kw: np.min(x, initial=_extreme(x.dtype, True), **kw),
    ops.ReduceProdOp: np.prod,
    ops.ReduceL2Op: lambda x, **kw: np.sqrt(np.sum(np.square(x.astype(np.float64)), **kw)),
}.items():
    REFERENCE[_op] = _reduce(_fn)


def _arg(fn: Callable[..., np.ndarray]) -> Reference:
    def run(op: ops.ArgReduceOp, x: np.ndarray) -> np.ndarray:
        axis = op.get_int("axis") % x.ndim
        if op.get_flag("select_last_index"):
            y = x.shape[axis] - 1 - fn(np.flip(x, axis), axis=axis, keepdims=True)
        else:
            y = fn(x, axis=axis, keepdims=True)
        if not op.get_flag("keepdims"):
            y = np.squeeze(y, axis)
        return y.astype(np.int64)

    return run


REFERENCE[ops.ArgMaxOp] = _arg(np.argmax)
REFERENCE[ops.ArgMinOp] = _arg(np.argmin)
