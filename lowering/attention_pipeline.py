"""The fused attention kernel with its items software-pipelined, for whole rows of scores.

`Flash` runs an item's phases one after another, so the vector unit idles while the cube
works and back. When a core has several items and a whole row of scores fits UB (no online
softmax), this form skews them over two sets of item buffers (Q in L1, score block, mask,
row sums, output tile): turn u fetches Q(u), scores item u-1 (Q K' on the cube, FIX into its
score block), stores u-4, runs P V of u-2, the softmax of u-1 and O / row sum of u-2. Each
pipe is an in-order queue, so the cube computes the next scores while the vector unit runs
this softmax, and the vector unit runs the next softmax while MTE3 and the cube do P V.
K' (in CHUNKS buffers) and V stay in L1 while the head is the same; V has a buffer per head
parity, so a new head's V loads while the last item of the previous head still reads its own.
"""

from __future__ import annotations

from xdsl.dialects import arith
from xdsl.ir import SSAValue

from gedialects.npu.launch import KernelOp
from gedialects.npu.vector import BINARY_OPS, VecCastOp, VecDupOp
from lowering.attention_flash import Flash
from lowering.npu_builder import Index, KernelBuilder
from runtime.attention_cost import CHUNKS

SB_FREE, MASK_FREE, Q_FREE, Q_LOADED = 8, 3, 2, 0
"""Per-set flags (set s uses event + s): MTE3 -> FIX when P left the score block, V -> MTE2
when the softmax read the mask, MTE1 -> MTE2 when Q left L1, MTE2 -> MTE1 when it is there."""
SCORES, PROBS, Y_READY, Y_FREE = 10, 12, 14, 14
"""Per set: FIX -> V the scores are in UB; V -> MTE3 the probabilities are, the output is;
MTE3 -> V the output is stored."""
K_FREE, K_LOADED, V_FREE, V_LOADED = 0, 4, 6, 6
"""The resident K' (one flag) and V (per head parity): MTE1 -> MTE2 when it may be
overwritten, MTE2 -> MTE1 when it is loaded."""


