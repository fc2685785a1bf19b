"""kernel.conv2d by the direct algorithm -> one npu.kernel on the vector unit.

Channels are the vector lanes: an item is (image, 16 output channels, a band of bh output
rows) with an f32 accumulator (1, 1, bh, Wo, 16) in NC1HWC0. Per input channel of its group
(one for depthwise), an item
- loads the band's input rows with their halo into a zeroed (1, 16, rows, Wb) UB buffer at
  the padding offsets (MTE2; lane l holds the channel output channel oc0 + l reads: one DMA of
  16 channels for depthwise, one per lane for a multiplier or ordinary groups), and the
  channel's weights as (16, taps);
- converts the band to NC1HWC0 (`npu.trans_data`) and the weights to (taps, 16) on V (casting
  f16 to f32), then runs one `npu.vec_window_mla` per tap: acc += band[tap's offsets :: strides]
  * weights[tap], every stride and dilation as the window's offsets and steps.
The last channel of an item casts the accumulator to the output type, runs the conv epilogue
in NC1HWC0 (channel vectors as (1, 1, 1, 1, 16) lanes, the residual converted like the input)
and converts back to NCHW for MTE3. Loads go through ping/pong buffers, so MTE2 brings in the
next channel (or item) while V accumulates this one, and MTE3 stores one output tile while V
fills the other. Padding: the pad columns are zeroed once; rows above or below the image are
zeroed on V when the buffer's next band reaches them.
"""

from __future__ import annotations

from xdsl.dialects import arith
from xdsl.dialects.builtin import f32
from xdsl.ir import SSAValue

from gedialects.errors import UnsupportedError
from gedialects.npu.launch import KernelOp
from gedialects.npu.transfer import TransDataOp
from gedialects.npu.vector import VecCastOp, VecDupOp, VecTransposeOp
from gedialects.npu.window_mla import VecWindowMlaOp
from lowering.conv_direct_tiling import LANES, DirectGeometry, Epilogue, choose_band
from lowering.gemm_epilogue import Step, apply_steps
from lowering.npu_builder import Index, KernelBuilder
from runtime.targets import Target

PING = (0, 1)


