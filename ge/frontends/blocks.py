"""Im2Col (torch's `unfold`) and Col2Im (`fold`) as convolutions with one-hot kernels, for
both frontends.

Unfolding copies each (kh, kw) block of each channel into K = kh * kw rows: a grouped
convolution (one group per channel) whose K output channels each have a kernel that is 1
at one block position. Folding sums the blocks back: the transposed convolution with the
same kernel, the output padding making up the rows and columns no block reaches. Channel
c * K + k holds block position k of channel c, as torch and ONNX order them. 2-D only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def one_hot_blocks(rows: int, block: Sequence[int], dtype: np.dtype) -> np.ndarray:
    """(rows, 1, kh, kw): row r is 1 at block position r % (kh * kw), zero elsewhere."""
    kernel = np.zeros((rows, 1, *block), dtype)
    k = np.arange(rows) % (block[0] * block[1])
    kernel[np.arange(rows), 0, k // block[1], k % block[1]] = 1
    return kernel


def block_counts(
    image: Sequence[int],
    block: Sequence[int],
    strides: Sequence[int],
    pads: Sequence[int],
    dilations: Sequence[int],
) -> list[int]:
    """Blocks along each axis of a padded image (pads: begin of each axis, then ends)."""
    return [
        (image[i] + pads[i] + pads[i + 2] - dilations[i] * (block[i] - 1) - 1) // strides[i] + 1
        for i in range(2)
    ]


def fold_output_padding(
    image: Sequence[int],
    block: Sequence[int],
    strides: Sequence[int],
    pads: Sequence[int],
    dilations: Sequence[int],
) -> list[int]:
    """The rows and columns of the image past the last block: a fold's output padding."""
    counts = block_counts(image, block, strides, pads, dilations)
    reached = [
        (counts[i] - 1) * strides[i] - pads[i] - pads[i + 2] + dilations[i] * (block[i] - 1) + 1
        for i in range(2)
    ]
    return [image[i] - reached[i] for i in range(2)]
