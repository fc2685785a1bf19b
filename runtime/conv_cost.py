"""Modeled cycles of each convolution algorithm on a target, from the interpreter's costs.

Every figure is built from `runtime.cost_model` (the same per-instruction costs the npu
interpreter charges): cube cycles per 16x16x16 fractal, MTE1 bytes into L0A/L0B, the FIX
drain of L0C fractals to UB, vector bytes per cycle, and HBM bytes over the shared HBM
bandwidth. Pipes overlap (double buffering), so a kernel costs its busiest pipe, with the
work spread over the cores the tiles can occupy.

Padding to whole fractals is where the algorithms differ most: a depthwise conv on the cube
fills one of 16 columns of every output fractal and one of 16 rows of K, which is why the
vector unit (direct) wins there; a 1x1 conv is already a GEMM, which is why im2col wins;
Winograd trades 2.25x (F(2x2)) or 4x (F(4x4)) fewer cube MACs for vector transforms; FFT
(as DFT matrix products on the cube) costs O(P·Q·(P+Q)) per image channel, so it pays only
when the kernel is large.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from gedialects.kernel.conv_algorithms import ALGORITHMS, WINOGRAD, ConvGeometry
from runtime.cost_model import mmad_cycles, vector_cycles
from runtime.targets import Target

F32_ACC = 4  # bytes of an f32 accumulator in L0C
FFT_LOWERED = 1.7
"""The FFT lowering's modeled cycles over this model's estimate, measured 1.6-1.9 on 64x64
images, kernels 3-31, 8-32 channels (`benchmarks/bench_conv_fft.py`): the lowering sums the
channels per frequency bin on the vector unit and its small DFT GEMMs pay fill, which the
model, counting that sum as cube GEMMs, does not."""


@dataclass(frozen=True)
class ConvCost:
    """Modeled cycles of one algorithm, and the busiest-pipe breakdown behind them."""

    algorithm: str
    cycles: float
    cube: float = 0.0
    vector: float = 0.0
    mte1: float = 0.0
    fix: float = 0.0
    hbm: float = 0.0
    cores: int = 1

    @property
    def busy(self) -> float:
        """Cycles all pipes are occupied: the tie-break between equally fast candidates."""
        return self.cube + self.vector + self.mte1 + self.fix

    def as_dict(self) -> dict[str, float]:
        return {k: round(v, 1) for k, v in vars(self).items() if isinstance(v, float)}


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def _gemm_pipes(target: Target, m: int, n: int, k: int, dtype: np.dtype, count: int):
    """Cube, MTE1 and FIX cycles of `count` GEMMs of (m x k) @ (k x n), whole fractals."""
    item = np.dtype(dtype).itemsize
    fm, fn, fk = _ceil(m, target.cube_m), _ceil(n, target.cube_n), _ceil(k, target.cube_k)
    cube = count * mmad_cycles(target, m, n, k, np.dtype(dtype))
    frac_a, frac_b = target.cube_m * target.cube_k * item, target.cube_k * target.cube_n * item
    mte1 = count * (
        fm * fk * frac_a / target.rate("l1", "l0a") + fn * fk * frac_b / target.rate("l1", "l0b")
    )
    fix = count * fm * fn * target.cube_m * target.cube_n * F32_ACC / target.rate("l0c", "ub")
    return cube, mte1, fix


def _finish(name: str, target: Target, pipes: dict[str, float], hbm_bytes: int, tiles: int):
    cores = max(1, min(target.ai_cores, tiles))
    per_core = {k: v / cores for k, v in pipes.items()}
    hbm = hbm_bytes / target.hbm_bandwidth
    cycles = max([*per_core.values(), hbm])
    return ConvCost(name, cycles, hbm=hbm, cores=cores, **per_core)


def _io_bytes(g: ConvGeometry, item: int, weight_elems: int | None = None) -> int:
    oh, ow = g.out_hw
    weights = weight_elems if weight_elems is not None else g.o * (g.c // g.groups) * g.kh * g.kw
    return item * (g.n * g.c * g.h * g.w + weights + g.n * g.o * oh * ow)


def cost_im2col(
    g: ConvGeometry,
    target: Target,
    dtype: np.dtype,
    operands: tuple[tuple[bool, bool], ...] = (),
    laid: bool = True,
) -> ConvCost:
    """The im2col lowering's own plan estimate (`lowering.conv_tiling`, within ~15% of the
    interpreter on ResNet-50's layers) for convs it runs through img2col, never below the
    analytic bound here; a pointwise conv is a plain GEMM, costed analytically. `operands`:
    the epilogue's UB tiles (`ConvShape.operands`), where a caller knows them; `laid`: the
    filters are a constant, laid out at compile time (else they are staged through UB)."""
    analytic = analytic_im2col(g, target, dtype)
    if (g.kh, g.kw, *g.strides, *g.pads, g.groups) == (1, 1, 1, 1, 0, 0, 0, 0, 1):
        return analytic
    from lowering.conv_tiling import ConvShape, choose_conv_tile

    (oh, ow), item = g.out_hw, np.dtype(dtype).itemsize
    cg, og, dh = g.c // g.groups, g.o // g.groups, g.dilations[0]
    shape = ConvShape(
        cg, g.h, g.w, g.kh * g.kw, oh * ow, og, g.n * g.groups, item, operands, ow, g.strides[0],
        dh * (g.kh - 1) + 1, (g.pads[0], g.pads[2]), laid, item, g.kh,
    )  # fmt: skip
    tiling = choose_conv_tile(target, shape)
    planned = tiling.estimate if tiling is not None else float("inf")
    if tiling is not None and tiling.fold:  # kernel rows folded into channels: a (1, kw) conv
        folded = dataclasses.replace(
            g, c=g.c * g.kh, h=oh, kh=1, strides=(1, g.strides[1]),
            pads=(0, g.pads[1], 0, g.pads[3]), dilations=(1, g.dilations[1]),
        )  # fmt: skip
        analytic = analytic_im2col(folded, target, dtype)
    return dataclasses.replace(analytic, cycles=max(planned, analytic.cycles))


def analytic_im2col(g: ConvGeometry, target: Target, dtype: np.dtype) -> ConvCost:
    oh, ow = g.out_hw
    # img2col's K order (c1, kh, kw, c0) pads a group's channels to whole C0 = 16 slices per
    # tap: a depthwise conv's K is 16 x taps, not taps
    c0 = target.cube_k
    m, k = g.n * oh * ow, _ceil(g.c // g.groups, c0) * c0 * g.kh * g.kw
    cube, mte1, fix = _gemm_pipes(target, m, g.o // g.groups, k, dtype, g.groups)
    # the kernel spreads one (image, group) GEMM's tiles over the cores and runs the groups
    # one after another: groups do not add cores
    tiles = _ceil(m, target.cube_m) * _ceil(g.o // g.groups, target.cube_n)
    pipes = {"cube": cube, "mte1": mte1, "fix": fix}
    return _finish("im2col", target, pipes, _io_bytes(g, np.dtype(dtype).itemsize), tiles)


def cost_direct(g: ConvGeometry, target: Target, dtype: np.dtype) -> ConvCost:
    """The direct lowering's own plan estimate (`lowering.conv_direct_tiling`): its work items
    are (image, 16 output channels, band of rows), so a conv with few channel blocks and rows
    occupies few cores, and an ordinary conv reads one input channel per lane; the pipes'
    breakdown is the analytic one (one vector multiply-add lane-op per MAC)."""
    from lowering.conv_direct_tiling import DirectGeometry, Epilogue, choose_band

    item = np.dtype(dtype).itemsize
    vector = vector_cycles(target, g.macs * item)
    oh, ow = g.out_hw
    tiles = g.n * g.o * _ceil(oh * ow * item, target.ub_block)
    analytic = _finish("direct", target, {"vector": float(vector)}, _io_bytes(g, item), tiles)
    geometry = DirectGeometry(
        g.n, g.c, g.h, g.w, g.o, g.groups, (g.kh, g.kw), g.strides, g.pads, g.dilations,
        g.out_hw, item,
    )  # fmt: skip
    band = choose_band(target, geometry, Epilogue())
    planned = band[1] if band is not None else float("inf")  # no band fits UB: never chosen
    return dataclasses.replace(analytic, cycles=max(planned, analytic.cycles))


def cost_winograd(g: ConvGeometry, target: Target, dtype: np.dtype, m: int) -> ConvCost:
    """The Winograd lowering's own plan (`lowering.lower_conv_winograd.planned_cycles`: the
    fused kernel or the three-kernel form), never below the analytic bound computed here from
    the cube's fewer MACs, the sparse transforms on the vector unit and the HBM bytes of the
    transformed weights."""
    from lowering.lower_conv_winograd import planned_cycles

    analytic = _analytic_winograd(g, target, dtype, m)
    planned = planned_cycles(g, f"winograd_{m}x{m}", target, np.dtype(dtype).itemsize)
    return dataclasses.replace(analytic, cycles=max(planned, analytic.cycles))


def _analytic_winograd(g: ConvGeometry, target: Target, dtype: np.dtype, m: int) -> ConvCost:
    item = np.dtype(dtype).itemsize
    t = m + 2
    oh, ow = g.out_hw
    tiles = g.n * _ceil(oh, m) * _ceil(ow, m)
    cg, og = g.c // g.groups, g.o // g.groups
    cube, mte1, fix = _gemm_pipes(target, tiles, og, cg, dtype, t * t * g.groups)
    bt, _, at = WINOGRAD[m]
    nnz_b, nnz_a = int(np.count_nonzero(bt)), int(np.count_nonzero(at))
    # B^T d B and A^T M A as sparse products: one vector op per nonzero per row/column.
    transform_in = tiles * g.c * 2 * t * nnz_b
    transform_out = tiles * g.o * (t * nnz_a + m * nnz_a)
    vector = vector_cycles(target, item * (transform_in + transform_out))
    pipes = {"cube": cube, "mte1": mte1, "fix": fix, "vector": float(vector)}
    hbm = _io_bytes(g, item, weight_elems=t * t * g.o * cg)
    blocks = t * t * g.groups * _ceil(tiles, target.cube_m) * _ceil(og, target.cube_n)
    return _finish(f"winograd_{m}x{m}", target, pipes, hbm, blocks)


def cost_fft(g: ConvGeometry, target: Target, dtype: np.dtype) -> ConvCost:
    item = np.dtype(dtype).itemsize
    p, q = g.h + g.pads[0] + g.pads[2], g.w + g.pads[1] + g.pads[3]
    qf = q // 2 + 1  # real input: half the spectrum
    cg, og = g.c // g.groups, g.o // g.groups
    # forward DFT of each input image channel, inverse of each output channel: two real GEMMs
    # per complex product side (rows then columns), three real GEMMs per complex GEMM.
    fwd = _gemm_pipes(target, p, qf, q, dtype, 2 * g.n * g.c)
    fwd2 = _gemm_pipes(target, p, qf, p, dtype, 3 * g.n * g.c)
    inv = _gemm_pipes(target, p, q, qf, dtype, 2 * g.n * g.o)
    inv2 = _gemm_pipes(target, p, qf, p, dtype, 3 * g.n * g.o)
    # per frequency: (N x Cg) @ (Cg x Og), complex -> three real GEMMs
    mix = _gemm_pipes(target, g.n, og, cg, dtype, 3 * p * qf * g.groups)
    cube, mte1, fix = (sum(parts) for parts in zip(fwd, fwd2, inv, inv2, mix))
    pipes = {"cube": cube, "mte1": mte1, "fix": fix}
    hbm = _io_bytes(g, item, weight_elems=2 * p * qf * g.o * cg)
    cost = _finish("fft", target, pipes, hbm, g.n * (g.c + g.o))
    return dataclasses.replace(cost, cycles=cost.cycles * FFT_LOWERED)


_COSTS = {
    "direct": cost_direct,
    "im2col": cost_im2col,
    "winograd_2x2": lambda g, t, d: cost_winograd(g, t, d, 2),
    "winograd_4x4": lambda g, t, d: cost_winograd(g, t, d, 4),
    "fft": cost_fft,
}


FP16_UNSAFE = frozenset({"winograd_4x4"})
"""Algorithms no fp16 conv is given by cost (forcing one still works): F(4x4, 3x3)'s
transforms, entries from 1/24 to 8, amplify rounding about tenfold over F(2x2), and in
fp16's 11-bit significand that shows: a depthwise 3x3 under allow_fp32_to_fp16 came out
2.8e-2 of its scale off onnxruntime (F(2x2) 1.5e-3, direct and im2col 7.5e-4)."""


def candidate_costs(
    g: ConvGeometry, target: Target, dtype: np.dtype, laid: bool = True
) -> list[ConvCost]:
    """Costs of every algorithm that accepts `g`, cheapest first; `laid`: the filters are a
    constant (`cost_im2col`: runtime filters are staged through UB, all of a channel
    tile's taps at once, which a long filter overflows)."""
    fp16 = np.dtype(dtype) == np.float16
    costs = [
        cost_im2col(g, target, dtype, laid=laid)
        if name == "im2col"
        else _COSTS[name](g, target, dtype)
        for name, algo in ALGORITHMS.items()
        if algo.unsupported_reason(g) is None and not (fp16 and name in FP16_UNSAFE)
    ]
    # An algorithm whose lowering cannot plan the shape (inf) is no candidate.
    costs = [c for c in costs if math.isfinite(c.cycles)]
    # Equal time (e.g. both HBM-bound): prefer the one that keeps fewer pipes busy.
    return sorted(costs, key=lambda c: (round(c.cycles), c.busy))
