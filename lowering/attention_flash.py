"""The fused attention kernel's code: one item (batch index, query tile) after another on a
core, each through its S phase (Q K' on the cube into a UB score block), its softmax on the
vector unit and its P phase (P V into L0C), per key block; online softmax across blocks when
a whole row of scores does not fit UB. `lowering.lower_attention` plans and picks it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from xdsl.dialects.builtin import f32

from gedialects.kernel.ops import inverse, permuted
from gedialects.npu.attrs import BufferType
from gedialects.npu.buffers import HbmAllocOp
from gedialects.npu.launch import KernelOp
from gedialects.npu.vector import BINARY_OPS, REDUCE_OPS, SCALAR_OPS, UNARY_OPS, VecCastOp, VecDupOp
from lowering.gemm_epilogue import broadcast_window
from lowering.npu_builder import Index, KernelBuilder
from runtime.attention_cost import AttentionTiling, combine_rows
from runtime.targets import Target

PAD = {"f16": -65504.0, "f32": -3.0e38}
"""Score of a key column past Sk: exp(PAD - row max) is 0, and it never is the row max."""


@dataclass(frozen=True)
class Layouts:
    """How Q, K, V and O lie in HBM: `perms` as `AttentionKernelOp`'s (Q = transpose(query,
    perm), the stored result transpose(O, perm)); the kernel computes on the logical
    shapes and maps each tile's window to the buffer's axes. With `key_transposed` the key
    holds K (.., Sk, d): its tiles load as rows of d, as Q's, and the MTE1 load into L0B
    transposes them (no transpose kernel before the attention)."""

    perms: dict[str, tuple[int, ...]] = field(default_factory=dict)
    key_transposed: bool = False

    def _to_logical(self, name: str) -> tuple[int, ...] | None:
        """The perm taking the buffer of `name` (query, key, value, output) to its logical axes:
        an operand's own perm, the inverse of the output's."""
        perm = self.perms.get(f"{name}_perm")
        return perm if perm is None or name != "output" else inverse(perm)

    def logical(self, name: str, dims: tuple[int, ...]) -> tuple[int, ...]:
        """The logical shape of `name` from its buffer's dims."""
        perm = self._to_logical(name)
        return tuple(dims) if perm is None else permuted(dims, perm)

    def physical(self, name: str, window: tuple[list, list]) -> tuple[list, list]:
        """The window (offsets, sizes) on the logical axes, on the buffer's axes."""
        perm = self._to_logical(name)
        if perm is None:
            return window
        back = inverse(perm)
        return list(permuted(window[0], back)), list(permuted(window[1], back))


