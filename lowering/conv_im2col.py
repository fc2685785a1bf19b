"""kernel.conv2d -> npu.kernel by im2col: patches (pixels, K) @ weights (K, out channels).

Each core takes a contiguous run of the output's (pixels, channels) tiles. Per (image, group)
it brings the input rows its pixels read into an L1 image in NC1HWC0 (the group's channels):
NCHW rows HBM -> UB (MTE2), `npu.trans_data` to NC1HWC0 on the vector unit (channels padded to
C0 with zeros), UB -> L1 (MTE3); the whole image must fit L1 (else UnsupportedError). A
tile's weight columns come into L1 in the img2col K order (c1, kh, kw, c0) as
(out channels, 16, kh, kw) windows padded with zeros and transposed on the vector unit; its K
loop unfolds patch columns with `npu.img2col` (MTE1, which applies the padding, stride and
dilation) into L0A, weight rows into L0B, and accumulates on the cube. The L0C tile goes to
UB through FIX, is transposed to (channels, pixels), gets the conv epilogue on the vector unit
and MTE3 writes it into the NCHW output. The stages are chained in program order (each pipe
waits for the previous one), while inside them two (ping/pong) buffer sets overlap the pipes:
MTE2 loads the next image rows or weight slice while V converts and MTE3 stores this one, and
MTE1 fills the next L0 pair while the cube reads this one. Overlapping a tile's epilogue with the
next tile's K loop is left to do.
"""

from __future__ import annotations

import numpy as np
from xdsl.dialects.builtin import DenseIntOrFPElementsAttr, f32
from xdsl.ir import Operation, SSAValue

from gedialects.errors import UnsupportedError
from gedialects.ge.constant import dense_from_numpy, dense_to_numpy
from gedialects.ge.types import to_numpy_dtype
from gedialects.npu.attrs import BufferType
from gedialects.npu.img2col import Img2ColOp
from gedialects.npu.ops import HbmConstantOp, KernelOp, TransDataOp
from gedialects.npu.vector import VecTransposeOp
from lowering.conv_tiling import FRACTAL, ConvShape, ConvTiling, choose_conv_tile
from lowering.lower_matmul import Step, _epilogue, scratch_spans
from lowering.npu_builder import Index, KernelBuilder
from runtime.targets import Target

PING_EVENT = 4
"""Flag events of the K loop's ping (4) and pong (5) L0 buffers."""


STAGE_EVENT = 6
"""Flag events of the ping (6) and pong (7) UB buffers of MTE2 -> V -> MTE3 loads."""


class _Chain:
    """Orders the pipes in program order: an op on a new pipe waits for the previous pipe."""

    def __init__(self, b: KernelBuilder):
        self.b, self.last = b, None

    def on(self, pipe: str) -> None:
        if self.last is not None and self.last != pipe:
            self.b.sync(self.last, pipe)
        self.last = pipe


class _Stages:
    """MTE2 -> V -> MTE3 loads through two UB buffer sets (ping/pong): MTE2 brings in one set
    while V converts and MTE3 stores the other. Runs after the chain's last pipe; afterwards V
    has waited for every store, so it becomes the chain's last pipe."""

    def __init__(self, chain: _Chain):
        self.chain, self.b = chain, chain.b

    def __enter__(self) -> _Stages:
        self.chain.on("MTE2")
        for p in (0, 1):
            self.b.set_flag("V", "MTE2", STAGE_EVENT + p)
            self.b.set_flag("MTE3", "V", STAGE_EVENT + p)
        return self

    def step(self, p: int, load, convert, store) -> None:  # noqa: ANN001
        b, event = self.b, STAGE_EVENT + p
        b.wait_flag("V", "MTE2", event)
        load()
        b.sync("MTE2", "V", event)
        b.wait_flag("MTE3", "V", event)
        convert()
        b.set_flag("V", "MTE2", event)
        b.sync("V", "MTE3", event)
        store()
        b.set_flag("MTE3", "V", event)

    def __exit__(self, *exc: object) -> None:
        for p in (0, 1):
            self.b.wait_flag("V", "MTE2", STAGE_EVENT + p)
            self.b.wait_flag("MTE3", "V", STAGE_EVENT + p)
        self.chain.last = "V"


