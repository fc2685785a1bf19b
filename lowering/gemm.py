"""The cube GEMM kernel: output tiles on the cube with a double-buffered K loop.

C[..., M, N] = epilogue(A[..., M, K] @ B[..., K, N]), batch dims broadcast; the matmul,
unfused attention, 1x1 conv, FFT and Winograd conv, conv transpose and resize lowerings
emit it. The output tiles (tm, tn) of all batch indices, row-major, are split into
consecutive runs, one per block; its K loop alternates two sets of L1/L0 buffers (ping,
pong), so MTE2 loads step k+1 while MTE1 and the cube work on step k. When the whole A row
panel (tm x K) fits L1 beside B's buffers, it stays there: a block loads it on its first tile
of a row panel and its next tiles (same rows, next columns) read it from L1, as DaVinci GEMM
kernels keep an L1-resident panel (two halves, ping steps and pong steps, so loading one never
overwrites what MTE1 reads). Edge tiles use dynamic extents (the cube reads only [:m, :k] and
[:k, :n]). The L0C tile goes to UB through FIX, where the epilogue (`lowering.gemm_epilogue`)
runs on the vector unit, and MTE3 writes it to HBM.
f32 operands use the cube's f32 mode; f16 operands accumulate in f32.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from xdsl.dialects import arith
from xdsl.ir import Attribute, SSAValue

from gedialects.errors import UnsupportedError
from gedialects.ge.types import to_numpy_dtype
from gedialects.npu.launch import KernelOp
from lowering.gemm_drain import ChunkedGemmDrain
from lowering.gemm_epilogue import Step, scratch_spans
from lowering.npu_builder import Index, KernelBuilder
from lowering.tiling import MatmulTiling, a_panel_fits, choose_matmul_tile, fractal_up
from runtime.targets import Target


def _batch_window(shape, out_shape, lead, tail_offsets, tail_sizes):  # noqa: ANN001, ANN202
    """Window of an operand for one batch index (broadcast batch dims read index 0)."""
    n, r = len(out_shape), len(shape)
    offsets, sizes = [], []
    for a in range(r - 2):
        j = a + n - r
        offsets.append(0 if shape[a] == 1 else lead[j])
        sizes.append(1)
    return [*offsets, *tail_offsets], [*sizes, *tail_sizes]


@dataclass(frozen=True)
class ColumnPieces:
    """A GEMM output stored as consecutive column ranges of separate HBM buffers: a split
    along the last axis, run in the GEMM's stores (each tile's columns go to the buffers
    their range meets), so the whole product is never written."""

    buffers: tuple[SSAValue, ...]

    @property
    def dims(self) -> tuple[int, ...]:
        first = tuple(self.buffers[0].type.dims)
        return (*first[:-1], sum(b.type.dims[-1] for b in self.buffers))

    @property
    def element_type(self) -> Attribute:
        return self.buffers[0].type.element_type

    def ranges(self) -> list[tuple[SSAValue, int, int]]:
        """(buffer, first column in the product, columns) of each piece."""
        out, start = [], 0
        for buffer in self.buffers:
            out.append((buffer, start, buffer.type.dims[-1]))
            start += buffer.type.dims[-1]
        return out


def emit_gemm(
    a_buf: SSAValue,
    b_buf: SSAValue,
    output: SSAValue | ColumnPieces,
    target: Target,
    name: str,
    fused_from,  # noqa: ANN001
    kind: str,
    steps: list[Step],
    split: tuple[int, MatmulTiling] | None = None,
    b_transposed: bool = False,
) -> KernelOp:
    """C[..., M, N] = epilogue(A[..., M, K] @ B[..., K, N]) on HBM buffers, batch dims broadcast.

    `output` may be `ColumnPieces`: the product's columns stored into their pieces' buffers.
    With `b_transposed` the buffer holds B^T (..., N, K): its tiles load as (tn, tk) rows
    and the MTE1 load into L0B transposes them (`npu.dma {transpose}`), so no transpose
    kernel runs first.

    With `split` (K parts and the tiling of one part, `tiling.choose_matmul_split`), each
    output tile is computed in parts over K ranges on different cores, and each part's
    product (times the epilogue's `muls`, its only step then) is added into C by the DMA
    unit's atomic add: C must hold its addend (the bias, `lower_matmul`) before the kernel
    runs."""
    gemm = _Gemm(a_buf, b_buf, output, target, steps, split, b_transposed)
    return gemm.emit(name, fused_from, kind)


class _Gemm(ChunkedGemmDrain):
    """The plan of one matmul kernel (shapes, tiles) and the code that emits it."""

    def __init__(self, a_buf, b_buf, output, target: Target, steps: list[Step], split=None,  # noqa: ANN001
                 b_transposed: bool = False):  # fmt: skip
        types = {str(a_buf.type.element_type), str(b_buf.type.element_type)}
        if len(types) != 1 or not types <= {"f16", "f32"}:
            raise UnsupportedError(f"a GEMM of {' and '.join(sorted(types))} has no cube mode")
        self.a, self.b, self.steps = a_buf, b_buf, steps
        self.a_shape, self.b_shape = tuple(a_buf.type.dims), tuple(b_buf.type.dims)
        if isinstance(output, ColumnPieces):
            self.out_shape, self.out_element = output.dims, output.element_type
            self.pieces = output.ranges()
        else:
            self.out_shape, self.out_element = tuple(output.type.dims), output.type.element_type
            self.pieces = [(output, 0, self.out_shape[-1])]
        self.b_transposed = b_transposed
        self.m, self.k = self.a_shape[-2], self.a_shape[-1]
        self.n = self.b_shape[-2 if b_transposed else -1]
        self.lead = self.out_shape[:-2]
        self.operands = [s.operand for s in steps if s.operand is not None]
        extra = [
            (
                len(v.type.dims) >= 2 and v.type.dims[-2] != 1,
                bool(v.type.dims) and v.type.dims[-1] != 1,
            )
            for v in self.operands
        ]
        loads = tuple(extra)
        extra += scratch_spans(steps)
        isz = to_numpy_dtype(a_buf.type.element_type).itemsize
        self.parts, tiling = split or (1, None)
        if tiling is None:
            tiling = choose_matmul_tile(
                target, self.m, self.n, self.k, isz, extra, exact=True, loads=loads,
                passes=len(steps),
            )  # fmt: skip
        self.tm, self.tn, self.tk = tiling.tm, tiling.tn, tiling.tk
        self.kpart = self.k // self.parts
        """The K range of one part (all of K unless split)."""
        self.out_tiles = math.prod(self.lead) * -(-self.m // self.tm) * -(-self.n // self.tn)
        self.total = self.out_tiles * self.parts
        self.per = -(-self.total // min(self.total, target.ai_cores))
        self.blocks = -(-self.total // self.per)
        self.outs = (0, 1) if tiling.double_out and self.per > 1 else (0,)
        self.pings = (0, 1) if self.kpart > self.tk else (0,)
        self.ready = "V" if steps else "FIX"
        """The pipe that last touches a drained tile before MTE3 stores it."""
        self.resident = a_panel_fits(target, (self.tm, self.tn, self.tk), self.kpart, isz)

    def emit(self, name: str, fused_from, kind: str) -> KernelOp:  # noqa: ANN001
        """The kernel: each block runs a run of consecutive output tiles. With two output
        buffers (`outs`), tile t's store is issued after tile t+1's K loop, so the cube works
        on the next tile while FIX, the vector epilogue and MTE3 drain this one (and the
        core's HBM channel, served in issue order, takes the next loads first)."""
        kernel = KernelOp(name, self.blocks, fused_from=fused_from, kind=kind)
        b = self.builder = KernelBuilder(kernel)
        self._alloc()
        self._flags(b.set_flag)
        start = self.start = b.muli(b.block_index, self.per)
        end = b.minui(b.addi(start, self.per), self.total)
        if len(self.outs) == 1:
            with b.loop(start, end, 1) as t:
                tile = self._place(t)
                self._compute(tile, 0)
                self._drain(tile, 0)
                self._store(tile, 0)
        else:  # pairs of tiles (ping, pong); one more pair's turn stores the last pong
            with b.loop(start, b.addi(end, 1), 2) as t:
                ping, pong = b.ult(t, end), b.ult(b.addi(t, 1), end)
                with b.when(ping):
                    self._compute(self._place(t), 0)
                with b.when(b.ult(start, t)):  # the previous pair's pong tile
                    self._store(self._place(b.subi(t, 1)), 1)
                with b.when(ping):
                    self._drain(self._place(t), 0)
                with b.when(pong):
                    self._compute(self._place(b.addi(t, 1)), 1)
                with b.when(ping):
                    self._store(self._place(t), 0)
                with b.when(pong):
                    self._drain(self._place(b.addi(t, 1)), 1)
        self._flags(b.wait_flag)
        return kernel

    def _place(self, t: Index) -> tuple[list[Index], tuple, tuple, tuple]:
        """Unit t's batch index, (row offset, rows), (column offset, columns) and (first,
        end) of its K range: with K in parts, unit t is part t // out_tiles of tile
        t % out_tiles."""
        b, unit = self.builder, t
        krange: tuple = (0, self.k)
        if self.parts > 1:
            k0 = b.muli(b.divui(t, self.out_tiles), self.kpart)
            krange, t = (k0, b.addi(k0, self.kpart)), b.remui(t, self.out_tiles)
        nm, nn = -(-self.m // self.tm), -(-self.n // self.tn)
        n0 = b.muli(b.remui(t, nn), self.tn)
        q = b.divui(t, nn)
        m0 = b.muli(b.remui(q, nm), self.tm)
        rest: Index = b.divui(q, nm)
        index: list[Index] = []
        for dim in reversed(self.lead):
            index.insert(0, b.remui(rest, dim))
            rest = b.divui(rest, dim)
        self.load_a = None
        if self.resident:  # a block's first tile, or the first of a row panel, loads A
            first = b.ult(b.subi(unit, self.start), 1)
            self.load_a = b.add(arith.OrIOp(first, b.ult(b.remui(t, nn), 1))).results[0]
        rows, cols = (m0, b.extent(m0, self.tm, self.m)), (n0, b.extent(n0, self.tn, self.n))
        return index, rows, cols, krange

    def _alloc(self) -> None:
        """Buffers of whole fractals: a tile edge that is not one (49 pixels) is rounded up."""
        b, element = self.builder, self.a.type.element_type
        tm, tn, tk = fractal_up(self.tm), fractal_up(self.tn), self.tk
        if self.resident:
            half = -(-self.kpart // (len(self.pings) * tk)) * tk
            self.panel = [b.alloc([tm, half], element, "l1", "FRACTAL_NZ") for _ in self.pings]
        else:
            self.a1 = [b.alloc([tm, tk], element, "l1", "FRACTAL_NZ") for _ in self.pings]
        b1 = [tn, tk] if self.b_transposed else [tk, tn]
        self.b1 = [b.alloc(b1, element, "l1", "FRACTAL_NZ") for _ in self.pings]
        self.a0 = [b.alloc([tm, tk], element, "l0a", "FRACTAL_NZ") for _ in self.pings]
        self.b0 = [b.alloc([tk, tn], element, "l0b", "FRACTAL_NZ") for _ in self.pings]
        self.c = [b.alloc([tm, tn], _f32(), "l0c", "FRACTAL_NZ") for _ in self.outs]
        self._alloc_drain(b, self.out_element)  # UB tiles are exact: V works on whole buffers

    def _flags(self, flag) -> None:  # noqa: ANN001
        """The flags every loop iteration first waits for (set before, drained after)."""
        for p in self.pings:
            flag("MTE1", "MTE2", p)
            flag("M", "MTE1", p)
        for q in self.outs:
            flag("FIX", "M", q)
            flag("MTE3", "FIX", q)
        if self.operands:
            flag("V", "MTE2", 2)

    def _compute(self, tile: tuple, q: int) -> None:
        """Tile's K loop (its part's range) on the cube into L0C buffer q, once FIX has
        drained it."""
        b, (index, rows, cols, (first, end)) = self.builder, tile
        b.wait_flag("FIX", "M", q)
        if self.kpart <= self.tk:
            self._kstep(0, first, index, rows, cols, q, first)
        else:
            with b.loop(first, end, 2 * self.tk) as kk:
                self._kstep(0, kk, index, rows, cols, q, first)
                k1 = b.addi(kk, self.tk)
                with b.when(b.ult(k1, end)):
                    self._kstep(1, k1, index, rows, cols, q, first)

    def _kstep(
        self,
        p: int,
        k0: Index,
        index: list[Index],
        rows: tuple,
        cols: tuple,
        q: int,
        first: Index = 0,
    ):  # noqa: ANN201
        """One K step on ping (p=0) or pong (p=1): A, B tiles HBM -> L1 -> L0, then mmad
        (accumulating after the part's `first` step)."""
        b, (m0, mext), (n0, next_) = self.builder, rows, cols
        kext = b.extent(k0, self.tk, self.k)
        b.wait_flag("MTE1", "MTE2", p)
        a_off, a_size = _batch_window(self.a_shape, self.out_shape, index, [m0, k0], [mext, kext])
        if self.resident:
            step = (
                b.divui(b.subi(k0, first), 2 * self.tk)
                if self.parts > 1
                else b.divui(k0, 2 * self.tk)
            )
            a1, a1_off = self.panel[p], [0, b.muli(step, self.tk)]
            with b.when(self.load_a):
                b.dma(self.a, a_off, a_size, a1, a1_off, [mext, kext])
        else:
            a1, a1_off = self.a1[p], [0, 0]
            b.dma(self.a, a_off, a_size, a1, a1_off, [mext, kext])
        b_tile = [next_, kext] if self.b_transposed else [kext, next_]
        b_at = [n0, k0] if self.b_transposed else [k0, n0]
        b_off, b_size = _batch_window(self.b_shape, self.out_shape, index, b_at, b_tile)
        b.dma(self.b, b_off, b_size, self.b1[p], [0, 0], b_tile)
        b.sync("MTE2", "MTE1", p)
        b.wait_flag("M", "MTE1", p)
        b.dma(a1, a1_off, [mext, kext], self.a0[p], [0, 0])
        b.dma(self.b1[p], [0, 0], b_tile, self.b0[p], [0, 0], transpose=self.b_transposed)
        b.set_flag("MTE1", "MTE2", p)
        b.sync("MTE1", "M", p)
        b.mmad(self.a0[p], self.b0[p], self.c[q], [mext, next_, kext], b.ne(k0, first))
        b.set_flag("M", "MTE1", p)


def _f32():  # noqa: ANN202
    from xdsl.dialects.builtin import f32

    return f32
