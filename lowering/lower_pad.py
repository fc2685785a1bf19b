"""kernel.pad (constant, reflect, edge, wrap; negative pads crop) -> one npu.kernel of copies.

Pads on the last two axes: the buffers are viewed as planes (L, H, W) and each tile is lp
planes x th output rows x every output column, built in UB and stored by MTE3. The image part
of a tile is one DMA of its rows (a crop is an offset into the input). Constant: the pad
columns are filled once per buffer, the rows of tiles that reach the top or bottom pad are
filled first (`vec_dup`), and the DMA pads the rest. Reflect, edge and wrap: each pad row is
one DMA of the source row it mirrors, on the tiles that hold it, and each pad column one
UB -> UB copy of the column it mirrors, on the V pipe after the rows are in; the source of a
pad row or column is the one numpy's `np.pad` takes, so pads wider than the image reflect
back as they do there. Pads are at most a few rows, so these copies stay a handful per tile.
"""

from __future__ import annotations

import math

import numpy as np
from xdsl.dialects import arith
from xdsl.ir import Operation, SSAValue

from gedialects.errors import UnsupportedError
from gedialects.ge.types import element_of, to_numpy_dtype
from gedialects.kernel.mirrored import PadKernelOp
from gedialects.npu.attrs import BufferType
from gedialects.npu.buffers import ReshapeOp
from gedialects.npu.launch import KernelOp
from gedialects.npu.vector import VecDupOp
from lowering.npu_builder import Index, KernelBuilder
from lowering.registry import lowers
from runtime.cost_model import hbm_share
from runtime.targets import Target


def _sources(n: int, before: int, after: int, mode: str) -> np.ndarray:
    """Source index of every output index of an axis of length n padded by (before, after)."""
    return np.pad(np.arange(n), (before, after), mode=mode)


