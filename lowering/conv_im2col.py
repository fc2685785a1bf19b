"""kernel.conv2d -> npu.kernel by im2col: patches (pixels, K) @ weights (K, out channels).

The output of each (image, group) is cut into units of (tm pixels, tn channels); each core
takes a contiguous run of units (`lowering.conv_tiling` picks the tile and the order of the
units). A unit loads its input rows into L1 in NC1HWC0 and its weight columns in the img2col K
order (`lowering.conv_im2col_loads`); its K loop unfolds patch columns with `npu.img2col`
(MTE1, padding, stride and dilation) into L0A and weight rows into L0B, ping/pong, and
accumulates on the cube into L0C; the drain moves L0C through FIX to UB, transposes it to
(channels, pixels), runs the conv epilogue on the vector unit and MTE3 writes it into the
NCHW output.

Why software pipelined: run one after another, the stages of a unit cost their sum (a 64ch
56x56 3x3 conv took 3.7x its busiest pipe). Units alternate between two sets of buffers (rows
or weights in L1, L0C, UB output), and the program runs the K loop of unit u - 1, the loads of
unit u, then the drain of u - 1: loads run while the cube works, and the drain of one unit
while the next one's K loop runs. The loads of unit u are issued before the store of u - 1
because a core's HBM channel serves its DMAs in issue order. Flags between the stages say
when a buffer is ready or free again; the one that stays in L1 across units (weights in the
`rows` order, rows in the `weights` order) is reloaded only when its tile changes. Within a
unit, K comes in up to 8 or 16 parts (C1 slices; the tile search chooses), each in L1
buffers of its own with a ready flag, so the cube starts on the first part while the next
ones load. One unit per core is the same code without the loop.
"""

from __future__ import annotations

import dataclasses

from xdsl.dialects.builtin import DictionaryAttr, f32
from xdsl.ir import Operation, SSAValue

from gedialects.errors import UnsupportedError
from gedialects.ge.types import to_numpy_dtype
from gedialects.kernel.ops import Conv2DKernelOp
from gedialects.npu.attrs import BufferType
from gedialects.npu.buffers import ReshapeOp
from gedialects.npu.launch import KernelOp
from gedialects.npu.vector import VecDupOp
from lowering.conv_im2col_drain import ChunkedDrain, epilogue_tile
from lowering.conv_im2col_fold import fold_rows
from lowering.conv_im2col_kloop import ROWS_EVENT, WEIGHTS_EVENT, KLoop
from lowering.conv_im2col_loads import (
    RowLoader,
    img2col_order_weights,
    load_weights,
    open_stages,
)
from lowering.conv_im2col_units import UnitSchedule, _eq
from lowering.conv_tiling import (
    FRACTAL,
    ConvShape,
    ConvTiling,
    choose_conv_tile,
    folded,
    fractal_up,
    parts,
    skips_rows,
    staged_taps,
)
from lowering.gemm_epilogue import Step, activation_steps, scratch_spans
from lowering.npu_builder import Index, KernelBuilder
from runtime.targets import Target

__all__ = ["Im2ColConv", "img2col_order_weights"]

ZERO_EVENT = 3
PARITY = (0, 1)


ZERO_KEEPING = {"relu", "leaky_relu", "tanh", "abs", "neg", "erf", "clip"}
"""Input activations the staging applies: f(0) = 0, so the rows a folded conv's loads clear
as padding stay zero once activated (a clip must hold 0 between its bounds)."""


def keeps_zero(name: str, attrs: DictionaryAttr | None) -> bool:
    """Whether activation `name` maps 0 to 0 (`ZERO_KEEPING`; a clip whose bounds hold 0)."""
    if name != "clip" or attrs is None:
        return name in ZERO_KEEPING
    bounds = {key: value.value.data for key, value in attrs.data.items()}
    return bounds.get("min", 0.0) <= 0.0 <= bounds.get("max", float("inf"))


