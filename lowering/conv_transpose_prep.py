"""The two vector-unit kernels that turn a transposed convolution into an ordinary one.

- `zero_insert_kernel`: Z = the input with (stride - 1) zeros after every row and column, the
  zero-inserted image that an ordinary stride-1 convolution with the flipped kernel turns into
  the transposed convolution's output. A UB tile (lp planes, th rows) is a (lp, th, sh, W, sw)
  buffer zeroed once by `vec_dup`; MTE2 writes the input rows into its (.., 0, .., 0) box (a
  DMA window of the buffer), so no vector work runs per tile, and MTE3 stores it row-major as
  (lp, th * sh, W * sw) rows of Z. When Z is narrower than W * sw (the right columns that the
  output never reads) a V copy first makes the tile a (lp, th * sh, W * sw) buffer whose
  column window the store takes.
- `flip_weights_kernel`: runtime weights (C, O/g, kh, kw) -> the im2col conv's L1 layout
  (groups, K, O/g), K in the img2col order (c1, kh, kw, c0) with the taps reversed: a 16-channel
  slice is loaded whole (zero-padded past C/g), transposed to (kh, kw, 16, O/g) on V, and each
  tap's (16, O/g) block is stored at its flipped place (contiguous runs). Constant weights get
  the same layout at compile time instead (`lowering.lower_conv_transpose`).
"""

from __future__ import annotations

from xdsl.ir import Attribute, SSAValue

from gedialects.errors import UnsupportedError
from gedialects.npu.launch import KernelOp
from gedialects.npu.vector import VecDupOp, VecTransposeOp
from lowering.conv_tiling import FRACTAL
from lowering.npu_builder import KernelBuilder
from lowering.tiling import aligned
from runtime.cost_model import hbm_share
from runtime.targets import Target

ISSUE = 40


def _powers(limit: int) -> set[int]:
    return {1 << i for i in range(limit.bit_length())} | {limit}


