"""What an im2col conv unit loads into L1: its input rows in NC1HWC0 and its weight columns.

Rows: a unit's tile reads padded input rows [y0 * sh, y1 * sh + span) (y0..y1 its output
rows); they land in an L1 buffer whose row 0 is padded row y0 * sh, so `npu.img2col` runs
with no vertical padding and any image height works (only one tile's rows must fit L1). The
image rows come NCHW HBM -> UB (MTE2), `npu.trans_data` to NC1HWC0 (V), UB -> L1 (MTE3), in
chunks through two UB buffer sets (ping/pong, flags `STAGE_EVENT`); rows above or below the
image are written as zeros from a zeroed UB row, so no stale row of an earlier tile is read.

Weights: constant weights are laid out at compile time in the cube's K order
(`img2col_order_weights`: one HBM -> L1 DMA); runtime weights go (out channels, 16, kh, kw)
windows HBM -> UB, a transpose on V, UB -> L1 per C0 slice through the same staging flags.
"""

from __future__ import annotations

import numpy as np
from xdsl.dialects import arith
from xdsl.ir import Attribute, SSAValue

from gedialects.npu.buffers import HbmConstantOp, constant_array
from gedialects.npu.transfer import TransDataOp
from gedialects.npu.vector import VecTransposeOp
from lowering.conv_tiling import FRACTAL
from lowering.gemm_epilogue import apply_steps
from lowering.npu_builder import Index, KernelBuilder

STAGE_EVENT = 6
"""Flag events of the ping (6) and pong (7) UB staging buffers of MTE2 -> V -> MTE3 loads."""


def img2col_order_weights(w: SSAValue, groups: int) -> HbmConstantOp | None:
    """Constant weights (O, Cg, kh, kw) laid out at compile time as the cube reads them:
    (groups, K, O / groups) with K in the img2col order (c1, kh, kw, c0) and Cg zero-padded to
    whole C0 = 16 slices; None when `w` is not a constant. GE converts weights to FRACTAL_Z
    offline for the same reason: the kernel then loads them with one DMA into L1."""
    array = constant_array(w)
    return None if array is None else laid_constant(array, groups, w.type.element_type)


def laid_constant(array: np.ndarray, groups: int, element: Attribute) -> HbmConstantOp:
    """`img2col_order_weights` of a weight array (O, Cg, kh, kw)."""
    o, cg, kh, kw = array.shape
    og, c1 = o // groups, -(-cg // FRACTAL)
    padded = np.zeros((groups, og, c1 * FRACTAL, kh, kw), array.dtype)
    padded[:, :, :cg] = array.reshape(groups, og, cg, kh, kw)
    k_order = padded.reshape(groups, og, c1, FRACTAL, kh, kw).transpose(0, 2, 4, 5, 3, 1)
    laid = np.ascontiguousarray(k_order.reshape(groups, c1 * kh * kw * FRACTAL, og))
    return HbmConstantOp.from_array(laid, element)


def stage(b: KernelBuilder, p: int, load, convert, store) -> None:  # noqa: ANN001
    """One MTE2 -> V -> MTE3 step through UB staging set p; the flags are set once per kernel
    (`open_stages`), so the steps of consecutive units flow without draining."""
    event = STAGE_EVENT + p
    b.wait_flag("V", "MTE2", event)
    load()
    b.sync("MTE2", "V", event)
    b.wait_flag("MTE3", "V", event)
    convert()
    b.set_flag("V", "MTE2", event)
    b.sync("V", "MTE3", event)
    store()
    b.set_flag("MTE3", "V", event)


def open_stages(b: KernelBuilder, close: bool = False) -> None:
    """The staging sets start free (set once at the kernel's start, waited once at its end)."""
    for p in (0, 1):
        flag = b.wait_flag if close else b.set_flag
        flag("V", "MTE2", STAGE_EVENT + p)
        flag("MTE3", "V", STAGE_EVENT + p)


def maxui(b: KernelBuilder, x: Index, y: Index) -> Index:
    if isinstance(x, int) and isinstance(y, int):
        return max(x, y)
    return b.add(arith.MaxUIOp(b.value(x), b.value(y))).results[0]


