"""The vector-unit kernels of the FFT convolution: the per-frequency channel sum, and f16 -> f32.

Channel sum: Y[n, o] = sum over the group's channels c of W[o, c] * X[n, c], complex, one
product per frequency bin; spectra are (.., 2, F) buffers, [real; imag] over F = P * Qf bins.
Each block takes a contiguous run of the (bin tile, n, o) tiles, o fastest, so a core reads
a band of X's bins from HBM once and then from L2 for every o, and each weight bin once; per
tile the accumulators start at zero and every channel adds (Wr Xr - Wi Xi, Wr Xi + Wi Xr):
four multiplies and four adds on the bin tile.
The loads of channel c + 1 go into the other of two (ping/pong) UB buffer sets while the
vector unit works on channel c. Why the vector unit and not the cube (a batched GEMM over the
bins): see `lowering.lower_conv_fft`. The bin tile is chosen from UB's capacity by the same
per-instruction costs the interpreter charges.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from xdsl.dialects.builtin import f32
from xdsl.ir import SSAValue

from gedialects.ge.types import to_numpy_dtype
from gedialects.npu.launch import KernelOp
from gedialects.npu.vector import BINARY_OPS, VecCastOp, VecDupOp
from lowering.npu_builder import Index, KernelBuilder
from lowering.tiling import ISSUE_CYCLES, aligned, choose_elementwise_tile
from runtime.cost_model import dma_bytes_charged, vector_cycles
from runtime.targets import Target

PARTS = ("xr", "xi", "wr", "wi")
BUFFERS = 2 * len(PARTS) + 3  # ping/pong loads, two accumulators, one product
ACC_EVENT = 2


@dataclass(frozen=True)
class BinTiling:
    bins: int  # bins per tile
    blocks: int
    estimate: float


def choose_bin_tile(
    target: Target, spectra: int, bins: int, channels: int, inputs: int
) -> BinTiling:
    """Bins per tile for `spectra` output spectra of `bins` bins, each a sum over `channels`
    of the `inputs` input spectra:
    the cheapest candidate (powers of two from 8 and all the bins) whose buffers fit UB."""
    ub, best = target.capacity_of("ub"), None
    for tf in sorted({bins} | {8 * 2**i for i in range(16) if 8 * 2**i < bins}):
        if BUFFERS * aligned(tf * 4) > ub:
            break
        tiles = spectra * -(-bins // tf)
        blocks = min(tiles, target.vector_cores)
        share = min(target.hbm_bandwidth / blocks, target.rate("hbm", "ub"))
        load = len(PARTS) * dma_bytes_charged(target, [tf], [bins], 4) / share
        step = max(load, 8 * vector_cycles(target, tf * 4)) + ISSUE_CYCLES
        store = (
            2 * dma_bytes_charged(target, [tf], [bins], 4) / min(share, target.rate("ub", "hbm"))
        )
        # the first core to read a bin of X fetches all C channels of it from HBM
        runs = -(-math.ceil(tiles / blocks) // spectra)
        cold = min(bins, runs * tf) * inputs * 8 / share
        estimate = math.ceil(tiles / blocks) * (channels * step + store) + load + cold
        if best is None or estimate < best.estimate:
            best = BinTiling(tf, blocks, estimate)
    assert best is not None, "eight bins do not fit the unified buffer"
    return best


class ChannelSum:
    """The kernel Y (N, O, 2, F) = sum_c W (O, C/groups, 2, F) * X (N, C, 2, F), complex."""

    def __init__(self, x: SSAValue, w: SSAValue, y: SSAValue, groups: int, target: Target):
        self.x, self.w, self.y = x, w, y
        self.n, self.c, _, self.f = x.type.dims
        self.o, self.cg = w.type.dims[:2]
        self.og = self.o // groups
        self.tiling = choose_bin_tile(target, self.n * self.o, self.f, self.cg, self.n * self.c)
        self.pings = (0, 1) if self.cg > 1 else (0,)

    def emit(self, name: str, fused_from) -> KernelOp:  # noqa: ANN001
        tf, blocks = self.tiling.bins, self.tiling.blocks
        nf = -(-self.f // tf)
        blocks = -(-(self.n * self.o * nf) // -(-(self.n * self.o * nf) // blocks))
        kernel = KernelOp(name, blocks, fused_from=fused_from, kind="conv2d")
        b = self.b = KernelBuilder(kernel)
        self.loads = [{k: b.alloc([1, tf], f32, "ub") for k in PARTS} for _ in self.pings]
        self.acc = [b.alloc([1, tf], f32, "ub") for _ in range(2)]
        self.tmp = b.alloc([1, tf], f32, "ub")
        for p in self.pings:
            b.set_flag("V", "MTE2", p)
        b.set_flag("MTE3", "V", ACC_EVENT)
        total = self.n * self.o * nf
        per = -(-total // blocks)
        start = b.muli(b.block_index, per)
        with b.loop(start, b.minui(b.addi(start, per), total), 1) as t:
            o, q = b.remui(t, self.o), b.divui(t, self.o)
            n, f0 = b.remui(q, self.n), b.muli(b.divui(q, self.n), tf)
            tile = (n, o, f0, b.extent(f0, tf, self.f))
            b.wait_flag("MTE3", "V", ACC_EVENT)
            for acc in self.acc:
                b.add(VecDupOp(0.0, acc))
            c0 = b.muli(b.divui(o, self.og), self.cg)
            if len(self.pings) == 1:
                self._channel(0, c0, 0, tile)
            else:
                with b.loop(0, self.cg, 2) as cc:
                    self._channel(0, c0, cc, tile)
                    c1 = b.addi(cc, 1)
                    with b.when(b.ult(c1, self.cg)):
                        self._channel(1, c0, c1, tile)
            b.sync("V", "MTE3", ACC_EVENT)
            for part, acc in enumerate(self.acc):
                b.dma(acc, [0, 0], [1, tile[3]], self.y, [n, o, part, f0], [1, 1, 1, tile[3]])
            b.set_flag("MTE3", "V", ACC_EVENT)
        for p in self.pings:
            b.wait_flag("V", "MTE2", p)
        b.wait_flag("MTE3", "V", ACC_EVENT)
        return kernel

    def _channel(self, p: int, c0: Index, cc: Index, tile: tuple) -> None:
        """Load channel cc's X and W bins into buffer set p and add their product."""
        b, bufs, (n, o, f0, fe) = self.b, self.loads[p], tile
        b.wait_flag("V", "MTE2", p)
        window, size = [1, 1, 1, fe], [1, fe]
        for part in (0, 1):
            b.dma(self.x, [n, b.addi(c0, cc), part, f0], window, bufs[PARTS[part]], [0, 0], size)
            b.dma(self.w, [o, cc, part, f0], window, bufs[PARTS[2 + part]], [0, 0], size)
        b.sync("MTE2", "V", p)
        mul, add, sub, tmp = BINARY_OPS["mul"], BINARY_OPS["add"], BINARY_OPS["sub"], self.tmp
        re, im = self.acc
        for lhs, rhs, acc, op in (
            ("wr", "xr", re, add),
            ("wi", "xi", re, sub),
            ("wr", "xi", im, add),
            ("wi", "xr", im, add),
        ):
            b.add(mul(bufs[lhs], bufs[rhs], tmp))
            b.add(op(acc, tmp, acc))
        b.set_flag("V", "MTE2", p)