class Flash:
    """The plan of one fused attention kernel and the code that emits it."""

    def __init__(  # noqa: PLR0913
        self, inputs, output, target: Target, tiling: AttentionTiling, scale: float,  # noqa: ANN001
        layouts: Layouts | None = None,
    ):  # fmt: skip
        self.splits = tiling.splits
        self.q, self.k, self.v = inputs[:3]
        self.mask = inputs[3] if len(inputs) > 3 else None
        self.out, self.scale = output, scale
        self.layouts = layouts or Layouts()
        self.q_dims = self.layouts.logical("query", self.q.type.dims)
        self.k_dims = self.layouts.logical("key", self.k.type.dims)
        self.key_rows = self.layouts.key_transposed
        self.v_dims = self.layouts.logical("value", self.v.type.dims)
        self.out_shape = self.layouts.logical("output", output.type.dims)
        self.lead = self.out_shape[:-2]
        self.sq, self.d = self.q_dims[-2:]
        self.sk, self.dv = self.k_dims[-2 if self.key_rows else -1], self.v_dims[-1]
        self.tq, self.tk, self.width = (
            tiling.tq,
            tiling.tk,
            min(tiling.width, _up(self.sk, tiling.tk)),
        )
        self.online = self.width < self.sk or self.splits > 1
        self.e = self.q.type.element_type
        self.pad = PAD[str(self.e)]
        self.nq = -(-self.sq // self.tq)
        self.units = math.prod(self.lead) * self.nq  # (batch index, query tile) pairs
        self.span = -(-self.sk // (self.width * self.splits)) * self.width  # keys of a split
        self.total = self.units * self.splits
        self.per = -(-self.total // min(self.total, target.ai_cores))
        self.blocks = -(-self.total // self.per)
        per_block = self.width // self.tk
        self.dup = self.online and (-(-self.sk // self.tk)) % per_block != 0

    def emit(self, name: str, fused_from) -> KernelOp:  # noqa: ANN001
        kernel = KernelOp(name, self.blocks, fused_from=fused_from, kind="attention")
        b = self.b = KernelBuilder(kernel)
        self._alloc()
        if self.mask is not None:
            b.add(VecDupOp(0.0, self.mt))  # stale columns past a block's end stay finite
        self._flags(b.set_flag)
        start = b.muli(b.block_index, self.per)
        with b.loop(start, b.minui(b.addi(start, self.per), self.total), 1) as t:
            if self.splits == 1:
                self._item(*self._place(t))
            else:
                self._split_item(b.divui(t, self.splits), b.remui(t, self.splits))
        self._flags(b.wait_flag)
        return kernel

    def _place(self, t: Index) -> tuple[list[Index], tuple]:
        """Unit t's batch index and its (first query row, rows)."""
        b = self.b
        q0 = b.muli(b.remui(t, self.nq), self.tq)
        rest: Index = b.divui(t, self.nq)
        index: list[Index] = []
        for dim in reversed(self.lead):
            index.insert(0, b.remui(rest, dim))
            rest = b.divui(rest, dim)
        return index, (q0, b.extent(q0, self.tq, self.sq))

    def _split_item(self, unit: Index, split: Index) -> None:
        """Keys [split * span, + span) of unit `unit` (flash-decoding: too few units for
        the cores): its unnormalised O, row max and row sum into the partials, which
        `emit_combine`'s kernel merges. The stores of the previous item must have left
        UB before this one's running sums reset."""
        b = self.b
        index, rows = self._place(unit)
        self._load_q(index, rows)
        b.wait_flag("MTE3", "V", 5)
        b.add(VecDupOp(self.pad, self.m))
        b.add(VecDupOp(0.0, self.l))
        b.add(VecDupOp(0.0, self.oacc))
        k_lo = b.muli(split, self.span)
        with b.loop(k_lo, b.minui(b.addi(k_lo, self.span), self.sk), self.width) as k0:
            self._block(index, rows, k0)
        b.set_flag("M", "MTE1", 4)
        b.sync("V", "MTE3", 7)
        qext = rows[1]
        for part, tile, cols in ((self.o_part, self.oacc, self.dv), (self.m_part, self.m, 1),
                                 (self.l_part, self.l, 1)):  # fmt: skip
            b.dma(tile, [0, 0], [qext, cols], part, [unit, split, 0, 0], [1, 1, qext, cols])
        b.set_flag("MTE3", "V", 5)

    def partials(self) -> list[HbmAllocOp]:
        """The HBM buffers of the splits' unnormalised O, row max and row sum, by (unit,
        split, row): made once, before `emit` (which writes them) and `emit_combine`."""
        shape = (self.units, self.splits, self.tq)
        row_stats = (HbmAllocOp(BufferType((*shape, 1), self.e, "hbm")) for _ in range(2))
        allocs = [HbmAllocOp(BufferType((*shape, self.dv), f32, "hbm")), *row_stats]
        self.o_part, self.m_part, self.l_part = (a.buffer for a in allocs)
        return allocs

    def emit_combine(self, name: str, fused_from, target: Target) -> KernelOp:  # noqa: ANN001
        """The kernel merging each unit's splits, `combine_rows` rows of a unit an item:
        M = max_j m_j, w_j = exp(m_j - M), O = sum_j w_j O_j / sum_j w_j l_j, all splits
        at once (reductions over the split axis of (splits, rows, ..) tiles)."""
        e, dv, splits = self.e, self.dv, self.splits
        rows = combine_rows(target, self.units, min(self.tq, self.sq), splits, dv)
        chunks = -(-self.tq // rows)
        total = self.units * chunks
        blocks = min(total, target.ai_cores)
        kernel = KernelOp(name, blocks, fused_from=fused_from, kind="attention")
        b = self.b = KernelBuilder(kernel)
        o = b.alloc([splits, rows, dv], f32, "ub")
        m, l_all = (b.alloc([splits, rows, 1], e, "ub") for _ in range(2))
        top, l_sum = (b.alloc([1, rows, 1], e, "ub") for _ in range(2))
        acc = b.alloc([1, rows, dv], f32, "ub")
        wide = str(e) != "f32"
        w32 = b.alloc([splits, rows, 1], f32, "ub") if wide else m
        l32 = b.alloc([1, rows, 1], f32, "ub") if wide else l_sum
        y = b.alloc([1, rows, dv], e, "ub")
        b.set_flag("MTE3", "V", 0)
        b.set_flag("V", "MTE2", 1)
        with b.loop(b.block_index, total, blocks) as item:
            unit = b.divui(item, chunks)
            r0 = b.muli(b.remui(item, chunks), rows)
            index, (q0, qext) = self._place(unit)
            with b.when(b.ult(r0, qext)):
                rext = b.minui(b.subi(qext, r0), rows)
                b.wait_flag("V", "MTE2", 1)
                for part, tile, cols in ((self.o_part, o, dv), (self.m_part, m, 1),
                                         (self.l_part, l_all, 1)):  # fmt: skip
                    b.dma(part, [unit, 0, r0, 0], [1, splits, rext, cols], tile, [0, 0, 0],
                          [splits, rext, cols])  # fmt: skip
                b.sync("MTE2", "V", 2)
                b.add(REDUCE_OPS["reduce_max"](m, top, [0]))
                b.add(BINARY_OPS["sub"](m, top, m))
                b.add(UNARY_OPS["exp"](m, m))  # the splits' weights
                b.add(BINARY_OPS["mul"](l_all, m, l_all))
                b.add(REDUCE_OPS["reduce_sum"](l_all, l_sum, [0]))
                if wide:
                    b.add(VecCastOp(m, w32))
                b.add(BINARY_OPS["mul"](o, w32, o))
                b.add(REDUCE_OPS["reduce_sum"](o, acc, [0]))
                b.set_flag("V", "MTE2", 1)
                b.wait_flag("MTE3", "V", 0)
                if wide:
                    b.add(VecCastOp(l_sum, l32))
                    b.add(BINARY_OPS["div"](acc, l32, acc))
                    b.add(VecCastOp(acc, y))
                else:
                    b.add(BINARY_OPS["div"](acc, l_sum, y))
                b.sync("V", "MTE3", 3)
                window = self._out_window(index, (b.addi(q0, r0), rext))
                b.dma(y, [0, 0, 0], [1, rext, dv], self.out, *window)
                b.set_flag("MTE3", "V", 0)
        b.wait_flag("MTE3", "V", 0)
        b.wait_flag("V", "MTE2", 1)
        return kernel

    def _alloc(self) -> None:
        b, e, tq, tk, w = self.b, self.e, self.tq, self.tk, self.width
        d, dv = _up(self.d, 16), _up(self.dv, 16)  # fractal buffers: whole 16x16 blocks
        nz = "FRACTAL_NZ"
        self.q1, self.q0 = b.alloc([tq, d], e, "l1", nz), b.alloc([tq, d], e, "l0a", nz)
        self.k1 = [b.alloc(self._key_tile(d, tk), e, "l1", nz) for _ in range(2)]
        self.k0 = [b.alloc([d, tk], e, "l0b", nz) for _ in range(2)]
        self.v1 = b.alloc([w, dv], e, "l1", nz)
        self.p1 = [b.alloc([tq, tk], e, "l1", nz) for _ in range(2)]
        self.p0 = [b.alloc([tq, tk], e, "l0a", nz) for _ in range(2)]
        self.v0 = [b.alloc([tk, dv], e, "l0b", nz) for _ in range(2)]
        self.s = [b.alloc([tq, tk], f32, "l0c", nz) for _ in range(2)]
        self.o = b.alloc([tq, dv], f32, "l0c", nz)
        self.sb = b.alloc([tq, w], e, "ub")
        if self.mask is not None:
            mdims = self.mask.type.dims
            rows = tq if len(mdims) >= 2 and mdims[-2] != 1 else 1
            self.mt = b.alloc([rows, w if mdims[-1] != 1 else 1], e, "ub")
        self.m, self.mb, self.l, self.lb, self.al = (b.alloc([tq, 1], e, "ub") for _ in range(5))
        self.oacc = b.alloc([tq, dv], f32, "ub")
        self.opart = b.alloc([tq, dv], f32, "ub") if self.online else self.oacc
        wide = str(e) != "f32"
        self.al32 = b.alloc([tq, 1], f32, "ub") if wide else self.al
        self.l32 = b.alloc([tq, 1], f32, "ub") if wide else self.l
        self.y = b.alloc([tq, dv], e, "ub")

    def _flags(self, flag) -> None:  # noqa: ANN001
        """Buffer-free flags every item first waits for: set before the loop, drained after."""
        for p in (0, 1):
            flag("MTE1", "MTE2", p)
            flag("M", "MTE1", p)
            flag("FIX", "M", p)
            flag("MTE1", "MTE3", p)
            flag("M", "MTE1", 2 + p)
        for src, dst, event in (("MTE1", "MTE2", 2), ("MTE1", "MTE2", 3), ("M", "MTE1", 4),
                                ("MTE3", "V", 4), ("FIX", "M", 2), ("V", "FIX", 6),
                                ("MTE3", "V", 5)):  # fmt: skip
            flag(src, dst, event)
        if self.mask is not None:
            flag("V", "MTE2", 3)

    def _item(self, index: list[Index], rows: tuple) -> None:
        b = self.b
        self._load_q(index, rows)
        if self.online:
            b.add(VecDupOp(self.pad, self.m))
            b.add(VecDupOp(0.0, self.l))
            b.add(VecDupOp(0.0, self.oacc))
            with b.loop(0, self.sk, self.width) as k0:
                self._block(index, rows, k0)
        else:
            self._block(index, rows, 0)
        b.set_flag("M", "MTE1", 4)
        self._finish(index, rows)

    def _load_q(self, index: list[Index], rows: tuple) -> None:
        """Q's tile HBM -> L1 -> L0A, once the previous item's S phase is done with L0A."""
        b, qext = self.b, rows[1]
        b.wait_flag("MTE1", "MTE2", 3)
        b.dma(self.q, *self._q_window(index, rows), self.q1, [0, 0], [qext, self.d])
        b.sync("MTE2", "MTE1", 3)
        b.wait_flag("M", "MTE1", 4)
        b.dma(self.q1, [0, 0], [qext, self.d], self.q0, [0, 0])
        b.set_flag("MTE1", "MTE2", 3)
        b.sync("MTE1", "M", 4)

    def _finish(self, index: list[Index], rows: tuple) -> None:
        """O / row sum, cast, stored (once the previous store is done with UB's y)."""
        b, qext = self.b, rows[1]
        b.wait_flag("MTE3", "V", 5)
        if str(self.e) != "f32":
            b.add(VecCastOp(self.l, self.l32))
            b.add(BINARY_OPS["div"](self.oacc, self.l32, self.oacc))
            b.add(VecCastOp(self.oacc, self.y))
        else:
            b.add(BINARY_OPS["div"](self.oacc, self.l, self.y))
        if not self.online:
            b.set_flag("V", "FIX", 6)
        b.sync("V", "MTE3", 7)
        b.dma(self.y, [0, 0], [qext, self.dv], self.out, *self._out_window(index, rows))
        b.set_flag("MTE3", "V", 5)

    def _q_window(self, index: list[Index], rows: tuple) -> tuple[list, list]:
        """Q's (offsets, sizes) in its buffer for the query rows of item `index`."""
        shape = self.out_shape[:-1] + (self.d,)
        window = broadcast_window(self.q_dims, shape, index, rows, (0, self.d))
        return self.layouts.physical("query", window)

    def _out_window(self, index: list[Index], rows: tuple) -> tuple[list, list]:
        window = broadcast_window(self.out_shape, self.out_shape, index, rows, (0, self.dv))
        return self.layouts.physical("output", window)

    def _key_tile(self, d: Index, keys: Index) -> list[Index]:
        """The sizes of a tile of `keys` key columns of K' in L1: (keys, d) rows when the
        key holds K (the MTE1 load transposes them), else (d, keys)."""
        return [keys, d] if self.key_rows else [d, keys]

    def _key_window(self, index: list[Index], keys: tuple) -> tuple[list, list]:
        """The key's (offsets, sizes) in its buffer for the key columns `keys` (first,
        count) of item `index`."""
        if self.key_rows:
            shape = (*self.lead, self.sk, self.d)
            window = broadcast_window(self.k_dims, shape, index, keys, (0, self.d))
        else:
            shape = (*self.lead, self.d, self.sk)
            window = broadcast_window(self.k_dims, shape, index, (0, self.d), keys)
        return self.layouts.physical("key", window)

    def _key_to_l0b(self, src, at: Index, keys: Index, p: int) -> None:  # noqa: ANN001
        """K' tile p: `keys` columns of the L1 buffer `src` from key column `at` into L0B."""
        offsets = [at, 0] if self.key_rows else [0, at]
        sizes = self._key_tile(self.d, keys)
        self.b.dma(src, offsets, sizes, self.k0[p], [0, 0], transpose=self.key_rows)

    def _block(self, index: list[Index], rows: tuple, k0: Index) -> None:
        """One key block: S tiles into the UB block, its softmax, then P V into L0C."""
        b = self.b
        bext = b.extent(k0, self.width, self.sk) if self.online else self.sk
        self._load_mask(index, rows, k0, bext, 3)
        b.wait_flag("MTE3", "V", 4)
        if self.dup:
            with b.when(b.ult(b.subi(self.sk, k0), self.width)):
                b.add(VecDupOp(self.pad, self.sb))
        b.sync("V", "FIX", 4)
        b.wait_flag("MTE1", "MTE2", 2)
        self._tiles(bext, lambda p, c: self._score_tile(index, rows, k0, p, c))
        self._load_v(index, k0, bext)  # after the K' tiles: the softmax overlaps it
        b.sync("FIX", "V", 4)
        self._softmax(3)
        b.sync("V", "MTE3", 5)
        b.wait_flag("FIX", "M", 2)
        b.sync("MTE2", "MTE1", 2)
        self._tiles(bext, lambda p, c: self._pv_tile(rows, k0, p, c))
        b.set_flag("MTE3", "V", 4)
        b.set_flag("MTE1", "MTE2", 2)
        b.sync("M", "FIX", 2)
        b.wait_flag("V", "FIX", 6)
        b.dma(self.o, [0, 0], [rows[1], self.dv], self.opart, [0, 0])
        b.set_flag("FIX", "M", 2)
        b.sync("FIX", "V", 6)
        if self.online:
            if self.al32 is not self.al:
                b.add(VecCastOp(self.al, self.al32))
            b.add(BINARY_OPS["mul"](self.oacc, self.al32, self.oacc))
            b.add(BINARY_OPS["add"](self.oacc, self.opart, self.oacc))
            b.set_flag("V", "FIX", 6)

    def _load_mask(self, index: list[Index], rows: tuple, k0: Index, bext: Index, event: int):  # noqa: ANN201
        """The block's mask window HBM -> UB mt, once the softmax that read mt is done."""
        if self.mask is None:
            return
        b = self.b
        b.wait_flag("V", "MTE2", event)
        mdims, scores = self.mask.type.dims, self.out_shape[:-1] + (self.sk,)
        off, size = broadcast_window(mdims, scores, index, rows, (k0, bext))
        dst = [rows[1] if self.mt.type.dims[0] != 1 else 1, bext if mdims[-1] != 1 else 1]
        b.dma(self.mask, off, size, self.mt, [0, 0], dst)

    def _load_v(self, index: list[Index], k0: Index, bext: Index) -> None:
        vshape = (*self.lead, self.sk, self.dv)
        window = broadcast_window(self.v_dims, vshape, index, (k0, bext), (0, self.dv))
        off, size = self.layouts.physical("value", window)
        self.b.dma(self.v, off, size, self.v1, [0, 0], [bext, self.dv])

    def _tiles(self, bext: Index, body) -> None:  # noqa: ANN001
        """body(p, c) for the key tiles c of a block, alternating ping (0) and pong (1)."""
        b = self.b
        if self.width <= self.tk:
            body(0, 0)
            return
        with b.loop(0, bext, 2 * self.tk) as c:
            body(0, c)
            c1 = b.addi(c, self.tk)
            with b.when(b.ult(c1, bext)):
                body(1, c1)

    def _score_tile(self, index: list[Index], rows: tuple, k0: Index, p: int, c: Index) -> None:
        b, qext, tk = self.b, rows[1], self.tk
        kc = b.addi(k0, c)
        kext = b.extent(kc, tk, self.sk)
        b.wait_flag("MTE1", "MTE2", p)
        b.dma(self.k, *self._key_window(index, (kc, kext)), self.k1[p], [0, 0],
              self._key_tile(self.d, kext))  # fmt: skip
        b.sync("MTE2", "MTE1", p)
        b.wait_flag("M", "MTE1", p)
        self._key_to_l0b(self.k1[p], 0, kext, p)
        b.set_flag("MTE1", "MTE2", p)
        b.sync("MTE1", "M", p)
        b.wait_flag("FIX", "M", p)
        b.mmad(self.q0, self.k0[p], self.s[p], [qext, kext, self.d], None)
        b.set_flag("M", "MTE1", p)
        b.sync("M", "FIX", p)
        b.dma(self.s[p], [0, 0], [qext, kext], self.sb, [0, c], [self.tq, tk], pad=self.pad)
        b.set_flag("FIX", "M", p)

    def _softmax(self, event: int) -> None:
        """The score block's softmax on V; `event` is the mask buffer's V -> MTE2 flag."""
        b, sb = self.b, self.sb
        if self.scale != 1.0:
            b.add(SCALAR_OPS["muls"](sb, self.scale, sb))
        if self.mask is not None:
            b.sync("MTE2", "V", 3)
            b.add(BINARY_OPS["add"](sb, self.mt, sb))
            b.set_flag("V", "MTE2", event)
        b.add(REDUCE_OPS["reduce_max"](sb, self.mb, [1]))
        if self.online:
            b.add(BINARY_OPS["max"](self.mb, self.m, self.mb))
            b.add(BINARY_OPS["sub"](self.m, self.mb, self.al))
            b.add(UNARY_OPS["exp"](self.al, self.al))
            b.add(UNARY_OPS["copy"](self.mb, self.m))
        b.add(BINARY_OPS["sub"](sb, self.mb, sb))
        b.add(UNARY_OPS["exp"](sb, sb))
        if self.online:
            b.add(REDUCE_OPS["reduce_sum"](sb, self.lb, [1]))
            b.add(BINARY_OPS["mul"](self.l, self.al, self.l))
            b.add(BINARY_OPS["add"](self.l, self.lb, self.l))
        else:
            b.add(REDUCE_OPS["reduce_sum"](sb, self.l, [1]))

    def _pv_tile(self, rows: tuple, k0: Index, p: int, c: Index) -> None:
        b, qext, tk = self.b, rows[1], self.tk
        kext = b.extent(b.addi(k0, c), tk, self.sk)
        b.wait_flag("MTE1", "MTE3", p)
        b.dma(self.sb, [0, c], [self.tq, kext], self.p1[p], [0, 0])
        b.sync("MTE3", "MTE1", p)
        b.wait_flag("M", "MTE1", 2 + p)
        b.dma(self.p1[p], [0, 0], [self.tq, kext], self.p0[p], [0, 0])
        b.dma(self.v1, [c, 0], [kext, self.dv], self.v0[p], [0, 0])
        b.set_flag("MTE1", "MTE3", p)
        b.sync("MTE1", "M", 2 + p)
        b.mmad(self.p0[p], self.v0[p], self.o, [qext, self.dv, kext], b.ne(c, 0))
        b.set_flag("M", "MTE1", 2 + p)


def _up(x: int, m: int) -> int:
    return -(-x // m) * m
