"""kernel.pool max / avg (2-D windows) -> one vector-unit npu.kernel.

The image is viewed as planes (N*C, H, W) and each tile is cp planes x oh output rows, so the
planes are the vector repeats and a row of W the lanes. Plain NCHW rows instead of NC1HWC0:
trans_data in and out would cost two vector passes over the data, while a pool is HBM-bound
(its taps cost at most 2x on the vector unit through the strided last axis), so by the modeled
cycles the transposes never pay. A tile loads its band of input rows with the halo the windows
read into UB, padded by the DMA (bottom and right: a larger destination window filled with
-inf for max, 0 for avg), the left pad columns filled once, the top rows filled on the tiles
that start above the image. Each tap is one `npu.vec_window` (copy, then max or add) of the
strided window into the output tile; an average then multiplies by 1/count (one scalar, or a
reciprocal map when the counts differ near the borders). Tiles go round-robin over the vector
cores, ping/pong buffers where two fit UB. A folded cast (`cast_to`): the taps run in f32,
the load fills an f16 band the vector unit converts, and an f16 result is converted before
the store.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.dialects.builtin import f32
from xdsl.ir import Operation, SSAValue

from gedialects.errors import UnsupportedError
from gedialects.ge.types import element_of, to_numpy_dtype
from gedialects.kernel.reductions import PoolKernelOp
from gedialects.npu.attrs import BufferType
from gedialects.npu.buffers import HbmConstantOp, ReshapeOp
from gedialects.npu.launch import KernelOp
from gedialects.npu.vector import BINARY_OPS, SCALAR_OPS, VecCastOp, VecDupOp
from gedialects.npu.window import VecWindowOp
from lowering.npu_builder import Index, KernelBuilder
from lowering.pool_tiling import PoolGeometry, PoolTile, choose_pool_tile, planes_of
from lowering.registry import lowers
from runtime.targets import Target


def geometry(op: PoolKernelOp) -> PoolGeometry:
    shape, out = tuple(op.input.type.get_shape()), tuple(op.output.type.get_shape())
    if len(shape) != 4:
        raise UnsupportedError(
            f"'{op.name}' {op.kind.data} on a rank-{len(shape)} input has no npu lowering"
        )
    pads = op.ints("pads")
    return PoolGeometry(
        planes_of(shape), shape[2:], out[2:], op.ints("kernel_shape"), op.ints("strides"),
        op.ints("dilations"), (pads[0], pads[1], pads[2], pads[3]),
    )  # fmt: skip


@lowers(PoolKernelOp, when=lambda op: op.kind.data in ("max", "avg"))
def lower_pool(
    op: PoolKernelOp, inputs: list[SSAValue], output: SSAValue, target: Target, name: str
) -> list[Operation]:
    """Views of input and output as planes, the reciprocal map if needed, and the kernel."""
    io = (element_of(op.input.type), element_of(op.output.type))
    element = f32 if op.cast_to is not None else io[0]  # a folded cast computes in f32
    dtype = to_numpy_dtype(element)
    if dtype.kind != "f":
        raise UnsupportedError(f"'{op.name}' {op.kind.data} on {element} has no npu lowering")
    geo = geometry(op)
    if geo.reads_only_padding():
        raise UnsupportedError(f"'{op.name}' {op.kind.data}: a window reads only padding")
    avg = op.kind.data == "avg"
    counts = geo.divisors(op.get_flag("count_include_pad")) if avg else None
    uniform = counts is None or bool((counts == counts.flat[0]).all())
    staging = tuple(0 if e == element else to_numpy_dtype(e).itemsize for e in io)
    tile = choose_pool_tile(target, geo, dtype.itemsize, not uniform, staging)  # type: ignore[arg-type]
    if tile is None:
        raise UnsupportedError(
            f"'{op.name}' {op.kind.data}: one output row of a {geo.size} image does not fit UB"
        )
    ops: list[Operation] = []
    views = []
    for buf, (h, w) in ((inputs[0], geo.size), (output, geo.out)):
        view = ReshapeOp(buf, BufferType([geo.planes, h, w], buf.type.element_type, "hbm"))
        views.append(view.result)
        ops.append(view)
    scale: float | SSAValue | None = None
    if avg and uniform:
        scale = 1.0 / float(counts.flat[0])
    elif avg:
        recip = (1.0 / counts).astype(dtype)
        const = HbmConstantOp.from_array(recip, element)
        ops.append(const)
        scale = const.buffer
    ops.append(_kernel(op, name, geo, tile, (views[0], views[1], scale)))
    return ops


@dataclass
class _Emit:
    """What every tile's load and compute need."""

    b: KernelBuilder
    op: PoolKernelOp
    geo: PoolGeometry
    tile: PoolTile
    io: tuple  # input planes, output planes, scale (float, map buffer or None)
    fill: float


