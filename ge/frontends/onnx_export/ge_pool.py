"""ONNX forms of the `ge` dialect's window pools (MaxPool, AveragePool).

Two gaps between the standard and onnxruntime shape this module. ONNX's shape inference
and onnxruntime disagree on ceil mode when the last window would start in the padding, so
ceil mode is stated as floor mode with extra end padding. And onnxruntime refuses a pad
as large as the window; such pools (and averages that count pads but not ceil mode's
extra cells) pad the input explicitly and divide window sums by counts computed here.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ge.frontends.onnx_export.graph import GraphBuilder, element_dtype, emits
from gedialects.ge import ops
from gedialects.ge.types import shape_of

B = GraphBuilder


def _floor_mode_pads(op) -> list[int]:
    """Pads (top, left, bottom, right) that give `op`'s ceil-mode output size in floor mode.

    The end pad is cut to where the last window ends: ceil mode drops a window that would
    start in the padding, so the padding beyond the last window is in no window.
    """
    pads = list(op.ints("pads"))
    size = shape_of(op.input.type)[2:]
    out = shape_of(op.output.type)[2:]
    for i in range(2):
        span = op.ints("dilations")[i] * (op.ints("kernel_shape")[i] - 1) + 1
        needed = (out[i] - 1) * op.ints("strides")[i] + span
        pads[i + 2] = max(0, needed - (size[i] + pads[i]))  # ends the last window
    return pads


def _window_counts(op, pads: list[int]) -> np.ndarray:
    """How many cells each window of `op` averages over (pads counted as the op says)."""
    (h, w), explicit = shape_of(op.input.type)[2:], op.ints("pads")
    mask = np.zeros((h + pads[0] + pads[2], w + pads[1] + pads[3]))
    if op.get_flag("count_include_pad"):
        mask[: h + explicit[0] + explicit[2], : w + explicit[1] + explicit[3]] = 1
    else:
        mask[pads[0] : pads[0] + h, pads[1] : pads[1] + w] = 1
    (kh, kw), (sh, sw), (dh, dw) = (op.ints(k) for k in ("kernel_shape", "strides", "dilations"))
    windows = sliding_window_view(mask, (dh * (kh - 1) + 1, dw * (kw - 1) + 1))
    oh, ow = shape_of(op.output.type)[2:]
    counts = windows[::sh, ::sw, ::dh, ::dw][:oh, :ow].sum(axis=(-2, -1))
    return counts.reshape(1, 1, oh, ow).astype(element_dtype(op.input))


def _padded_pool(b: B, op, x: str, pads: list[int], ys: list[str], attrs: dict) -> None:
    """The pool on an explicitly padded input, for what onnxruntime's pads cannot say."""
    is_max = isinstance(op, ops.MaxPool2DOp)
    fill = b.constant(np.asarray(-np.inf if is_max else 0, element_dtype(op.input)), "fill")
    nchw = [0, 0, pads[0], pads[1], 0, 0, pads[2], pads[3]]
    padded = b.temp("Pad", [x, b.ints(nchw, "pads"), fill])
    if is_max:
        b.node("MaxPool", [padded], ys, **attrs)
        return
    mean = b.temp("AveragePool", [padded], **attrs)
    cells = int(np.prod(op.ints("kernel_shape")))
    sums = b.temp("Mul", [mean, b.constant(np.asarray(cells, element_dtype(op.input)), "k")])
    b.node("Div", [sums, b.constant(_window_counts(op, pads), "counts")], ys)


@emits(ops.MaxPool2DOp, ops.AvgPool2DOp)
def _pool(b: B, op, xs: list[str], ys: list[str]) -> None:
    ceil = op.get_flag("ceil_mode")
    pads = _floor_mode_pads(op) if ceil else list(op.ints("pads"))
    kernel = list(op.ints("kernel_shape"))
    dilations = list(op.ints("dilations"))
    attrs = {
        "kernel_shape": kernel,
        "strides": list(op.ints("strides")),
        # AveragePool takes dilations since opset 19; left out when trivial.
        "dilations": dilations if any(d != 1 for d in dilations) else None,
    }
    is_max = isinstance(op, ops.MaxPool2DOp)
    include = 0 if is_max else int(op.get_flag("count_include_pad"))
    too_wide = any(p >= kernel[i % 2] for i, p in enumerate(pads))
    if too_wide or (include and ceil):
        _padded_pool(b, op, xs[0], pads, ys, attrs)
    elif is_max:
        b.node("MaxPool", xs, ys, pads=pads, **attrs)
    else:
        b.node("AveragePool", xs, ys, pads=pads, count_include_pad=include, **attrs)
