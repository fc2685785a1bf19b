"""The vector kernels of a Winograd convolution: input transform V = B^T d B and output
transform Y = A^T M A (with the conv epilogue), between which the cube runs the batched GEMM.

Layouts keep every "shifted view" a box window, so each is one UB -> UB copy: a band of input
rows is loaded as (channels, rows, columns), then copied once into a buffer whose rows and
columns are split by tile, (ct, rb + 1, m, tw + 1, m); the element (i, j) of every tile of
the band is then the window [:, i // m : +rb, i % m, j // m : +tw, j % m], copied into a
(ct, rb * tw) buffer. Transforms are linear combinations of such buffers
(`winograd_combine`). V lands in HBM as (alpha^2, C, tiles) and the GEMM writes M as
(alpha^2, O, tiles), so both transforms read and write channel rows of consecutive tiles.
The output side assembles the m x m outputs of each tile the same way in reverse, then the
conv epilogue runs on (channels, pixels) as in the im2col lowering.

Each pipe's buffers are released by flags as soon as the pipe is done with them: the loaded
band is copied into the split buffer at once, so MTE2 loads the next band while V transforms
this one; two output sets alternate so MTE3 stores one while V fills the other.
"""

from __future__ import annotations

from xdsl.ir import SSAValue

from gedialects.kernel.conv_algorithms import WINOGRAD
from gedialects.npu.launch import KernelOp
from gedialects.npu.vector import VecDupOp
from lowering.gemm_epilogue import Step, run_epilogue
from lowering.npu_builder import Index, KernelBuilder
from lowering.winograd_combine import combine
from lowering.winograd_tiling import TransformTiling, WinogradShape

LOAD, STORE = 0, 1  # flag events: V -> MTE2 (load buffer free), MTE3 -> V (store buffer free)
EPILOGUE = 2  # `run_epilogue`'s own V -> MTE2 event