def img2col_order_weights(w: SSAValue, groups: int) -> HbmConstantOp | None:
    """Constant weights (O, Cg, kh, kw) laid out at compile time as the cube reads them:
    (groups, K, O / groups) with K in the img2col order (c1, kh, kw, c0) and Cg zero-padded to
    whole C0 = 16 slices; None when `w` is not a constant. GE converts weights to FRACTAL_Z
    offline for the same reason: the kernel then loads them with one DMA into L1."""
    owner = w.owner
    if not isinstance(owner, HbmConstantOp) or not isinstance(
        owner.value, DenseIntOrFPElementsAttr
    ):
        return None
    array = dense_to_numpy(owner.value)
    o, cg, kh, kw = array.shape
    og, c1 = o // groups, -(-cg // FRACTAL)
    padded = np.zeros((groups, og, c1 * FRACTAL, kh, kw), array.dtype)
    padded[:, :, :cg] = array.reshape(groups, og, cg, kh, kw)
    k_order = padded.reshape(groups, og, c1, FRACTAL, kh, kw).transpose(0, 2, 4, 5, 3, 1)
    laid = np.ascontiguousarray(k_order.reshape(groups, c1 * kh * kw * FRACTAL, og))
    return HbmConstantOp(dense_from_numpy(laid), BufferType(laid.shape, w.type.element_type, "hbm"))


