"""Geometry and tile choice of windowed pools on the vector unit.

A tile is `cp` planes (image x channel) by `oh` output rows; it reads a band of
`(oh - 1) * sh + span_h` padded input rows (the halo) of every plane. The tile is chosen by a
small estimate of a core's cycles (per tile the slower of its HBM channel, which carries the
loads and the stores, and its vector taps; times its tiles, plus one tile's latency), among
the tiles whose buffers fit UB.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lowering.windows import axis_reads_only_padding
from runtime.cost_model import hbm_share
from runtime.targets import Target


def _align(nbytes: int) -> int:
    return -(-nbytes // 32) * 32


@dataclass(frozen=True)
class PoolGeometry:
    """A pool over planes (P, H, W) -> (P, Ho, Wo); padded coordinates start at -pads."""

    planes: int
    size: tuple[int, int]  # H, W
    out: tuple[int, int]  # Ho, Wo
    kernel: tuple[int, int]
    strides: tuple[int, int]
    dilations: tuple[int, int]
    pads: tuple[int, int, int, int]  # top, left, bottom, right

    def span(self, axis: int) -> int:
        return self.dilations[axis] * (self.kernel[axis] - 1) + 1

    def band(self, rows: int) -> int:
        """Padded input rows read by `rows` output rows."""
        return (rows - 1) * self.strides[0] + self.span(0)

    @property
    def width(self) -> int:
        """Padded input columns the taps read (ceil_mode may read past the right pad)."""
        return (self.out[1] - 1) * self.strides[1] + self.span(1)

    @property
    def taps(self) -> int:
        return self.kernel[0] * self.kernel[1]

    def reads_only_padding(self) -> bool:
        """Whether some window's taps all fall in the padding on an axis (a dilated ceil-mode
        window past a one-pixel input): its rows or columns of input are empty."""
        return any(
            axis_reads_only_padding(
                self.size[axis], self.out[axis], self.kernel[axis], self.strides[axis],
                self.pads[axis], self.dilations[axis],
            )
            for axis in (0, 1)
        )  # fmt: skip

    def divisors(self, include_pad: bool) -> np.ndarray:
        """(Ho, Wo) element counts of the windows: inside the image, or inside image and pads
        (never the ceil_mode overhang), as the reference average divides."""
        counts = []
        for axis in (0, 1):
            lo, n = self.pads[axis], self.size[axis]
            hi = n + lo + (self.pads[axis + 2] if include_pad else 0)
            lo = 0 if include_pad else lo
            start = np.arange(self.out[axis]) * self.strides[axis]
            taps = start[:, None] + np.arange(self.kernel[axis]) * self.dilations[axis]
            counts.append(((taps >= lo) & (taps < hi)).sum(axis=1))
        return np.outer(counts[0], counts[1])


@dataclass(frozen=True)
class PoolTile:
    planes: int
    rows: int
    pings: int
    blocks: int
    cycles: float


def ub_bytes(
    geo: PoolGeometry, cp: int, oh: int, itemsize: int, divisor_map: bool,
    staging: tuple[int, int] = (0, 0),
) -> int:  # fmt: skip
    """UB bytes of one ping: the input band, the output accumulator, the divisor rows, and
    the staging band and output of a folded cast (`staging`: their item sizes, 0 if none)."""
    band, out = cp * geo.band(oh) * geo.width, cp * oh * geo.out[1]
    staged = _align(band * staging[0]) + _align(out * staging[1])
    total = _align(band * itemsize) + _align(out * itemsize) + staged
    return total + (_align(oh * geo.out[1] * itemsize) if divisor_map else 0)


def _estimate(target: Target, geo: PoolGeometry, cp: int, oh: int, itemsize: int) -> PoolTile:
    ho, wo = geo.out
    ntiles = -(-geo.planes // cp) * -(-ho // oh)
    blocks = min(ntiles, target.vector_cores)
    share = min(target.rate("hbm", "ub"), hbm_share(target, blocks))
    load = cp * min(geo.band(oh), geo.size[0]) * geo.size[1] * itemsize / share
    store = cp * oh * wo * itemsize / min(target.rate("ub", "hbm"), share)
    step = min(geo.strides[1], max(1, 32 // itemsize))
    vector = (geo.taps * step + 1) * cp * oh * wo * itemsize / target.vector_bytes_per_cycle
    per_tile = max(load + store, vector) + 40  # loads and stores share the core's HBM channel
    cycles = -(-ntiles // blocks) * per_tile + load + store
    return PoolTile(cp, oh, 2, blocks, cycles)


def _candidates(n: int, parts: int) -> set[int]:
    powers = {1 << i for i in range(n.bit_length())}
    return {c for c in powers | {n, -(-n // parts)} if 1 <= c <= n}


def choose_pool_tile(
    target: Target, geo: PoolGeometry, itemsize: int, divisor_map: bool,
    staging: tuple[int, int] = (0, 0),
) -> PoolTile | None:  # fmt: skip
    """The estimated fastest tile that fits UB double-buffered (else single); None if no tile
    of one plane and one output row fits."""
    ub = target.capacity_of("ub")
    best: PoolTile | None = None
    for pings in (2, 1):
        for cp in _candidates(geo.planes, target.vector_cores):
            for oh in _candidates(geo.out[0], target.vector_cores):
                if pings * ub_bytes(geo, cp, oh, itemsize, divisor_map, staging) > ub:
                    continue
                tile = _estimate(target, geo, cp, oh, itemsize)
                if best is None or tile.cycles < best.cycles:
                    best = PoolTile(cp, oh, pings, tile.blocks, tile.cycles)
        if best is not None:
            return best
    return None


def planes_of(shape: tuple[int, ...]) -> int:
    return math.prod(shape[:2])