def _tile(target: Target, planes: int, rows: int, row_bytes: int) -> tuple[int, int, int]:
    """(planes, rows, pings) of the tile with the fewest estimated cycles that fits UB."""
    ub, best = target.capacity_of("ub"), None
    for pings in (2, 1):
        for lp in {1 << i for i in range(planes.bit_length())} | {planes}:
            for th in {1 << i for i in range(rows.bit_length())} | {rows}:
                if pings * (-(-lp * th * row_bytes // 32) * 32) > ub:
                    continue
                ntiles = -(-planes // lp) * -(-rows // th)
                blocks = min(ntiles, target.vector_cores)
                moved = lp * th * row_bytes / min(32, hbm_share(target, blocks))
                cycles = -(-ntiles // blocks) * (moved + 40) + moved
                if best is None or cycles < best[0]:
                    best = (cycles, lp, th, pings)
        if best is not None:
            return best[1:]
    raise UnsupportedError(f"'kernel.pad': an output row of {row_bytes} bytes does not fit UB")


def pads_last_two_only(op: PadKernelOp) -> bool:
    """Whether only the last two axes are padded (the rest: `lowering.lower_pad_leading`)."""
    rank, pads = len(op.input.type.get_shape()), op.ints("pads")
    return not any(pads[i] or pads[i + rank] for i in range(rank - 2))


@lowers(PadKernelOp, when=pads_last_two_only)
def lower_pad(
    op: PadKernelOp, inputs: list[SSAValue], output: SSAValue, target: Target, name: str
) -> list[Operation]:
    shape, out = tuple(op.input.type.get_shape()), tuple(op.output.type.get_shape())
    rank, pads, mode = len(shape), op.ints("pads"), op.get_str("mode")
    element = element_of(op.output.type)
    if rank == 0 or any(pads[i] or pads[i + rank] for i in range(rank - 2)):
        raise UnsupportedError(f"'{op.name}' of axes before the last two has no npu lowering")
    if math.prod(out) == 0 or math.prod(shape) == 0:
        raise UnsupportedError(f"'{op.name}' with an empty input or result has no npu lowering")
    full = (1, 1, *shape)[-2:], (1, 1, *out)[-2:]
    before = ((0, 0, *pads[:rank])[-2:]), ((0, 0, *pads[rank:])[-2:])
    planes = math.prod(shape[:-2])
    crop = [max(0, -p) for p in before[0]]
    size = [full[0][i] - crop[i] - max(0, -before[1][i]) for i in (0, 1)]
    pad = [(max(0, before[0][i]), max(0, before[1][i])) for i in (0, 1)]
    ops: list[Operation] = []
    views = []
    for buf, (h, w) in ((inputs[0], full[0]), (output, full[1])):
        views.append(ReshapeOp(buf, BufferType([planes, h, w], element, "hbm")))
    ops += views
    isz = to_numpy_dtype(element).itemsize
    lp, th, pings = _tile(target, planes, full[1][0], full[1][1] * isz)
    geo = _Pad(planes, tuple(size), full[1], tuple(crop), tuple(pad), mode, lp, th)
    fill = op.get_float("value") if mode == "constant" else None
    ntiles = -(-planes // lp) * -(-full[1][0] // th)
    blocks = min(ntiles, target.vector_cores)
    io = (views[0].result, views[1].result)
    ops.append(_kernel(op, name, geo, (pings, ntiles, blocks), io, fill))
    return ops


class _Pad:
    def __init__(self, planes, size, out, crop, pad, mode, lp, th):  # noqa: ANN001
        self.planes, self.size, self.out, self.crop, self.pad = planes, size, out, crop, pad
        self.mode, self.lp, self.th = mode, lp, th


def _kernel(op, name: str, g: _Pad, counts: tuple, io: tuple, fill: float | None) -> KernelOp:  # noqa: ANN001
    pings, ntiles, blocks = counts
    kernel = KernelOp(name, blocks, fused_from=op.fused_names, kind="pad")
    b = KernelBuilder(kernel)
    element = element_of(op.output.type)
    bufs = [b.alloc([g.lp, g.th, g.out[1]], element, "ub") for _ in range(pings)]
    if fill is not None and (g.pad[1][0] or g.pad[1][1]):
        for buf in bufs:  # pad columns: never written by a load
            b.add(VecDupOp(fill, buf))
        b.sync("V", "MTE2", 2)
    for p in range(pings):
        b.set_flag("MTE3", "MTE2", p)
        b.set_flag("MTE3", "V", p)
    with b.loop(b.block_index, ntiles, blocks * pings) as t:
        _emit(b, g, io, fill, 0, t, bufs[0])
        if pings == 2:
            t1 = b.addi(t, blocks)
            with b.when(b.ult(t1, ntiles)):
                _emit(b, g, io, fill, 1, t1, bufs[1])
    for p in range(pings):
        b.wait_flag("MTE3", "MTE2", p)
        b.wait_flag("MTE3", "V", p)
    return kernel


def _or(b: KernelBuilder, a: SSAValue, c: SSAValue) -> SSAValue:
    return b.add(arith.OrIOp(a, c)).results[0]


def _emit(b: KernelBuilder, g: _Pad, io, fill, p: int, t: Index, buf: SSAValue) -> None:  # noqa: ANN001
    """Build output tile `t` in `buf` and store it."""
    src, dst = io
    (h, w), (ho, wo), (pt, pb), (pl, pr) = g.size, g.out, g.pad[0], g.pad[1]
    nr = -(-ho // g.th)
    p0, o0 = b.muli(b.divui(t, nr), g.lp), b.muli(b.remui(t, nr), g.th)
    pe, oe = b.extent(p0, g.lp, g.planes), b.extent(o0, g.th, ho)
    b.wait_flag("MTE3", "MTE2", p)
    b.wait_flag("MTE3", "V", p)
    if fill is not None and (pt or pb):  # the tile reaches a pad row: fill it all first
        with b.when(_or(b, b.ult(o0, pt), b.ult(pt + h, b.addi(o0, g.th)))):
            b.add(VecDupOp(fill, buf))
            b.sync("V", "MTE2", 3)
    above = b.minui(o0, pt) if pt else 0
    top, start = b.subi(pt, above), b.subi(o0, above)  # first image row and its place
    rows = b.subi(b.minui(b.addi(start, b.subi(g.th, top)), h), start)
    with b.when(b.ult(start, h)):
        with b.when(b.ult(top, g.th)):
            offs = [p0, b.addi(start, g.crop[0]), g.crop[1]]
            b.dma(src, offs, [pe, rows, w], buf, [0, top, pl])
    if fill is None:
        _mirror_rows(b, g, src, (p0, pe, o0), buf)
        b.sync("MTE2", "V", p)
        srcs = _sources(w, pl, pr, g.mode)
        for c in [*range(pl), *range(pl + w, wo)]:
            s = pl + int(srcs[c])
            b.dma(buf, [0, 0, s], [g.lp, g.th, 1], buf, [0, 0, c])
        b.sync("V", "MTE3", p)
    else:
        b.sync("MTE2", "MTE3", p)
    b.dma(buf, [0, 0, 0], [pe, oe, wo], dst, [p0, o0, 0])
    b.set_flag("MTE3", "MTE2", p)
    b.set_flag("MTE3", "V", p)


def _mirror_rows(b: KernelBuilder, g: _Pad, src: SSAValue, tile: tuple, buf: SSAValue) -> None:
    """One DMA per pad row of the tile, from the image row it mirrors."""
    (h, w), (pt, pb), (p0, pe, o0) = g.size, g.pad[0], tile
    srcs = _sources(h, pt, pb, g.mode)
    for r in [*range(pt), *range(pt + h, g.out[0])]:  # row r is in the tile at (r // th) * th
        here = b.add(arith.CmpiOp(b.value(o0), b.const(r // g.th * g.th), "eq")).results[0]
        with b.when(here):
            offs = [p0, int(srcs[r]) + g.crop[0], g.crop[1]]
            b.dma(src, offs, [pe, 1, w], buf, [0, r % g.th, g.pad[1][0]])
