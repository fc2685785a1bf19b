"""kernel.slice with steps other than 1 (strided and reversed slices) -> one npu.kernel of
tiled copies through UB (unit-step slices stay with `lowering.lower_movement`).

Output element i of an axis reads source element start + step * i (`slice_extent`, the
reference's clamping). The output is cut into (lead..., tr, tc) tiles over the vector cores.
Leading axes of any step are index arithmetic on the tile's source window. On the last two
axes a positive step loads the band that spans the tile ((tr - 1) * step + 1 rows or columns)
in one DMA and a strided `npu.vec_window` copy picks the tile out of it; a negative step
(reversal) loads the band's rows, or columns, one DMA each in reverse order, since the vector
unit reads windows only forwards. Reversing the last axis so is one DMA per element column
(the off-chip side pays a 32-byte burst per element): correct for any shape, slow for large
reversed rows, which models do not do.
"""

from __future__ import annotations

import math

from xdsl.ir import Operation, SSAValue

from gedialects.errors import UnsupportedError
from gedialects.ge.ops import slice_extent
from gedialects.ge.types import shape_of, to_numpy_dtype
from gedialects.kernel.mirrored import SliceKernelOp
from gedialects.npu.attrs import BufferType
from gedialects.npu.buffers import ReshapeOp
from gedialects.npu.launch import KernelOp
from gedialects.npu.window import VecWindowOp
from lowering.npu_builder import Index, KernelBuilder
from lowering.registry import lowers
from lowering.tiling import aligned
from runtime.cost_model import hbm_share
from runtime.targets import Target

ISSUE = 40


def is_strided(op: Operation) -> bool:
    """Whether `op` is a slice with a step other than 1 on some axis."""
    return isinstance(op, SliceKernelOp) and any(s != 1 for s in op.ints("steps"))


def axis_maps(op: SliceKernelOp) -> list[tuple[int, int]]:
    """(start, step) per axis of the input: output index i reads start + step * i."""
    shape = shape_of(op.operands[0].type)
    maps = [(0, 1)] * len(shape)
    for s, e, a, st in zip(op.ints("starts"), op.ints("ends"), op.ints("axes"), op.ints("steps")):
        a %= len(shape)
        start, _, count = slice_extent(s, e, st, shape[a])
        maps[a] = (start if count else 0, st)
    return maps


