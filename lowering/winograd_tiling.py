"""Tile sizes of the Winograd transform kernels, chosen per shape from UB's capacity.

A work item of the input transform is (image, band of `rb` tile rows, `ct` channels); of the
output transform (image, band of `rb` tile rows, `ct` output channels). Every buffer an item
needs lives in UB at once, so the candidates are the (ct, rb) whose buffers fit; among them
the estimate picks the fewest cycles of the busiest core: items per core times the slowest
of its pipes (V: the instructions' bytes / the vector rate; MTE2 / MTE3: HBM bytes at the
core's share of HBM). The vector instruction counts come from `winograd_combine.combine_cost`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gedialects.kernel.conv_algorithms import WINOGRAD
from lowering.tiling import aligned
from lowering.winograd_combine import combine_cost
from runtime.cost_model import hbm_share
from runtime.targets import Target


@dataclass(frozen=True)
class WinogradShape:
    """The tiled image: tiles of m x m outputs, th x tw of them per image."""

    m: int
    n: int
    c: int  # input channels (input transform) or output channels (output transform)
    th: int
    tw: int
    itemsize: int
    out_w: int = 0  # output width (output transform)
    operands: tuple[tuple[bool, bool], ...] = ()  # epilogue tiles: spans (channels, pixels)

    @property
    def alpha(self) -> int:
        return self.m + 2


@dataclass(frozen=True)
class TransformTiling:
    ct: int
    rb: int
    items: int
    blocks: int
    estimate: float


def input_ub_bytes(s: WinogradShape, ct: int, rb: int) -> int:
    """L (rows as loaded), L5 (rows and columns split by tile), and per-tile buffers: the
    alpha extracted views, alpha^2 row-transformed, two alpha output sets, one scratch."""
    a, isz, unit = s.alpha, s.itemsize, ct * rb * s.tw * s.itemsize
    band = aligned(ct * (rb + 1) * s.m * (s.tw + 1) * s.m * isz)
    zero = aligned(ct * 2 * (s.tw + 1) * s.m * isz)
    return 2 * band + zero + (a + a * a + 2 * a + 1) * aligned(unit)


def output_ub_bytes(s: WinogradShape, ct: int, rb: int) -> int:
    """alpha^2 loaded products, m * alpha row-transformed, one output tile and one scratch,
    the assembled tile (split by tile), its row-major copy and the epilogue operand tiles."""
    a, m, isz = s.alpha, s.m, s.itemsize
    unit = aligned(ct * rb * s.tw * isz)
    tile = aligned(ct * rb * m * s.tw * m * isz)
    pixels = rb * m * s.out_w
    extra = sum(aligned((ct if r else 1) * (pixels if c else 1) * isz) for r, c in s.operands)
    return (a * a + m * a + 2) * unit + 2 * tile + aligned(ct * pixels * isz) + extra


def _vector_ops(matrix: np.ndarray) -> int:
    return sum(combine_cost(row) for row in matrix)


def _choose(target: Target, s: WinogradShape, fits, per_item) -> TransformTiling:  # noqa: ANN001
    cap = target.capacity_of("ub")
    channel_tiles = sorted({min(s.c, 16 * 2**i) for i in range(8)} | {s.c})
    best: TransformTiling | None = None
    for ct in channel_tiles:
        for rb in sorted({min(s.th, 2**i) for i in range(12)}):
            if fits(ct, rb) > cap:
                continue
            items = s.n * -(-s.th // rb) * -(-s.c // ct)
            blocks = min(items, target.vector_cores)
            share = hbm_share(target, blocks)
            v, mte2, mte3 = per_item(ct, rb)
            rate_in, rate_out = min(target.rate("hbm", "ub"), share), min(64, share)
            estimate = -(-items // blocks) * max(v, mte2 / rate_in, mte3 / rate_out)
            if best is None or estimate < best.estimate:
                best = TransformTiling(ct, rb, items, blocks, estimate)
    if best is None:
        raise ValueError("no Winograd transform tile fits UB")  # the lowering words the error
    return best


def choose_input_tile(target: Target, s: WinogradShape, in_h: int, in_w: int) -> TransformTiling:
    """(ct, rb) of the input transform V = B^T d B."""
    bt = WINOGRAD[s.m][0]
    a, vb = s.alpha, target.vector_bytes_per_cycle

    def per_item(ct: int, rb: int) -> tuple[float, float, float]:
        unit = ct * rb * s.tw * s.itemsize
        band = ct * (rb + 1) * s.m * (s.tw + 1) * s.m * s.itemsize
        ops = a * a + 2 * a * _vector_ops(bt)  # extractions, then rows and columns
        v = band / vb + ops * max(1, unit / vb)
        load = ct * min((rb + 1) * s.m, in_h) * in_w * s.itemsize
        return v, load, a * a * unit

    return _choose(target, s, lambda ct, rb: input_ub_bytes(s, ct, rb), per_item)


def choose_output_tile(target: Target, s: WinogradShape, steps: int) -> TransformTiling:
    """(ct, rb) of the output transform Y = A^T M A with `steps` epilogue instructions."""
    at = WINOGRAD[s.m][2]
    a, m, vb = s.alpha, s.m, target.vector_bytes_per_cycle

    def per_item(ct: int, rb: int) -> tuple[float, float, float]:
        unit = ct * rb * s.tw * s.itemsize
        tile = ct * rb * m * s.tw * m * s.itemsize
        ops = a * _vector_ops(at) + m * _vector_ops(at) + m * m  # rows, columns, assembly
        v = ops * max(1, unit / vb) + (2 + steps) * tile / vb
        return v, a * a * unit, ct * rb * m * s.out_w * s.itemsize

    return _choose(target, s, lambda ct, rb: output_ub_bytes(s, ct, rb), per_item)


# Measured over ResNet-50's 3x3 layers (ascend910a, f16): the transform kernels take ~1.75x
# their estimates, the batched GEMM ~1.4x its HBM bytes (U, V, M) over the chip's bandwidth.
TRANSFORM_SLACK, GEMM_SLACK = 1.75, 1.4


def unfused_estimate(
    target: Target, tin: TransformTiling, tout: TransformTiling, gemm: tuple[int, ...]
) -> float:
    """Cycles of the three-kernel form: both transforms and the HBM-bound batched GEMM, whose
    U (alpha^2, O, C/G), V (alpha^2, C, tiles) and M (alpha^2, O, tiles) cross HBM once;
    `gemm` is (alpha^2, C, O, C/G, tiles, itemsize)."""
    a2, c, o, cg, tiles, isz = gemm
    hbm = a2 * (o * cg + (c + o) * tiles) * isz
    transforms = TRANSFORM_SLACK * (tin.estimate + tout.estimate)
    return transforms + GEMM_SLACK * hbm / target.hbm_bandwidth