def cast_kernel(src: SSAValue, dst: SSAValue, target: Target, name: str) -> KernelOp:
    """A kernel converting the (rows, cols) HBM buffer `src` into `dst`'s element type."""
    rows, cols = src.type.dims
    isz_in = to_numpy_dtype(src.type.element_type).itemsize
    isz_out = to_numpy_dtype(dst.type.element_type).itemsize
    bufs = [(True, True, isz_in), (True, True, isz_out)]
    tiling = choose_elementwise_tile(target, rows, cols, 1, bufs, bufs[:1], isz_out, copies=1)
    tr, tc, blocks = tiling.rows, tiling.cols, tiling.blocks
    kernel = KernelOp(name, blocks, kind="cast")
    b = KernelBuilder(kernel)
    inb = b.alloc([tr, tc], src.type.element_type, "ub")
    outb = b.alloc([tr, tc], dst.type.element_type, "ub")
    b.set_flag("V", "MTE2")
    b.set_flag("MTE3", "V")
    nr, nc = -(-rows // tr), -(-cols // tc)
    with b.loop(b.block_index, nr * nc, blocks) as t:
        r0, c0 = b.muli(b.divui(t, nc), tr), b.muli(b.remui(t, nc), tc)
        size = [b.extent(r0, tr, rows), b.extent(c0, tc, cols)]
        b.wait_flag("V", "MTE2")
        b.dma(src, [r0, c0], size, inb, [0, 0])
        b.sync("MTE2", "V")
        b.wait_flag("MTE3", "V")
        b.add(VecCastOp(inb, outb))
        b.set_flag("V", "MTE2")
        b.sync("V", "MTE3")
        b.dma(outb, [0, 0], size, dst, [r0, c0])
        b.set_flag("MTE3", "V")
    b.wait_flag("V", "MTE2")
    b.wait_flag("MTE3", "V")
    return kernel
