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
from dataclasses import dataclass

import numpy as np


def one_hot_blocks(rows: int, block: Sequence[int], dtype: np.dtype) -> np.ndarray:
    """(rows, 1, kh, kw): row r is 1 at block position r % (kh * kw), zero elsewhere."""
    kernel = np.zeros((rows, 1, *block), dtype)
    k = np.arange(rows) % (block[0] * block[1])
    kernel[np.arange(rows), 0, k // block[1], k % block[1]] = 1
    return kernel


@dataclass(frozen=True)
class Blocks:
    """Blocks of an image: pads are ONNX's (begin of each axis, then ends)."""

    image: Sequence[int]
    block: Sequence[int]
    strides: Sequence[int]
    pads: Sequence[int]
    dilations: Sequence[int]

    def span(self, axis: int) -> int:
        return self.dilations[axis] * (self.block[axis] - 1) + 1

    def counts(self) -> list[int]:
        """Blocks along each axis of the padded image."""
        padded = [self.image[i] + self.pads[i] + self.pads[i + 2] for i in range(2)]
        return [(padded[i] - self.span(i)) // self.strides[i] + 1 for i in range(2)]

    def output_padding(self) -> list[int]:
        """The rows and columns of the image past the last block: a fold's output padding."""
        counts = self.counts()
        reached = [
            (counts[i] - 1) * self.strides[i] - self.pads[i] - self.pads[i + 2] + self.span(i)
            for i in range(2)
        ]
        return [self.image[i] - reached[i] for i in range(2)]