def _kernel(op: PoolKernelOp, name: str, geo: PoolGeometry, tile: PoolTile, io: tuple) -> KernelOp:
    """Ping/pong tiles software-pipelined: an iteration loads tile u (ping), computes and stores
    tile u - blocks (pong, loaded one iteration earlier), loads tile u + blocks (pong), then
    computes and stores tile u, so each load is issued on the HBM channel before the store
    ahead of it in the pipeline and overlaps the other ping's taps."""
    source, result = io[0].type.element_type, io[1].type.element_type
    element = f32 if op.cast_to is not None else source
    kernel = KernelOp(name, tile.blocks, fused_from=op.fused_names, kind="pool")
    b = KernelBuilder(kernel)
    e = _Emit(b, op, geo, tile, io, -float("inf") if op.kind.data == "max" else 0.0)
    cp, oh, pings = tile.planes, tile.rows, range(tile.pings)
    bufs = []
    for _ in pings:
        band = b.alloc([cp, geo.band(oh), geo.width], element, "ub")
        acc = b.alloc([cp, oh, geo.out[1]], element, "ub")
        recip = b.alloc([oh, geo.out[1]], element, "ub") if isinstance(io[2], SSAValue) else None
        # a folded cast: the load fills an f16 band, the store reads an f16 output tile
        band_in = b.alloc(band.type.dims, source, "ub") if source != element else band
        acc_out = b.alloc(acc.type.dims, result, "ub") if result != element else acc
        bufs.append((band, acc, recip, band_in, acc_out))
        if geo.pads[1]:  # the left pad columns are never written by a load
            b.add(VecDupOp(e.fill, band_in))
    if geo.pads[1]:
        b.sync("V", "MTE2", 2)
    for p in pings:
        b.set_flag("V", "MTE2", p)
        b.set_flag("MTE3", "V", p)
    ntiles, blocks = -(-geo.planes // cp) * -(-geo.out[0] // oh), tile.blocks
    if tile.pings == 1:
        with b.loop(b.block_index, ntiles, blocks) as t:
            _load(e, 0, t, bufs[0])
            _compute(e, 0, t, bufs[0])
    else:
        with b.loop(b.block_index, ntiles + 2 * blocks, 2 * blocks) as u:
            with b.when(b.ult(u, ntiles)):
                _load(e, 0, u, bufs[0])
            with b.when(b.ult(blocks - 1, u)):
                prev = b.subi(u, blocks)
                with b.when(b.ult(prev, ntiles)):
                    _compute(e, 1, prev, bufs[1])
            nxt = b.addi(u, blocks)
            with b.when(b.ult(nxt, ntiles)):
                _load(e, 1, nxt, bufs[1])
            with b.when(b.ult(u, ntiles)):
                _compute(e, 0, u, bufs[0])
    for p in pings:
        b.wait_flag("V", "MTE2", p)
        b.wait_flag("MTE3", "V", p)
    return kernel


def _place(e: _Emit, t: Index) -> tuple[Index, Index, Index, Index]:
    """First plane, first output row, and their extents of tile `t`."""
    b, geo, (cp, oh) = e.b, e.geo, (e.tile.planes, e.tile.rows)
    nr = -(-geo.out[0] // oh)
    p0, o0 = b.muli(b.divui(t, nr), cp), b.muli(b.remui(t, nr), oh)
    return p0, o0, b.extent(p0, cp, geo.planes), b.extent(o0, oh, geo.out[0])


def _load(e: _Emit, p: int, t: Index, bufs: tuple) -> None:
    """MTE2: the band of input rows of tile `t` (and its reciprocal counts) into ping `p`."""
    b, geo, (_, _, recip, band, _) = e.b, e.geo, bufs
    (h, w), (pt, pl) = geo.size, geo.pads[:2]
    p0, o0, pe, oe = _place(e, t)
    r = b.muli(o0, geo.strides[0])  # first band row, padded coordinates
    bh = geo.band(e.tile.rows)
    b.wait_flag("V", "MTE2", p)
    if pt:
        with b.when(b.ult(r, pt)):  # rows above the image: fill the whole band first
            b.add(VecDupOp(e.fill, band))
            b.sync("V", "MTE2", 3)
        above = b.minui(r, pt)
        top, start = b.subi(pt, above), b.subi(r, above)
    else:
        top, start = 0, r
    below = b.subi(bh, top)  # band rows from the first one the load writes
    rows = b.subi(b.minui(b.addi(start, below), h), start)
    window = [pe, below, geo.width - pl]  # larger than the data: padded with fill
    b.dma(
        e.io[0],
        [p0, start, 0],
        [pe, rows, min(w, geo.width - pl)],
        band,
        [0, top, pl],
        window,
        e.fill,
    )  # noqa: E501
    if recip is not None:
        b.dma(e.io[2], [o0, 0], [oe, geo.out[1]], recip, [0, 0])
    b.set_flag("MTE2", "V", p)


def _compute(e: _Emit, p: int, t: Index, bufs: tuple) -> None:
    """V: one vec_window per tap, the average's scale; MTE3: the output tile of `t`."""
    b, geo, (band, acc, recip, band_in, acc_out) = e.b, e.geo, bufs
    p0, o0, pe, oe = _place(e, t)
    b.wait_flag("MTE2", "V", p)
    b.wait_flag("MTE3", "V", p)
    if band_in is not band:
        b.add(VecCastOp(band_in, band))
    (kh, kw), (sh, sw), (dh, dw) = geo.kernel, geo.strides, geo.dilations
    combine = "max" if e.op.kind.data == "max" else "add"
    for i in range(kh):
        for j in range(kw):
            fn = "copy" if i == j == 0 else combine
            b.add(VecWindowOp(fn, band, [0, i * dh, j * dw], [1, sh, sw], acc))
    scale = e.io[2]
    if recip is not None:
        b.add(BINARY_OPS["mul"](acc, recip, acc))
    elif isinstance(scale, float) and scale != 1.0:
        b.add(SCALAR_OPS["muls"](acc, scale, acc))
    if acc_out is not acc:
        b.add(VecCastOp(acc, acc_out))
    b.set_flag("V", "MTE2", p)
    b.sync("V", "MTE3", p)
    b.dma(acc_out, [0, 0, 0], [pe, oe, geo.out[1]], e.io[1], [p0, o0, 0])
    b.set_flag("MTE3", "V", p)