class RowLoader:
    """Loads a tile's padded input rows into its L1 buffers (see the module docstring), one
    K part (C1 slices, a buffer of its own) at a time, so the K loop can start on the first."""

    def __init__(self, conv, nd: list, five: list, zero: SSAValue | None):  # noqa: ANN001
        self.conv, self.nd, self.five, self.zero = conv, nd, five, zero

    def window(self, m0: Index, mext: Index) -> dict:
        """The tile's first padded row, its rows, the image rows [lo, hi) it reads and the
        zero rows above them."""
        c, b = self.conv, self.conv.b
        pt = c.pads[0]
        top = b.muli(b.divui(m0, c.out_width), c.sh)
        last_out = b.divui(b.addi(m0, b.subi(mext, 1)), c.out_width)
        end = b.addi(b.muli(last_out, c.sh), c.span)  # one past the tile's last padded row
        lo = b.subi(maxui(b, top, pt), pt)
        hi = maxui(b, b.minui(b.subi(maxui(b, end, pt), pt), c.h), lo)
        # zero rows above the image: up to the image or the tile's end, whichever is first
        # (a tile of padding alone, above the image, ends before it)
        zt = b.subi(b.minui(end, pt), b.minui(top, pt))
        return dict(top=top, end=end, lo=lo, hi=hi, zt=zt)

    def zeros(self, img: SSAValue, slices: int, win: dict) -> None:
        """Rows above and below the image in one K part's buffer, from the zeroed UB row."""
        b = self.conv.b
        if self.conv.pads[0]:
            self._zeros(img, slices, 0, win["zt"])
        if self.conv.pads[1]:
            below = b.addi(win["zt"], b.subi(win["hi"], win["lo"]))
            self._zeros(img, slices, below, b.subi(win["end"], win["top"]))

    def part(
        self, img: SSAValue, image: Index, group: Index, part: int, c1: int, win: dict
    ) -> None:  # noqa: E501
        """The image rows of K part `part`, C1 slices [c1, c1 + its slices)."""
        c, b = self.conv, self.conv.b
        rows, width = c.tiling.rows, c.tiling.part * FRACTAL  # the staging buffers' lanes
        slices = img.type.dims[1]
        lanes = slices * FRACTAL  # this part's: parts differ by a slice when C1 is uneven
        lo, hi, zt = win["lo"], win["hi"], win["zt"]
        first = c1 * FRACTAL
        ch0, cext = b.addi(b.muli(group, c.cg), first), min(lanes, c.cg - first)

        def chunk(p: int, r0: Index) -> None:
            rext = b.minui(b.subi(hi, r0), rows)
            src, size = [image, ch0, r0, 0], [1, cext, rext, c.wd]
            padded = [1, width, rext, c.wd]  # channels past the part's read zero
            out = [1, slices, rext, c.wd, FRACTAL]
            dst = [0, 0, b.addi(b.subi(r0, lo), zt), 0, 0]
            load = lambda: b.dma(c.x, src, size, self.nd[p], [0, 0, 0, 0], padded, pad=0.0)  # noqa: E731
            if c.fold is not None:  # kernel rows folded into channels (`conv_im2col_fold`)
                c.fold.clear(b, self.nd[p], p, r0, rext)
                load = lambda: c.fold.load(  # noqa: E731
                    b, self.nd[p], (image, group), (first, lanes), r0, rext
                )
            store = lambda: b.dma(self.five[p], [0] * 5, out, img, dst)  # noqa: E731
            stage(b, p, load, lambda: self.convert(p), store)

        flip = part % 2  # parts alternate staging sets too: one chunk each is common
        if isinstance(lo, int) and isinstance(hi, int) and lo >= hi:
            return  # known at compile time to read no image row (a tile of padding alone)
        if rows >= img.type.dims[2]:  # the tile's rows in one chunk
            with b.when(b.ult(lo, hi)):
                chunk(flip, lo)
            return
        with b.loop(lo, hi, 2 * rows) as r0:
            chunk(flip, r0)
            r1 = b.addi(r0, rows)
            with b.when(b.ult(r1, hi)):
                chunk(1 - flip, r1)

    def convert(self, p: int) -> None:
        """Staging set p's rows to NC1HWC0 on V, after the conv's input activation (its
        `prologue` steps, in place: padding rows come from the zero row, never activated,
        and padded channels meet zero weights)."""
        b = self.conv.b
        apply_steps(b, self.conv.prologue, self.nd[p], {})
        b.add(TransDataOp(self.nd[p], self.five[p]))

    def _zeros(self, img: SSAValue, slices: int, start: Index, stop: Index) -> None:
        b, size = self.conv.b, [1, slices, 1, self.conv.wd, FRACTAL]
        with b.loop(start, stop, 1) as row:
            b.dma(self.zero, [0] * 5, size, img, [0, 0, row, 0, 0])


