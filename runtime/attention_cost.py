"""Modeled cycles of attention, fused or unfused, and the fused kernel's tile choice.

Built from `runtime.cost_model`'s per-instruction costs (the ones the npu interpreter charges),
like `runtime.conv_cost` for convolutions. The fused kernel (`lowering/lower_attention.py`)
runs one (batch*head, query tile) item at a time on a core: for each key block the S phase
(K' tiles HBM -> L1 -> L0B, S = Q K' on the cube, FIX to UB) overlaps its pipes, then the
vector unit runs the softmax of the block alone, then the P phase (P UB -> L1 -> L0A, P V on
the cube) overlaps its pipes; so an item costs the sum of the three phases. The unfused form
is the matmul (with scale and mask as its epilogue), softmax and matmul kernels through HBM,
each costing its busiest pipe over the cores, as `runtime.conv_cost` charges.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from runtime.cost_model import hbm_share, mmad_cycles, vector_cycles
from runtime.targets import Target

ALIGN = 32
SOFTMAX_PASSES = 6  # scale, mask, row max, subtract, exp, row sum over the score block
ONLINE_PASSES = 1  # the running max/sum rescaling adds about one pass over the block
CHUNKS = 4  # K' of a head loads in this many chunks in the pipelined kernel


@dataclass(frozen=True)
class AttentionShape:
    """batch = product of the output's leading dims (a (Sk, d) key costs what K' does: both
    forms read it transposed on the cube's L0B loads)."""

    batch: int
    sq: int
    sk: int
    d: int
    dv: int
    itemsize: int
    mask: bool = False
    relaid_bytes: int = 0
    """Bytes of Q, V and O in a heads-second layout (`query_perm`...): the unfused form
    transposes them through HBM temporaries, the fused kernel reads them in place."""
    kv_batch: int | None = None
    """The distinct (K, V) pairs when they broadcast over lead axes of Q (grouped-query
    attention: the KV heads); None when there is one per batch index."""

    @property
    def kv_heads(self) -> int:
        return self.batch if self.kv_batch is None else self.kv_batch


@dataclass(frozen=True)
class AttentionTiling:
    """Query rows per item, key columns per cube step, key columns per UB block, and the
    spans the key axis splits into over the cores (flash-decoding; 1: none)."""

    tq: int
    tk: int
    width: int
    estimate: float
    splits: int = 1


