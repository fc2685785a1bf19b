"""The drain of a cube GEMM tile in row chunks: L0C -> UB (FIX), epilogue (V), store (MTE3).

A tile's rows drain in up to `CHUNKS` chunks of whole fractals, each through UB buffers of its
own (the output rows and the epilogue operands' tiles): the operand tiles of every chunk are
loaded first, one MTE2 batch, so the core's in-order HBM channel takes them before the stores;
then the vector unit runs the epilogue of chunk j while MTE3 stores chunk j - 1. In one piece
a tile's drain costs its operand loads + FIX + the epilogue + the store, none overlapped (a
1024->256 1x1 conv with bias, residual and relu: 4 x 98 cycles of V between a 448-cycle
residual load and a 448-cycle store per 64x49 tile); chunked, the epilogue runs under the
stores.
"""

from __future__ import annotations

from xdsl.ir import SSAValue

from lowering.gemm_epilogue import apply_steps, broadcast_window
from lowering.npu_builder import Index, KernelBuilder
from lowering.tiling import DRAIN_CHUNKS, drain_rows

CHUNKS = DRAIN_CHUNKS
READY_EVENT = 8
"""Chunk j of output buffer q is ready to store: event READY_EVENT + CHUNKS * q + j."""
LOADED_EVENT = 16
"""The operand tiles of chunk j are in UB: event LOADED_EVENT + j (MTE2 -> V)."""


class ChunkedGemmDrain:
    """Mixed into `lowering.gemm._Gemm`: needs builder, c, steps, operands, out_shape, pieces,
    outs, tm, tn, parts."""

    def _alloc_drain(self, b: KernelBuilder, element) -> None:  # noqa: ANN001
        self.chunk, count = drain_rows(self.tm)
        rows = min(self.chunk, self.tm)
        self.u = [
            [b.alloc([rows, self.tn], element, "ub") for _ in range(count)] for _ in self.outs
        ]
        self.tiles = [
            {v: b.alloc(_operand_tile(v, rows, self.tn), element, "ub") for v in self.operands}
            for _ in range(count)
        ]

    def _chunks(self, mext: Index):  # noqa: ANN202
        """(index, first row, guard) of each chunk a tile of mext rows has: the guard (an i1,
        or None when the chunk always exists) skips chunks past a short edge tile."""
        b = self.builder
        for j in range(len(self.tiles)):
            first = j * self.chunk
            if isinstance(mext, int):
                if first < mext:
                    yield j, first, None
            else:
                yield j, first, None if j == 0 else b.ult(first, mext)

    def _drain(self, tile: tuple, q: int) -> None:
        """L0C buffer q through FIX into its UB chunks (once MTE3 stored the last tile in
        them), the operand tiles of all chunks, then the epilogue chunk by chunk; each chunk
        flags MTE3 when it is ready to store."""
        b, (index, (m0, mext), cols) = self.builder, tile[:3]
        b.sync("M", "FIX")
        b.wait_flag("MTE3", "FIX", q)
        chunks = list(self._chunks(mext))
        for j, first, guard in chunks:
            with self._guard(guard):
                ext = b.minui(b.subi(mext, first), self.chunk)
                b.dma(self.c[q], [first, 0], [ext, cols[1]], self.u[q][j], [0, 0])
        b.set_flag("FIX", "M", q)
        if self.steps:
            b.sync("FIX", "V")
            if self.operands:
                b.wait_flag("V", "MTE2", 2)
            for j, first, guard in chunks:
                with self._guard(guard):
                    self._load_operands(j, index, (b.addi(m0, first), mext, first), cols)
            for j, _, guard in chunks:
                with self._guard(guard):
                    if self.operands:
                        b.wait_flag("MTE2", "V", LOADED_EVENT + j)
                    apply_steps(b, self.steps, self.u[q][j], self.tiles[j])
                    b.set_flag("V", "MTE3", READY_EVENT + CHUNKS * q + j)
            if self.operands:
                b.set_flag("V", "MTE2", 2)
            return
        for j, _, guard in chunks:
            with self._guard(guard):
                b.set_flag("FIX", "MTE3", READY_EVENT + CHUNKS * q + j)

    def _load_operands(self, j: int, index: list, rows: tuple, cols: tuple) -> None:
        b, (r0, mext, first) = self.builder, rows
        ext = b.minui(b.subi(mext, first), self.chunk)
        for value, tile in self.tiles[j].items():
            offsets, sizes = broadcast_window(
                value.type.dims, self.out_shape, index, (r0, ext), cols
            )
            dims = value.type.dims
            shape = [ext if len(dims) >= 2 and dims[-2] != 1 else 1]
            shape.append(cols[1] if dims and dims[-1] != 1 else 1)
            b.dma(value, offsets, sizes, tile, [0, 0], shape)
        if self.tiles[j]:
            b.set_flag("MTE2", "V", LOADED_EVENT + j)

    def _store(self, tile: tuple, q: int) -> None:
        """UB buffer q's chunks into the output tile in HBM (MTE3), freeing them for FIX;
        with column pieces, each chunk's columns into the pieces they meet."""
        b, (index, (m0, mext), (n0, next_)) = self.builder, tile[:3]
        atomic = "add" if self.parts > 1 else None  # parts of K add into C
        for j, first, guard in self._chunks(mext):
            with self._guard(guard):
                b.wait_flag(self.ready, "MTE3", READY_EVENT + CHUNKS * q + j)
                ext = b.minui(b.subi(mext, first), self.chunk)
                row, ones = [*index, b.addi(m0, first)], [1 for _ in index]
                if len(self.pieces) == 1:  # every other GEMM: no column arithmetic
                    b.dma(
                        self.u[q][j], [0, 0], [ext, next_], self.pieces[0][0], [*row, n0],
                        [*ones, ext, next_], atomic=atomic,
                    )  # fmt: skip
                    continue
                for buffer, start, (lo, hi) in self._pieces_met(n0, next_):
                    cols = b.subi(hi, lo)
                    with self._guard(None if isinstance(cols, int) else b.ult(lo, hi)):
                        b.dma(
                            self.u[q][j], [0, b.subi(lo, n0)], [ext, cols], buffer,
                            [*row, b.subi(lo, start)], [*ones, ext, cols], atomic=atomic,
                        )  # fmt: skip
        b.set_flag("MTE3", "FIX", q)

    def _pieces_met(self, n0: Index, next_: Index) -> list:
        """(buffer, first column, (lo, hi)) of each output piece that the columns [n0, n0 +
        next_) may meet, [lo, hi) the columns they share (empty at run time where a
        dynamic tile misses the piece)."""
        b = self.builder
        end, met = b.addi(n0, next_), []
        for buffer, start, width in self.pieces:
            lo, hi = b.maxui(n0, start), b.minui(end, start + width)
            if not (isinstance(lo, int) and isinstance(hi, int) and lo >= hi):
                met.append((buffer, start, (lo, hi)))
        return met

    def _guard(self, cond: SSAValue | None):  # noqa: ANN202
        from contextlib import nullcontext

        return nullcontext() if cond is None else self.builder.when(cond)


def _operand_tile(value: SSAValue, tm: int, tn: int) -> list[int]:
    dims = value.type.dims
    return [tm if len(dims) >= 2 and dims[-2] != 1 else 1, tn if dims and dims[-1] != 1 else 1]
