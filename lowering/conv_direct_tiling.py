"""Geometry and row-band choice of a direct convolution on the vector unit.

The output is cut into work items (image, block of 16 output channels, band of bh output
rows); a core takes a contiguous run of items. An item brings in, per input channel of its
group, the band's input rows plus the halo its windows read, converts them to NC1HWC0 and
accumulates every tap with one `npu.vec_window_mla`. The band height is the cheapest one whose
UB buffers fit, by an estimate built from the interpreter's per-instruction costs
(`runtime.cost_model`): a taller band re-reads less halo, a shorter one spreads over more cores.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from lowering import tile_tuning
from lowering.tiling import aligned
from runtime.cost_model import vector_cycles
from runtime.targets import Target

LANES = 16
"""C0: output channels per item, the lanes of every vector op (NC1HWC0)."""
ISSUE_CYCLES = 8


@dataclass(frozen=True)
class DirectGeometry:
    """One convolution: NCHW input (n, c, h, w), (o, c / groups, kh, kw) weights."""

    n: int
    c: int
    h: int
    w: int
    o: int
    groups: int
    kernel: tuple[int, int]
    strides: tuple[int, int]
    pads: tuple[int, int, int, int]  # top, left, bottom, right (the kernel op's order)
    dilations: tuple[int, int]
    out_hw: tuple[int, int]
    itemsize: int

    @property
    def cg(self) -> int:
        return self.c // self.groups

    @property
    def og(self) -> int:
        return self.o // self.groups

    @property
    def taps(self) -> int:
        return self.kernel[0] * self.kernel[1]

    @property
    def span(self) -> tuple[int, int]:
        return tuple(d * (k - 1) + 1 for d, k in zip(self.dilations, self.kernel))

    @property
    def channel_blocks(self) -> int:
        return -(-self.o // LANES)

    @property
    def band_width(self) -> int:
        """Columns of a band in UB: every column a tap reads, padding included."""
        return (self.out_hw[1] - 1) * self.strides[1] + self.span[1]

    @property
    def copy_width(self) -> int:
        """Image columns that land in the band (the rest of the band is padding)."""
        return max(0, min(self.w, self.band_width - self.pads[1]))

    def band_rows(self, bh: int) -> int:
        """Input rows (halo and padding included) that bh output rows read."""
        return (bh - 1) * self.strides[0] + self.span[0]

    @property
    def lane_per_channel(self) -> bool:
        """Output lane l reads input channel oc0 + l: depthwise with multiplier 1."""
        return self.cg == 1 and self.og == 1


@dataclass(frozen=True)
class Epilogue:
    """What the epilogue needs in UB: channel vectors, a residual tile, a scratch tile."""

    channel_vectors: int = 0
    residual: bool = False
    scratch: bool = False
    passes: int = 0  # vector ops over the output tile


def ub_bytes(g: DirectGeometry, e: Epilogue, bh: int) -> int:
    """UB bytes a kernel with bands of bh output rows keeps live (as `verify_npu_module`)."""
    isz, rows, width, wo = g.itemsize, g.band_rows(bh), g.band_width, g.out_hw[1]
    band, tile = rows * width * LANES, bh * wo * LANES
    total = 2 * aligned(band * isz) + aligned(band * isz)  # ping/pong NCHW rows, NC1HWC0 band
    total += 2 * aligned(LANES * g.taps * isz) + aligned(g.taps * LANES * isz)  # weights
    total += aligned(tile * 4) + 2 * aligned(tile * isz)  # f32 accumulator, ping/pong output
    if isz != 4:  # f16: the band, weights and result cast to and from f32
        total += aligned(band * 4) + aligned(g.taps * LANES * 4) + aligned(tile * isz)
    total += 2 * e.channel_vectors * aligned(LANES * isz)
    if e.residual:
        total += 3 * aligned(tile * isz)
    if e.scratch:
        total += aligned(tile * isz)
    return total


def _unit_cycles(
    target: Target, g: DirectGeometry, e: Epilogue, bh: int, cores: int
) -> tuple[float, float, float]:
    """(load, vector, store) cycles of one unit (an item's input channel) on one core. The
    rows a band shares with the previous one (its halo) come from L2; reads and writes share
    the core's HBM channel (`hbm_bandwidth / cores`)."""
    isz, wo, (sh, _) = g.itemsize, g.out_hw[1], g.strides
    share = target.hbm_bandwidth / cores
    rows = min(g.band_rows(bh), g.h)
    fresh = min(bh * sh, rows)
    row_bytes = LANES * g.w * isz
    load = fresh * row_bytes / min(target.rate("hbm", "ub"), share)
    load += (rows - fresh) * row_bytes / (target.rate("l2", "ub") or target.rate("hbm", "ub"))
    band = g.band_rows(bh) * g.band_width * LANES
    acc = bh * wo * LANES * 4
    vector = vector_cycles(target, band * isz) + g.taps * vector_cycles(target, acc)
    if isz != 4:
        vector += vector_cycles(target, band * 4)
    tile = bh * wo * LANES * isz
    finish = (e.passes + 2 + 2 * e.residual) * vector_cycles(target, tile) / g.cg
    store = tile / min(target.rate("ub", "hbm"), share) / g.cg
    overhead = ISSUE_CYCLES * (g.taps + 6)
    return load + ISSUE_CYCLES, vector + finish + overhead, store


def _core_cycles(target: Target, g: DirectGeometry, e: Epilogue, bh: int, items: int) -> float:
    """A core's run of units: ping/pong overlaps a unit's load (and store) with the previous
    unit's vector work, so it costs the first load, the busiest stage per unit and the last
    store."""
    cores = min(items, target.vector_cores)
    units = -(-items // cores) * g.cg
    load, vector, store = _unit_cycles(target, g, e, bh, cores)
    return load + units * max(load + store, vector) + store


def choose_band(target: Target, g: DirectGeometry, e: Epilogue) -> tuple[int, float] | None:
    """(bh, estimated cycles) of the cheapest band height that fits UB, None if none fits;
    a measured decision (`lowering.tile_tuning`, while a table is active) comes first."""
    ranked = lambda top: ranked_bands(target, g, e, top)  # noqa: E731
    tuned = tile_tuning.decided("direct_conv", target, (g, e), ranked)
    if tuned is not None:
        return tuned
    return min(_bands(target, g, e), key=lambda band: band[1], default=None)


def _bands(target: Target, g: DirectGeometry, e: Epilogue) -> Iterator[tuple[int, float]]:
    """(bh, estimate) of every band height that fits UB, lowest first."""
    ho = g.out_hw[0]
    for bh in range(1, ho + 1):
        if ub_bytes(g, e, bh) > target.capacity_of("ub"):
            break
        items = g.n * g.channel_blocks * -(-ho // bh)
        yield bh, _core_cycles(target, g, e, bh, items)


def ranked_bands(target: Target, g: DirectGeometry, e: Epilogue, top: int) -> list:
    """The search's band, then the next best by estimate: what tuning measures."""
    chosen = min(_bands(target, g, e), key=lambda band: band[1], default=None)
    if chosen is None:
        return []
    others = sorted((b for b in _bands(target, g, e) if b != chosen), key=lambda b: b[1])
    return [chosen, *others[: top - 1]]
