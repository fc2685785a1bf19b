"""The fused Winograd kernel: input transform, batched GEMM and output transform in one kernel,
V kept in L1 and M in L0C/UB, so neither crosses HBM.

Per item (group, output-channel block, image, band of tile rows, run of tile columns):
1. input (`winograd_fused_input`): chunks of input channels HBM -> UB with the halo, V = B^T d B
   on the vector unit, V moved UB -> L1 (MTE3) as (alpha^2, channels, tiles);
2. GEMM: per transform position xi, U[xi] (the block's transformed weights, resident in L1
   while a core's items share the block) -> L0A, V[xi] -> L0B, M[xi] = U[xi] @ V[xi] in L0C,
   FIX into one UB buffer per position (converting to the output's element type);
3. output: Y = A^T M A on the vector unit, assembled into (channels, rows, columns), the conv
   epilogue, and MTE3 to the NCHW output.
Consecutive items are software pipelined: the body of the loop over pairs of items runs the
input of item i (and, on a run's first item, its weight block), the store of i - 2, the GEMM
and output of i - 1, the input of i + 1, the store of i - 1, the GEMM and output of i. So the
vector unit transforms the next item while the cube multiplies this one, and a store is issued
on the core's HBM channel (served in issue order) only after the loads of the item two ahead.
V alternates between two L1 buffers (static, so the item pair is unrolled; each stage is
written once, so every flag has one set and one wait in the text); L0A/L0B/L0C alternate by
position.
"""

from __future__ import annotations

from xdsl.dialects import arith
from xdsl.ir import SSAValue

from gedialects.kernel.conv_algorithms import WINOGRAD
from gedialects.npu.launch import KernelOp
from lowering.gemm_epilogue import Step, apply_steps
from lowering.npu_builder import Index, KernelBuilder
from lowering.winograd_combine import combine
from lowering.winograd_fused_input import InputStage, Item
from lowering.winograd_fused_tiling import FusedShape, FusedTiling

FRACTAL = 16
# events per pipe pair: vl1[q] free (MTE1 -> MTE3) / filled (MTE3 -> MTE1) and L0 ping/pong
# use 0/1; products free (V -> FIX) / ready (FIX -> V) 0; pixels free (MTE3 -> V) / ready
# (V -> MTE3) 2 (0/1 are the input stage's); epilogue operands (V <-> MTE2) 2; U block 0
STORE, EPILOGUE, U_EVENT = 2, 2, 0


