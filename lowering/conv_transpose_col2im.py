"""The col2im half of a transposed convolution by GEMM: cols (N, G, O/g * kh * kw, H * W) =
Wᵀ @ X on the cube, then this vector kernel scatter-adds each tap's (H, W) block into the
output.

Output row r of tap row i and input row y is i * dh + y * sh = (y + q) * sh + p with
(q, p) = divmod(i * dh, sh): the taps of one phase p add into every sh-th row. So an item
(image, group, `to` output channels) keeps one accumulator per phase (py, px), (to, Hq, Wq),
and a tap adds its block at rows/columns offset (qi, qj) of its phase's accumulator. Vector
ops read windows on their source, not their destination, so the block is DMA'd into a zeroed
(to, Hq + Q, Wq + Qw) buffer at (Q, Qw) and one `vec_window add` at offsets (Q - qi, Qw - qj)
adds it to the whole accumulator. The phases are then interleaved by UB -> UB copies into the
(.., 0..py.., .., px) boxes of a (to, Hq, sh, Wq, sw) canvas, which, viewed row-major as
(to, Hq * sh, Wq * sw), is the uncropped output: a copy to that shape, the bias, and a store
of the window the pads leave. Tap blocks are ping/pong so MTE2 loads the next tap while V adds
this one.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.ir import Operation, SSAValue

from gedialects.errors import UnsupportedError
from gedialects.ge.types import element_of, to_numpy_dtype
from gedialects.kernel.mirrored import ConvTranspose2DKernelOp
from gedialects.npu.attrs import BufferType
from gedialects.npu.buffers import HbmAllocOp, HbmConstantOp, ReshapeOp, constant_array
from gedialects.npu.launch import KernelOp
from gedialects.npu.vector import BINARY_OPS, VecDupOp
from gedialects.npu.window import VecWindowOp
from lowering.gemm import emit_gemm
from lowering.gemm_epilogue import Step, activation_steps, apply_steps, scratch_spans
from lowering.lower_movement import transpose_last_two
from lowering.npu_builder import KernelBuilder
from lowering.tiling import ALIGN, choose_matmul_tile
from runtime.cost_model import hbm_share
from runtime.targets import Target

ISSUE = 8


@dataclass(frozen=True)
class Col2ImGeometry:
    """The transposed conv's shape as col2im sees it."""

    n: int
    groups: int
    og: int
    h: int
    w: int
    kernel: tuple[int, int]
    strides: tuple[int, int]
    dilations: tuple[int, int]
    out: tuple[int, int]  # Ho, Wo
    pads: tuple[int, int]  # top, left (cropped from the uncropped output)
    activation: tuple[Step, ...] = ()
    """The epilogue activation's vector steps, applied to the canvas after the bias."""

    def phase(self, axis: int, tap: int) -> tuple[int, int]:
        """(q, p): tap `tap` of `axis` adds into phase p at offset q."""
        return divmod(tap * self.dilations[axis], self.strides[axis])

    def extent(self, axis: int) -> int:
        """Hq (Wq): rows per phase accumulator, enough for the taps and the cropped output."""
        size = (self.h, self.w)[axis]
        q = self.phase(axis, self.kernel[axis] - 1)[0]
        need = self.pads[axis] + self.out[axis]
        return max(size + q, -(-need // self.strides[axis]))

    def unit_bytes(self, isz: int) -> int:
        """UB bytes per output channel of an item: two tap buffers, the phase accumulators, the
        canvas and its row-major copy (and a scratch copy for an activation that needs one)."""
        (sh, sw), hq, wq = self.strides, self.extent(0), self.extent(1)
        q, qw = self.phase(0, self.kernel[0] - 1)[0], self.phase(1, self.kernel[1] - 1)[0]
        copies = 3 if scratch_spans(list(self.activation)) else 2
        return (2 * (hq + q) * (wq + qw) + sh * sw * hq * wq + copies * hq * sh * wq * sw) * isz

    def activation_passes(self) -> int:
        """Vector passes over the canvas the activation takes (a modeling figure: one for a
        one-instruction activation, six for those that keep a scratch copy)."""
        if not self.activation:
            return 0
        return 6 if scratch_spans(list(self.activation)) else 1


def channels_per_item(g: Col2ImGeometry, target: Target, isz: int) -> tuple[int, float]:
    """(output channels per item, estimated cycles): the fewest estimated cycles of the slowest
    core (items over the vector cores; per item a DMA per tap overlapped with its window
    add, the phase copies and the store) among the channel counts whose buffers fit UB;
    (0, inf) if none."""
    phases = g.strides[0] * g.strides[1]
    most = (target.capacity_of("ub") - 64 - (phases + 5) * ALIGN) // g.unit_bytes(isz)
    best: tuple[int, float] = (0, float("inf"))
    (kh, kw), hq, wq = g.kernel, g.extent(0), g.extent(1)
    for to in sorted({1 << i for i in range(g.og.bit_length())} | {g.og}):
        if to > most:
            break
        items = g.n * g.groups * -(-g.og // to)
        blocks = min(items, target.vector_cores)
        share = min(target.rate("hbm", "ub"), hbm_share(target, blocks))
        block = to * g.h * g.w * isz
        canvas = to * hq * wq * phases * isz
        per = kh * kw * max(ISSUE + block / share, canvas / phases / 256)  # ping/pong taps
        per += (3 + g.activation_passes()) * canvas / 256
        per += to * g.out[0] * g.out[1] * isz / share + 4 * ISSUE
        cycles = -(-items // blocks) * per
        if cycles < best[1]:
            best = (to, cycles)
    return best


def col2im_kernel(
    name: str,
    cols: SSAValue,
    bias: SSAValue | None,
    out: SSAValue,
    g: Col2ImGeometry,
    target: Target,
    to: int,
    fused: list[str],
) -> KernelOp:
    """cols (N, G, Og, kh * kw, H, W) and bias (O, 1, 1) -> out (N, O, Ho, Wo)."""
    (kh, kw), (sh, sw), element = g.kernel, g.strides, out.type.element_type
    hq, wq = g.extent(0), g.extent(1)
    q, qw = g.phase(0, kh - 1)[0], g.phase(1, kw - 1)[0]
    no = -(-g.og // to)
    items = g.n * g.groups * no
    blocks = min(items, target.vector_cores)
    kernel = KernelOp(name, blocks, fused_from=fused, kind="conv_transpose2d")
    b = KernelBuilder(kernel)
    taps = [b.alloc([to, hq + q, wq + qw], element, "ub") for _ in (0, 1)]
    acc = {(py, px): b.alloc([to, hq, wq], element, "ub") for py in range(sh) for px in range(sw)}
    canvas = b.alloc([to, hq, sh, wq, sw], element, "ub")
    flat = b.alloc([to, hq * sh, wq * sw], element, "ub")
    column = b.alloc([to, 1, 1], element, "ub") if bias is not None else None
    for buf in taps:
        b.add(VecDupOp(0.0, buf))
    b.add(VecDupOp(0.0, canvas))
    b.set_flag("V", "MTE2", 0)
    b.set_flag("V", "MTE2", 1)
    b.set_flag("MTE3", "V", 2)
    with b.loop(b.block_index, items, blocks) as item:
        ng, o0 = b.divui(item, no), b.muli(b.remui(item, no), to)
        image, group = b.divui(ng, g.groups), b.remui(ng, g.groups)
        oe = b.extent(o0, to, g.og)
        for buf in acc.values():
            b.add(VecDupOp(0.0, buf))
        for t in range(kh * kw):
            (qi, pi), (qj, pj) = g.phase(0, t // kw), g.phase(1, t % kw)
            p = t % 2
            b.wait_flag("V", "MTE2", p)
            b.dma(cols, [image, group, o0, t, 0, 0], [1, 1, oe, 1, g.h, g.w], taps[p],
                  [0, q, qw], [oe, g.h, g.w])  # fmt: skip
            b.sync("MTE2", "V", 3 + p)
            b.add(VecWindowOp("add", taps[p], [0, q - qi, qw - qj], [1, 1, 1], acc[(pi, pj)]))
            b.set_flag("V", "MTE2", p)
        b.wait_flag("MTE3", "V", 2)
        for (py, px), buf in acc.items():
            b.dma(buf, [0, 0, 0], [to, hq, wq], canvas, [0, 0, py, 0, px], [to, hq, 1, wq, 1])
        b.dma(canvas, [0] * 5, [to, hq, sh, wq, sw], flat, [0, 0, 0], [to, hq * sh, wq * sw])
        if bias is not None and column is not None:
            channel = b.addi(b.muli(group, g.og), o0)
            b.sync("V", "MTE2", 5)
            b.dma(bias, [channel, 0, 0], [oe, 1, 1], column, [0, 0, 0])
            b.sync("MTE2", "V", 5)
            b.add(BINARY_OPS["add"](flat, column, flat))
        apply_steps(b, list(g.activation), flat, {})
        b.sync("V", "MTE3", 2)
        (ho, wo), (pt, pl) = g.out, g.pads
        channel = b.addi(b.muli(group, g.og), o0)
        b.dma(flat, [0, pt, pl], [oe, ho, wo], out, [image, channel, 0, 0], [1, oe, ho, wo])
        b.set_flag("MTE3", "V", 2)
    b.wait_flag("V", "MTE2", 0)
    b.wait_flag("V", "MTE2", 1)
    b.wait_flag("MTE3", "V", 2)
    return kernel


def col2im_geometry(op: ConvTranspose2DKernelOp) -> Col2ImGeometry:
    n, c, h, w = op.input.type.get_shape()
    _, og, kh, kw = op.weight.type.get_shape()
    pads = op.ints("pads")
    return Col2ImGeometry(
        n, op.get_int("groups"), og, h, w, (kh, kw), tuple(op.ints("strides")),
        tuple(op.ints("dilations")), tuple(op.output.type.get_shape()[2:]), (pads[0], pads[1]),
        tuple(transposed_activation(op)),
    )  # fmt: skip


def transposed_activation(op: ConvTranspose2DKernelOp) -> list[Step]:
    """The vector steps of `op`'s epilogue activation (none without one); raises
    UnsupportedError for an activation with no npu lowering."""
    name = op.activation.data if op.activation is not None else None
    return activation_steps(name, op.activation_attrs)


def lower_by_col2im(
    op: ConvTranspose2DKernelOp, inputs: list[SSAValue], output: SSAValue, target: Target, name: str
) -> list[Operation]:
    """cols = Wᵀ @ X per (image, group) on the cube, then `col2im_kernel`."""
    g = col2im_geometry(op)
    element, (kh, kw) = inputs[0].type.element_type, g.kernel
    cg, rows = inputs[0].type.dims[1] // g.groups, g.og * kh * kw
    ops: list[Operation] = []
    data = constant_array(inputs[1])
    if data is not None:
        wt = data.reshape(g.groups, cg, rows).transpose(0, 2, 1)
        const = HbmConstantOp.from_array(wt[None], element)
        ops.append(const)
        a = const.buffer
    else:
        temp = HbmAllocOp(BufferType((g.groups, rows, cg), element, "hbm"))
        w_view = _view(inputs[1], (g.groups, cg, rows), ops)
        ops += [temp, transpose_last_two(w_view, temp.buffer, target, f"{name}_wt")]
        a = _view(temp.buffer, (1, g.groups, rows, cg), ops)
    x = _view(inputs[0], (g.n, g.groups, cg, g.h * g.w), ops)
    cols = HbmAllocOp(BufferType((g.n, g.groups, rows, g.h * g.w), element, "hbm"))
    ops.append(cols)
    ops.append(emit_gemm(a, x, cols.buffer, target, f"{name}_gemm", op.fused_names, "matmul", []))
    six = _view(cols.buffer, (g.n, g.groups, g.og, kh * kw, g.h, g.w), ops)
    bias = _view(inputs[2], (g.groups * g.og, 1, 1), ops) if len(inputs) > 2 else None
    to = channels_per_item(g, target, to_numpy_dtype(element).itemsize)[0]
    kernel = col2im_kernel(name, six, bias, output, g, target, to, op.fused_names)
    return [*ops, kernel]


def col2im_estimate(op: ConvTranspose2DKernelOp, target: Target) -> float:
    """Estimated cycles of the GEMM (batched over images and groups, tiles over the cores)
    and of the col2im kernel; inf when one output channel's buffers do not fit UB (or its
    activation has no npu lowering)."""
    try:
        g = col2im_geometry(op)
    except UnsupportedError:
        return float("inf")
    isz = to_numpy_dtype(element_of(op.output.type)).itemsize
    to, cycles = channels_per_item(g, target, isz)
    if not to:
        return float("inf")
    rows, cg = g.og * g.kernel[0] * g.kernel[1], op.input.type.get_shape()[1] // g.groups
    t = choose_matmul_tile(target, rows, g.h * g.w, cg, isz)
    tiles = -(-rows // t.tm) * -(-(g.h * g.w) // t.tn)
    per_core = -(-tiles // min(tiles, target.ai_cores))
    return cycles + t.estimate * -(-g.n * g.groups * tiles // target.ai_cores) / per_core


def _view(value: SSAValue, dims: tuple[int, ...], ops: list[Operation]) -> SSAValue:
    view = ReshapeOp(value, BufferType(dims, value.type.element_type, "hbm"))
    ops.append(view)
    return view.result