class PipelinedFlash(Flash):
    """Items in pairs of buffer sets (0, 1); item t uses set (t - first item) % 2."""

    def emit(self, name: str, fused_from) -> KernelOp:  # noqa: ANN001
        assert not self.online
        kernel = KernelOp(name, self.blocks, fused_from=fused_from, kind="attention")
        b = self.b = KernelBuilder(kernel)
        self._alloc()
        self._flags(b.set_flag)
        start = self.start = b.muli(b.block_index, self.per)
        end = self.end = b.minui(b.addi(start, self.per), self.total)
        # turn u runs Q(u), A(u-1), E(u-4), C(u-2), B(u-1), D(u-2) (Q: Q's load, A: scores,
        # B: softmax, C: P V, D: O / row sum, E: store). The core's HBM channel serves DMAs
        # in issue order and a store waits for its data, so a store is issued after the Q
        # loads that run before it. Items (t, t+1) use sets (0, 1); four more turns drain.
        ends = [end, *(b.addi(end, j) for j in (1, 2, 3, 4))]
        firsts = [start, *(b.addi(start, j) for j in (1, 2, 3))]
        with b.loop(start, ends[4], 2) as t:
            for s in (0, 1):
                u = b.addi(t, s) if s else t

                def item(lag: int, u: Index = u) -> tuple[SSAValue, Index]:
                    """Whether item u - lag runs this turn, and its index."""
                    live = b.ult(u, ends[lag])
                    live = _and(b, b.ult(firsts[lag - 1], u), live) if lag else live
                    return live, b.subi(u, lag) if lag else u

                for lag, stage in ((0, self._fetch_q), (1, self._scores), (4, self._store),
                                   (2, self._pv), (1, self._probs), (2, self._done)):  # fmt: skip
                    live, i = item(lag)
                    with b.when(live):
                        stage(i, (s + lag) % 2)
        self._flags(b.wait_flag)
        return kernel

    def _alloc(self) -> None:
        super()._alloc()
        b, e, tq, w = self.b, self.e, self.tq, self.width
        self.sbs = [self.sb, b.alloc([tq, w], e, "ub")]
        self.v1s = [self.v1, b.alloc(self.v1.type.dims, e, "l1", "FRACTAL_NZ")]
        self.q1s = [self.q1, b.alloc(self.q1.type.dims, e, "l1", "FRACTAL_NZ")]
        steps = -(-self.sk // self.tk)  # K' in CHUNKS buffers (the race check sees whole
        per = -(-steps // min(steps, CHUNKS))  # buffers): the cube starts on the first
        self.chunks = [
            (c, min(per * self.tk, self.sk - c)) for c in range(0, self.sk, per * self.tk)
        ]
        kdims = self._key_tile(self.k0[0].type.dims[0], per * self.tk)
        self.ks = [b.alloc(kdims, e, "l1", "FRACTAL_NZ") for _ in self.chunks]
        self.ls = [self.l, b.alloc([tq, 1], e, "ub")]
        self.ys = [self.y, b.alloc(self.y.type.dims, e, "ub")]
        self.mts = [self.mt, b.alloc(self.mt.type.dims, e, "ub")] if self.mask else [None] * 2
        for mt in self.mts if self.mask is not None else ():
            b.add(VecDupOp(0.0, mt))  # stale columns past a block's end stay finite

    def _use(self, s: int) -> None:
        """Point the phases' buffers at set s."""
        self.sb, self.l, self.mt = self.sbs[s], self.ls[s], self.mts[s]

    def _flags(self, flag) -> None:  # noqa: ANN001
        """Buffer-free flags: set before the loop, drained after."""
        for p in (0, 1):
            flag("M", "MTE1", p)
            flag("FIX", "M", p)
            flag("MTE1", "MTE3", p)
            flag("M", "MTE1", 2 + p)
            flag("MTE3", "FIX", SB_FREE + p)
            if self.mask is not None:
                flag("V", "MTE2", MASK_FREE + p)
            flag("MTE3", "V", Y_FREE + p)
            flag("MTE1", "MTE2", Q_FREE + p)
            flag("MTE1", "MTE2", V_FREE + p)
        for src, dst, event in (("MTE1", "MTE2", K_FREE),
                                ("M", "MTE1", 4), ("FIX", "M", 2),
                                ("V", "FIX", 6)):  # fmt: skip
            flag(src, dst, event)

    def _scores(self, t: Index, s: int) -> None:
        """Item t's Q, mask and V loads and its scores into set s's UB block."""
        b = self.b
        self._use(s)
        index, rows = self._place(t)
        b.wait_flag("MTE2", "MTE1", Q_LOADED + s)
        b.wait_flag("M", "MTE1", 4)
        b.dma(self.q1s[s], [0, 0], [rows[1], self.d], self.q0, [0, 0])
        b.set_flag("MTE1", "MTE2", Q_FREE + s)
        b.sync("MTE1", "M", 4)
        self._load_mask(index, rows, 0, self.sk, MASK_FREE + s)
        load = self._new_head(t)  # K' and V stay in L1 while the head is the same
        b.wait_flag("MTE3", "FIX", SB_FREE + s)
        for j, (buf, (c0, width)) in enumerate(zip(self.ks, self.chunks)):
            with b.when(load):  # the cube starts on chunk 0 while the others load
                if j == 0:  # once the previous head's last item has read K'
                    b.wait_flag("MTE1", "MTE2", K_FREE)
                off, size = self._key_window(index, (c0, width))
                b.dma(self.k, off, size, buf, [0, 0], self._key_tile(self.d, width))
                b.sync("MTE2", "MTE1", K_LOADED)
            with b.loop(0, width, 2 * self.tk) as c:
                self._score_tile(rows, 0, c, buf, c0)
                c1 = b.addi(c, self.tk)
                with b.when(b.ult(c1, width)):
                    self._score_tile(rows, 1, c1, buf, c0)
        with b.when(self._last_of_head(t)):  # the next item, if any, loads a new K'
            b.set_flag("MTE1", "MTE2", K_FREE)
        b.set_flag("M", "MTE1", 4)  # L0A's Q is free for the next item
        for h, odd in enumerate(self._parity(t)):  # V of heads of parity h: buffer h
            with b.when(b.add(arith.AndIOp(load, odd)).results[0]):
                b.wait_flag("MTE1", "MTE2", V_FREE + h)
                self.v1 = self.v1s[h]
                self._load_v(index, 0, self.sk)
                b.set_flag("MTE2", "MTE1", V_LOADED + h)
        b.set_flag("FIX", "V", SCORES + s)

    def _score_tile(self, rows: tuple, p: int, c: Index, buf, c0: int) -> None:  # type: ignore[override]  # noqa: ANN001
        """S[:, c0+c:+tk] = Q K'[:, c0+c:+tk] from a resident chunk of K' (`buf`, from column
        c0), FIX into the score block."""
        b, qext, tk = self.b, rows[1], self.tk
        keys = buf.type.dims[0 if self.key_rows else 1]
        kext = b.extent(c, tk, keys if c0 + keys <= self.sk else self.sk - c0)
        b.wait_flag("M", "MTE1", p)
        self._key_to_l0b(buf, c, kext, p)
        b.sync("MTE1", "M", p)
        b.wait_flag("FIX", "M", p)
        b.mmad(self.q0, self.k0[p], self.s[p], [qext, kext, self.d], None)
        b.set_flag("M", "MTE1", p)
        b.sync("M", "FIX", p)
        col = b.addi(c, c0) if c0 else c
        b.dma(self.s[p], [0, 0], [qext, kext], self.sb, [0, col], [self.tq, tk], pad=self.pad)
        b.set_flag("FIX", "M", p)

    def _parity(self, t: Index) -> tuple[SSAValue, SSAValue]:
        """Whether item t's head is even, odd (its V buffer: a new head's V loads while the
        previous head's last item still reads the other)."""
        b = self.b
        odd = b.ult(0, b.remui(b.divui(t, self.nq), 2))
        return b.ult(b.remui(b.divui(t, self.nq), 2), 1), odd

    def _last_of_head(self, t: Index) -> SSAValue:
        """Whether item t is the core's last or the last of its head."""
        b, nxt = self.b, self.b.addi(t, 1)
        return b.add(arith.OrIOp(b.ult(self.end, b.addi(nxt, 1)), self._first(nxt))).results[0]

    def _first(self, t: Index) -> SSAValue:
        return self.b.ult(self.b.remui(t, self.nq), 1)

    def _new_head(self, t: Index) -> SSAValue:
        """Whether item t is a core's first or the first of its head (loads K' and V)."""
        b = self.b
        return b.add(arith.OrIOp(b.ult(t, b.addi(self.start, 1)), self._first(t))).results[0]

    def _fetch_q(self, t: Index, s: int) -> None:
        """Item t's Q tile HBM -> set s's L1 buffer."""
        b = self.b
        index, rows = self._place(t)
        b.wait_flag("MTE1", "MTE2", Q_FREE + s)
        b.dma(self.q, *self._q_window(index, rows), self.q1s[s], [0, 0], [rows[1], self.d])
        b.set_flag("MTE2", "MTE1", Q_LOADED + s)

    def _probs(self, t: Index, s: int) -> None:
        """The softmax of set s's score block (its row sums into set s's l)."""
        self._use(s)
        self.b.wait_flag("FIX", "V", SCORES + s)
        self._softmax(MASK_FREE + s)
        self.b.set_flag("V", "MTE3", PROBS + s)

    def _pv(self, t: Index, s: int) -> None:
        """Item t's O = P V into L0C from set s's probabilities and V rows."""
        b = self.b
        self._use(s)
        index, rows = self._place(t)
        b.wait_flag("FIX", "M", 2)
        b.wait_flag("V", "MTE3", PROBS + s)
        last = self._last_of_head(t)  # then V's buffer is free
        new = self._new_head(t)
        for h, odd in enumerate(self._parity(t)):
            with b.when(odd):
                with b.when(new):
                    b.wait_flag("MTE2", "MTE1", V_LOADED + h)
                self.v1 = self.v1s[h]
                self._tiles(self.sk, lambda p, c: self._pv_tile(rows, 0, p, c))
                with b.when(last):
                    b.set_flag("MTE1", "MTE2", V_FREE + h)
        b.set_flag("MTE3", "FIX", SB_FREE + s)
        b.set_flag("M", "FIX", 2)
        del index

    def _done(self, t: Index, s: int) -> None:
        """Item t's O out of L0C, divided by set s's row sums and cast into set s's y."""
        b = self.b
        self._use(s)
        b.wait_flag("M", "FIX", 2)
        b.wait_flag("V", "FIX", 6)
        b.dma(self.o, [0, 0], [self._place(t)[1][1], self.dv], self.oacc, [0, 0])
        b.set_flag("FIX", "M", 2)
        b.sync("FIX", "V", 6)
        b.wait_flag("MTE3", "V", Y_FREE + s)
        if str(self.e) != "f32":
            b.add(VecCastOp(self.l, self.l32))
            b.add(BINARY_OPS["div"](self.oacc, self.l32, self.oacc))
            b.add(VecCastOp(self.oacc, self.ys[s]))
        else:
            b.add(BINARY_OPS["div"](self.oacc, self.l, self.ys[s]))
        b.set_flag("V", "FIX", 6)
        b.set_flag("V", "MTE3", Y_READY + s)

    def _store(self, t: Index, s: int) -> None:
        """Item t's output from set s's y to HBM."""
        b = self.b
        index, rows = self._place(t)
        b.wait_flag("V", "MTE3", Y_READY + s)
        b.dma(self.ys[s], [0, 0], [rows[1], self.dv], self.out, *self._out_window(index, rows))
        b.set_flag("MTE3", "V", Y_FREE + s)


def _and(b: KernelBuilder, x: Index, y: Index) -> Index:
    return b.add(arith.AndIOp(x, y)).results[0]