def _tile(target: Target, dims: tuple[int, int, int], steps: tuple[int, int], isz: int):  # noqa: ANN202
    """(tr, tc) with the fewest estimated cycles whose band and tile buffers fit UB."""
    (lead, rows, cols), (sr, sc) = dims, steps
    ub, best = target.capacity_of("ub"), None
    powers = sorted({1 << i for i in range(cols.bit_length())} | {cols})
    for tc in powers:
        for tr in sorted({1 << i for i in range(rows.bit_length())} | {rows}):
            band = ((tr - 1) * max(sr, 1) + 1) * ((tc - 1) * max(sc, 1) + 1) * isz
            need = aligned(band) + aligned(tr * tc * isz)
            if need + 64 > ub:
                continue
            tiles = lead * -(-rows // tr) * -(-cols // tc)
            blocks = min(tiles, target.vector_cores)
            dmas = (tr if sr < 0 else 1) * (tc if sc < 0 else 1)
            runs = tr * (tc if sc < 0 else 1)  # 32-byte bursts at least per contiguous run
            load = max(band, runs * 32) / min(target.rate("hbm", "ub"), hbm_share(target, blocks))
            cycles = -(-tiles // blocks) * (load + tr * tc * isz * 2 / 64 + (dmas + 2) * ISSUE)
            if best is None or cycles < best[0]:
                best = (cycles, tr, tc, blocks)
    if best is None:
        raise UnsupportedError("'kernel.slice': one strided row does not fit UB")
    return best[1:]


@lowers(SliceKernelOp, when=is_strided)
def lower_strided_slice(
    op: SliceKernelOp, inputs: list[SSAValue], output: SSAValue, target: Target, name: str
) -> list[Operation]:
    out = shape_of(op.results[0].type)
    if not out or 0 in out:
        raise UnsupportedError(f"'{op.name}' of shape {out} has no npu lowering")
    maps = axis_maps(op)
    ops: list[Operation] = []
    src, dst = inputs[0], output
    if len(out) == 1:  # a row: (1, C) views
        src, dst = _row_view(src, ops), _row_view(dst, ops)
        out, maps = (1, *out), [(0, 1), *maps]
    element = dst.type.element_type
    isz = to_numpy_dtype(element).itemsize
    (_, sr), (_, sc) = maps[-2], maps[-1]
    lead = math.prod(out[:-2])
    tr, tc, blocks = _tile(target, (lead, out[-2], out[-1]), (sr, sc), isz)
    kernel = KernelOp(name, blocks, fused_from=op.fused_names, kind="slice")
    _Emitter(KernelBuilder(kernel), src, dst, out, maps, (tr, tc)).emit(blocks)
    return [*ops, kernel]


def _row_view(value: SSAValue, ops: list[Operation]) -> SSAValue:
    view = ReshapeOp(value, BufferType((1, *value.type.dims), value.type.element_type, "hbm"))
    ops.append(view)
    return view.result


class _Emitter:
    def __init__(self, b: KernelBuilder, src, dst, out, maps, tile) -> None:  # noqa: ANN001
        self.b, self.src, self.dst, self.out, self.maps = b, src, dst, out, maps
        self.tr, self.tc = tile
        (_, sr), (_, sc) = maps[-2], maps[-1]
        self.band_dims = [(self.tr - 1) * max(sr, 1) + 1, (self.tc - 1) * max(sc, 1) + 1]
        element = dst.type.element_type
        self.band = b.alloc(self.band_dims, element, "ub")
        self.window = max(sr, 1) > 1 or max(sc, 1) > 1
        self.tile = b.alloc([self.tr, self.tc], element, "ub") if self.window else self.band

    def emit(self, blocks: int) -> None:
        b, out = self.b, self.out
        rows, cols = out[-2], out[-1]
        nr, nc = -(-rows // self.tr), -(-cols // self.tc)
        b.set_flag("V" if self.window else "MTE3", "MTE2")
        if self.window:
            b.set_flag("MTE3", "V")
        with b.loop(b.block_index, math.prod(out[:-2]) * nr * nc, blocks) as t:
            c0, q = b.muli(b.remui(t, nc), self.tc), b.divui(t, nc)
            r0, rest = b.muli(b.remui(q, nr), self.tr), b.divui(q, nr)
            lead: list[Index] = []
            for dim in reversed(out[:-2]):
                lead.insert(0, b.remui(rest, dim))
                rest = b.divui(rest, dim)
            rext, cext = b.extent(r0, self.tr, rows), b.extent(c0, self.tc, cols)
            b.wait_flag("V" if self.window else "MTE3", "MTE2")
            self._load(lead, (r0, rext), (c0, cext))
            if self.window:
                b.sync("MTE2", "V")
                b.wait_flag("MTE3", "V")
                steps = [max(s, 1) for _, s in self.maps[-2:]]
                b.add(VecWindowOp("copy", self.band, [0, 0], steps, self.tile))
                b.set_flag("V", "MTE2")
                b.sync("V", "MTE3")
            else:
                b.sync("MTE2", "MTE3")
            n = len(out)
            offsets = [*lead, r0, c0]
            sizes = [*(1 for _ in lead), rext, cext]
            b.dma(self.tile, [0, 0], [rext, cext], self.dst, offsets[-n:], sizes[-n:])
            b.set_flag("MTE3", "V" if self.window else "MTE2")
        b.wait_flag("V" if self.window else "MTE3", "MTE2")
        if self.window:
            b.wait_flag("MTE3", "V")

    def _first(self, axis: int, i0: Index) -> Index:
        """The source index of output index i0 on `axis` (start + step * i0)."""
        start, step = self.maps[axis]
        b = self.b
        return b.addi(b.muli(i0, step), start) if step > 0 else b.subi(start, b.muli(i0, -step))

    def _load(self, lead: list[Index], rows: tuple, cols: tuple) -> None:
        """The tile's band: forward axes as one window, reversed ones element by element."""
        b, n = self.b, len(self.out)
        (r0, rext), (c0, cext) = rows, cols
        (_, sr), (_, sc) = self.maps[-2], self.maps[-1]
        src_lead = [self._first(a, i) for a, i in enumerate(lead)]
        span_r = b.addi(b.muli(b.subi(rext, 1), sr), 1) if sr > 0 else 1
        span_c = b.addi(b.muli(b.subi(cext, 1), sc), 1) if sc > 0 else 1

        def window(row: Index, col: Index, at: tuple[Index, Index]) -> None:
            offsets = [*src_lead, row, col][-n:]
            sizes = [*(1 for _ in lead), span_r, span_c][-n:]
            b.dma(self.src, offsets, sizes, self.band, list(at), [span_r, span_c])

        def columns(row: Index, at_row: Index) -> None:
            if sc > 0:
                window(row, self._first(n - 1, c0), (at_row, 0))
                return
            with b.loop(0, cext, 1) as j:
                window(row, self._first(n - 1, b.addi(c0, j)), (at_row, j))

        if sr > 0:
            columns(self._first(n - 2, r0), 0)
            return
        with b.loop(0, rext, 1) as i:
            columns(self._first(n - 2, b.addi(r0, i)), i)
