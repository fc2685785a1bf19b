"""Tile sizes of an im2col convolution, chosen per shape by the target's cost model.

The GEMM C (pixels, out channels) = patches (pixels, K) @ weights (K, out channels) of each
(image, group) runs in units of (tm pixels, tn channels) with a K loop of tk columns
(K = C1 * kh * kw * 16, the img2col order). A unit's input rows (its output rows' rows with
halo, padding rows as zeros) sit in L1 in NC1HWC0, so an image larger than L1 is no obstacle:
only one tile's rows must fit. Units are software pipelined on a core (the next unit's loads
run while the cube works on this one and the previous one drains), so a core takes about its
busiest pipe plus one unit's fill and drain; the estimate charges that, with the
interpreter's per-instruction costs (`runtime.cost_model`) and its L2 model (a core reads
its share of the compulsory bytes from HBM, all of its bytes through L2, the two overlapped).

Two orders of a core's units: `rows` (pixels fastest: each unit brings its rows, the weight
columns stay in L1 while the channel tile is the same) suits shallow layers (large images,
few weights); `weights` (channels fastest: each unit brings its weight columns, the rows stay)
suits deep ones (small images, many weights).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass

from lowering import tile_tuning
from lowering.conv_im2col_shape import (
    FRACTAL,
    PART_COUNTS,
    ConvShape,
    drain_chunks,
    folded,
    folds_rows,
    fractal_up,
    part_slices,
    parts,
    skips_rows,
)
from lowering.tiling import aligned, per_target
from runtime.cost_model import dma_bytes_charged, mmad_cycles
from runtime.targets import Target

ISSUE_CYCLES = 8
ORDERS = ("rows", "weights")


@tile_tuning.decision_type
@dataclass(frozen=True)
class ConvTiling:
    tm: int
    tn: int
    tk: int
    rows: int  # input rows per NCHW -> NC1HWC0 chunk through UB
    blocks: int
    estimate: float
    order: str = "rows"
    per: int = 1  # units per core
    part: int = 1  # C1 slices per K part (an L1 buffer of its own, one ready flag)
    fold: bool = False  # kernel rows folded into channels (`folded`)
    split: int = 0  # pixels of the last unit's first piece (`last_split`), 0: no split
    parts: int = PART_COUNTS[0]  # K parts a unit comes in at most (`ConvShape.max_parts`)

    def row_buffers(self) -> int:
        return 2 if self.order == "rows" else 1

    def weight_buffers(self) -> int:
        return 1 if self.order == "rows" else 2


def _ub_bytes(s: ConvShape, tm: int, tn: int, rows: int, taps: int | None = None) -> int:
    """UB bytes of a tile: staging of `rows` input rows, of runtime filters `taps` taps at a
    time (default all), the drain's tiles and the epilogue's."""
    isz, lanes = s.itemsize, part_slices(s) * FRACTAL
    chunk = 4 * aligned(lanes * rows * s.w * isz)  # ping/pong NCHW rows and NC1HWC0 rows
    taps = s.taps if taps is None else taps
    weights = 0 if s.laid else 4 * aligned(tn * FRACTAL * taps * isz)
    zero = aligned(s.row_bytes()) if max(s.pads) else 0
    pixels, count = drain_chunks(tm)  # FIX tiles and their transposes, ping/pong, per chunk
    out = 2 * count * aligned(pixels * tn * s.out_itemsize) * 2
    extra = sum(aligned((tn if r else 1) * (pixels if c else 1) * 4) for r, c in s.operands)
    return chunk + weights + zero + out + extra


def _l1_bytes(s: ConvShape, tm: int, tn: int, order: str) -> int:
    rows, wts = (2, 1) if order == "rows" else (1, 2)
    return rows * aligned(s.tile_rows(tm) * s.row_bytes()) + wts * aligned(s.k * tn * s.itemsize)


def _tk(target: Target, s: ConvShape, tm: int, tn: int) -> int:
    """The K step: as wide as L0A/L0B hold twice, evened out over a K chunk."""
    isz, cap = s.itemsize, target.capacity_of
    top = min(cap("l0a") // (2 * fractal_up(tm) * isz), cap("l0b") // (2 * tn * isz))
    top = top // FRACTAL * FRACTAL
    chunk = part_slices(s) * s.taps * FRACTAL
    if top < FRACTAL:
        return 0
    steps = -(-chunk // top)
    per = -(-chunk // steps)
    return min(top, -(-per // FRACTAL) * FRACTAL)


def staged_taps(target: Target, s: ConvShape, tm: int, tn: int) -> int:
    """Taps of a channel tile's runtime filters one UB stage holds (`conv_im2col_loads.
    load_weights`): all of them where UB holds them beside the rest of the tile, else as
    many as fit (0: not one). A long filter in parts: the 400 taps of a DFT conv's runtime
    filters did not fit, so eager mode, which passes weights as arguments, left it no tile."""
    if s.laid:
        return s.taps
    room = target.capacity_of("ub") - _ub_bytes(s, tm, tn, 1, taps=0)
    return max(0, min(s.taps, room // (4 * tn * FRACTAL * s.itemsize)))


def _fits(target: Target, s: ConvShape, tm: int, tn: int, order: str) -> bool:
    cap = target.capacity_of
    taps = staged_taps(target, s, tm, tn)
    return (
        2 * fractal_up(tm) * tn * 4 <= cap("l0c")
        and _l1_bytes(s, tm, tn, order) <= cap("l1")
        and taps > 0
        and _ub_bytes(s, tm, tn, 1, taps) <= cap("ub")
    )


def _chunk_rows(target: Target, s: ConvShape, tm: int, tn: int) -> int:
    """Input rows per UB chunk: a whole tile's rows when UB holds them (one chunk per K
    part), else as many as fit."""
    rows, taps = s.tile_rows(tm), staged_taps(target, s, tm, tn)
    while rows > 1 and _ub_bytes(s, tm, tn, rows, taps) > target.capacity_of("ub"):
        rows -= 1
    return rows


def _runs(units: int, per: int, inner: int) -> int:
    """The most tiles of the resident operand one core's run of `per` units goes through
    (a new one every `inner` units)."""
    return max(
        (min(first + per, units) - 1) // inner - first // inner + 1
        for first in range(0, units, per)
    )


def _cycles(target: Target, s: ConvShape, tile: tuple[int, int, int], order: str):  # noqa: ANN202
    """(modeled cycles, blocks, units per core, last unit's split): a core's busiest pipe
    over its units, plus the first K chunk's loads and the last unit's drain, which nothing
    overlaps (but a split last unit's second piece, `last_split`, when that is cheaper)."""
    tm, tn, tk = tile
    nm, no = -(-s.m // tm), -(-s.n // tn)
    units = s.images * nm * no
    per = -(-units // min(units, target.ai_cores))
    blocks = -(-units // per)  # the cores that get work
    isz, share, rate = s.itemsize, target.hbm_bandwidth / blocks, target.rate
    # a unit's reads: its input rows (NCHW, whole rows per channel) and weight columns
    rows = s.image_rows(tm)
    rows_read = s.c * rows * s.w * isz
    if s.laid:
        w_read = dma_bytes_charged(target, [1, s.k, tn], [1, s.k, s.n], isz)
    else:  # (tn, 16, kh * kw) windows of (O, C, kh * kw), transposed on V
        window = [tn, min(FRACTAL, s.c), s.taps]
        w_read = s.c1 * dma_bytes_charged(target, window, [s.n, s.c, s.taps], isz)
    if order == "rows":  # rows every unit, weights once per channel tile in a core's run
        loads = (per * rows_read, w_read * _runs(units, per, nm))
    else:
        loads = (rows_read * _runs(units, per, no), per * w_read)
    # every byte reaches the core through L2 while its misses (its share of the compulsory
    # bytes) stream from HBM on the core's channel, the two overlapped per DMA; MTE2's DMAs
    # also wait on the channel behind the stores issued before them
    store = dma_bytes_charged(target, [tn, tm], [s.n, s.m], s.out_itemsize) / share
    compulsory = (s.images * (s.reads or s.c * s.h * s.w * isz), s.images * s.k * s.n * isz)
    mte2 = (per - 1) * store + sum(
        max(read / rate("l2", "l1"), min(read, need / blocks) / share)
        for read, need in zip(loads, compulsory)
    )
    five = s.c1 * rows * s.w * FRACTAL * isz if s.staged else 0  # rows staged through UB
    w_units = _runs(units, per, nm) if order == "rows" else per
    staged = 0 if s.laid else w_units * s.k * tn * isz / rate("ub", "l1")
    mte3 = per * (five / rate("ub", "l1") + store) + staged
    ksteps = sum(-(-(ps * s.taps * FRACTAL) // tk) for ps in parts(s))
    mte1 = tm * tk * isz / rate("l1", "l0a") + tk * tn * isz / rate("l1", "l0b")
    cube = mmad_cycles(target, tm, tn, tk, _dtype(isz))
    k_loop = ksteps * (max(mte1, cube) + ISSUE_CYCLES) + mte1
    drain_v = 3 * tm * tn * s.out_itemsize * (1 + len(s.operands)) / 256
    staging_v = five * (1 + s.prologue) / 256  # the layout change and the input activation
    vec = per * (staging_v + drain_v)
    vec += 0 if s.laid else w_units * s.k * tn * isz / 256
    fix = tm * tn * 4 / rate("l0c", "ub")
    # the first K part's loads before the cube starts; the last part's K steps after the
    # last load; the last unit's drain after its K loop
    first_part, last_part = parts(s)[0] / s.c1, parts(s)[-1] / s.c1
    lag = (mte2 / per + five / rate("ub", "l1")) * first_part
    tail = k_loop * last_part
    # the drain's chunks: each one's epilogue tiles (MTE2, after the previous chunk's
    # epilogue) and FIX and V work overlap the stores of the chunks before it
    pixels, count = drain_chunks(tm)
    tiles = sum((tn if r else 1) * (pixels if c else 1) * s.out_itemsize for r, c in s.operands)
    chunk = tiles / share + (fix + drain_v) / count
    drain = max(count * chunk + store / count, chunk + store)
    busiest = max(_k_loops(mte2, loads, (rows_read, w_read), per, store, lag, k_loop, tail),
                  mte3, vec, per * fix)  # fmt: skip
    if order == "rows" and per > 1:
        # each unit's rows wait on the channel behind the store before them, and MTE3 (in
        # order) moves them into L1 before the next store: store, loads, V and MTE3 of the
        # last part follow one another once per unit
        misses = min(rows_read, compulsory[0] / blocks / per) / share
        rows_dma = max(rows_read / rate("l2", "l1"), misses)
        chain = store + rows_dma + last_part * (staging_v + five / rate("ub", "l1"))
        busiest = max(busiest, lag + (per - 1) * chain + k_loop)
    split = last_split(tm)
    if split:  # the last unit in two pieces: the first one's drain runs under the second's K
        pieces = [(n, n / tm) for n in (split, tm - split)]
        k_a, k_b = (ksteps * _step(target, s, (n, tn, tk)) for n, _ in pieces)
        tail_a, tail_b = (
            max(count * f * chunk + store * f / count, chunk + store * f) for _, f in pieces
        )
        # the second piece runs after all the loads; the first piece's drain under it
        after = mte2 + k_a * last_part + k_b
        longer = max(busiest + k_a + k_b + mte1 - k_loop, after)
        if longer + max(tail_b, tail_a + tail_b - k_b) < busiest + drain:
            return longer + max(tail_b, tail_a + tail_b - k_b), blocks, per, split
    return busiest + drain, blocks, per, 0


def _k_loops(mte2, loads, first, per, store, lag, k_loop, tail) -> float:  # noqa: ANN001
    """When a core's last K loop ends: unit u's K loop follows unit u - 1's, and its last
    part's K steps follow u's last load. The first unit loads both its rows and its weight
    columns (later ones only what changes), so where loads bound a core, the cube, starved
    through the first unit, still has every later unit's K loop ahead of it when those
    loads end (a 128 -> 32 3x3 conv on 56x56: estimated 3,514 cycles against 5,549)."""
    first_share = sum(first) / max(sum(loads), 1)
    first_loads = (mte2 - (per - 1) * store) * first_share
    later = (mte2 - first_loads) / (per - 1) if per > 1 else 0.0
    end = max(lag + k_loop, first_loads + tail)
    for u in range(1, per):
        end = max(end + k_loop, first_loads + u * later + tail)
    return end


def _step(target: Target, s: ConvShape, tile: tuple[int, int, int]) -> float:
    """One K step of a (tm, tn, tk) tile: its MTE1 moves or its mmad, and the issue."""
    (tm, tn, tk), isz, rate = tile, s.itemsize, target.rate
    mte1 = tm * tk * isz / rate("l1", "l0a") + tk * tn * isz / rate("l1", "l0b")
    return max(mte1, mmad_cycles(target, tm, tn, tk, _dtype(isz))) + ISSUE_CYCLES


def last_split(tm: int) -> int:
    """The pixels of the first piece of a core's last unit, split in two at a drain chunk
    (`Im2ColConv._last`), or 0 when its drain is one chunk."""
    pixels, count = drain_chunks(tm)
    return pixels * -(-count // 2) if count > 1 else 0


def _candidates(size: int, limit: int = 256) -> list[int]:
    top = min(limit, fractal_up(size))
    return list(range(FRACTAL, top + 1, FRACTAL))


def _pixel_candidates(s: ConvShape, limit: int = 256) -> list[int]:
    """Pixel tiles: multiples of 16, and whole output rows (a tile of k rows reads exactly
    its input rows, where a tile that straddles rows reads up to two rows more; its last
    fractal is partly idle on the cube)."""
    step = s.wo * -(-FRACTAL // s.wo)  # at least a fractal of rows: thinner ones idle the cube
    rows = range(step, min(limit, s.m) + 1, s.wo) if s.wo % FRACTAL else ()
    return sorted(set(_candidates(s.m, limit)) | set(rows))


def choose_conv_tile(target: Target, s: ConvShape) -> ConvTiling | None:
    """The cheapest (tm, tn, order) that fits, with its K step, or None when no tile's rows
    fit L1; the conv with its rows folded into channels (`folds_rows`) is a candidate too.
    Memoized per target and shape: selection costs a conv before its lowering plans it, and
    a ResNet repeats its layers' shapes. A measured decision for the shape on the target
    (`lowering.tile_tuning`, while one is active) is taken instead of the estimate's: one
    for the tile, then one for its UB staging chunk (`ranked_chunk_rows`)."""
    tuned = tile_tuning.decided("conv", target, (s,), lambda top: ranked_conv_tiles(target, s, top))
    tiling = tuned if tuned is not None else _untuned_choice(target, s)
    if tiling is None:
        return None
    rows = tile_tuning.decided(
        "conv_rows", target, (s, tiling), lambda top: ranked_chunk_rows(s, tiling, top)
    )
    return tiling if rows is None else dataclasses.replace(tiling, rows=rows)


def _untuned_choice(target: Target, s: ConvShape) -> ConvTiling | None:
    answers = per_target(_CONV_TILES, target)
    if s not in answers:
        answers[s] = _choose_folded(target, s)
    return answers[s]


_CONV_TILES: dict[int, tuple[Target, dict]] = {}
"""`choose_conv_tile`'s answers per target (`tiling.per_target`)."""


MORE_PARTS_GAIN = 0.99
"""More K parts are taken only when their estimate is below this share of fewer parts' (each
part's loads, flags and K steps are unrolled: lowering time and instructions)."""


def _choose_folded(target: Target, s: ConvShape) -> ConvTiling | None:
    best: ConvTiling | None = None
    seen: set[tuple] = set()
    for count in PART_COUNTS:
        shapes = _variants(s, count)
        key = tuple(tuple(parts(shape)) for shape, _ in shapes)
        if key in seen:  # no more parts than the shape has C1 slices
            continue
        seen.add(key)
        for shape, fold in shapes:
            tiling = _choose(target, shape)
            gain = MORE_PARTS_GAIN if best is not None and count > best.parts else 1.0
            if tiling is not None and (best is None or tiling.estimate < gain * best.estimate):
                best = dataclasses.replace(tiling, fold=fold, parts=count)
    return best


def _variants(s: ConvShape, count: int) -> list[tuple[ConvShape, bool]]:
    """(shape, folded) of the conv in at most `count` K parts: as it is, and with its
    kernel rows folded into channels where that needs fewer C1 slices (`folds_rows`)."""
    shape = dataclasses.replace(s, max_parts=count)
    return [(shape, False), *([(folded(shape), True)] if folds_rows(s) else [])]


def _choose(target: Target, s: ConvShape) -> ConvTiling | None:
    s = _searched(s)
    best = min(_tiles(target, s), key=lambda found: found[0], default=None)
    return None if best is None else _tiling(target, s, *best)


def _searched(s: ConvShape) -> ConvShape:
    """The shape the search tiles: a 1-row kernel that skips rows reads H / stride rows."""
    if skips_rows(s.span, s.stride, s.pads, s.h):
        return dataclasses.replace(s, h=s.h // s.stride, stride=1)
    return s


def _tiles(target: Target, s: ConvShape) -> Iterator[tuple]:
    """(estimate, tm, tn, tk, order, blocks, per, split) of every tile that fits, in the
    search's order (the first of equal estimates wins)."""
    for tm in _pixel_candidates(s):
        for tn in _candidates(s.n):
            tk = _tk(target, s, tm, tn)
            for order in ORDERS:
                if not tk or not _fits(target, s, tm, tn, order):
                    continue
                estimate, blocks, per, split = _cycles(target, s, (tm, tn, tk), order)
                yield estimate, tm, tn, tk, order, blocks, per, split


def _tiling(target: Target, s: ConvShape, *found) -> ConvTiling:  # noqa: ANN002
    estimate, tm, tn, tk, order, blocks, per, split = found
    rows, part = _chunk_rows(target, s, tm, tn), part_slices(s)
    return ConvTiling(tm, tn, tk, rows, blocks, estimate, order, per, part, split=split)


TUNED_PART_COUNTS = (4, 8, 16, 32)
"""K part counts tuning tries (the search's `PART_COUNTS` and one fewer and one more)."""


def ranked_conv_tiles(target: Target, s: ConvShape, top: int) -> list[ConvTiling]:
    """The search's choice, then the next best distinct candidates by estimate (every K
    part count and the row fold included): what tuning measures (`lowering.tile_tuning`).
    Candidates that lower alike count once (with one unit a core, the order is moot)."""
    chosen = _untuned_choice(target, s)
    if chosen is None:
        return []
    found = []
    for count in TUNED_PART_COUNTS:
        for shape, fold in _variants(s, count):
            shape = _searched(shape)
            found += [(t[0], count, fold, shape, t) for t in _tiles(target, shape)]
    found.sort(key=lambda f: f[0])
    ranked, keys = [chosen], {_lowers_as(chosen, s)}
    for _, count, fold, shape, t in found:
        if len(ranked) >= top:
            break
        tiling = dataclasses.replace(_tiling(target, shape, *t), fold=fold, parts=count)
        key = _lowers_as(tiling, s)
        if key not in keys:
            keys.add(key)
            ranked.append(tiling)
    return ranked


def _lowers_as(t: ConvTiling, s: ConvShape) -> tuple:
    cut = tuple(parts(_lowered(s, t)))
    return t.tm, t.tn, t.tk, t.order if t.per > 1 else None, t.per, t.split, t.fold, cut


def _lowered(s: ConvShape, t: ConvTiling) -> ConvShape:
    """The shape the lowering runs with tiling `t` (its K parts, its rows folded or not)."""
    shape = dataclasses.replace(s, max_parts=t.parts)
    return folded(shape) if t.fold else shape


CHUNK_SPLITS = (2, 3, 4, 6)
"""Tuning also tries a tile's input rows in this many UB staging chunks (`ranked_chunk_rows`)."""


def ranked_chunk_rows(s: ConvShape, t: ConvTiling, top: int) -> list[int]:
    """Input rows per UB staging chunk for tiling `t`: the search's (as many as UB holds: a
    K part's rows in one chunk where they fit), then fewer, a tile's rows in 2, 3, 4 and 6
    chunks. Smaller chunks let V and MTE3 start on a part's first rows while MTE2 still
    brings the rest (a shorter wait before the first K step, less lag after each load) for
    more DMAs and flags; which wins depends on the pipe that bounds the kernel, so tuning
    measures it (ResNet-50's stride-2 3x3 conv on 56x56 runs 4,722 cycles in chunks of 11
    rows, 4,484 in chunks of 3; its 3x3 convs on 14x14 run slower in smaller chunks)."""
    most = min(t.rows, _lowered(s, t).tile_rows(t.tm))
    fewer = sorted({-(-most // k) for k in CHUNK_SPLITS} - {t.rows}, reverse=True)
    return [t.rows, *fewer][:top]


def _dtype(itemsize: int):  # noqa: ANN202
    import numpy as np

    return np.dtype(np.float32) if itemsize == 4 else np.dtype(np.float16)


__all__ = [
    "FRACTAL",
    "PART_COUNTS",
    "ConvShape",
    "ConvTiling",
    "choose_conv_tile",
    "drain_chunks",
    "folded",
    "folds_rows",
    "fractal_up",
    "part_slices",
    "parts",
    "ranked_chunk_rows",
    "ranked_conv_tiles",
    "skips_rows",
    "staged_taps",
]