class Im2ColConv:
    """The plan of one im2col convolution kernel (geometry, tiles) and the code that emits it."""

    def __init__(self, op: Operation, x: SSAValue, w: SSAValue, out: SSAValue, target: Target):
        self.op, self.x, self.w, self.out = op, x, w, out
        self.n, self.c, self.h, self.wd = x.type.dims
        o, self.cg, self.kh, self.kw = w.type.dims
        self.groups = op.get_int("groups")
        self.og = o // self.groups
        self.o = o
        self.m = out.type.dims[-1]
        self.out_width = op.output.type.get_shape()[-1]
        pt, pl, pb, pr = op.ints("pads")
        self.geometry = dict(
            kernel=(self.kh, self.kw),
            strides=tuple(op.ints("strides")),
            pads=(pt, pb, pl, pr),
            dilations=tuple(op.ints("dilations")),
        )
        self.element = x.type.element_type
        self.target = target
        self.laid_weights = img2col_order_weights(w, self.groups)
        """Weights in the cube's K order, made at compile time (constant weights only); the
        caller places this `npu.hbm_constant` before the kernel."""

    def plan(self, operands: list[SSAValue], steps: list[Step]) -> ConvTiling:
        spans = tuple((len(v.type.dims) >= 2 and v.type.dims[-2] != 1, True) for v in operands)
        spans += scratch_spans(steps)
        shape = ConvShape(
            self.cg, self.h, self.wd, self.kh * self.kw, self.m, self.og,
            self.n * self.groups, to_numpy_dtype(self.element).itemsize, spans,
        )  # fmt: skip
        tiling = choose_conv_tile(self.target, shape)
        if tiling is None:
            raise UnsupportedError(
                f"{self.op.name}: a {self.cg}x{self.h}x{self.wd} input image does not fit L1"
            )
        self.shape, self.tiling = shape, tiling
        return tiling

    def emit(self, name: str, steps: list[Step]) -> KernelOp:
        operands = [s.operand for s in steps if s.operand is not None]
        t = self.plan(operands, steps)
        no, nm = -(-self.og // t.tn), -(-self.m // t.tm)
        per = -(-(nm * no) // t.blocks)  # a contiguous run of tiles per core: a band of rows
        blocks = -(-(nm * no) // per)
        self.weights_once = no == 1
        kernel = KernelOp(name, blocks, fused_from=self.op.fused_names, kind="conv2d")
        b = self.b = KernelBuilder(kernel)
        self.chain = _Chain(b)
        self._alloc(operands)
        if self.tiles:
            b.set_flag("V", "MTE2", 2)
        first = b.muli(b.block_index, per)
        last = b.minui(b.addi(first, per), nm * no)
        with b.loop(0, self.n * self.groups, 1) as ng:
            image, group = b.divui(ng, self.groups), b.remui(ng, self.groups)
            self.chain.on("MTE2")
            self._load_image(image, group, self._input_rows(first, last, no))
            if self.weights_once:  # one tile spans every output channel: load them once
                self._weights(group, 0, self.og)
            with b.loop(first, last, 1) as tile:
                o0 = b.muli(b.remui(tile, no), t.tn)
                m0 = b.muli(b.divui(tile, no), t.tm)
                self._tile(image, group, o0, m0, steps)
                self.chain.on("MTE2")
        if self.tiles:
            b.wait_flag("V", "MTE2", 2)
        return kernel

    def _alloc(self, operands: list[SSAValue]) -> None:
        b, el, t, s = self.b, self.element, self.tiling, self.shape
        self.img = b.alloc([1, s.c1, self.h, self.wd, FRACTAL], el, "l1", "NC1HWC0")
        self.wl1 = b.alloc([s.k, t.tn], el, "l1", "FRACTAL_Z")
        two = (0, 1)
        self.nd = [b.alloc([1, self.cg, t.rows, self.wd], el, "ub") for _ in two]
        self.five = [b.alloc([1, s.c1, t.rows, self.wd, FRACTAL], el, "ub", "NC1HWC0") for _ in two]
        self.wnd = [b.alloc([t.tn, FRACTAL, self.kh, self.kw], el, "ub") for _ in two]
        self.wtr = [b.alloc([self.kh, self.kw, FRACTAL, t.tn], el, "ub") for _ in two]
        self.pings = (0, 1) if self.shape.k > t.tk else (0,)
        self.a0 = [b.alloc([t.tm, t.tk], el, "l0a", "FRACTAL_NZ") for _ in self.pings]
        self.b0 = [b.alloc([t.tk, t.tn], el, "l0b", "FRACTAL_Z") for _ in self.pings]
        self.c0 = b.alloc([t.tm, t.tn], f32, "l0c", "FRACTAL_NZ")
        out_el = self.out.type.element_type
        self.u = b.alloc([t.tm, t.tn], out_el, "ub")
        self.ut = b.alloc([t.tn, t.tm], out_el, "ub")
        self.tiles = {}
        for v in operands:
            rows = t.tn if len(v.type.dims) >= 2 and v.type.dims[-2] != 1 else 1
            cols = t.tm if v.type.dims[-1] != 1 else 1
            self.tiles[v] = b.alloc([rows, cols], out_el, "ub")

    def _input_rows(self, first: Index, last: Index, no: int) -> tuple[Index, Index]:
        """The input rows [lo, hi) that the output pixels of tiles [first, last) read."""
        b, t, wo = self.b, self.tiling, self.out_width
        (sh, _), (dh, _) = self.geometry["strides"], self.geometry["dilations"]
        pt, span = self.geometry["pads"][0], dh * (self.kh - 1) + 1
        m_lo = b.muli(b.divui(first, no), t.tm)
        m_hi = b.minui(b.muli(b.addi(b.divui(b.subi(last, 1), no), 1), t.tm), self.m)
        top = b.muli(b.divui(m_lo, wo), sh)
        end = b.addi(b.muli(b.divui(b.subi(m_hi, 1), wo), sh), span)
        lo = b.subi(top, b.minui(top, pt))
        hi = b.minui(b.subi(end, b.minui(end, pt)), self.h)
        return lo, hi

    def _load_image(self, image: Index, group: Index, rows_range: tuple[Index, Index]) -> None:
        """Input rows of the group's channels, NCHW in HBM -> NC1HWC0 in L1, in row chunks."""
        b, rows, (lo, hi) = self.b, self.tiling.rows, rows_range
        c0 = b.muli(group, self.cg)

        def chunk(stages: _Stages, p: int, r0: Index) -> None:
            rext = b.minui(b.subi(self.h, r0), rows)  # the band may start anywhere
            src, size = [image, c0, r0, 0], [1, self.cg, rext, self.wd]
            out = [1, self.shape.c1, rext, self.wd, FRACTAL]
            stages.step(
                p,
                lambda: b.dma(self.x, src, size, self.nd[p], [0, 0, 0, 0]),
                lambda: b.add(TransDataOp(self.nd[p], self.five[p])),
                lambda: b.dma(self.five[p], [0] * 5, out, self.img, [0, 0, r0, 0, 0]),
            )

        with _Stages(self.chain) as stages, b.loop(lo, hi, 2 * rows) as r0:
            chunk(stages, 0, r0)
            r1 = b.addi(r0, rows)
            with b.when(b.ult(r1, hi)):
                chunk(stages, 1, r1)

    def _weights(self, group: Index, o0: Index, oext: Index) -> None:
        """Weight columns (K, tn) of the tile into L1 in the img2col K order, zero-padded."""
        b, tn, taps, kh, kw = self.b, self.tiling.tn, self.kh * self.kw, self.kh, self.kw
        if self.laid_weights is not None:  # one DMA: HBM -> L1, already in the K order
            k = self.shape.k
            self.chain.on("MTE2")
            src = self.laid_weights.buffer
            b.dma(src, [group, 0, o0], [1, k, oext], self.wl1, [0, 0], [k, oext])
            return
        row = b.addi(b.muli(group, self.og), o0)
        with _Stages(self.chain) as stages:
            for c1 in range(self.shape.c1):
                p, cc = c1 % 2, min(FRACTAL, self.cg - c1 * FRACTAL)
                src, size = [row, c1 * FRACTAL, 0, 0], [oext, cc, kh, kw]
                dst = [c1 * taps * FRACTAL, 0]
                stages.step(
                    p,
                    lambda p=p, src=src, size=size: b.dma(
                        self.w, src, size, self.wnd[p], [0] * 4, [tn, FRACTAL, kh, kw], pad=0.0
                    ),
                    lambda p=p: b.add(VecTransposeOp(self.wnd[p], self.wtr[p], [2, 3, 1, 0])),
                    lambda p=p, dst=dst: b.dma(
                        self.wtr[p],
                        [0] * 4,
                        [kh, kw, FRACTAL, tn],
                        self.wl1,
                        dst,
                        [taps * FRACTAL, tn],
                    ),
                )

    def _tile(self, image: Index, group: Index, o0: Index, m0: Index, steps: list[Step]) -> None:
        b, ch, t, k = self.b, self.chain, self.tiling, self.shape.k
        oext, mext = b.extent(o0, t.tn, self.og), b.extent(m0, t.tm, self.m)
        if not self.weights_once:
            self._weights(group, o0, oext)
        ch.on("MTE1")
        for p in self.pings:  # L0A/L0B ping and pong: MTE1 fills one while the cube reads the other
            b.set_flag("M", "MTE1", PING_EVENT + p)
        if len(self.pings) == 1:
            self._kstep(0, 0, m0, mext, oext)
        else:
            with b.loop(0, k, 2 * t.tk) as kk:
                self._kstep(0, kk, m0, mext, oext)
                k1 = b.addi(kk, t.tk)
                with b.when(b.ult(k1, k)):
                    self._kstep(1, k1, m0, mext, oext)
        for p in self.pings:
            b.wait_flag("M", "MTE1", PING_EVENT + p)
        ch.last = "M"
        ch.on("FIX")
        b.dma(self.c0, [0, 0], [mext, oext], self.u, [0, 0])
        ch.on("V")
        b.add(VecTransposeOp(self.u, self.ut, [1, 0]))
        channel = b.addi(b.muli(group, self.og), o0)
        if steps:
            out_shape = (self.n, self.o, self.m)
            _epilogue(
                b, steps, self.ut, self.tiles, out_shape, [image], (channel, oext), (m0, mext)
            )
        ch.on("MTE3")
        b.dma(self.ut, [0, 0], [oext, mext], self.out, [image, channel, m0], [1, oext, mext])

    def _kstep(self, p: int, k0: Index, m0: Index, mext: Index, oext: Index) -> None:
        """One K step on L0 buffers p: patch columns by img2col, weight rows, then the cube."""
        b, t, k = self.b, self.tiling, self.shape.k
        kext = b.extent(k0, t.tk, k)
        b.wait_flag("M", "MTE1", PING_EVENT + p)
        b.add(Img2ColOp(self.img, self.a0[p], [m0, k0], [mext, kext], **self.geometry))
        b.dma(self.wl1, [k0, 0], [kext, t.tn], self.b0[p], [0, 0])
        b.sync("MTE1", "M", PING_EVENT + p)
        b.mmad(self.a0[p], self.b0[p], self.c0, [mext, oext, kext], b.ne(k0, 0))
        b.set_flag("M", "MTE1", PING_EVENT + p)
