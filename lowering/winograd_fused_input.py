"""The input stage of the fused Winograd kernel: V = B^T d B of one item's tiles, into L1.

Per chunk of input channels: MTE2 loads the item's input rows and columns with their halo into
UB at their padded place (the DMA pads past the image's bottom and right edges; the band is
zeroed on V for an item at the top, or left, edge), V copies the band once into a buffer split
by tile, (ct, rb + 1, m, tc + 1, m), so element (i, j) of every tile is a box window copied into
a (ct, tiles) view; B^T runs down the rows and B across the columns as linear combinations
(`winograd_combine`), and MTE3 moves each position's (ct, tiles) result into the item's L1
buffer (alpha^2, channels, tiles), the cube's right operand. Two output sets alternate so MTE3
moves one while V fills the other; the band is released to MTE2 as soon as it is split.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.dialects import arith
from xdsl.ir import SSAValue

from gedialects.kernel.conv_algorithms import WINOGRAD
from gedialects.npu.vector import VecDupOp
from lowering.npu_builder import Index, KernelBuilder
from lowering.winograd_combine import combine
from lowering.winograd_fused_tiling import FusedShape, FusedTiling

LOAD, ZERO = 0, 1  # V -> MTE2 events: band free, band zeroed; MTE3 -> V events 0/1: outs free


@dataclass(frozen=True)
class Item:
    group: Index
    o0: Index  # first output channel within the group
    image: Index
    tr0: Index  # first tile row
    tc0: Index  # first tile column


class InputStage:
    """Emits the input transform of an item into an L1 buffer (alpha^2, C/G padded, tiles)."""

    def __init__(self, b: KernelBuilder, x: SSAValue, s: FusedShape, t: FusedTiling):
        self.b, self.x, self.s, self.t = b, x, s, t
        el, m, a, unit = x.type.element_type, s.m, s.alpha, [t.ct, t.tiles]
        self.rows, self.cols = (t.rb + 1) * m, (t.tc + 1) * m
        self.band = b.alloc([1, t.ct, self.rows, self.cols], el, "ub")
        self.split = b.alloc([t.ct, t.rb + 1, m, t.tc + 1, m], el, "ub")
        self.views = [b.alloc(unit, el, "ub") for _ in range(a)]
        self.rowed = [[b.alloc(unit, el, "ub") for _ in range(a)] for _ in range(a)]
        self.outs = [[b.alloc(unit, el, "ub") for _ in range(a)] for _ in (0, 1)]
        self.tmp = b.alloc(unit, el, "ub")
        pt, pl = s.pads
        self.one_run = -(-s.tw // t.tc) == 1  # every item starts at column 0
        if pl and self.one_run:  # the left padding columns are never loaded: zero them once
            b.add(VecDupOp(0.0, self.band))

    def flags(self, flag) -> None:  # noqa: ANN001
        flag("V", "MTE2", LOAD)
        for q in (0, 1):
            flag("MTE3", "V", q)

    def emit(self, it: Item, vl1: SSAValue, q: int) -> None:
        b, t = self.b, self.t
        b.wait_flag("MTE1", "MTE3", q)  # vl1 free: the cube has read the item before
        with b.loop(0, self.s.cg, t.ct) as c0:
            self._load(it, c0)
            self._transform(c0, vl1)
        b.set_flag("MTE3", "MTE1", q)

    def _edge(self, corner: Index, pad: int, size: int, span: int) -> tuple:
        """(first input row/column, how many, offset in the band) of a band at `corner`."""
        b, m = self.b, self.s.m
        top = b.muli(corner, m)
        above = b.minui(top, pad) if pad else 0
        lo = b.subi(top, above)
        hi = b.minui(b.subi(b.addi(top, span), pad), size)
        return lo, b.subi(hi, lo), (b.subi(pad, above) if pad else 0)

    def _zero_when(self, it: Item) -> SSAValue | None:
        b, (pt, pl) = self.b, self.s.pads
        conds = [b.ult(it.tr0, 1)] if pt else []
        if pl and not self.one_run:
            conds.append(b.ult(it.tc0, 1))
        if len(conds) == 2:
            return b.add(arith.OrIOp(*conds)).results[0]
        return conds[0] if conds else None

    def _load(self, it: Item, c0: Index) -> None:
        b, s, t = self.b, self.s, self.t
        r_lo, r_n, r_off = self._edge(it.tr0, s.pads[0], s.h, self.rows)
        c_lo, c_n, c_off = self._edge(it.tc0, s.pads[1], s.w, self.cols)
        cext = b.extent(c0, t.ct, s.cg)
        chan = b.addi(b.muli(it.group, s.cg), c0)
        zero = self._zero_when(it)
        b.wait_flag("V", "MTE2", LOAD)
        if zero is not None:
            with b.when(zero):
                b.add(VecDupOp(0.0, self.band))
                b.sync("V", "MTE2", ZERO)
        window = [1, t.ct, b.subi(self.rows, r_off), b.subi(self.cols, c_off)]
        src, size = [it.image, chan, r_lo, c_lo], [1, cext, r_n, c_n]
        b.dma(self.x, src, size, self.band, [0, 0, r_off, c_off], window, pad=0.0)
        b.sync("MTE2", "V", LOAD)
        split = [t.ct, t.rb + 1, s.m, t.tc + 1, s.m]
        b.dma(self.band, [0] * 4, [1, t.ct, self.rows, self.cols], self.split, [0] * 5, split)
        b.set_flag("V", "MTE2", LOAD)

    def _transform(self, c0: Index, vl1: SSAValue) -> None:
        b, s, t, a, m = self.b, self.s, self.t, self.s.alpha, self.s.m
        bt, unit = WINOGRAD[m][0], [t.ct, t.tiles]
        for j in range(a):  # column j of every tile: its alpha rows, then B^T down the rows
            for i in range(a):
                offsets, sizes = [0, i // m, i % m, j // m, j % m], [t.ct, t.rb, 1, t.tc, 1]
                b.dma(self.split, offsets, sizes, self.views[i], [0, 0], unit)
            for r in range(a):
                combine(b, bt[r], self.views, self.rowed[r][j], self.tmp)
        cext = b.extent(c0, t.ct, s.cg)
        for r in range(a):  # B across the columns, then move the alpha positions of row r
            q = r % 2
            b.wait_flag("MTE3", "V", q)
            for col in range(a):
                combine(b, bt[col], self.rowed[r], self.outs[q][col], self.tmp)
            b.sync("V", "MTE3", q)
            for col in range(a):
                dst = [r * a + col, c0, 0]
                b.dma(self.outs[q][col], [0, 0], [cext, t.tiles], vl1, dst, [1, cext, t.tiles])
            b.set_flag("MTE3", "V", q)
