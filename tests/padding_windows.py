"""Test oracle: whether a sliding window reads only padding (the lowerings refuse such ops,
which then run by reference): some output position has no tap inside the input."""

from __future__ import annotations

import numpy as np


def reads_only_padding(sizes, outs, kernel, strides, pads, dilations) -> bool:  # noqa: ANN001
    """Per axis: window o's taps are o * stride - pad + j * dilation, j < kernel."""
    for size, out, k, s, p, d in zip(sizes, outs, kernel, strides, pads, dilations):
        taps = np.arange(out)[:, None] * s - p + np.arange(k)[None, :] * d
        if not ((taps >= 0) & (taps < size)).any(axis=1).all():
            return True
    return False
