"""The drain of an im2col conv unit: L0C -> UB (FIX), transpose and epilogue (V), store (MTE3).

A unit's output tile drains in chunks of pixels (whole fractals of L0C rows), each through UB
buffers of its own: FIX moves chunk j + 1 while V works on chunk j and MTE3 stores chunk
j - 1. The last unit's drain is what nothing overlaps; in one piece it costs FIX + V + the
store (a 14 KiB tile: 56 + 168 + 392 cycles at the core's HBM share), in four chunks about
the store alone.
"""

from __future__ import annotations

from xdsl.ir import SSAValue

from gedialects.npu.vector import VecTransposeOp
from lowering.conv_tiling import drain_chunks
from lowering.gemm_epilogue import run_epilogue
from lowering.npu_builder import KernelBuilder

PARITY = (0, 1)
LAST_EVENT = 12
"""The first piece of a split last unit ready in L0C (M -> FIX; `Im2ColConv._last`)."""


class ChunkedDrain:
    """Mixed into `Im2ColConv`: needs b, tiling, steps, tiles, out, n, o, m, c0."""

    def _alloc_drain(self, b: KernelBuilder, element) -> None:  # noqa: ANN001
        """Per buffer set, per chunk: the FIX tile (pixels, channels) and its transpose."""
        t = self.tiling
        self.chunk, count = drain_chunks(t.tm)
        self.u = [
            [b.alloc([self.chunk, t.tn], element, "ub") for _ in range(count)] for _ in PARITY
        ]
        self.ut = [
            [b.alloc([t.tn, self.chunk], element, "ub") for _ in range(count)] for _ in PARITY
        ]

    def _drain(self, p: int, u, ends: tuple | None = None) -> None:  # noqa: ANN001
        """Drain unit u's L0C buffer p, chunk by chunk (see the module docstring). With `ends`
        (the conditions of a whole unit and of a core's last one, None when unconditional,
        False when never) the last unit drains its first piece as soon as that one's K steps
        are done, from its own L0C buffer, then the second (`Im2ColConv._k_loop`)."""
        b, at, split = self.b, self._where(u), self.tiling.split
        whole, pieces = (None, False) if ends is None else ends
        count = len(self.u[p])
        b.wait_flag("V", "FIX", p)
        b.wait_flag("MTE3", "V", p)
        if pieces is not False:
            with self._only(pieces):
                b.wait_flag("M", "FIX", LAST_EVENT)
                self._chunks(p, at, range(split // self.chunk), 0)
        b.wait_flag("M", "FIX", p)
        if whole is not False:
            with self._only(whole):
                self._chunks(p, at, range(count), None)
        if pieces is not False:
            with self._only(pieces):
                self._chunks(p, at, range(split // self.chunk, count), 1)
        b.set_flag("FIX", "M", p)
        b.set_flag("V", "FIX", p)
        b.set_flag("MTE3", "V", p)

    def _chunks(self, p: int, at: dict, chunks: range, piece: int | None) -> None:
        b = self.b
        for j in chunks:
            first = j * self.chunk
            if isinstance(at["mext"], int) and first >= at["mext"]:
                break
            if j == 0 or isinstance(at["mext"], int):
                self._chunk(p, j, at, first, piece)
                continue
            with b.when(b.ult(first, at["mext"])):
                self._chunk(p, j, at, first, piece)

    def _chunk(self, p: int, j: int, at: dict, first: int, piece: int | None = None) -> None:
        b, oext = self.b, at["oext"]
        ext = b.minui(b.subi(at["mext"], first), self.chunk)
        src, row = self.c0[p], first
        if piece is not None:
            src, row = self.c0_last[piece], first - piece * self.tiling.split
        b.dma(src, [row, 0], [ext, oext], self.u[p][j], [0, 0])
        b.sync("FIX", "V", p)
        b.add(VecTransposeOp(self.u[p][j], self.ut[p][j], [1, 0]))
        m0 = b.addi(at["m0"], first)
        if self.steps:
            out_shape = (self.n, self.o, self.m)
            rows, cols = (at["channel"], oext), (m0, ext)
            run_epilogue(
                b, self.steps, self.ut[p][j], self.tiles, out_shape, [at["image"]], rows, cols
            )
        b.sync("V", "MTE3", p)
        dst = [at["image"], at["channel"], m0]
        b.dma(self.ut[p][j], [0, 0], [oext, ext], self.out, dst, [1, oext, ext])


def epilogue_tile(value: SSAValue, tn: int, chunk: int) -> list[int]:
    """The UB tile of an epilogue operand for one drain chunk: (channels or 1, pixels or 1)."""
    dims = value.type.dims
    rows = tn if len(dims) >= 2 and dims[-2] != 1 else 1
    return [rows, chunk if dims[-1] != 1 else 1]