def load_weights(conv, wl1: SSAValue, group: Index, o0: Index, oext: Index, first: int) -> None:  # noqa: ANN001
    """The weight rows of the K part from C1 slice `first` of a unit's columns (K, tn) into
    their L1 buffer in the img2col K order, zero-padded."""
    b, t, taps, kh, kw = conv.b, conv.tiling, conv.kh * conv.kw, conv.kh, conv.kw
    kext = wl1.type.dims[0]
    if conv.laid_weights is not None:  # one DMA: HBM -> L1, already in the K order
        src, k0 = conv.laid_weights.buffer, first * taps * FRACTAL
        b.dma(src, [group, k0, o0], [1, kext, oext], wl1, [0, 0], [kext, oext])
        return
    row = b.addi(b.muli(group, conv.og), o0)
    if conv.staged < taps:
        _load_weights_in_parts(conv, wl1, row, oext, first)
        return
    for i in range(kext // (taps * FRACTAL)):
        c1 = first + i
        p, cc = c1 % 2, min(FRACTAL, conv.cg - c1 * FRACTAL)
        src, size = [row, c1 * FRACTAL, 0, 0], [oext, cc, kh, kw]
        dst = [i * taps * FRACTAL, 0]
        stage(
            b,
            p,
            lambda p=p, src=src, size=size: b.dma(
                conv.w, src, size, conv.wnd[p], [0] * 4, [t.tn, FRACTAL, kh, kw], pad=0.0
            ),
            lambda p=p: b.add(VecTransposeOp(conv.wnd[p], conv.wtr[p], [2, 3, 1, 0])),
            lambda p=p, dst=dst: b.dma(
                conv.wtr[p], [0] * 4, [kh, kw, FRACTAL, t.tn], wl1, dst, [taps * FRACTAL, t.tn]
            ),
        )


def _load_weights_in_parts(conv, wl1: SSAValue, row: Index, oext: Index, first: int) -> None:  # noqa: ANN001
    """`load_weights` of runtime filters too long for one UB stage: per C1 slice, `staged`
    taps at a time from the (O, Cg, taps) view, each transposed on V into its place in the
    K order (c1, tap, c0)."""
    b, t, taps, part = conv.b, conv.tiling, conv.kh * conv.kw, conv.staged
    stages = 0
    for i in range(wl1.type.dims[0] // (taps * FRACTAL)):
        c1 = first + i
        cc = min(FRACTAL, conv.cg - c1 * FRACTAL)
        for t0 in range(0, taps, part):
            p, n = stages % 2, min(part, taps - t0)
            stages += 1
            src, size, dst = [row, c1 * FRACTAL, t0], [oext, cc, n], [(i * taps + t0) * FRACTAL, 0]
            stage(
                b,
                p,
                lambda p=p, src=src, size=size: b.dma(
                    conv.w_taps, src, size, conv.wnd[p], [0] * 3, [t.tn, FRACTAL, part], pad=0.0
                ),
                lambda p=p: b.add(VecTransposeOp(conv.wnd[p], conv.wtr[p], [2, 1, 0])),
                lambda p=p, n=n, dst=dst: b.dma(
                    conv.wtr[p], [0] * 3, [n, FRACTAL, t.tn], wl1, dst, [n * FRACTAL, t.tn]
                ),
            )
