"""Tile sizes of the fused Winograd kernel, from the target's capacities by a per-pipe estimate.

An item of the fused kernel is (group, block of `oc` output channels, image, band of `rb`
tile rows, run of `tc` tile columns); its input channels go through the input transform in
chunks of `ct`. Every candidate whose buffers fit UB, L1 and L0 is costed as the items of
the busiest core's busiest pipe (the stages of consecutive items overlap: the vector unit
transforms item u+1 while the cube multiplies item u), part of its second busiest, plus the
pipeline's fill (the first load; the last item's GEMMs, FIX, output transform and store), and
the cheapest wins. The vector instruction counts are `winograd_combine.combine_cost`'s.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from gedialects.kernel.conv_algorithms import WINOGRAD
from lowering import tile_tuning
from lowering.tiling import aligned
from lowering.winograd_combine import combine_cost
from runtime.cost_model import hbm_share, mmad_cycles
from runtime.targets import Target

FRACTAL = 16
# The second busiest pipe's share that does not overlap the busiest: the vector unit waits for
# band loads and MTE2 for band buffers (and for the weight blocks); fitted to the interpreter
# on ResNet-50's 64ch 56x56 layer (estimates within 10% of 3.3k-4.2k modeled cycles).
OVERLAP = 0.7


def _up(x: int) -> int:
    return -(-x // FRACTAL) * FRACTAL


@dataclass(frozen=True)
class FusedShape:
    """One conv as the fused kernel sees it (channels per group)."""

    m: int
    n: int
    groups: int
    cg: int  # input channels per group
    og: int  # output channels per group
    h: int
    w: int
    oh: int
    ow: int
    itemsize: int
    pads: tuple[int, int]  # top, left
    operands: tuple[bool, ...] = ()  # epilogue operand tiles: True if it spans the pixels

    @property
    def alpha(self) -> int:
        return self.m + 2

    @property
    def th(self) -> int:
        return -(-self.oh // self.m)

    @property
    def tw(self) -> int:
        return -(-self.ow // self.m)


@tile_tuning.decision_type
@dataclass(frozen=True)
class FusedTiling:
    rb: int  # tile rows per item
    tc: int  # tile columns per item
    ct: int  # input channels per input-transform chunk
    oc: int  # output channels per item
    items: int
    per: int  # items per core (a contiguous run)
    blocks: int
    estimate: float

    @property
    def tiles(self) -> int:
        return self.rb * self.tc


def _ops(matrix: np.ndarray) -> int:
    return sum(combine_cost(row) for row in matrix)


def ub_bytes(s: FusedShape, rb: int, tc: int, ct: int, oc: int) -> int:
    """Input side: the band as loaded and split by tile, alpha views, alpha^2 row-transformed,
    two alpha output sets, a scratch; output side: alpha^2 products, m * alpha row-transformed,
    a tile and a scratch, the assembled tile (split and as pixels), epilogue operand tiles."""
    a, m, isz, t = s.alpha, s.m, s.itemsize, rb * tc
    band = aligned(ct * (rb + 1) * m * (tc + 1) * m * isz)
    unit_in, unit_out = aligned(ct * t * isz), aligned(oc * t * isz)
    pixels = aligned(oc * rb * m * tc * m * isz)
    extra = sum(pixels if spans else aligned(oc * isz) for spans in s.operands)
    inside = 2 * band + (a + a * a + 2 * a + 1) * unit_in
    return inside + (a * a + m * a + 2) * unit_out + 2 * pixels + extra


def l1_bytes(s: FusedShape, t: int, oc: int) -> int:
    """The resident transformed weights of an output block and two transformed inputs."""
    a2, isz = s.alpha**2, s.itemsize
    return aligned(a2 * _up(oc) * _up(s.cg) * isz) + 2 * aligned(a2 * _up(s.cg) * _up(t) * isz)


def fits(target: Target, s: FusedShape, rb: int, tc: int, ct: int, oc: int) -> bool:
    isz, t, k = s.itemsize, rb * tc, _up(s.cg)
    return (
        ub_bytes(s, rb, tc, ct, oc) <= target.capacity_of("ub")
        and l1_bytes(s, t, oc) <= target.capacity_of("l1")
        and 2 * _up(oc) * k * isz <= target.capacity_of("l0a")
        and 2 * k * _up(t) * isz <= target.capacity_of("l0b")
        and 2 * _up(oc) * _up(t) * 4 <= target.capacity_of("l0c")
    )


def _estimate(target: Target, s: FusedShape, rb: int, tc: int, ct: int, oc: int) -> FusedTiling:
    a, m, isz, t = s.alpha, s.m, s.itemsize, rb * tc
    bt, _, at = WINOGRAD[m]
    vb = target.vector_bytes_per_cycle

    def vec(nbytes: float) -> float:
        return max(1.0, nbytes / vb)

    nob = -(-s.og // oc)
    spatial = s.n * -(-s.th // rb) * -(-s.tw // tc)
    items = s.groups * nob * spatial
    blocks = min(items, target.ai_cores)
    per = -(-items // blocks)
    blocks = -(-items // per)
    chunks = -(-s.cg // ct)
    unit_in, unit_out = ct * t * isz, oc * t * isz
    band = ct * (rb + 1) * m * (tc + 1) * m * isz
    v_in = chunks * (band / vb + a * a * vec(unit_in) + 2 * a * _ops(bt) * vec(unit_in))
    tile = oc * rb * m * tc * m * isz
    v_out = ((a + m) * _ops(at) + m * m) * vec(unit_out) + (2 + len(s.operands)) * vec(tile)
    dtype = np.float16 if isz == 2 else np.float32
    cube = a * a * mmad_cycles(target, oc, t, s.cg, dtype)
    mte1 = a * a * (oc * s.cg * isz / target.rate("l1", "l0a") + s.cg * t * isz / 256)
    fix = a * a * oc * t * 4 / target.rate("l0c", "ub")
    share = min(hbm_share(target, blocks), target.rate("hbm", "ub"))
    store = oc * rb * m * tc * m * isz / min(share, target.rate("ub", "hbm"))
    mte3 = a * a * s.cg * t * isz / target.rate("ub", "l1") + store
    band_bytes = chunks * _band_bytes(target, s, rb, tc, min(ct, s.cg))
    # cold: this item's own rows and columns, once over the output blocks; the halo and the
    # other blocks' reads of the same band hit L2 (the cores share a line's HBM fetch). A DMA
    # takes the longer of all its bytes at L2's rate and its cold bytes at the HBM share.
    unique = rb / (rb + 1) * tc / (tc + 1) / nob
    load = band_bytes * max(unique / share, 1 / target.rate("l2", "ub"))
    u_load = a * a * oc * s.cg * isz / target.rate("l2", "l1")
    reloads = 1 + (per - 1) / spatial  # weight blocks a run touches, on average
    totals = [per * (v_in + v_out), per * cube, per * mte1, per * fix, per * mte3]
    first, second = sorted([*totals, per * load + reloads * u_load])[-1:-3:-1]
    fill = load / chunks + cube + fix + v_out + store  # first chunk; last GEMM, output, store
    return FusedTiling(rb, tc, ct, oc, items, per, blocks, first + OVERLAP * second + fill)


def _band_bytes(target: Target, s: FusedShape, rb: int, tc: int, ct: int) -> int:
    """HBM bytes of one chunk's band load, in whole bursts per contiguous run (as charged)."""
    rows, cols = min((rb + 1) * s.m, s.h), min((tc + 1) * s.m, s.w)
    burst = target.dma_burst
    if cols == s.w:  # whole rows: one run per channel
        return ct * -(-rows * cols * s.itemsize // burst) * burst
    return ct * rows * -(-cols * s.itemsize // burst) * burst


def _sizes(limit: int) -> list[int]:
    return sorted({min(limit, 2**i) for i in range(12)} | {limit})


def _splits(limit: int) -> list[int]:
    """Tile-column runs: the whole row, or a row split into up to 8 near-equal runs."""
    return sorted({-(-limit // k) for k in range(1, 9)})


def _channel_blocks(limit: int) -> list[int]:
    return sorted({min(limit, 16 * 2**i) for i in range(8)} | {limit})


def choose_fused_tile(target: Target, s: FusedShape) -> FusedTiling | None:
    """The cheapest (rb, tc, ct, oc) that fits, or None (the unfused lowering takes it); a
    measured decision (`lowering.tile_tuning`, while a table is active) comes first."""
    ranked = lambda top: ranked_fused_tiles(target, s, top)  # noqa: E731
    tuned = tile_tuning.decided("winograd_fused", target, (s,), ranked)
    if tuned is not None:
        return tuned
    return min(_fused_tiles(target, s), key=lambda t: t.estimate, default=None)


def _fused_tiles(target: Target, s: FusedShape) -> Iterator[FusedTiling]:
    """Every tile that fits, in the search's order (the first of equal estimates wins)."""
    for oc in _channel_blocks(s.og):
        for ct in _channel_blocks(s.cg):
            for rb in _sizes(s.th):
                for tc in _splits(s.tw):
                    if fits(target, s, rb, tc, ct, oc):
                        yield _estimate(target, s, rb, tc, ct, oc)


def ranked_fused_tiles(target: Target, s: FusedShape, top: int) -> list[FusedTiling]:
    """The search's tile, then the next best by estimate: what tuning measures."""
    chosen = min(_fused_tiles(target, s), key=lambda t: t.estimate, default=None)
    if chosen is None:
        return []
    others = sorted((t for t in _fused_tiles(target, s) if t != chosen), key=lambda t: t.estimate)
    return [chosen, *others[: top - 1]]
