"""Which unit of an im2col conv a core runs, and which of its buffers it loads or frees.

A unit of a core's run u = ((image group, channel tile), pixel tile) in the `rows` order or
((image group, pixel tile), channel tile) in the `weights` order, the last index fastest. The
operand that changes every unit (rows, or weights) has two buffer sets used by the unit's
parity; the one that stays (weights, or rows) has one set, loaded when its tile changes (or at
the core's first unit) and freed after the K loop of the last unit that reads it.
"""

from __future__ import annotations

from contextlib import nullcontext

from xdsl.dialects import arith
from xdsl.ir import SSAValue

from lowering.npu_builder import Index, KernelBuilder


class UnitSchedule:
    """Mixed into `Im2ColConv`: needs b, tiling, nm, no, og, m, groups, first, last, img, wl1."""

    def _where(self, u: Index) -> dict:
        """Index values of unit u: `rows` order (image group, channel tile, pixel tile) or
        `weights` order (image group, pixel tile, channel tile), the last fastest."""
        b, t = self.b, self.tiling
        if t.order == "rows":
            mt, rest = b.remui(u, self.nm), b.divui(u, self.nm)
            ot, ng = b.remui(rest, self.no), b.divui(rest, self.no)
        else:
            ot, rest = b.remui(u, self.no), b.divui(u, self.no)
            mt, ng = b.remui(rest, self.nm), b.divui(rest, self.nm)
        o0, m0 = b.muli(ot, t.tn), b.muli(mt, t.tm)
        group = b.remui(ng, self.groups)
        return dict(
            image=b.divui(ng, self.groups), group=group, o0=o0, m0=m0,
            oext=b.extent(o0, t.tn, self.og), mext=b.extent(m0, t.tm, self.m),
            channel=b.addi(b.muli(group, self.og), o0), resident_start=mt if t.order == "rows"
            else ot,
        )  # fmt: skip

    def _starts(self, u: Index, at: dict) -> SSAValue:
        """Whether unit u brings the buffer that stays in L1 (its tile changed, or first)."""
        return _or(self.b, _eq(self.b, at["resident_start"], 0), _eq(self.b, u, self.first))

    def _only(self, cond: SSAValue | None):  # noqa: ANN202
        return nullcontext() if cond is None else self.b.when(cond)

    def _conds(self, u: Index, at: dict) -> tuple:
        """(rows, weights) load conditions of unit u: None where the buffer is per unit."""
        starts = self._starts(u, at)
        return (None, starts) if self.tiling.order == "rows" else (starts, None)

    def _release(self, u: Index) -> tuple:
        """(rows, weights) release conditions after u's K loop: per unit always, the resident
        one when the next unit brings a new one (or u is the core's last)."""
        b = self.b
        nxt = b.addi(u, 1)
        ends = _or(b, _eq(b, nxt, self.last), self._starts(nxt, self._where(nxt)))
        return (None, ends) if self.tiling.order == "rows" else (ends, None)

    def _slots(self, p: int) -> tuple[int, int]:
        return (p if len(self.img) == 2 else 0), (p if len(self.wl1) == 2 else 0)


def _eq(b: KernelBuilder, x: Index, y: Index) -> SSAValue:
    return b.add(arith.CmpiOp(b.value(x), b.value(y), "eq")).results[0]


def _or(b: KernelBuilder, x: SSAValue, y: SSAValue) -> SSAValue:
    return b.add(arith.OrIOp(x, y)).results[0]