def input_steps(op: Operation) -> list[Step]:
    """The vector steps of `op`'s `input_activation` (none without one), in-place ones that
    keep zero; any other is refused (the kernel then runs by reference)."""
    if not isinstance(op, Conv2DKernelOp) or op.input_activation is None:
        return []  # (the transposed conv passes a stand-in of its geometry: none)
    name, attrs = op.input_activation, op.input_activation_attrs
    if not keeps_zero(name.data, attrs):
        raise UnsupportedError(f"{op.name}: no npu lowering of input activation '{name.data}'")
    return activation_steps(name.data, attrs)


class Im2ColConv(UnitSchedule, KLoop, ChunkedDrain):
    """The plan of one im2col convolution kernel (geometry, tiles) and the code that emits it."""

    def __init__(self, op: Operation, x: SSAValue, w: SSAValue, out: SSAValue, target: Target):
        self.op, self.x, self.w, self.out = op, x, w, out
        self.n, self.c, self.h, self.wd = x.type.dims
        o, self.cg, self.kh, self.kw = w.type.dims
        self.groups = op.get_int("groups")
        self.og = o // self.groups
        self.o = o
        self.m = out.type.dims[-1]
        self.out_height, self.out_width = op.output.type.get_shape()[-2:]
        pt, pl, pb, pr = op.ints("pads")
        (self.sh, sw), (dh, dw) = op.ints("strides"), op.ints("dilations")
        self.pads, self.span = (pt, pb), dh * (self.kh - 1) + 1
        self.geometry = dict(
            kernel=(self.kh, self.kw), strides=(self.sh, sw), pads=(0, 0, pl, pr),
            dilations=(dh, dw),
        )  # fmt: skip
        self.element = x.type.element_type
        self.target = target
        self.fold = None
        """How folded rows are gathered (`conv_im2col_fold.Fold`), when the tiling folds."""
        self.views: list[Operation] = []
        """HBM views the kernel reads through; the caller places them before the kernel."""
        if skips_rows(self.span, self.sh, self.pads, self.h):
            self._skip_rows()
        self.laid_weights = img2col_order_weights(w, self.groups)
        """Weights in the cube's K order, made at compile time (constant weights only); the
        caller places this `npu.hbm_constant` before the kernel."""
        self.prologue = input_steps(op)
        """The input activation's vector steps, run on each staged chunk of rows."""
        self.refoldable = self.laid_weights is not None
        """Whether `w` is the constant that the weights are laid out from, so that folding
        kernel rows into channels can refold it (not when a caller lays out weights of its
        own, as the transposed conv does with flipped or runtime weights)."""

    def _skip_rows(self) -> None:
        """A 1-row kernel with a vertical stride reads one input row in sh: seen through an
        (N, C, H / sh, sh * W) view whose first W columns are those rows, the tile's rows
        come in one DMA each without the rows between (half the bytes at stride 2), and
        img2col runs with a vertical stride of 1."""
        dims = (self.n, self.c, self.h // self.sh, self.sh * self.wd)
        view = ReshapeOp(self.x, BufferType(dims, self.element, "hbm"))
        self.views.append(view)
        self.x, self.h, self.sh = view.result, dims[2], 1
        self.geometry["strides"] = (1, self.geometry["strides"][1])

    def plan(self, operands: list[SSAValue], steps: list[Step]) -> ConvTiling:
        spans = tuple(
            (len(v.type.dims) >= 2 and v.type.dims[-2] != 1, v.type.dims[-1] != 1) for v in operands
        )
        spans += scratch_spans(steps)
        shape = ConvShape(
            self.cg, self.h, self.wd, self.kh * self.kw, self.m, self.og,
            self.n * self.groups, to_numpy_dtype(self.element).itemsize, spans,
            self.out_width, self.sh, self.span, self.pads, self.laid_weights is not None,
            to_numpy_dtype(self.out.type.element_type).itemsize, self.kh if self.refoldable else 1,
            prologue=len(self.prologue),
        )  # fmt: skip
        tiling = choose_conv_tile(self.target, shape)
        if tiling is None:
            raise UnsupportedError(
                f"{self.op.name}: the input rows of one output row of a {self.cg}x{self.h}x"
                f"{self.wd} image (per group) and 16 weight columns do not fit L1"
            )
        shape = dataclasses.replace(shape, max_parts=tiling.parts)
        if tiling.fold:
            fold_rows(self)
            shape = folded(shape)
        self.shape, self.tiling = shape, tiling
        return tiling

    def emit(self, name: str, steps: list[Step]) -> KernelOp:
        operands = [s.operand for s in steps if s.operand is not None]
        t = self.plan(operands, steps)
        self.steps = steps
        self.no, self.nm = -(-self.og // t.tn), -(-self.m // t.tm)
        units = self.n * self.groups * self.nm * self.no
        per = -(-units // t.blocks)
        kernel = KernelOp(name, -(-units // per), fused_from=self.op.fused_names, kind="conv2d")
        b = self.b = KernelBuilder(kernel)
        self._alloc(operands)
        self._flags(close=False)
        first = b.muli(b.block_index, per)
        last = b.minui(b.addi(first, per), units)
        self.first, self.last = first, last
        split = self.tiling.split
        if per == 1:  # one unit per core: nothing to overlap across units
            self._load(0, first)
            self._k_loop(0, first, (False, None) if split else None)
            self._drain(0, first, (False, None) if split else None)
            self._flags(close=True)
            return kernel
        # Skewed by one unit: K loop of u - 1, loads of u, drain of u - 1 (see the docstring);
        # the core's last unit runs in two pieces (`_paths`) when the tiling splits it.
        with b.loop(first, b.addi(last, 1), 2) as u0:
            prev, u1 = b.subi(u0, 1), b.addi(u0, 1)
            ends = (b.ult(u0, last), _eq(b, u0, last)) if split else None  # prev is the last
            with b.when(b.ult(first, u0)):
                self._k_loop(1, prev, ends)
            with b.when(b.ult(u0, last)):
                self._load(0, u0)
            with b.when(b.ult(first, u0)):
                self._drain(1, prev, ends)
            ends = (b.ult(u1, last), _eq(b, u1, last)) if split else None  # u0 is the last
            with b.when(b.ult(u0, last)):
                self._k_loop(0, u0, ends)
            with b.when(b.ult(u1, last)):
                self._load(1, u1)
            with b.when(b.ult(u0, last)):
                self._drain(0, u0, ends)
        self._flags(close=True)
        return kernel

    def _alloc(self, operands: list[SSAValue]) -> None:
        b, el, t, s = self.b, self.element, self.tiling, self.shape
        rows, tile_rows, g, taps = t.rows, s.tile_rows(t.tm), t.part, self.kh * self.kw
        self.parts = parts(s)
        self.img = [
            [b.alloc([1, n, tile_rows, self.wd, FRACTAL], el, "l1", "NC1HWC0") for n in self.parts]
            for _ in range(t.row_buffers())
        ]
        self.wl1 = [
            [b.alloc([n * taps * FRACTAL, t.tn], el, "l1", "FRACTAL_Z") for n in self.parts]
            for _ in range(t.weight_buffers())
        ]
        nd = [b.alloc([1, g * FRACTAL, rows, self.wd], el, "ub") for _ in PARITY]
        five = [b.alloc([1, g, rows, self.wd, FRACTAL], el, "ub", "NC1HWC0") for _ in PARITY]
        zero = None
        if max(self.pads):
            zero = b.alloc([1, g, 1, self.wd, FRACTAL], el, "ub", "NC1HWC0")
            b.add(VecDupOp(0.0, zero))
            b.sync("V", "MTE3", ZERO_EVENT)
        self.rows = RowLoader(self, nd, five, zero)
        self.staged = staged_taps(self.target, s, t.tm, t.tn)
        if self.laid_weights is None and self.staged == taps:  # a channel tile's filters whole
            self.wnd = [b.alloc([t.tn, FRACTAL, self.kh, self.kw], el, "ub") for _ in PARITY]
            self.wtr = [b.alloc([self.kh, self.kw, FRACTAL, t.tn], el, "ub") for _ in PARITY]
        elif self.laid_weights is None:  # in parts of `staged` taps, from (O, Cg, taps)
            self.wnd = [b.alloc([t.tn, FRACTAL, self.staged], el, "ub") for _ in PARITY]
            self.wtr = [b.alloc([self.staged, FRACTAL, t.tn], el, "ub") for _ in PARITY]
            taps_view = BufferType((self.o, self.cg, taps), self.w.type.element_type, "hbm")
            self.views.append(view := ReshapeOp(self.w, taps_view))
            self.w_taps = view.result
        self.pings = PARITY if s.k > t.tk else (0,)
        fm = fractal_up(t.tm)  # a tile of whole output rows need not be whole fractals
        self.a0 = [b.alloc([fm, t.tk], el, "l0a", "FRACTAL_NZ") for _ in self.pings]
        self.b0 = [b.alloc([t.tk, t.tn], el, "l0b", "FRACTAL_Z") for _ in self.pings]
        self.c0 = [b.alloc([fm, t.tn], f32, "l0c", "FRACTAL_NZ") for _ in PARITY]
        pieces = (t.split, t.tm - t.split) if t.split else ()
        self.c0_last = [b.alloc([fractal_up(n), t.tn], f32, "l0c", "FRACTAL_NZ") for n in pieces]
        out_el = self.out.type.element_type
        self._alloc_drain(b, out_el)
        self.tiles = {
            v: b.alloc(epilogue_tile(v, t.tn, self.chunk), out_el, "ub") for v in operands
        }
        self.w_pipe = "MTE2" if self.laid_weights is not None else "MTE3"

    def _flags(self, close: bool) -> None:
        """The flags that say a buffer is free, set once before the first unit (and waited
        once after the last): staging, rows, weights, L0C, UB output, epilogue tiles."""
        b, flag = self.b, (self.b.wait_flag if close else self.b.set_flag)
        open_stages(b, close)
        for q in range(len(self.img)):  # free flags per buffer set (all K parts at once)
            flag("MTE1", "MTE3", ROWS_EVENT + q)
        for x in range(len(self.wl1)):
            flag("MTE1", self.w_pipe, WEIGHTS_EVENT + x)
        for p in PARITY:
            flag("FIX", "M", p)
            flag("V", "FIX", p)
            flag("MTE3", "V", p)
        if self.tiles:
            flag("V", "MTE2", 2)

    def _load(self, p: int, u: Index) -> None:
        """Unit u's rows and weights, one K part at a time (each part's ready flag lets the
        K loop start on it)."""
        b, at = self.b, self._where(u)
        q, x = self._slots(p)
        rows_cond, w_cond = self._conds(u, at)
        win = self.rows.window(at["m0"], at["mext"])
        with self._only(rows_cond):
            b.wait_flag("MTE1", "MTE3", ROWS_EVENT + q)
        with self._only(w_cond):
            b.wait_flag("MTE1", self.w_pipe, WEIGHTS_EVENT + x)
        for i, slices in enumerate(self.parts):
            with self._only(rows_cond):
                self.rows.zeros(self.img[q][i], slices, win)
                c1 = sum(self.parts[:i])
                self.rows.part(self.img[q][i], at["image"], at["group"], i, c1, win)
                b.set_flag("MTE3", "MTE1", ROWS_EVENT + q)
            with self._only(w_cond):
                c1 = sum(self.parts[:i])
                load_weights(self, self.wl1[x][i], at["group"], at["o0"], at["oext"], c1)
                b.set_flag(self.w_pipe, "MTE1", WEIGHTS_EVENT + x)
