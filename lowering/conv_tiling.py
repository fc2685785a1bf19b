"""Tile sizes of an im2col convolution, chosen per shape by the target's cost model.

One (n, group) image sits whole in L1 in NC1HWC0; the GEMM C (pixels, out channels) =
patches (pixels, K) @ weights (K, out channels) runs in (tm, tn) output tiles with a K loop
of tk columns (K = C1 * kh * kw * 16, the img2col order). Each output tile keeps its weight
columns (K, tn) in L1. The candidates are the tiles whose buffers fit every level; the estimate
charges the same per-instruction costs as the interpreter (`runtime.cost_model`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from runtime.cost_model import dma_bytes_charged, mmad_cycles
from runtime.targets import Target

ALIGN = 32
ISSUE_CYCLES = 8
FRACTAL = 16


def _aligned(nbytes: int) -> int:
    return -(-nbytes // ALIGN) * ALIGN


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

    @property
    def c1(self) -> int:
        return -(-self.c // FRACTAL)

    @property
    def k(self) -> int:
        return self.c1 * self.taps * FRACTAL


@dataclass(frozen=True)
class ConvTiling:
    tm: int
    tn: int
    tk: int
    rows: int  # input rows per NCHW -> NC1HWC0 chunk through UB
    blocks: int
    estimate: float


def image_bytes(s: ConvShape) -> int:
    return _aligned(s.c1 * s.h * s.w * FRACTAL * s.itemsize)


def _ub_bytes(s: ConvShape, tm: int, tn: int, rows: int) -> int:
    isz = s.itemsize
    chunk = 2 * _aligned(s.c * rows * s.w * isz) + 2 * _aligned(s.c1 * rows * s.w * FRACTAL * isz)
    weights = 4 * _aligned(tn * FRACTAL * s.taps * isz)  # ping and pong of two buffers each
    out = 2 * _aligned(tm * tn * 4)
    extra = sum(_aligned((tn if r else 1) * (tm if c else 1) * 4) for r, c in s.operands)
    return chunk + weights + out + extra


def _fits(target: Target, s: ConvShape, tile: tuple[int, int, int], rows: int) -> bool:
    tm, tn, tk = tile
    cap, isz = target.capacity_of, s.itemsize
    return (
        2 * tm * tk * isz <= cap("l0a")
        and 2 * tk * tn * isz <= cap("l0b")
        and tm * tn * 4 <= cap("l0c")
        and image_bytes(s) + _aligned(s.k * tn * isz) <= cap("l1")
        and _ub_bytes(s, tm, tn, rows) <= cap("ub")
    )


def _cycles(target: Target, s: ConvShape, tm: int, tn: int, tk: int) -> tuple[float, int]:
    """Pipes run one after another (the kernel chains them), so a tile costs their sum; each
    core loads the input rows of its band of tiles, and weights once when tn spans them all."""
    tiles = -(-s.m // tm) * -(-s.n // tn)
    blocks = min(tiles, target.ai_cores)
    isz, share = s.itemsize, target.hbm_bandwidth / blocks
    image = s.c * s.h * s.w * isz / blocks
    load_image = max(image / target.rate("hbm", "ub"), image / share)
    load_image += image * 16 / max(s.c, 1) / target.rate("ub", "l1")
    weights = dma_bytes_charged(target, [tn, s.c, s.taps], [s.n, s.c, s.taps], isz)
    load_w = max(weights / target.rate("hbm", "ub"), weights / share)
    load_w += s.k * tn * isz / target.rate("ub", "l1")
    ksteps = -(-s.k // tk)
    mte1 = (tm * tk * isz / target.rate("l1", "l0a")) + tk * tn * isz / target.rate("l1", "l0b")
    cube = mmad_cycles(target, tm, tn, tk, _dtype(isz))
    store = dma_bytes_charged(target, [tn, tm], [s.n, s.m], 4)
    out = tm * tn * 4 / target.rate("l0c", "ub") + max(
        store / target.rate("ub", "hbm"), store / share
    )
    per_tile = ksteps * (max(mte1, cube) + ISSUE_CYCLES) + mte1 + out
    once = load_image + (load_w if tn >= s.n else 0)
    per_tile += 0 if tn >= s.n else load_w
    return s.images * (once + math.ceil(tiles / blocks) * per_tile), blocks


def choose_conv_tile(target: Target, s: ConvShape) -> ConvTiling | None:
    """The cheapest (tm, tn, tk) and chunk rows that fit, or None when the image does not fit."""
    options = [FRACTAL * 2**i for i in range(5)]  # 16 .. 256
    rows = s.h
    while rows > 1 and _ub_bytes(s, 16, 16, rows) > target.capacity_of("ub") // 2:
        rows = -(-rows // 2)
    best: ConvTiling | None = None
    for tm in options:
        for tn in options:
            for tk in options:
                if not _fits(target, s, (tm, tn, tk), rows):
                    continue
                estimate, blocks = _cycles(target, s, tm, tn, tk)
                if best is None or estimate < best.estimate:
                    best = ConvTiling(tm, tn, tk, rows, blocks, estimate)
                if tk >= s.k:
                    break
            if tn >= s.n:
                break
        if tm >= s.m:
            break
    return best


def _dtype(itemsize: int):  # noqa: ANN202
    import numpy as np

    return np.dtype(np.float32) if itemsize == 4 else np.dtype(np.float16)
