"""Kernel rows folded into channels, for im2col convs on few input channels.

A conv on C channels pads each of its kh * kw taps' K columns from C to 16 cube lanes: the
3-channel 7x7 stem fills 3 of 16 (the cube then runs 5.3x the useful work). Channel (i, c) of
row y of the folded image is input row y * sh + i * dh - pt of channel c, so the same conv is
one with a (1, kw) kernel, vertical stride 1 and no vertical padding over Ho rows of kh * C
channels: 21 lanes in two C1 slices for the stem, K 224 instead of 784. Nothing is folded in
HBM: a tile's folded rows are gathered into UB by one DMA per kernel row (whole input rows;
with a vertical stride through an (N, C, H / sh, sh * W) view, whose row r holds input rows
r * sh .. r * sh + sh - 1), zeros where a row falls in the padding, then go on to L1 as any
tile's rows do (`conv_im2col_loads.RowLoader`). Weights are refolded at compile time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.dialects import arith
from xdsl.ir import SSAValue

from gedialects.npu.attrs import BufferType
from gedialects.npu.buffers import ReshapeOp, constant_array
from gedialects.npu.vector import VecDupOp
from lowering.conv_im2col_loads import laid_constant, maxui
from lowering.npu_builder import Index, KernelBuilder

CLEAR_EVENT = 12
"""V -> MTE2 events (12, 13 per staging set): a staging buffer zeroed before its DMAs."""


@dataclass(frozen=True)
class Fold:
    """The input as the folded rows read it: channels per group, rows, width, kernel rows,
    vertical stride, dilation and top pad, and the HBM buffer (a view when sh > 1)."""

    cg: int
    h: int
    w: int
    kh: int
    sh: int
    dh: int
    pt: int
    ho: int  # folded rows (output rows)
    src: SSAValue

    def offset(self, i: int) -> int:
        """Input row of folded row 0 for kernel row i (negative: in the top padding)."""
        return i * self.dh - self.pt

    def valid(self, i: int) -> tuple[int, int]:
        """Folded rows [first, end) whose kernel row i lies in the image."""
        off = self.offset(i)
        return max(0, -(off // self.sh)), (self.h - 1 - off) // self.sh + 1

    def load(
        self, b: KernelBuilder, nd: SSAValue, at: tuple, part: tuple, r0: Index, rext: Index
    ) -> None:  # noqa: E501
        """Folded channels [first, first + lanes) (`part`) of folded rows [r0, r0 + rext) of
        (image, group) `at` into the UB staging buffer `nd` (1, width, rows, W): one DMA per
        kernel row, the lanes past the part's channels, to the buffer's width, padded by the
        last one's window."""
        image, group = at
        (first, lanes), width = part, nd.type.dims[1]
        rows_of = [i for i in range(self.kh) if first < (i + 1) * self.cg < first + lanes + self.cg]
        rows_of = [i for i in rows_of if self.valid(i)[0] < self.valid(i)[1]]  # else all zeros
        for i in rows_of:
            a = max(first, i * self.cg) - i * self.cg
            e = min(first + lanes, (i + 1) * self.cg) - i * self.cg
            lane = i * self.cg + a - first
            start, end = self.valid(i)
            lo, hi = maxui(b, r0, start), b.minui(b.addi(r0, rext), end)
            if isinstance(lo, int) and isinstance(hi, int) and hi <= lo:
                continue  # none of these rows in the image (`clear` zeroed them)
            shift, col = self.offset(i) // self.sh, self.offset(i) % self.sh * self.w
            with b.when(b.ult(lo, hi)):
                rows = b.subi(hi, lo)
                row = b.addi(lo, shift) if shift >= 0 else b.subi(lo, -shift)
                src = [image, b.addi(b.muli(group, self.cg), a), row, col]
                wide = width - lane if i == rows_of[-1] else e - a  # zeros past the last lane
                dst, dst_size = [0, lane, b.subi(lo, r0), 0], [1, wide, rows, self.w]
                b.dma(self.src, src, [1, e - a, rows, self.w], nd, dst, dst_size, pad=0.0)

    def clear(self, b: KernelBuilder, nd: SSAValue, p: int, r0: Index, rext: Index) -> None:
        """Zero staging buffer `nd` (on V, before its DMAs) when folded rows [r0, r0 + rext)
        reach rows that some kernel row finds in the padding: no DMA writes those."""
        spans = [self.valid(i) for i in range(self.kh)]
        top, bottom = max(s[0] for s in spans), min(s[1] for s in spans)
        above = b.ult(r0, top) if top else None
        below = b.ult(bottom, b.addi(r0, rext)) if bottom < self.ho else None
        if above is None and below is None:
            return
        cond = above or below
        if above is not None and below is not None:
            cond = b.add(arith.OrIOp(above, below)).results[0]
        with b.when(cond):
            b.add(VecDupOp(0.0, nd))
            b.sync("V", "MTE2", CLEAR_EVENT + p)


def fold_rows(conv) -> None:  # noqa: ANN001
    """Turn `conv`'s geometry into the folded one (see the module docstring) and refold its
    constant weights (O, Cg, kh, kw) -> (O, kh * Cg, 1, kw) in the cube's K order."""
    n, c, h, w = conv.x.type.dims
    src, kh, kw = conv.x, conv.kh, conv.kw
    if conv.sh > 1:
        dims = (n, c, h // conv.sh, conv.sh * w)
        view = ReshapeOp(conv.x, BufferType(dims, conv.element, "hbm"))
        conv.views.append(view)
        src = view.result
    dh, dw = conv.geometry["dilations"]
    conv.fold = Fold(conv.cg, h, w, kh, conv.sh, dh, conv.pads[0], conv.out_height, src)
    array = refolded_weights(constant_array(conv.w))
    conv.laid_weights = laid_constant(array, conv.groups, conv.w.type.element_type)
    conv.cg, conv.c, conv.h, conv.kh = kh * conv.cg, kh * c, conv.out_height, 1
    conv.sh, conv.pads, conv.span = 1, (0, 0), 1
    sw = conv.geometry["strides"][1]
    conv.geometry.update(kernel=(1, kw), strides=(1, sw), dilations=(1, dw))


def refolded_weights(array: np.ndarray) -> np.ndarray:
    """(O, Cg, kh, kw) -> (O, kh * Cg, 1, kw): channel (i, c) holds kernel row i of c."""
    o, cg, kh, kw = array.shape
    return np.ascontiguousarray(array.transpose(0, 2, 1, 3).reshape(o, kh * cg, 1, kw))