def insert_tile(
    target: Target, planes: int, rows: int, in_row: int, out_row: int, copies: int
) -> tuple[int, int, float]:
    """(planes, rows) per zero-insertion tile with the fewest estimated cycles whose ping/pong
    buffers (`copies` UB buffers of `out_row` bytes per (plane, row) each) fit UB: per tile the
    load and the store on the core's HBM channel, tiles round-robin over the vector cores."""
    ub, best = target.capacity_of("ub"), None
    for lp in _powers(planes):
        for th in _powers(rows):
            if 2 * copies * aligned(lp * th * out_row) + 64 > ub:
                continue
            ntiles = -(-planes // lp) * -(-rows // th)
            blocks = min(ntiles, target.vector_cores)
            share = min(target.rate("hbm", "ub"), hbm_share(target, blocks))
            load, store = lp * th * in_row / share, lp * th * out_row / share
            cycles = -(-ntiles // blocks) * (load + store + ISSUE)
            if best is None or cycles < best[0]:
                best = (cycles, lp, th)
    if best is None:
        raise UnsupportedError("'kernel.conv_transpose2d': one zero-inserted row does not fit UB")
    return best[1], best[2], best[0]


def zero_insert_kernel(
    name: str, x: SSAValue, z: SSAValue, strides: tuple[int, int], target: Target, fused: object
) -> KernelOp:
    """Z (P, Zh, Zw) from x (P, H, W): x[p, i, j] at Z[p, i * sh, j * sw], zeros elsewhere."""
    (planes, h, w), (_, _, zw), (sh, sw) = x.type.dims, z.type.dims, strides
    element, isz = x.type.element_type, _itemsize(x.type.element_type)
    crop = zw != w * sw
    lp, th, _ = insert_tile(target, planes, h, w * isz, sh * w * sw * isz, 2 if crop else 1)
    nr = -(-h // th)
    ntiles = -(-planes // lp) * nr
    blocks = min(ntiles, target.vector_cores)
    kernel = KernelOp(name, blocks, fused_from=fused, kind="conv_transpose2d")
    b = KernelBuilder(kernel)
    box = [b.alloc([lp, th, sh, w, sw], element, "ub") for _ in (0, 1)]
    flat = [b.alloc([lp, th * sh, w * sw], element, "ub") for _ in (0, 1)] if crop else box
    for p in (0, 1):
        b.add(VecDupOp(0.0, box[p]))
    b.sync("V", "MTE2", 2)
    first = "V" if crop else "MTE3"
    for p in (0, 1):
        b.set_flag(first, "MTE2", p)
        if crop:
            b.set_flag("MTE3", "V", p)
    with b.loop(b.block_index, ntiles, blocks * 2) as t:
        for p in (0, 1):
            tp = b.addi(t, blocks * p)
            with b.when(b.ult(tp, ntiles)):
                p0, r0 = b.muli(b.divui(tp, nr), lp), b.muli(b.remui(tp, nr), th)
                pe, re = b.extent(p0, lp, planes), b.extent(r0, th, h)
                b.wait_flag(first, "MTE2", p)
                b.dma(x, [p0, r0, 0], [pe, re, w], box[p], [0] * 5, [pe, re, 1, w, 1])
                out_rows = b.muli(re, sh)
                if crop:
                    b.sync("MTE2", "V", p)
                    b.wait_flag("MTE3", "V", p)
                    b.dma(box[p], [0] * 5, [pe, re, sh, w, sw], flat[p], [0] * 3,
                          [pe, out_rows, w * sw])  # fmt: skip
                    b.set_flag("V", "MTE2", p)
                    b.sync("V", "MTE3", p)
                    b.dma(flat[p], [0] * 3, [pe, out_rows, zw], z, [p0, b.muli(r0, sh), 0])
                    b.set_flag("MTE3", "V", p)
                else:
                    b.sync("MTE2", "MTE3", p)
                    b.dma(box[p], [0] * 5, [pe, re, sh, w, sw], z, [p0, b.muli(r0, sh), 0],
                          [pe, out_rows, zw])  # fmt: skip
                    b.set_flag("MTE3", "MTE2", p)
    for p in (0, 1):
        b.wait_flag(first, "MTE2", p)
        if crop:
            b.wait_flag("MTE3", "V", p)
    return kernel


def flip_weights_kernel(
    name: str, w: SSAValue, laid: SSAValue, groups: int, target: Target, fused: object
) -> KernelOp:
    """laid (g, K, O/g) in the img2col K order from runtime weights w (C, O/g, kh, kw), taps
    reversed: laid[g, ((c1 * kh + i) * kw + j) * 16 + c0, o] = w[g * C/g + c1 * 16 + c0, o,
    kh - 1 - i, kw - 1 - j], zero past C/g."""
    c, og, kh, kw = w.type.dims
    cg, taps, element = c // groups, kh * kw, w.type.element_type
    c1 = -(-cg // FRACTAL)
    to = _weight_tile(target, og, taps * FRACTAL * _itemsize(element), groups * c1)
    no = -(-og // to)
    items = groups * c1 * no
    blocks = min(items, target.vector_cores)
    kernel = KernelOp(name, blocks, fused_from=fused, kind="conv_transpose2d")
    b = KernelBuilder(kernel)
    ld = b.alloc([FRACTAL, to, kh, kw], element, "ub")
    tr = b.alloc([kh, kw, FRACTAL, to], element, "ub")
    with b.loop(b.block_index, items, blocks) as item:
        gc, o0 = b.divui(item, no), b.muli(b.remui(item, no), to)
        g, s = b.divui(gc, c1), b.remui(gc, c1)
        ch0, oe = b.muli(s, FRACTAL), b.extent(o0, to, og)
        cc = b.extent(ch0, FRACTAL, cg)
        src = [b.addi(b.muli(g, cg), ch0), o0, 0, 0]
        b.dma(w, src, [cc, oe, kh, kw], ld, [0] * 4, [FRACTAL, oe, kh, kw], pad=0.0)
        b.sync("MTE2", "V")
        b.add(VecTransposeOp(ld, tr, [2, 3, 0, 1]))
        b.sync("V", "MTE3")
        with b.loop(0, taps, 1) as tap:
            flipped = b.subi(taps - 1, tap)
            row = b.muli(b.addi(b.muli(s, taps), tap), FRACTAL)
            b.dma(tr, [b.divui(flipped, kw), b.remui(flipped, kw), 0, 0], [1, 1, FRACTAL, oe],
                  laid, [g, row, o0], [1, FRACTAL, oe])  # fmt: skip
        b.sync("MTE3", "MTE2")
    return kernel


def _weight_tile(target: Target, og: int, column_bytes: int, slices: int) -> int:
    """Output channels per weight item: the fewest estimated cycles (items over the vector
    cores, each a load, a transpose and one store per tap) whose two UB buffers fit."""
    ub, best = target.capacity_of("ub"), None
    for to in _powers(og):
        if 2 * aligned(to * column_bytes) + 64 > ub:
            continue
        items = slices * -(-og // to)
        blocks = min(items, target.vector_cores)
        nbytes = to * column_bytes / min(target.rate("hbm", "ub"), hbm_share(target, blocks))
        cycles = -(-items // blocks) * (2 * nbytes + 3 * ISSUE)
        if best is None or cycles < best[0]:
            best = (cycles, to)
    if best is None:
        raise UnsupportedError("'kernel.conv_transpose2d': one weight column does not fit UB")
    return best[1]


def _itemsize(element: Attribute) -> int:
    return {"f16": 2, "f32": 4}[str(element)]