def _items(b: KernelBuilder, s: WinogradShape, t: TransformTiling):  # noqa: ANN202
    """The loop over this block's items and, per item, (image, first tile row, channel)."""
    nb, nc = -(-s.th // t.rb), -(-s.c // t.ct)
    per = -(-t.items // t.blocks)
    start = b.muli(b.block_index, per)
    loop = b.loop(start, b.minui(b.addi(start, per), t.items), 1)
    return loop, nb, nc


class InputTransform:
    """V[alpha^2, C, tiles] = B^T d B of every tile of the (padded) NCHW input x."""

    def __init__(self, x: SSAValue, v: SSAValue, s: WinogradShape, t: TransformTiling, pads):  # noqa: ANN001
        self.x, self.v, self.s, self.t, (self.pt, self.pl) = x, v, s, t, pads
        _, _, self.h, self.w = x.type.dims
        self.rows, self.cols = (t.rb + 1) * s.m, (s.tw + 1) * s.m

    def emit(self, name: str, fused_from, algorithm: str) -> KernelOp:  # noqa: ANN001
        s, t = self.s, self.t
        kernel = KernelOp(name, t.blocks, fused_from=fused_from, kind="conv2d", algorithm=algorithm)
        b = self.b = KernelBuilder(kernel)
        el = self.x.type.element_type
        self.band = b.alloc([1, t.ct, self.rows, self.cols], el, "ub")
        self.split = b.alloc([t.ct, t.rb + 1, s.m, s.tw + 1, s.m], el, "ub")
        unit = [t.ct, t.rb * s.tw]
        a = s.alpha
        self.views = [b.alloc(unit, el, "ub") for _ in range(a)]
        self.rowed = [[b.alloc(unit, el, "ub") for _ in range(a)] for _ in range(a)]
        self.outs = [[b.alloc(unit, el, "ub") for _ in range(a)] for _ in range(2)]
        self.tmp = b.alloc(unit, el, "ub")
        b.add(VecDupOp(0.0, self.band))  # the left padding columns are never loaded
        if self.pt:
            self.zero = b.alloc([t.ct, 1, self.pt, s.tw + 1, s.m], el, "ub")
            b.add(VecDupOp(0.0, self.zero))
        b.set_flag("V", "MTE2", LOAD)
        for q in (0, 1):
            b.set_flag("MTE3", "V", STORE + q)
        loop, nb, nc = _items(b, s, t)
        with loop as item:
            cblk, rest = b.remui(item, nc), b.divui(item, nc)
            band, image = b.remui(rest, nb), b.divui(rest, nb)
            self._item(image, b.muli(band, t.rb), b.muli(cblk, t.ct))
        b.wait_flag("V", "MTE2", LOAD)
        for q in (0, 1):
            b.wait_flag("MTE3", "V", STORE + q)
        return kernel

    def _load(self, image: Index, tr0: Index, c0: Index) -> None:
        """Rows of the band into `band` at their padded place, then split by tile."""
        b, s, t, pt, pl = self.b, self.s, self.t, self.pt, self.pl
        top = b.muli(tr0, s.m)  # first row of the band in padded coordinates
        above = b.minui(top, pt) if pt else 0
        lo = b.subi(top, above)
        hi = b.minui(b.subi(b.addi(top, self.rows), pt), self.h)
        offset = b.subi(pt, above) if pt else 0
        cext = b.extent(c0, t.ct, s.c)
        b.wait_flag("V", "MTE2", LOAD)
        src, size = [image, c0, lo, 0], [1, cext, b.subi(hi, lo), self.w]
        window = [1, t.ct, b.subi(self.rows, offset), self.cols - pl]
        b.dma(self.x, src, size, self.band, [0, 0, offset, pl], window, pad=0.0)
        b.sync("MTE2", "V", LOAD)
        split = [t.ct, t.rb + 1, s.m, s.tw + 1, s.m]
        b.dma(self.band, [0] * 4, [1, t.ct, self.rows, self.cols], self.split, [0] * 5, split)
        b.set_flag("V", "MTE2", LOAD)
        if pt:  # the first band's rows above the image keep an earlier band's data: zero them
            with b.when(b.ult(tr0, 1)):
                size = [t.ct, 1, pt, s.tw + 1, s.m]
                b.dma(self.zero, [0] * 5, size, self.split, [0] * 5)

    def _item(self, image: Index, tr0: Index, c0: Index) -> None:
        b, s, t, a = self.b, self.s, self.t, self.s.alpha
        bt = WINOGRAD[s.m][0]
        self._load(image, tr0, c0)
        unit = [t.ct, t.rb * s.tw]
        for j in range(a):  # column j of every tile: its alpha rows, then B^T down the rows
            for i in range(a):
                offsets = [0, i // s.m, i % s.m, j // s.m, j % s.m]
                sizes = [t.ct, t.rb, 1, s.tw, 1]
                b.dma(self.split, offsets, sizes, self.views[i], [0, 0], unit)
            for r in range(a):
                combine(b, bt[r], self.views, self.rowed[r][j], self.tmp)
        cext, rext = b.extent(c0, t.ct, s.c), b.extent(tr0, t.rb, s.th)
        p0 = b.muli(b.addi(b.muli(image, s.th), tr0), s.tw)
        count = b.muli(rext, s.tw)
        for r in range(a):  # B across the columns, then store the alpha positions of row r
            q = r % 2
            b.wait_flag("MTE3", "V", STORE + q)
            for col in range(a):
                combine(b, bt[col], self.rowed[r], self.outs[q][col], self.tmp)
            b.sync("V", "MTE3", STORE + q)
            for col in range(a):
                dst = [r * a + col, c0, p0]
                b.dma(self.outs[q][col], [0, 0], [cext, count], self.v, dst, [1, cext, count])
            b.set_flag("MTE3", "V", STORE + q)


class OutputTransform:
    """out = epilogue(A^T M A) of every tile, from M[alpha^2, O, tiles]; out is (N, O, OH*OW)."""

    def __init__(self, mprod: SSAValue, out: SSAValue, s: WinogradShape, t: TransformTiling):
        self.mprod, self.out, self.s, self.t = mprod, out, s, t
        self.oh = out.type.dims[2] // s.out_w

    def emit(self, name: str, fused_from, algorithm: str, steps: list[Step]) -> KernelOp:  # noqa: ANN001
        s, t, a, m = self.s, self.t, self.s.alpha, self.s.m
        kernel = KernelOp(name, t.blocks, fused_from=fused_from, kind="conv2d", algorithm=algorithm)
        b = self.b = KernelBuilder(kernel)
        el = self.out.type.element_type
        unit = [t.ct, t.rb * s.tw]
        self.loaded = [b.alloc(unit, el, "ub") for _ in range(a * a)]
        self.rowed = [[b.alloc(unit, el, "ub") for _ in range(a)] for _ in range(m)]
        self.tile, self.tmp = b.alloc(unit, el, "ub"), b.alloc(unit, el, "ub")
        self.split = b.alloc([t.ct, t.rb, m, s.tw, m], el, "ub")
        self.exact = s.tw * m == s.out_w
        if not self.exact:
            self.rowmajor = b.alloc([t.ct, t.rb * m, s.tw * m], el, "ub")
        self.pixels = b.alloc([t.ct, t.rb * m * s.out_w], el, "ub")
        operands = [st.operand for st in steps if st.operand is not None]
        self.tiles = {}
        for v in operands:
            rows = t.ct if len(v.type.dims) >= 2 and v.type.dims[-2] != 1 else 1
            cols = t.rb * m * s.out_w if v.type.dims[-1] != 1 else 1
            self.tiles[v] = b.alloc([rows, cols], el, "ub")
        events = [("V", "MTE2", LOAD), ("MTE3", "V", STORE)]
        events += [("V", "MTE2", EPILOGUE)] if self.tiles else []
        for flag in events:
            b.set_flag(*flag)
        loop, nb, nc = _items(b, s, t)
        with loop as item:
            oblk, rest = b.remui(item, nc), b.divui(item, nc)
            band, image = b.remui(rest, nb), b.divui(rest, nb)
            self._item(image, b.muli(band, t.rb), b.muli(oblk, t.ct), steps)
        for flag in events:
            b.wait_flag(*flag)
        return kernel

    def _item(self, image: Index, tr0: Index, o0: Index, steps: list[Step]) -> None:
        b, s, t, a, m = self.b, self.s, self.t, self.s.alpha, self.s.m
        at = WINOGRAD[m][2]
        oext, rext = b.extent(o0, t.ct, s.c), b.extent(tr0, t.rb, s.th)
        p0 = b.muli(b.addi(b.muli(image, s.th), tr0), s.tw)
        count = b.muli(rext, s.tw)
        b.wait_flag("V", "MTE2", LOAD)
        for xi, buf in enumerate(self.loaded):
            b.dma(self.mprod, [xi, o0, p0], [1, oext, count], buf, [0, 0], [oext, count])
        b.sync("MTE2", "V", LOAD)
        for col in range(a):  # A^T down the rows of every column
            column = [self.loaded[r * a + col] for r in range(a)]
            for r in range(m):
                combine(b, at[r], column, self.rowed[r][col], self.tmp)
        b.set_flag("V", "MTE2", LOAD)
        for r in range(m):  # A across the columns; each output lands in its tile place
            for col in range(m):
                combine(b, at[col], self.rowed[r], self.tile, self.tmp)
                dst = [0, 0, r, 0, col]
                sizes = [t.ct, t.rb, 1, s.tw, 1]
                b.dma(self.tile, [0, 0], [t.ct, t.rb * s.tw], self.split, dst, sizes)
        b.wait_flag("MTE3", "V", STORE)
        whole = [t.ct, t.rb * m * s.out_w]
        if self.exact:
            b.dma(self.split, [0] * 5, [t.ct, t.rb, m, s.tw, m], self.pixels, [0, 0], whole)
        else:  # drop the columns past the output's width on the way
            full = [t.ct, t.rb * m, s.tw * m]
            b.dma(self.split, [0] * 5, [t.ct, t.rb, m, s.tw, m], self.rowmajor, [0] * 3, full)
            b.dma(self.rowmajor, [0] * 3, [t.ct, t.rb * m, s.out_w], self.pixels, [0, 0], whole)
        row0 = b.muli(tr0, m)
        pix0, pixext = b.muli(row0, s.out_w), b.muli(b.extent(row0, t.rb * m, self.oh), s.out_w)
        if steps:
            out_shape = tuple(self.out.type.dims)
            run_epilogue(
                b, steps, self.pixels, self.tiles, out_shape, [image], (o0, oext), (pix0, pixext)
            )
        b.sync("V", "MTE3", STORE)
        dst, size = [image, o0, pix0], [1, oext, pixext]
        b.dma(self.pixels, [0, 0], [oext, pixext], self.out, dst, size)
        b.set_flag("MTE3", "V", STORE)