def _up(x: int) -> int:
    return -(-x // FRACTAL) * FRACTAL


def _f32():  # noqa: ANN202
    from xdsl.dialects.builtin import f32

    return f32


class FusedWinograd:
    """Emits the fused kernel of one conv (x NCHW, U viewed (alpha^2, G, O/G, C/G), out NCHW)."""

    def __init__(self, x: SSAValue, u: SSAValue, out: SSAValue, s: FusedShape, t: FusedTiling):
        self.x, self.u, self.out, self.s, self.t = x, u, out, s, t

    def emit(self, name: str, fused_from, algorithm: str, steps: list[Step]) -> KernelOp:  # noqa: ANN001
        t, s = self.t, self.s
        kernel = KernelOp(name, t.blocks, fused_from=fused_from, kind="conv2d", algorithm=algorithm)
        b = self.b = KernelBuilder(kernel)
        self.steps = steps
        self.inp = InputStage(b, self.x, s, t)
        self._alloc()
        self._flags(b.set_flag)
        start = b.muli(b.block_index, t.per)
        end = b.minui(b.addi(start, t.per), t.items)
        self.start = start
        with b.loop(start, b.addi(end, 2), 2) as i:
            live = self._and(b.ult(start, i), b.ult(b.subi(i, 1), end))  # item i - 1 exists
            with b.when(b.ult(i, end)):
                self.inp.emit(self._item(i), self.vl1[0], 0)
                with b.when(b.ult(b.subi(i, start), 1)):
                    self._load_weights(self._item(i))  # the run's first weight block
            with b.when(b.ult(start, i)):
                self._store(self._item(b.subi(i, 2)))
            with b.when(live):
                prev = b.subi(i, 1)
                self._gemm(self._item(prev), prev, 1)
                self._output(self._item(prev))
            nxt = b.addi(i, 1)
            with b.when(b.ult(nxt, end)):
                self.inp.emit(self._item(nxt), self.vl1[1], 1)
            with b.when(live):
                self._store(self._item(b.subi(i, 1)))
            with b.when(b.ult(i, end)):
                self._gemm(self._item(i), i, 0)
                self._output(self._item(i))
        self._flags(b.wait_flag)
        return kernel

    def _and(self, x: SSAValue, y: SSAValue) -> SSAValue:
        return self.b.add(arith.AndIOp(x, y)).results[0]

    def _item(self, u: Index) -> Item:
        """Item u's coordinates: (group, output block) outermost, so runs share weights."""
        b, s, t = self.b, self.s, self.t
        nbc, nbr = -(-s.tw // t.tc), -(-s.th // t.rb)
        bc, rest = b.remui(u, nbc), b.divui(u, nbc)
        br, rest = b.remui(rest, nbr), b.divui(rest, nbr)
        image, rest = b.remui(rest, s.n), b.divui(rest, s.n)
        nob = -(-s.og // t.oc)
        ob, group = b.remui(rest, nob), b.divui(rest, nob)
        return Item(group, b.muli(ob, t.oc), image, b.muli(br, t.rb), b.muli(bc, t.tc))

    def _alloc(self) -> None:
        b, s, t = self.b, self.s, self.t
        el, a2, isz_k, tiles = self.x.type.element_type, s.alpha**2, _up(s.cg), _up(t.tiles)
        self.vl1 = [b.alloc([a2, isz_k, tiles], el, "l1", "FRACTAL_NZ") for _ in (0, 1)]
        self.ul1 = b.alloc([a2, _up(t.oc), isz_k], el, "l1", "FRACTAL_NZ")
        self.l0a = [b.alloc([_up(t.oc), isz_k], el, "l0a", "FRACTAL_NZ") for _ in (0, 1)]
        self.l0b = [b.alloc([isz_k, tiles], el, "l0b", "FRACTAL_NZ") for _ in (0, 1)]
        self.l0c = [b.alloc([_up(t.oc), tiles], _f32(), "l0c", "FRACTAL_NZ") for _ in (0, 1)]
        oel, unit = self.out.type.element_type, [t.oc, t.tiles]
        self.loaded = [b.alloc(unit, oel, "ub") for _ in range(a2)]
        self.rowed = [[b.alloc(unit, oel, "ub") for _ in range(s.alpha)] for _ in range(s.m)]
        self.tile, self.tmp = b.alloc(unit, oel, "ub"), b.alloc(unit, oel, "ub")
        self.split = b.alloc([t.oc, t.rb, s.m, t.tc, s.m], oel, "ub")
        self.pixels = b.alloc([1, t.oc, t.rb * s.m, t.tc * s.m], oel, "ub")
        self.tiles = {}
        for step in self.steps:
            if step.operand is not None:
                spans = len(step.operand.type.dims) == 4  # the residual; a channel is (O, 1, 1)
                shape = [1, t.oc, t.rb * s.m, t.tc * s.m] if spans else [t.oc, 1, 1]
                self.tiles[step.operand] = b.alloc(shape, oel, "ub")

    def _flags(self, flag) -> None:  # noqa: ANN001
        """Flags every item first waits for (set before the loop, drained after it)."""
        for q in (0, 1):
            flag("MTE1", "MTE3", q)  # vl1[q] free
            flag("M", "MTE1", q)  # L0A/L0B[q] free
            flag("FIX", "M", q)  # L0C[q] free
        flag("V", "FIX")  # the product buffers free
        flag("MTE3", "V", STORE)  # the pixel buffer free
        if self.tiles:
            flag("V", "MTE2", EPILOGUE)
        self.inp.flags(flag)

    def _gemm(self, it: Item, u: Index, q: int) -> None:
        """M[xi] = U[xi] @ V[xi] for every position, from vl1[q], into the product buffers."""
        b, s, t = self.b, self.s, self.t
        oext = b.extent(it.o0, t.oc, s.og)
        later = b.ult(self.start, u)
        with b.when(self._and(later, b.ult(b.remui(u, self._spatial()), 1))):
            self._load_weights(it)  # a run's next weight block
        b.wait_flag("MTE3", "MTE1", q)  # V of this item is in vl1[q]
        b.wait_flag("V", "FIX")
        for xi in range(s.alpha**2):
            p = xi % 2
            b.wait_flag("M", "MTE1", p)
            b.dma(self.ul1, [xi, 0, 0], [1, oext, s.cg], self.l0a[p], [0, 0], [oext, s.cg])
            b.dma(self.vl1[q], [xi, 0, 0], [1, s.cg, t.tiles], self.l0b[p], [0, 0],
                  [s.cg, t.tiles])  # fmt: skip
            b.sync("MTE1", "M", p)
            b.wait_flag("FIX", "M", p)
            b.mmad(self.l0a[p], self.l0b[p], self.l0c[p], [oext, t.tiles, s.cg], b.bool(False))
            b.set_flag("M", "MTE1", p)
            b.sync("M", "FIX", p)
            b.dma(self.l0c[p], [0, 0], [oext, t.tiles], self.loaded[xi], [0, 0])
            b.set_flag("FIX", "M", p)
        b.set_flag("MTE1", "MTE3", q)
        b.set_flag("FIX", "V")

    def _load_weights(self, it: Item) -> None:
        """The item's block of U into L1, once the cube has read the block before. The flags
        stay inside the branch: an MTE2 flag set on every item would make MTE1 wait for the
        MTE2 work issued before it (the next item's loads)."""
        b, s, a2 = self.b, self.s, self.s.alpha**2
        oext = b.extent(it.o0, self.t.oc, s.og)
        b.sync("MTE1", "MTE2", U_EVENT)
        b.dma(self.u, [0, it.group, it.o0, 0], [a2, 1, oext, s.cg], self.ul1, [0, 0, 0],
              [a2, oext, s.cg])  # fmt: skip
        b.sync("MTE2", "MTE1", U_EVENT)

    def _spatial(self) -> int:
        s, t = self.s, self.t
        return s.n * -(-s.th // t.rb) * -(-s.tw // t.tc)

    def _output(self, it: Item) -> None:
        """Y = A^T M A per tile, assembled into pixels, the epilogue (stored by `_store`)."""
        b, t, a, m = self.b, self.t, self.s.alpha, self.s.m
        at = WINOGRAD[m][2]
        b.wait_flag("FIX", "V")
        for r in range(m):  # A^T down the positions' rows
            for j in range(a):
                srcs = [self.loaded[i * a + j] for i in range(a)]
                combine(b, at[r], srcs, self.rowed[r][j], self.tmp)
        b.set_flag("V", "FIX")
        for r in range(m):  # A across the columns, each output (r, c) of every tile
            for c in range(m):
                combine(b, at[c], self.rowed[r], self.tile, self.tmp)
                dst, sizes = [0, 0, r, 0, c], [t.oc, t.rb, 1, t.tc, 1]
                b.dma(self.tile, [0, 0], [t.oc, t.tiles], self.split, dst, sizes)
        b.wait_flag("MTE3", "V", STORE)
        full = [1, t.oc, t.rb * m, t.tc * m]
        b.dma(self.split, [0] * 5, [t.oc, t.rb, m, t.tc, m], self.pixels, [0] * 4, full)
        chans, rows, cols = self._window(it)
        if self.steps:
            self._epilogue(it.image, chans, rows, cols)
        b.set_flag("V", "MTE3", STORE)

    def _window(self, it: Item) -> tuple:
        """(first, extent) of the item's output channels, rows and columns."""
        b, s, t, m = self.b, self.s, self.t, self.s.m
        oext = b.extent(it.o0, t.oc, s.og)
        ch0 = b.addi(b.muli(it.group, s.og), it.o0)
        r0, c0 = b.muli(it.tr0, m), b.muli(it.tc0, m)
        return (ch0, oext), (r0, b.extent(r0, t.rb * m, s.oh)), (c0, b.extent(c0, t.tc * m, s.ow))

    def _store(self, it: Item) -> None:
        """The item's pixels to the output; issued after the next-but-one item's loads, since
        the core's HBM channel serves DMAs in issue order."""
        b = self.b
        (ch0, oext), (r0, rext), (c0, cext) = self._window(it)
        b.wait_flag("V", "MTE3", STORE)
        window = [1, oext, rext, cext]
        b.dma(self.pixels, [0] * 4, window, self.out, [it.image, ch0, r0, c0], window)
        b.set_flag("MTE3", "V", STORE)

    def _epilogue(self, image: Index, chans: tuple, rows: tuple, cols: tuple) -> None:
        b = self.b
        if self.tiles:
            b.wait_flag("V", "MTE2", EPILOGUE)
            for value, tile in self.tiles.items():
                dims = value.type.dims
                if len(dims) == 4:  # the residual, (N, O, OH, OW), OW 1 included
                    size = [1, chans[1], rows[1], cols[1]]
                    src = [image, chans[0], rows[0], cols[0]]
                    b.dma(value, src, size, tile, [0] * 4, size)
                else:  # a channel vector viewed (O, 1, 1)
                    b.dma(value, [chans[0], 0, 0], [chans[1], 1, 1], tile, [0, 0, 0])
            b.sync("MTE2", "V", EPILOGUE)
        apply_steps(b, self.steps, self.pixels, self.tiles)
        if self.tiles:
            b.set_flag("V", "MTE2", EPILOGUE)
