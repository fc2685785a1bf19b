"""The GEMM an im2col conv runs per (image, group), and what its geometry implies: K parts,
drain chunks, skipped rows, rows folded into channels. `lowering.conv_tiling` picks tiles for
it; the lowering (`lowering.conv_im2col*`) follows the same shape.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

FRACTAL = 16


@dataclass(frozen=True)
class ConvShape:
    """The GEMM of one (image, group): m pixels, k patch columns, n output channels."""

    c: int  # input channels per group
    h: int
    w: int
    taps: int  # kh * kw
    m: int  # Ho * Wo
    n: int  # output channels per group
    images: int  # batch * groups
    itemsize: int
    operands: tuple[tuple[bool, bool], ...] = ()  # epilogue tiles: spans (channels, pixels)
    wo: int = 1  # output width
    stride: int = 1  # along H
    span: int = 1  # dilation * (kh - 1) + 1
    pads: tuple[int, int] = (0, 0)  # top, bottom
    laid: bool = True  # weights laid out at compile time (no UB staging)
    out_itemsize: int = 4
    kh: int = 1  # kernel rows (a row fold needs them)
    reads: int = 0  # compulsory input bytes per image when they differ from c * h * w's
    staged: bool = True
    """The input rows come NCHW and go to NC1HWC0 through UB (V and MTE3); False costs them
    as if they were NC1HWC0 already (what a layout pass would buy: `bench_conv_formats.py`)."""
    prologue: int = 0
    """Vector passes over each staged chunk before its layout change (the conv's
    `input_activation`, applied to its rows as they pass through UB)."""
    max_parts: int = 8
    """K parts per unit at most (`parts`); the tile search tries each of `PART_COUNTS`."""

    @property
    def c1(self) -> int:
        return -(-self.c // FRACTAL)

    @property
    def k(self) -> int:
        return self.c1 * self.taps * FRACTAL

    @property
    def ho(self) -> int:
        return -(-self.m // self.wo)

    def tile_rows(self, tm: int) -> int:
        """Padded input rows the most row-spanning tile of tm pixels reads."""
        out_rows = min(self.ho, (tm + self.wo - 2) // self.wo + 1)
        return (out_rows - 1) * self.stride + self.span

    def image_rows(self, tm: int) -> int:
        """Image rows (padding rows excluded) the most row-reading tile of tm pixels reads:
        the kernel lasts as long as its slowest core."""
        most = 0
        for i in range(-(-self.m // tm)):
            first, last = i * tm // self.wo, (min((i + 1) * tm, self.m) - 1) // self.wo
            top, end = first * self.stride - self.pads[0], last * self.stride + self.span
            most = max(most, min(end - self.pads[0], self.h) - max(top, 0))
        return most

    def row_bytes(self) -> int:
        return self.c1 * self.w * FRACTAL * self.itemsize


PART_COUNTS = (8, 16)
"""The most K parts a unit may come in, as the tile search tries them: the K loop starts
when the first part's rows and weights are in L1, and after the last load only the last
part's K steps are left, so more parts shorten both; each part costs instructions (its
loads, flags and K steps are unrolled) and L1 buffers of its own."""


def parts(s: ConvShape) -> list[int]:
    """The C1 slices of each K part, as even as they go: the loads of a unit land in up to
    `max_parts` L1 buffers per operand (the cube reads one while the next is written; one
    buffer would be a race). Measured on ResNet-50's 3x3 layers: 8 even parts beat 4 by 3-7%
    (less of the K loop left after the last load, less load before the first K step), 16
    beat 8 by 1-4% on the deep ones (C >= 256); shrinking (4:3:2:1) or growing sizes lose
    as much in the lag or the tail as they save."""
    n, sizes, left = min(s.max_parts, s.c1), [], s.c1
    for i in range(n):
        share = -(-left // (n - i))
        sizes.append(min(share, left - (n - i - 1)))
        left -= sizes[-1]
    return sizes


def part_slices(s: ConvShape) -> int:
    """C1 slices of the largest K part (UB staging holds one part's channels)."""
    return max(parts(s))


DRAIN_CHUNKS = 4
"""Pixel chunks a unit's drain comes in at most (`conv_im2col_drain`): FIX, V and the store
of successive chunks overlap, so the last unit's drain costs about its store."""


def drain_chunks(tm: int) -> tuple[int, int]:
    """(pixels per chunk, chunks) of a tile of tm pixels: whole fractals of L0C rows."""
    chunk = fractal_up(-(-tm // min(DRAIN_CHUNKS, -(-tm // FRACTAL))))
    return chunk, -(-tm // chunk)


def fractal_up(size: int) -> int:
    """`size` rounded up to whole cube fractals (the L0 buffers of a tile of `size` rows)."""
    return -(-size // FRACTAL) * FRACTAL


def skips_rows(span: int, stride: int, pads: tuple[int, int], h: int) -> bool:
    """Whether a conv reads only every stride-th input row (a kernel one row high, no
    vertical padding): the lowering then reads the image as (H / stride) rows through a view
    and runs with a vertical stride of 1 (`Im2ColConv._skip_rows`)."""
    return span == 1 and stride > 1 and not max(pads) and h % stride == 0


def folds_rows(s: ConvShape) -> bool:
    """Whether folding the kernel's rows into channels needs fewer C1 slices of K: a conv on
    few channels (ResNet's stem, C = 3 padded to 16 lanes) fills its cube lanes with kh rows
    of them instead (`folded`). Constant weights only (they are refolded at compile time)."""
    stride_ok = s.stride == 1 or s.h % s.stride == 0  # rows of one phase through a view
    fewer = -(-s.c * s.kh // FRACTAL) < s.c1 * s.kh
    return s.kh > 1 and s.laid and stride_ok and fewer


def folded(s: ConvShape) -> ConvShape:
    """The conv as the lowering runs it when its rows fold: channel (i, c) of row y is input
    row y * stride + i * dilation - pad of channel c, so the kernel is one row high, with a
    vertical stride of 1 and no vertical padding, over Ho rows of kh * C channels."""
    reads = s.reads or s.c * s.h * s.w * s.itemsize
    return dataclasses.replace(
        s, c=s.c * s.kh, h=s.ho, taps=s.taps // s.kh, stride=1, span=1, pads=(0, 0), kh=1,
        reads=reads,
    )  # fmt: skip