class DirectConv:
    """The plan of one direct convolution kernel and the code that emits it."""

    def __init__(
        self,
        g: DirectGeometry,
        buffers: tuple[SSAValue, SSAValue, SSAValue],
        steps: list[Step],
        target: Target,
    ):
        self.g, (self.x, self.w, self.out), self.steps = g, buffers, steps
        operands = [s.operand for s in steps if s.operand is not None]
        self.channel_ops = [v for v in operands if len(v.type.dims) == 1]
        self.residual = next((v for v in operands if len(v.type.dims) == 4), None)
        e = Epilogue(
            len(self.channel_ops), self.residual is not None,
            any(s.needs_scratch for s in steps), len(steps),
        )  # fmt: skip
        band = choose_band(target, g, e)
        if band is None:
            raise UnsupportedError(
                f"'kernel.conv2d' (algorithm=direct): one output row of a {g.c}x{g.h}x{g.w} "
                f"input with a {g.kernel[0]}x{g.kernel[1]} kernel does not fit UB"
            )
        self.bh, self.estimate = band
        self.bands = -(-g.out_hw[0] // self.bh)
        self.items = g.n * g.channel_blocks * self.bands
        self.per = -(-self.items // min(self.items, target.vector_cores))
        self.blocks = -(-self.items // self.per)
        self.element = self.x.type.element_type

    def emit(self, name: str, fused_from) -> KernelOp:  # noqa: ANN001
        kernel = KernelOp(
            name, self.blocks, fused_from=fused_from, kind="conv2d", algorithm="direct"
        )
        b = self.b = KernelBuilder(kernel)
        self._alloc()
        for buf in [*self.nd, *self.wnd, *self.res_nd, *(t for p in self.tiles for t in p)]:
            b.add(VecDupOp(0.0, buf))  # pad columns and unused lanes read zero
        for p in PING:
            b.set_flag("V", "MTE2", p)
            b.set_flag("MTE3", "V", p)
        cg = self.g.cg
        first = b.muli(b.block_index, self.per)
        last = b.minui(b.addi(first, self.per), self.items)
        first_u, last_u = b.muli(first, cg), b.muli(last, cg)
        # Software pipelined: each body loads units u0 and u0 + 1 before computing (and
        # storing) the unit before each, so a load is issued before the previous store and
        # the core's HBM channel, reserved in issue order, does not hold it back.
        with b.loop(first_u, b.addi(last_u, 1), 2) as u0:
            with b.when(b.ult(u0, last_u)):
                self._load_unit(0, u0)
            with b.when(b.ult(first_u, u0)):
                self._compute_unit(1, b.subi(u0, 1))
            u1 = b.addi(u0, 1)
            with b.when(b.ult(u1, last_u)):
                self._load_unit(1, u1)
            with b.when(b.ult(u0, last_u)):
                self._compute_unit(0, u0)
        for p in PING:
            b.wait_flag("V", "MTE2", p)
            b.wait_flag("MTE3", "V", p)
        return kernel

    def _alloc(self) -> None:
        b, g, el, bh, wo = self.b, self.g, self.element, self.bh, self.g.out_hw[1]
        rows, width = g.band_rows(bh), g.band_width
        self.nd = [b.alloc([1, LANES, rows, width], el, "ub") for _ in PING]
        self.band = b.alloc([1, 1, rows, width, LANES], el, "ub", "NC1HWC0")
        self.wnd = [b.alloc([LANES, g.taps], el, "ub") for _ in PING]
        self.wt = b.alloc([g.taps, LANES], el, "ub")
        self.acc = b.alloc([1, 1, bh, wo, LANES], f32, "ub", "NC1HWC0")
        self.out_nd = [b.alloc([1, LANES, bh, wo], el, "ub") for _ in PING]
        self.f16 = str(el) != "f32"
        if self.f16:
            self.band32 = b.alloc([1, 1, rows, width, LANES], f32, "ub", "NC1HWC0")
            self.wt32 = b.alloc([g.taps, LANES], f32, "ub")
            self.result = b.alloc([1, 1, bh, wo, LANES], el, "ub", "NC1HWC0")
        else:
            self.band32, self.wt32, self.result = self.band, self.wt, self.acc
        vector = [1, 1, 1, 1, LANES]
        self.tiles = [[b.alloc(vector, el, "ub") for _ in self.channel_ops] for _ in PING]
        self.res_nd, self.res = [], None
        if self.residual is not None:
            self.res_nd = [b.alloc([1, LANES, bh, wo], el, "ub") for _ in PING]
            self.res = b.alloc([1, 1, bh, wo, LANES], el, "ub", "NC1HWC0")

    def _where(self, u: Index) -> dict:
        """Index values of unit u = item * cg + input channel."""
        b, g, cg = self.b, self.g, self.g.cg
        item, ci = b.divui(u, cg), b.remui(u, cg)
        band, rest = b.remui(item, self.bands), b.divui(item, self.bands)
        ob, image = b.remui(rest, g.channel_blocks), b.divui(rest, g.channel_blocks)
        y0, oc0 = b.muli(band, self.bh), b.muli(ob, LANES)
        bhext = b.extent(y0, self.bh, g.out_hw[0])
        oext = b.extent(oc0, LANES, g.o)
        py0 = b.muli(y0, g.strides[0])
        end = b.addi(py0, b.addi(b.muli(b.subi(bhext, 1), g.strides[0]), g.span[0]))
        return dict(ci=ci, image=image, y0=y0, oc0=oc0, bhext=bhext, oext=oext, py0=py0, end=end)

    def _needs_zero(self, at: dict) -> SSAValue | None:
        """Whether the band of `at` reads rows above or below the image (None: never)."""
        b, g, pt = self.b, self.g, self.g.pads[0]
        conds = []
        if pt > 0:
            conds.append(b.ult(at["py0"], pt))
        if g.band_rows(g.out_hw[0]) > g.h + pt:  # the last output row reads below the image
            conds.append(b.ult(g.h + pt, at["end"]))
        if not conds:
            return None
        if len(conds) == 1:
            return conds[0]
        return b.add(arith.OrIOp(*conds)).results[0]

    def _last_channel(self, at: dict) -> SSAValue | None:
        """Whether the unit is its item's last input channel (None: always, depthwise)."""
        return None if self.g.cg == 1 else self.b.ult(self.g.cg - 2, at["ci"])

    def _load_unit(self, p: int, u: Index) -> None:
        """MTE2: unit u's inputs into the ping (p = 0) or pong (1) buffers."""
        b, at = self.b, self._where(u)
        b.wait_flag("V", "MTE2", p)
        self._load(p, at)
        if self.tiles[p] or self.res_nd:
            with self._only(self._last_channel(at)):
                self._load_epilogue(p, at)
        b.set_flag("MTE2", "V", p)

    def _compute_unit(self, p: int, u: Index) -> None:
        """V: unit u's taps (and after its item's last channel the epilogue); MTE3 stores."""
        b, at = self.b, self._where(u)
        last = self._last_channel(at)
        b.wait_flag("MTE2", "V", p)
        self._accumulate(p, at, u)
        with self._only(last):
            self._finish(p)
        b.set_flag("V", "MTE2", p)
        with self._only(last):
            b.wait_flag("V", "MTE3", p)
            size = [1, at["oext"], at["bhext"], self.g.out_hw[1]]
            dst = [at["image"], at["oc0"], at["y0"], 0]
            b.dma(self.out_nd[p], [0, 0, 0, 0], size, self.out, dst, size)
            b.set_flag("MTE3", "V", p)

    def _only(self, cond: SSAValue | None):  # noqa: ANN202
        """`with self._only(cond)`: a block that runs when cond holds (always when None)."""
        from contextlib import nullcontext

        return nullcontext() if cond is None else self.b.when(cond)

    def _load(self, p: int, at: dict) -> None:
        """MTE2: the channel's weights (16, taps) and the band's rows into nd[p]."""
        b, g = self.b, self.g
        kh, kw = g.kernel
        wsize = [at["oext"], 1, kh, kw]
        b.dma(self.w, [at["oc0"], at["ci"], 0, 0], wsize, self.wnd[p], [0, 0], [at["oext"], g.taps])
        if g.copy_width == 0:
            return
        pt = g.pads[0]
        lo = b.subi(at["py0"], b.minui(at["py0"], pt))
        hi = b.minui(b.subi(at["end"], b.minui(at["end"], pt)), g.h)
        with b.when(b.ult(lo, hi)):
            rows, roff = b.subi(hi, lo), b.subi(b.addi(lo, pt), at["py0"])
            size = [1, at["oext"] if g.lane_per_channel else 1, rows, g.copy_width]
            if g.lane_per_channel:
                src = [at["image"], at["oc0"], lo, 0]
                b.dma(self.x, src, size, self.nd[p], [0, 0, roff, g.pads[1]], size)
                return
            for lane in range(min(LANES, g.o)):
                oc = b.addi(at["oc0"], lane)
                ic = b.addi(b.muli(b.divui(oc, g.og), g.cg), at["ci"])
                with self._only(None if g.o % LANES == 0 else b.ult(lane, at["oext"])):
                    dst = [0, lane, roff, g.pads[1]]
                    b.dma(self.x, [at["image"], ic, lo, 0], size, self.nd[p], dst, size)

    def _load_epilogue(self, p: int, at: dict) -> None:
        b = self.b
        for value, tile in zip(self.channel_ops, self.tiles[p]):
            size = [1, 1, 1, 1, at["oext"]]
            b.dma(value, [at["oc0"]], [at["oext"]], tile, [0] * 5, size)
        if self.residual is not None:
            size = [1, at["oext"], at["bhext"], self.g.out_hw[1]]
            src = [at["image"], at["oc0"], at["y0"], 0]
            b.dma(self.residual, src, size, self.res_nd[p], [0, 0, 0, 0], size)

    def _accumulate(self, p: int, at: dict, u: Index) -> None:
        """V: weights to (taps, 16), the band to NC1HWC0 (f32), then one vmla per tap."""
        b, g = self.b, self.g
        (kh, kw), (sh, sw), (dh, dw) = g.kernel, g.strides, g.dilations
        b.add(VecTransposeOp(self.wnd[p], self.wt, [1, 0]))
        b.add(TransDataOp(self.nd[p], self.band))
        if self.f16:
            b.add(VecCastOp(self.wt, self.wt32))
            b.add(VecCastOp(self.band, self.band32))
        zero = self._needs_zero(self._where(b.addi(u, 2)))
        if zero is not None:
            with b.when(zero):  # the next band in nd[p] reaches above or below the image
                b.add(VecDupOp(0.0, self.nd[p]))
        with self._only(None if g.cg == 1 else b.ult(at["ci"], 1)):
            b.add(VecDupOp(0.0, self.acc))
        for i in range(kh):
            for j in range(kw):
                offsets, steps = [0, 0, i * dh, j * dw, 0], [1, 1, sh, sw, 1]
                b.add(VecWindowMlaOp(self.band32, offsets, steps, self.wt32, i * kw + j, self.acc))

    def _finish(self, p: int) -> None:
        """V: the accumulator to the output type, the epilogue, and back to NCHW in out_nd[p]."""
        b = self.b
        if self.f16:
            b.add(VecCastOp(self.acc, self.result))
        tiles = dict(zip(self.channel_ops, self.tiles[p]))
        if self.residual is not None:
            b.add(TransDataOp(self.res_nd[p], self.res))
            tiles[self.residual] = self.res
        apply_steps(b, self.steps, self.result, tiles)
        b.wait_flag("MTE3", "V", p)
        b.add(TransDataOp(self.result, self.out_nd[p]))
        b.set_flag("V", "MTE3", p)
