"""The K loop of an im2col conv unit: img2col patch columns into L0A, weight rows into L0B
(MTE1, ping/pong), the cube into L0C, part by part as the unit's K parts land in L1.

A core's last unit may run in two pixel pieces (`ConvTiling.split`), each into an L0C buffer
of its own: the first piece's drain (FIX, V, its store at the core's HBM share) then runs
under the second piece's K steps instead of after the whole unit. The two paths (whole unit,
pieces) share each K part's load waits, so the kernel's flags pair up in its text.
"""

from __future__ import annotations

from gedialects.npu.img2col import Img2ColOp
from lowering.conv_im2col_drain import LAST_EVENT
from lowering.conv_tiling import FRACTAL
from lowering.npu_builder import Index

PING_EVENT = 4
"""Flag events of the K loop's ping (4) and pong (5) L0 buffers."""
ROWS_EVENT = 8
"""Rows in L1 ready (MTE3 -> MTE1) and free again (MTE1 -> MTE3): 8 and 9."""
WEIGHTS_EVENT = 10
"""Weights in L1 ready and free again: 10 and 11."""


class KLoop:
    """Mixed into `Im2ColConv`: needs b, tiling, parts, pings, img, wl1, c0, c0_last, a0, b0,
    geometry, kh, kw, out_width, w_pipe and the unit schedule (`UnitSchedule`)."""

    def _k_loop(self, p: int, u: Index, ends: tuple | None = None) -> None:
        """Unit u's K loop into L0C buffer p, part by part as their loads land. With `ends`
        (the conditions of a whole unit and of a core's last one, `ChunkedDrain._paths`) the
        last unit runs in two pixel pieces, each into an L0C buffer of its own; the first
        piece's ready flag lets its drain run under the second one's K steps."""
        b, t, at = self.b, self.tiling, self._where(u)
        conds = self._conds(u, at)
        b.wait_flag("FIX", "M", p)
        m_local = b.remui(at["m0"], self.out_width)  # row 0 of the L1 rows: the tile's first
        whole, pieces = (None, False) if ends is None else ends
        paths = []  # (condition, (L0C buffer, first pixel, pixels)): one of them runs
        if whole is not False:
            paths.append((whole, (self.c0[p], m_local, at["mext"])))
        if pieces is not False:
            paths.append((pieces, (self.c0_last[0], m_local, b.minui(at["mext"], t.split))))
        self._k_steps(p, at, conds, paths)
        if pieces is not False:
            with self._only(pieces):
                b.set_flag("M", "FIX", LAST_EVENT)
                full = isinstance(at["mext"], int)  # a short last tile may have no second piece
                with self._only(None if full else b.ult(t.split, at["mext"])):
                    if not full or at["mext"] > t.split:
                        ext = b.subi(at["mext"], t.split)
                        into = (self.c0_last[1], b.addi(m_local, t.split), ext)
                        self._k_steps(p, at, None, [(None, into)])
        self._k_done(p, u)

    def _k_steps(self, p: int, at: dict, conds: tuple | None, paths: list) -> None:
        """The K steps of a unit (or a piece) into one of `paths` (condition, (L0C buffer,
        first pixel, pixels)), waiting for each K part's loads under `conds` (None: loaded)."""
        b, t = self.b, self.tiling
        q, x = self._slots(p)
        for s in self.pings:  # L0A/L0B ping and pong: MTE1 fills one while the cube reads the other
            b.set_flag("M", "MTE1", PING_EVENT + s)
        steps = 0
        for i, slices in enumerate(self.parts):
            if conds is not None:
                with self._only(conds[0]):
                    b.wait_flag("MTE3", "MTE1", ROWS_EVENT + q)
                with self._only(conds[1]):
                    b.wait_flag(self.w_pipe, "MTE1", WEIGHTS_EVENT + x)
            kend = slices * self.kh * self.kw * FRACTAL
            s0 = steps % len(self.pings)  # L0 buffers alternate across parts too
            steps += -(-kend // t.tk)
            for cond, (c0, m_local, mext) in paths:
                args = (self.img[q][i], self.wl1[x][i], c0, m_local, mext, at["oext"])
                with self._only(cond):
                    if kend <= t.tk:
                        self._kstep(s0, 0, kend, i > 0, *args)
                        continue
                    with b.loop(0, kend, 2 * t.tk) as kk:
                        self._kstep(s0, kk, kend, i > 0, *args)
                        k1 = b.addi(kk, t.tk)
                        with b.when(b.ult(k1, kend)):
                            self._kstep(1 - s0, k1, kend, i > 0, *args)
        for s in self.pings:
            b.wait_flag("M", "MTE1", PING_EVENT + s)

    def _k_done(self, p: int, u: Index) -> None:
        """After unit u's K loop: free its per-unit (and last-read resident) L1 buffers and
        flag its L0C buffer ready for the drain."""
        b = self.b
        q, x = self._slots(p)
        rows_free, w_free = self._release(u)
        with self._only(rows_free):
            b.set_flag("MTE1", "MTE3", ROWS_EVENT + q)
        with self._only(w_free):
            b.set_flag("MTE1", self.w_pipe, WEIGHTS_EVENT + x)
        b.set_flag("M", "FIX", p)

    def _kstep(self, s: int, k0: Index, kend: int, acc: bool, img, wl1, c0, m0, mext, oext) -> None:  # noqa: ANN001, E501
        """One K step on L0 buffers s: patch columns by img2col, weight rows, then the cube
        (accumulating after the first step of the first K part)."""
        b, t = self.b, self.tiling
        kext = b.extent(k0, t.tk, kend)
        b.wait_flag("M", "MTE1", PING_EVENT + s)
        b.add(Img2ColOp(img, self.a0[s], [m0, k0], [mext, kext], **self.geometry))
        b.dma(wl1, [k0, 0], [kext, t.tn], self.b0[s], [0, 0])
        b.sync("MTE1", "M", PING_EVENT + s)
        b.mmad(self.a0[s], self.b0[s], c0, [mext, oext, kext], b.bool(True) if acc else b.ne(k0, 0))
        b.set_flag("M", "MTE1", PING_EVENT + s)
