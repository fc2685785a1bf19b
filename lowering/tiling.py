"""Tile sizes per shape, chosen by the target's cost model rather than fixed.

For each kernel kind, the candidates are the tile shapes whose buffers fit the on-chip levels;
each candidate's cycles are estimated with the same per-instruction costs the interpreter
charges (`runtime.cost_model`), tiles spread round-robin over the cores, and the cheapest wins.
Estimates assume double buffering (the slowest pipe of a tile bounds it) plus one tile's fill,
and charge each step the scalar unit's issue cycles.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from gedialects.errors import UnsupportedError
from lowering import tile_tuning
from runtime.cost_model import dma_bytes_charged, mmad_cycles, vector_cycles
from runtime.targets import Target

ALIGN = 32
"""Bytes to which the verifier rounds every on-chip allocation (`ub_block` of both presets):
what tile-size estimates must count a buffer as."""
ISSUE_CYCLES = 8
"""Scalar-unit cycles to issue one tile step's instructions (index math, flags): what makes the
estimate prefer fewer, larger steps when the data movement is the same."""


def aligned(nbytes: int) -> int:
    return -(-nbytes // ALIGN) * ALIGN


def powers_of_two(limit: int) -> list[int]:
    """1, 2, 4, ... below `limit`, and `limit`: the tile extents a search tries along an
    axis of `limit` elements."""
    return sorted({1 << i for i in range(limit.bit_length())} | {limit})


@dataclass(frozen=True)
class ElementwiseTiling:
    rows: int
    cols: int
    blocks: int
    estimate: float


def choose_elementwise_tile(
    target: Target,
    rows: int,
    cols: int,
    leading: int,
    buffers: Sequence[tuple[bool, bool, int]],
    hbm_in: Sequence[tuple[bool, bool, int]],
    out_itemsize: int,
    copies: int = 2,
) -> ElementwiseTiling:
    """Tile (rows, cols) of an elementwise kernel over a (leading, rows, cols) output.

    `buffers` are the UB buffers per tile as (spans rows, spans cols, itemsize); `hbm_in` the
    inputs read per tile, alike; `copies` is 2 when the tile's buffers are double-buffered.
    """
    ub = target.capacity_of("ub")
    col_options = sorted({cols} | {c for c in (16 * 2**i for i in range(12)) if c < cols})
    found: list[ElementwiseTiling] = []
    for tc in col_options:
        fixed = sum(aligned(tc * isz if c else isz) for r, c, isz in buffers if not r)
        per_row = sum((tc if c else 1) * isz for r, c, isz in buffers if r)
        most = max(1, min(rows, (ub // copies - fixed - ALIGN * len(buffers)) // max(per_row, 1)))
        # the most rows UB holds, or fewer so that the tiles spread over more cores (a
        # (512, 49) output in 4 column tiles of 512 rows ran on 4 cores)
        spread = {-(-rows // d) for d in range(2, target.vector_cores + 1)}
        for tr in sorted({most} | {r for r in spread if r < most}):
            if copies * _ub_bytes(buffers, tr, tc) > ub:
                continue
            shape = (rows, cols, leading, tr, tc)
            estimate, blocks = _elementwise_cycles(target, shape, buffers, hbm_in, out_itemsize)
            found.append(ElementwiseTiling(tr, tc, blocks, estimate))
    if not found:
        raise nothing_fits(f"a {rows}x{cols} vector kernel", target, ("ub",))
    # of the tiles within NEAR of the cheapest, the one on the fewest cores: the others are
    # free for kernels of other streams (a few-cycle kernel spread over every core for an
    # estimated cycle serialised GPT-J's streams: its makespan +5%)
    cheapest = min(t.estimate for t in found)
    near = [t for t in found if t.estimate <= cheapest + max(NEAR_CYCLES, NEAR * cheapest)]
    return min(near, key=lambda t: (t.blocks, t.estimate))


NEAR, NEAR_CYCLES = 0.05, 4
"""How much more than the cheapest elementwise tile a tile on fewer cores may cost."""


def _ub_bytes(buffers: Sequence[tuple[bool, bool, int]], tr: int, tc: int) -> int:
    return sum(aligned((tr if r else 1) * (tc if c else 1) * isz) for r, c, isz in buffers)


def _elementwise_cycles(target, shape, buffers, hbm_in, out_itemsize):  # noqa: ANN001, ANN202
    rows, cols, leading, tr, tc = shape
    tiles = leading * -(-rows // tr) * -(-cols // tc)
    blocks = min(tiles, target.vector_cores)
    rate_in, rate_out = target.rate("hbm", "ub"), target.rate("ub", "hbm")
    share = target.hbm_bandwidth / blocks
    mte2 = sum(
        dma_bytes_charged(target, [tr if r else 1, tc if c else 1], [rows, cols], isz)
        for r, c, isz in hbm_in
    )
    mte3 = dma_bytes_charged(target, [tr, tc], [rows, cols], out_itemsize)
    hbm = (mte2 + mte3) / share
    vector = sum(vector_cycles(target, tr * tc * isz) for _, _, isz in buffers)
    per_tile = max(mte2 / rate_in, mte3 / rate_out, vector, hbm) + ISSUE_CYCLES
    fill = mte2 / rate_in + vector + mte3 / rate_out
    return math.ceil(tiles / blocks) * per_tile + fill, blocks


@tile_tuning.decision_type
@dataclass(frozen=True)
class MatmulTiling:
    tm: int
    tn: int
    tk: int
    blocks: int
    estimate: float
    double_out: bool = False
    """Two L0C/UB output buffers: a tile drains while the cube computes the next."""


def choose_matmul_tile(
    target: Target,
    m: int,
    n: int,
    k: int,
    itemsize: int,
    extra: Sequence[tuple[bool, bool]] = (),
    exact: bool = False,
    loads: Sequence[tuple[bool, bool]] = (),
    passes: int = 0,
) -> MatmulTiling:
    """(tm, tn, tk) for C = A @ B: L0A/L0B/L1 double-buffered, L0C and UB hold one C tile (or
    two, so that draining one overlaps computing the next) and the epilogue's operand tiles
    (`extra`: whether each spans the tile's rows, columns); `loads` are those of them that
    each tile reads from HBM (the epilogue's operands: a residual tile costs as much HBM time
    as the tile's store); `passes` is the number of epilogue passes on the vector unit.

    Tile edges are powers of two or the even split of M (N) over the cores, rounded up to the
    cube's 16, so that every core gets one tile when the shape allows it. With `exact` (a
    caller whose buffers are rounded up to whole fractals, `lowering.gemm`), M and N may also
    be cut into equal tiles that are not whole fractals (196 = 4 x 49): 64-wide tiles of a
    196-pixel image leave one core a 4-wide tile while the others carry 64.

    A pure function of its arguments, memoized: BERT's layers repeat a few GEMM shapes, and
    the search is most of their lowering time. While a table of measured decisions is
    active (`lowering.tile_tuning`), its decision for these arguments comes first."""
    key = (m, n, k, itemsize, *_spans(extra, exact, loads, passes))
    ranked = lambda top: ranked_matmul_tiles(target, key, top)  # noqa: E731
    tuned = tile_tuning.decided("gemm", target, key, ranked)
    if tuned is not None:
        return tuned
    answers = per_target(_MATMUL_TILES, target)
    if key not in answers:
        answers[key] = _choose_matmul_tile(target, m, n, k, itemsize, *key[4:])
    return answers[key]


def ranked_matmul_tiles(target: Target, key: tuple, top: int) -> list[MatmulTiling]:
    """`choose_matmul_tile`'s choice for its arguments `key`, then the next best candidates
    by estimate: what tuning measures (`lowering.tile_tuning`)."""
    with tile_tuning.inner():
        chosen = choose_matmul_tile(target, *key[:4], *key[4:])
    found = sorted(_matmul_candidates(target, *key), key=lambda t: t.estimate)
    return [chosen, *[t for t in found if t != chosen][: top - 1]]


_MATMUL_TILES: dict[int, tuple[Target, dict]] = {}
"""`choose_matmul_tile`'s answers per target (`per_target`)."""


def per_target(table: dict[int, tuple[Target, dict]], target: Target) -> dict:
    """The memo of a tile search's answers for `target` in `table`, by the target's identity
    (a Target holds dicts, so it is not hashable; the entry keeps the target alive, so its
    id is not reused while cached)."""
    cached = table.setdefault(id(target), (target, {}))
    if cached[0] is not target:  # an id reused by another target: start afresh
        cached = table[id(target)] = (target, {})
    return cached[1]


def _choose_matmul_tile(target, m, n, k, itemsize, extra, exact, loads, passes):  # noqa: ANN001, ANN202
    found = list(_matmul_candidates(target, m, n, k, itemsize, extra, exact, loads, passes))
    if not found:
        raise nothing_fits(f"a {m}x{n}x{k} GEMM", target, ("l1", "l0a", "l0b", "l0c", "ub"))
    return min(found, key=lambda t: t.estimate)  # the first of equal estimates


def nothing_fits(what: str, target: Target, spaces: Sequence[str]) -> UnsupportedError:
    """The error of a tile search that found no tile within a (user's) target's capacities:
    the kernel runs by reference, with this as its reason, rather than failing the model."""
    sizes = ", ".join(f"{space} {_size(target.capacity_of(space))}" for space in spaces)
    return UnsupportedError(f"no tile of {what} fits target {target.name} ({sizes})")


def _size(nbytes: int) -> str:
    for unit, scale in (("MiB", 2**20), ("KiB", 2**10)):
        if nbytes >= scale and nbytes % scale == 0:
            return f"{nbytes // scale} {unit}"
    return f"{nbytes} B"


def _matmul_candidates(target, m, n, k, itemsize, extra, exact, loads, passes):  # noqa: ANN001, ANN202
    """Every tile that fits, with its estimate, in the search's order."""
    for tm in _edge_options(m, target.ai_cores, exact):
        for tn in _edge_options(n, target.ai_cores, exact):
            tiles = -(-m // tm) * -(-n // tn)
            for tk in _edge_options(k, 1):
                # two output buffers change nothing with one tile a core or one K step (the
                # estimate is the one-buffer one, which wins the tie): skip the second search
                both = tiles > target.ai_cores and k > tk
                for outs in (1, 2) if both else (1,):
                    if not _fits(target, (tm, tn, tk), itemsize, extra, outs):
                        continue
                    shape = (m, n, k)
                    tile = (tm, tn, tk)
                    epilogue = (loads, passes)
                    estimate, blocks = _matmul_cycles(target, shape, tile, itemsize, outs, epilogue)
                    yield MatmulTiling(tm, tn, tk, blocks, estimate, outs == 2)


def _edge_options(size: int, cores: int, exact: bool = False) -> list[int]:
    """Tile edges for a dimension: powers of two from 16 to 256 up to the first that covers
    `size`, and ceil(size / d) rounded up to 16 for d up to `cores` (with `exact`, also
    size / d itself when d divides it, from 16 up)."""
    powers = []
    for edge in (16 * 2**i for i in range(5)):
        powers.append(edge)
        if edge >= size:
            break
    splits = {(-(-size // d) + 15) // 16 * 16 for d in range(1, cores + 1)}
    if exact:
        splits |= {size // d for d in range(2, cores + 1) if size % d == 0 and size // d >= 16}
    return sorted(set(powers) | {e for e in splits if e <= 256})


SPLIT_GAIN = 0.99
"""A K split is taken only when its estimate (the init kernel's included) is below this
share of the unsplit one. It was 0.95 while the estimates were within ~5% of the modeled
cycles; since they charge a core's loads once (session 18), 0.99 splits ResNet-50's
1024 -> 512 on 14x14 (5,123 -> 4,545 cycles + a 131-cycle init) and its 2048 -> 512 on
7x7 in four parts instead of two (5,632 -> 5,392), and changes no BERT or GPT GEMM."""
SPLIT_MAX_FRACTALS = 32
"""Output fractals (16 x 16) per core up to which a K split is considered. Splitting pays
where each core's loads bound it, few output tiles a core; the estimate of a split with
more is optimistic (ascend910a f32, split total incl. init against unsplit: 8, 12, 16, 24
fractals a core 8-20% faster, 36 4% faster, 48 5% slower though estimated 18% faster)."""
SPLIT_INIT_SPEED = 0.9
"""The init kernel's share of its store's roofline (C's bytes at the chip's bandwidth):
measured 0.88-0.97 on outputs of 262 KB to 1.6 MB since elementwise tiles spread over every
core (`bench_npu_roofline.py`; 0.60 before, when a (128, 768) init ran on few cores)."""


def choose_matmul_split(
    target: Target, m: int, n: int, k: int, itemsize: int, init_bytes: int, **options
) -> tuple[int, MatmulTiling]:
    """(K parts, tiling) for C = A @ B: one part is `choose_matmul_tile`; s parts (s | cores)
    give each of s groups of cores a K range whose partial products the DMA unit adds into
    C in HBM (atomic), after an init kernel wrote C's addend (`init_bytes`). The split's
    estimate is one group's, a GEMM of K / s on cores / s with their share of HBM (the
    groups read disjoint panels), plus the init kernel. It pays where each core's loads
    bound it (a K-heavy GEMM on few output tiles: BERT's FFN down, M 128, K 3072). A
    measured decision (`lowering.tile_tuning`, while a table is active) comes first."""
    args = (m, n, k, itemsize, init_bytes, tuple(sorted(options.items())))
    ranked = lambda top: ranked_matmul_splits(target, args, top)  # noqa: E731
    tuned = tile_tuning.decided("gemm_split", target, args, ranked)
    if tuned is not None:
        return tuned
    with tile_tuning.inner():  # the part's tile is this decision's
        best = choose_matmul_tile(target, m, n, k, itemsize, **options)
        parts, cost = 1, best.estimate
        for s, share in _split_options(target, m, n, k):
            tiling = choose_matmul_tile(share, m, n, k // s, itemsize, **options)
            if (k // s) % tiling.tk:  # a part's last step would run into the next part
                continue
            estimate = tiling.estimate + init_bytes / target.hbm_bandwidth / SPLIT_INIT_SPEED
            if estimate < SPLIT_GAIN * cost:
                parts, best, cost = s, tiling, estimate
    return parts, best


def _split_options(target: Target, m: int, n: int, k: int) -> list[tuple[int, Target]]:
    """(K parts, the target one group of cores sees) for every split that may be tried."""
    if -(-m // 16) * -(-n // 16) > SPLIT_MAX_FRACTALS * target.ai_cores:
        return []
    valid = [s for s in (2, 4, 8) if not (target.ai_cores % s or k % (16 * s) or k // s < 256)]
    return [(s, _cores_share(target, s)) for s in valid]


def ranked_matmul_splits(target: Target, args: tuple, top: int) -> list[tuple[int, MatmulTiling]]:
    """`choose_matmul_split`'s choice, then other splits and part tiles by estimate (the
    init kernel's included). A choice not to split stays alone: the graph pass
    `split-pointwise-convs` decided on it, and the unsplit GEMM's tile is a decision of
    its own (`choose_matmul_tile`'s)."""
    m, n, k, itemsize, init_bytes, options = args
    with tile_tuning.inner():
        chosen = choose_matmul_split(target, m, n, k, itemsize, init_bytes, **dict(options))
    if chosen[0] == 1:
        return [chosen]
    init = init_bytes / target.hbm_bandwidth / SPLIT_INIT_SPEED
    found = []
    for s, share in _split_options(target, m, n, k):
        key = (m, n, k // s, itemsize, *_spans(**dict(options)))
        for tiling in ranked_matmul_tiles(share, key, top):
            if (k // s) % tiling.tk == 0:
                found.append((tiling.estimate + init, s, tiling))
    found.sort(key=lambda f: f[0])
    others = [(s, t) for _, s, t in found if (s, t) != chosen]
    return [chosen, *others[: top - 1]]


def _spans(extra=(), exact=False, loads=(), passes=0) -> tuple:  # noqa: ANN001
    """`choose_matmul_tile`'s optional arguments as its memo key has them."""
    return tuple(map(tuple, extra)), exact, tuple(map(tuple, loads)), passes


_SHARES: dict[tuple[int, int], tuple[Target, Target]] = {}
"""`_cores_share`'s targets, kept so that `choose_matmul_tile`'s cache (by target identity)
hits; keyed by the whole target's id, which the entry keeps alive."""


def _cores_share(target: Target, parts: int) -> Target:
    """The target as one of `parts` groups of its cores sees it: cores / parts, and their
    share of HBM bandwidth."""
    cached = _SHARES.get((id(target), parts))
    if cached is None or cached[0] is not target:
        share = dataclasses.replace(
            target, ai_cores=target.ai_cores // parts, hbm_bandwidth=target.hbm_bandwidth / parts
        )
        cached = _SHARES[(id(target), parts)] = (target, share)
    return cached[1]


DRAIN_CHUNKS = 4
"""Row chunks a GEMM tile drains in at most (`lowering.gemm_drain`)."""


def drain_rows(tm: int) -> tuple[int, int]:
    """(rows per chunk, chunks) of a GEMM tile of tm rows: whole fractals of L0C rows."""
    fractals = -(-tm // 16)
    per = -(-fractals // min(DRAIN_CHUNKS, fractals)) * 16
    return per, -(-tm // per)


def fractal_up(size: int) -> int:
    """`size` rounded up to whole 16-row fractals: the cube buffers of a tile edge."""
    return -(-size // 16) * 16


def _fits(target: Target, tile: tuple, itemsize: int, extra, outs: int = 1) -> bool:  # noqa: ANN001
    tm, tn, tk = fractal_up(tile[0]), fractal_up(tile[1]), tile[2]
    a, b = tm * tk * itemsize, tk * tn * itemsize
    cap = target.capacity_of
    ub = outs * aligned(tm * tn * 4) + sum(
        aligned((tm if r else 1) * (tn if c else 1) * 4) for r, c in extra
    )
    return (
        2 * a <= cap("l0a")
        and 2 * b <= cap("l0b")
        and outs * tm * tn * 4 <= cap("l0c")
        and 2 * (a + b) <= cap("l1")
        and ub <= cap("ub")
    )


def a_panel_fits(target: Target, tile: tuple[int, int, int], k: int, itemsize: int) -> bool:
    """Whether A's whole row panel (tm x K, K rounded up to tk) fits L1 beside B's two
    (tk, tn) buffers, so the matmul kernel keeps it resident across a block's tiles."""
    tm, tn, tk = fractal_up(tile[0]), fractal_up(tile[1]), tile[2]
    panel = 2 * aligned(tm * -(-k // (2 * tk)) * tk * itemsize)
    return panel + 2 * aligned(tk * tn * itemsize) <= target.capacity_of("l1")


def _matmul_cycles(target, shape, tile, itemsize, outs=1, epilogue=((), 0)):  # noqa: ANN001, ANN202
    """Cycles of the slowest core, with the interpreter's L2 model: the cores that read an A
    row panel (B column panel) share its HBM fetch, a core's later reads of it hit L2; a DMA
    whose bytes come partly from L2 and partly from HBM takes the longer of the two, A's and
    B's DMAs one after the other on MTE2. With two
    output buffers a tile's drain (FIX, store) overlaps the next tile's K loop. A core's HBM
    channel serves its loads' misses, its epilogue operand tiles and its stores in turn, so
    the core takes at least their sum at its HBM share, plus what the channel waits for per
    tile: the epilogue of the tile's first drain chunk (`lowering.gemm_drain`) before its
    store, and the K steps' issue. A K loop bound by its loads issues its steps while MTE2
    moves the last ones, so the issue counts there only where it exceeds the loads (with the
    issue added to every step, 16-deep steps of K-heavy GEMMs looked 8% slower than they
    run and lost to tiles that run 7% slower: 2048->512 on 7x7 6,760 -> 6,320 cycles).
    With one tile a core, nothing is charged twice: its store follows both its last loads
    (the epilogue operands after the K steps' on MTE2) and its drain's first chunk. (It was
    charged the K loop, then the drain, then the first step's loads again at the HBM share:
    a (128, 49) tile of ResNet-50's 256 -> 1024 on 14x14 looked 5,204 cycles and ran 3,516,
    and lost to a (64, 49) one that ran 3,768.) With several tiles a core and two output
    buffers, the cube first waits for all of the first tile's loads (its A panel), and a
    channel-bound core ends with its channel plus the last tile's last step and first drain
    chunk, not plus its whole drain again; the channel runs at the core's share of the
    chip's bandwidth (36.6 B/cycle on 28 cores, not the loads' 32). Measured by forcing
    every tile of nine ResNet/BERT GEMM shapes (`benchmarks/bench_gemm_tiles.py` does it
    for matmuls, and with `--conv H` for 1x1 convs): the chosen tiles ran 4.2% over the
    best on geometric mean, 1.8% now. MTE2's queue of several-tile cores waits for the cube
    where the cube is slower (a later tile whose A panel stays in L1: ResNet-50's 512 ->
    2048 on 7x7 took two-tile cores estimated 5,668 that ran 5,964; 5,736 now).

    Tile t of the kernel is (row panel (t // nn) % nm, column panel t % nn) and runs on core
    t // ceil(tiles / blocks) (`lowering.gemm`)."""
    (m, n, k), (tm, tn, tk), loads = shape, tile, epilogue[0]
    nm, nn = -(-m // tm), -(-n // tn)
    tiles = nm * nn
    per = -(-tiles // min(tiles, target.ai_cores))  # consecutive tiles per block
    blocks = -(-tiles // per)
    ksteps = -(-k // tk)
    share = min(target.hbm_bandwidth / blocks, target.rate("hbm", "l1"))
    l2_rate, l2_limit = target.rate("l2", "l1"), target.capacity_of("l2") // 2
    a_bytes = dma_bytes_charged(target, [tm, tk], [m, k], itemsize)
    b_bytes = dma_bytes_charged(target, [tk, tn], [k, n], itemsize)
    mte1 = tm * tk * itemsize / target.rate("l1", "l0a")
    mte1 += tk * tn * itemsize / target.rate("l1", "l0b")
    cube = mmad_cycles(target, tm, tn, tk, _dtype(itemsize))
    store = dma_bytes_charged(target, [tm, tn], [m, n], 4)
    fix = tm * tn * 4 / target.rate("l0c", "ub")  # L0C -> UB
    stored = store / min(share, target.rate("ub", "hbm"))  # UB -> HBM
    out = fix + stored
    spans = [((tm, m) if r else (1, 1), (tn, n) if c else (1, 1)) for r, c in loads]
    ins = sum(dma_bytes_charged(target, [a[0], b[0]], [a[1], b[1]], 4) for a, b in spans)
    uncached = (m * k * itemsize > l2_limit, k * n * itemsize > l2_limit)
    t, core, a_cold, b_cold = _layout(nm, nn, per, blocks, uncached)
    a_read = np.full(tiles, float(a_bytes))
    if a_panel_fits(target, tile, k, itemsize):  # later tiles of a row panel read it from L1
        a_read[(t % nn != 0) & (t % per != 0)] = 0.0
    # MTE2 runs A's and B's DMAs one after the other, each as long as the longer of its L2
    # part and its HBM misses: a panel many cores read is L2-bound, one few read HBM-bound
    mte2 = np.maximum(a_cold * a_bytes / share, a_read / l2_rate)
    mte2 += np.maximum(b_cold * b_bytes / share, b_bytes / l2_rate)
    chunk = min(drain_rows(tm)[0], tm)
    epilogue_v = epilogue[1] * chunk * tn * 4 / target.vector_bytes_per_cycle  # one chunk's V
    wait = epilogue_v + ksteps * ISSUE_CYCLES
    hbm = ksteps * (a_cold * a_bytes + b_cold * b_bytes) + ins + store
    # the channel's pace is the core's share of the chip's HBM bandwidth (the loads' path is
    # slower, 32 B/cycle, which `share` also caps; the stores' is not)
    channel = float(np.bincount(core, hbm / (target.hbm_bandwidth / blocks) + wait).max())
    # each tile's K loop starts on the ping buffers: after an odd number of steps the next
    # tile's first load waits for the last step's MTE1 (ping) to free them
    bubble = mte1 if ksteps % 2 and ksteps > 1 else 0.0
    step = max(mte1, cube) + ISSUE_CYCLES  # one K step's MTE1 moves or mmad, and its issue
    if outs == 2 and per > 1 and ksteps > 1:  # (one K step: one L1/L0 set, no overlap)
        # drains overlap the next tile's K loop: a core streams its loads (MTE2) while the
        # cube follows one step behind, then drains its last tile
        # (a step's loads wait for its L1 buffer, freed one step behind by the cube: where
        # the cube is slower, as on a core's later tiles whose A panel stays in L1, MTE2
        # follows it, and the epilogue operands queued behind those loads wait with them;
        # so the cube also waits for all of a core's first tile's loads, its A panel)
        queue = np.bincount(core, ksteps * np.maximum(mte2, step) + bubble + ins / share)
        stream = queue + max(mte1 + cube, step)  # the last step after the last load
        # the channel carries the last tile's store too; after its last load it waits for
        # the last K step and the first drain chunk (FIX, epilogue) before that store
        tail = mte1 + cube + fix + epilogue_v
        return max(float(stream.max()) + out, channel + tail), blocks
    if per == 1:
        # one tile a core: MTE2 moves its K steps' loads, then the epilogue operands, while
        # the cube follows one step behind; the store waits for both, on the channel after
        # the operands and after the first drain chunk's FIX and epilogue
        kloop = (ksteps - 1) * np.maximum(mte2, step) + mte2 + step + bubble
        drained = kloop + fix + epilogue_v
        loaded = ksteps * mte2 + ins / share
        end = np.maximum(loaded, drained) + stored
        return max(float(end.max()), channel), blocks
    if ksteps == 1:  # one L1/L0 buffer set: a tile's loads wait for the last one's MTE1
        kloop = mte2 + mte1 + cube + ISSUE_CYCLES + ins / share
    else:
        kloop = ksteps * np.maximum(mte2, step) + bubble + ins / share
    fill = (a_bytes + b_bytes) / share + mte1  # a core's first loads, before its first step
    return max(float(np.bincount(core, kloop + out).max()) + fill, channel), blocks


@functools.lru_cache(maxsize=4096)
def _layout(nm: int, nn: int, per: int, blocks: int, uncached: tuple[bool, bool]) -> tuple:
    """(tile indices, their cores, A's and B's cold fractions) of an (nm x nn)-tile grid
    (`_cold_fraction`): the same for every K step a search tries, so computed once each."""
    t = np.arange(nm * nn)
    core = t // per
    a_cold = _cold_fraction((t // nn) % nm, core, blocks, uncached[0])
    b_cold = _cold_fraction(t % nn, core, blocks, uncached[1])
    for array in (t, core, a_cold, b_cold):
        array.flags.writeable = False
    return t, core, a_cold, b_cold


def _cold_fraction(panel: np.ndarray, core: np.ndarray, blocks: int, uncached: bool):  # noqa: ANN202
    """Per tile, the share of its panel's bytes its core fetches from HBM: 1 / the panel's
    readers on the core's first read of it, 0 on later ones (all of it when L2 cannot hold it)."""
    if uncached:
        return np.ones(len(panel))
    pair = panel * blocks + core
    first = np.zeros(len(panel), np.bool_)
    first[np.unique(pair, return_index=True)[1]] = True
    readers = np.bincount(panel[first])
    return first / readers[panel]


def _dtype(itemsize: int):  # noqa: ANN202
    return np.dtype(np.float32) if itemsize == 4 else np.dtype(np.float16)