def _a(nbytes: float) -> int:
    return -(-int(nbytes) // ALIGN) * ALIGN


def fused_fits(
    target: Target, s: AttentionShape, tq: int, tk: int, width: int, sets: int = 1
) -> bool:
    """Whether every buffer of the fused kernel fits its on-chip level at once; `sets` = 2 for
    the pipelined form's second set of item buffers (score block, mask, V rows, sums, y)."""
    isz, cap = s.itemsize, target.capacity_of
    s = replace(s, d=-(-s.d // 16) * 16, dv=-(-s.dv // 16) * 16)  # fractal buffers
    l1 = _a(tq * s.d * isz) + 2 * _a(s.d * tk * isz) + _a(width * s.dv * isz)
    l1 += 2 * _a(tq * tk * isz) + (sets - 1) * _a(tq * s.d * isz + width * s.dv * isz)
    if sets > 1:  # the resident K' chunks
        steps = -(-s.sk // tk)
        chunks = min(steps, CHUNKS)
        l1 += chunks * _a(s.d * -(-steps // chunks) * tk * isz)
    l0a = _a(tq * s.d * isz) + 2 * _a(tq * tk * isz)
    l0b = 2 * _a(s.d * tk * isz) + 2 * _a(tk * s.dv * isz)
    l0c = 2 * _a(tq * tk * 4) + _a(tq * s.dv * 4)
    online = width < s.sk
    ub = _a(tq * width * isz) + (_a(tq * width * isz) if s.mask else 0) + 5 * _a(tq * 4)
    ub += (2 if online else 1) * _a(tq * s.dv * 4) + _a(tq * s.dv * isz)
    item = _a(tq * width * isz) * (2 if s.mask else 1) + _a(tq * 4) + _a(tq * s.dv * isz)
    ub += (sets - 1) * item
    return (
        l1 <= cap("l1") and l0a <= cap("l0a") and l0b <= cap("l0b")
        and l0c <= cap("l0c") and ub <= cap("ub")
    )  # fmt: skip


def pipelined(target: Target, s: AttentionShape, tq: int, tk: int, width: int) -> bool:
    """Whether the fused kernel skews its items (`lowering.attention_pipeline`): whole rows of
    scores, more than one item per core, and room for a second set of item buffers."""
    items = s.batch * -(-s.sq // tq)
    per = -(-items // min(items, target.ai_cores))
    whole = width >= s.sk
    return whole and per > 1 and fused_fits(target, s, tq, tk, width, sets=2)


def fused_cycles(
    target: Target, s: AttentionShape, tq: int, tk: int, width: int, online: bool = False
) -> float:
    """Cycles of the slowest core of the fused kernel (a (Sk, d) key's tiles transpose on
    their MTE1 load into L0B, at the load's rate: no transpose kernel). Items one after
    another cost the sum of their phases (a block's V rows load under its softmax);
    pipelined items cost the busiest pipe's share of an item each, plus the first item's S
    phase and the last one's P phase."""
    isz, dt = s.itemsize, _dtype(s.itemsize)
    items = s.batch * -(-s.sq // tq)
    cores = min(items, target.ai_cores)
    per = math.ceil(items / cores)
    share = min(target.rate("hbm", "l1"), hbm_share(target, cores))  # a core's own path
    l2_rate = target.rate("l2", "l1")
    # K'/V: each head's compulsory bytes from HBM, the other query tiles' reads from L2.
    kv_bytes = s.sk * (s.d + s.dv) * isz
    cold = s.kv_heads * kv_bytes / max(items, 1)
    steps = -(-s.sk // tk)
    mte2 = cold / share + max(kv_bytes - cold, 0) / l2_rate
    k_part = s.d / (s.d + s.dv)
    s_steps = steps * max(
        s.d * tk * isz / target.rate("l1", "l0b"),
        mmad_cycles(target, tq, tk, s.d, dt),
        tq * tk * 4 / target.rate("l0c", "ub"),
    )
    blocks = -(-s.sk // width)
    online = online or blocks > 1
    passes = SOFTMAX_PASSES + (ONLINE_PASSES if online else 0) - (0 if s.mask else 1)
    v_phase = blocks * passes * vector_cycles(target, tq * width * isz)
    p_phase = steps * max(
        tq * tk * isz / target.rate("ub", "l1"),
        (tq + s.dv) * tk * isz / target.rate("l1", "l0a"),
        mmad_cycles(target, tq, s.dv, tk, dt),
    )
    fix_o = tq * s.dv * 4 / target.rate("l0c", "ub")
    finish = (2 if isz < 4 else 1) * vector_cycles(target, tq * s.dv * 4)
    store = tq * s.dv * isz / min(share, target.rate("ub", "hbm"))
    q_load = tq * s.d * isz / share
    if online or not pipelined(target, s, tq, tk, width):
        s_phase = max(mte2 * k_part, s_steps)
        mask = tq * width * isz / l2_rate if s.mask else 0.0  # a block's mask rows first
        item = q_load + blocks * mask + s_phase + max(mte2 * (1 - k_part), v_phase) + p_phase
        total = per * (item + blocks * (fix_o + 3 * finish) + store)
    else:  # K' and V once per head on a core, the first chunk of K' before the cube starts
        l0a = target.rate("l1", "l0a")
        nq = -(-s.sq // tq)  # the most heads a core's run of items touches
        heads = max(
            len({i // nq for i in range(c, min(c + per, items))}) for c in range(0, items, per)
        )
        kv = max(kv_bytes / l2_rate, cold / share)
        busiest = max(
            q_load + heads * kv / per + (tq * s.sk * isz / l2_rate if s.mask else 0.0),
            v_phase + finish,
            steps * (mmad_cycles(target, tq, tk, s.d, dt) + mmad_cycles(target, tq, s.dv, tk, dt)),
            s_steps + fix_o,
            steps * tq * tk * isz / target.rate("ub", "l1") + store,
            steps * ((s.d + s.dv) * tk * isz / target.rate("l1", "l0b") + tq * tk * isz / l0a),
        )
        fill = q_load + kv * k_part / CHUNKS + s_steps
        if s.mask:  # the second item's mask rows load after the first item's V
            fill += tq * s.sk * isz / l2_rate + kv * (1 - k_part)
        # a later head's K' on a core loads while the cube waits for it
        total = fill + per * busiest + p_phase + fix_o + store + (heads - 1) * kv * k_part
    return total


def split_cycles(
    target: Target, s: AttentionShape, tq: int, tk: int, width: int, splits: int
) -> float:
    """The fused kernel with the key axis in `splits` spans of whole blocks, each an item
    of its own (the units' splits spread over the cores), and the kernel merging them."""
    span = -(-s.sk // (width * splits)) * width
    part = replace(s, sk=span, batch=s.batch * splits, kv_batch=s.kv_heads * splits)
    return fused_cycles(target, part, tq, tk, width, online=True) + combine_cycles(
        target, s, tq, splits
    )


def combine_rows(target: Target, units: int, rows: int, splits: int, dv: int) -> int:
    """Query rows of a unit a core of the merging kernel takes: a power of two, so that
    the units' rows spread over the cores and the (splits, rows, dv) f32 tile of the
    partial outputs (with the other UB tiles: about three such) fits UB."""
    fit = max(1, target.capacity_of("ub") // (3 * splits * dv * 4))
    wanted = max(1, units * rows // target.ai_cores)
    take = min(fit, wanted, rows)
    return 1 << (take.bit_length() - 1)


def combine_cycles(target: Target, s: AttentionShape, tq: int, splits: int) -> float:
    """Merging each unit's splits: a core's items each load the splits' O, row max and row
    sum of its rows at once, then about six vector passes over them, and store the rows."""
    units, rows = s.batch * -(-s.sq // tq), min(tq, s.sq)
    take = combine_rows(target, units, rows, splits, s.dv)
    items = units * -(-rows // take)
    cores = min(items, target.ai_cores)
    share = min(target.rate("hbm", "ub"), hbm_share(target, cores))
    load = splits * take * (s.dv * 4 + 2 * s.itemsize) / share
    merge = 6 * vector_cycles(target, splits * take * s.dv * 4)
    store = take * s.dv * s.itemsize / share
    return -(-items // cores) * (load + merge + store)


def transpose_cycles(target: Target, nbytes: int) -> float:
    """A transpose kernel of `nbytes` (an operand in another layout) through UB: its bytes in
    and out over HBM."""
    vector = vector_cycles(target, nbytes) / target.vector_cores
    return max(2 * nbytes / target.hbm_bandwidth, vector)


def unfused_cycles(target: Target, s: AttentionShape) -> float:
    """matmul(+scale, mask) -> HBM -> softmax -> HBM -> matmul, each its busiest pipe."""
    isz, dt = s.itemsize, _dtype(s.itemsize)
    scores = s.batch * s.sq * s.sk * isz
    q, k, v = (s.batch * s.sq * s.d * isz, s.kv_heads * s.sk * s.d * isz,
               s.kv_heads * s.sk * s.dv * isz)  # fmt: skip
    out = s.batch * s.sq * s.dv * isz
    epilogue = (2 if s.mask else 1) * scores
    rows = s.batch * -(-s.sq // 16)  # the GEMMs' blocks: row tiles, and column strips of Sk
    mm1 = _kernel(target, s.batch * mmad_cycles(target, s.sq, s.sk, s.d, dt), epilogue,
                  q + k + scores * (2 if s.mask else 1), rows * -(-s.sk // 64))  # fmt: skip
    softmax = _kernel(target, 0.0, SOFTMAX_PASSES * scores, 2 * scores, s.batch * s.sq, True)
    mm2 = _kernel(target, s.batch * mmad_cycles(target, s.sq, s.dv, s.sk, dt), 0.0,
                  scores + v + out, rows * -(-s.dv // 64) * -(-s.sk // 512))  # and split K
    extra = transpose_cycles(target, s.relaid_bytes) if s.relaid_bytes else 0.0
    return mm1 + softmax + mm2 + extra


def _kernel(  # noqa: PLR0913
    target: Target, cube: float, vector_bytes: float, hbm_bytes: float, work: int,
    vector_only: bool = False,
) -> float:
    """A kernel's busiest pipe over its blocks (at most one per unit of `work`), each block
    reading HBM at most at its own core's rate."""
    cores = min(target.vector_cores if vector_only else target.ai_cores, max(work, 1))
    vector = vector_cycles(target, int(vector_bytes)) / cores
    hbm = hbm_bytes / min(cores * target.rate("hbm", "ub"), target.hbm_bandwidth)
    return max(cube / cores, vector, hbm)


def choose_attention_tile(target: Target, s: AttentionShape) -> AttentionTiling | None:
    """The cheapest (tq, tk, width) that fits, or None when no tile fits (a head dim too
    large for L0). Whole rows (width covering Sk) are tried first among equals."""
    best: AttentionTiling | None = None
    for tq in _edges(s.sq, 256):
        for tk in _edges(s.sk, 256):
            steps = -(-s.sk // tk)
            for per in sorted({steps, *(2**i for i in range(6) if 2**i < steps)}, reverse=True):
                width = per * tk
                if not fused_fits(target, s, tq, tk, width):
                    continue
                estimate = fused_cycles(target, s, tq, tk, width)
                if best is None or estimate < best.estimate:
                    best = AttentionTiling(tq, tk, width, estimate)
                for splits in _splits(target, s, tq, width):
                    estimate = split_cycles(target, s, tq, tk, width, splits)
                    if estimate < best.estimate:
                        best = AttentionTiling(tq, tk, width, estimate, splits)
    return best


def _splits(target: Target, s: AttentionShape, tq: int, width: int) -> list[int]:
    """Key splits worth trying: powers of two that leave every span a block and do not
    give the cores more than twice the items they have."""
    units = s.batch * -(-s.sq // tq)
    blocks = -(-s.sk // width)
    out, splits = [], 2
    while splits <= blocks and units * splits <= 2 * target.ai_cores:
        out.append(splits)
        splits *= 2
    return out


def _edges(size: int, limit: int) -> list[int]:
    """Multiples of the cube's 16 that are powers of two up to the first covering `size`."""
    edges = []
    for edge in (16 * 2**i for i in range(5)):
        if edge > limit:
            break
        edges.append(edge)
        if edge >= size:
            break
    return edges


def _dtype(itemsize: int) -> np.dtype:
    return np.dtype(np.float32) if itemsize == 4 else np.dtype(np.float16)
