"""kernel.conv_transpose2d -> npu: an ordinary convolution of the zero-inserted input with the
flipped kernel, through the im2col cube lowering (`lowering.conv_im2col`).

y = conv_transpose(x, w) is conv(Z, w') where Z puts (stride - 1) zeros between the input's
rows and columns, the padding is dilation * (k - 1) - pads (top/left; bottom/right whatever
the output size needs, output_padding included), the conv has stride 1 and the same dilation,
and w'[g * O/g + o, c, i, j] = w[g * C/g + c, o, kh - 1 - i, kw - 1 - j]. Z is built by a
vector-unit kernel into an HBM temporary (`conv_transpose_prep.zero_insert_kernel`; skipped
for stride 1); constant weights are laid out at compile time in the cube's K order, runtime
weights (as ONNX's node tests feed them) by a small vector kernel (`flip_weights_kernel`).
The bias is the conv's epilogue. Groups, dilations, output_padding and any stride work; pads
larger than dilation * (k - 1) on the top or left (a negative conv padding) are refused.

Why not GEMM + col2im, cols (O kh kw, C) @ X (C, H W) then a scatter-add of the column
blocks into the output: it runs stride^2 fewer cube flops, but each tap's block is added into
a strided window of the output, and no vector op of the npu dialect writes a strided
destination (`vec_window` strides its source), so col2im needs a phase-split accumulator
layout this lowering does not build yet. Measured (`benchmarks/bench_conv_transpose.py`, f16,
ascend910a, modeled cycles; zero insertion + conv against the alternative's GEMM + a lower
bound of col2im at the chip's HBM rate): DCGAN 512->256 4x4 9,888 vs >= 4,626; 128->64
16x16 2,436 vs >= 2,024; UNet k2 s2 128->64 32x32 4,702 vs >= 2,400; 3x3 s2 64ch 28x28
2,660 vs >= 2,935. So col2im could win up to ~2x on stride-2 4x4 and 2x2 decoders if it ran
at HBM speed; that is the open step, not a choice made by the figures.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.dialects.builtin import DenseIntOrFPElementsAttr
from xdsl.ir import Operation, SSAValue

from gedialects.errors import UnsupportedError
from gedialects.ge.constant import dense_from_numpy, dense_to_numpy
from gedialects.kernel.ops import ConvTranspose2DKernelOp
from gedialects.npu.attrs import BufferType
from gedialects.npu.ops import HbmAllocOp, HbmConstantOp, ReshapeOp
from lowering.conv_im2col import Im2ColConv, img2col_order_weights
from lowering.conv_transpose_prep import flip_weights_kernel, zero_insert_kernel
from lowering.lower_matmul import Step
from lowering.registry import lowers
from runtime.targets import Target


@dataclass(frozen=True)
class _ConvGeometry:
    """What `Im2ColConv` reads of a conv op: the equivalent stride-1 conv's attributes."""

    name: str
    fused_names: list[str]
    output: SSAValue
    groups: int
    pads: tuple[int, int, int, int]  # ONNX order: top, left, bottom, right
    dilations: tuple[int, int]

    def get_int(self, key: str) -> int:
        assert key == "groups"
        return self.groups

    def ints(self, key: str) -> tuple[int, ...]:
        return {"strides": (1, 1), "pads": self.pads, "dilations": self.dilations}[key]


@dataclass(frozen=True)
class _Laid:
    """A stand-in for the laid-out weight constant: the buffer `Im2ColConv` loads from."""

    buffer: SSAValue


def equivalent_conv(op: ConvTranspose2DKernelOp) -> tuple[tuple[int, int], tuple[int, ...]]:
    """((Zh, Zw), (top, left, bottom, right) pads) of the stride-1 conv over Z that computes
    `op`: Z keeps every zero-inserted row (extra bottom rows are never read) and as many
    columns as the output reads (img2col's row width must be the output's)."""
    _, _, h, w = op.input.type.get_shape()
    _, _, kh, kw = op.weight.type.get_shape()
    ho, wo = op.output.type.get_shape()[2:]
    (sh, sw), (dh, dw) = op.ints("strides"), op.ints("dilations")
    pads = op.ints("pads")
    top, left = dh * (kh - 1) - pads[0], dw * (kw - 1) - pads[1]
    if top < 0 or left < 0:
        raise UnsupportedError(
            f"'{op.name}' with pads {list(pads)} above dilation * (kernel - 1) on the top or "
            "left has no npu lowering"
        )
    need_h, need_w = ho + dh * (kh - 1) - top, wo + dw * (kw - 1) - left
    zw = min(need_w, w * sw)
    return (h * sh, zw), (top, left, max(0, need_h - h * sh), need_w - zw)


def _flipped(w: np.ndarray, groups: int) -> np.ndarray:
    """(C, O/g, kh, kw) -> the conv weights (O, C/g, kh, kw), taps reversed."""
    c, og, kh, kw = w.shape
    wg = w.reshape(groups, c // groups, og, kh, kw)[:, :, :, ::-1, ::-1]
    return np.ascontiguousarray(wg.transpose(0, 2, 1, 3, 4).reshape(groups * og, -1, kh, kw))


def _view(value: SSAValue, dims: tuple[int, ...], ops: list[Operation]) -> SSAValue:
    view = ReshapeOp(value, BufferType(dims, value.type.element_type, "hbm"))
    ops.append(view)
    return view.result


@lowers(ConvTranspose2DKernelOp)
def lower_conv_transpose2d(
    op: ConvTranspose2DKernelOp,
    inputs: list[SSAValue],
    output: SSAValue,
    target: Target,
    name: str,
) -> list[Operation]:
    element = inputs[0].type.element_type
    if str(element) not in ("f16", "f32"):
        raise UnsupportedError(f"'{op.name}' on {element} has no cube mode")
    n, c, h, w = inputs[0].type.dims
    _, og, kh, kw = inputs[1].type.dims
    groups, o = op.get_int("groups"), output.type.dims[1]
    (zh, zw), pads = equivalent_conv(op)
    ops: list[Operation] = []
    z = inputs[0]
    if (zh, zw) != (h, w):
        temp = HbmAllocOp(BufferType((n, c, zh, zw), element, "hbm"))
        ops.append(temp)
        z = temp.buffer
        planes = (_view(inputs[0], (n * c, h, w), ops), _view(z, (n * c, zh, zw), ops))
        strides = tuple(op.ints("strides"))
        ops.append(zero_insert_kernel(f"{name}_zeros", *planes, strides, target, op.fused_names))
    geometry = _ConvGeometry(
        op.name, op.fused_names, op.output, groups, pads, tuple(op.ints("dilations"))
    )
    ho, wo = output.type.dims[2:]
    out = _view(output, (n, o, ho * wo), ops)
    steps = [Step("add", operand=_view(inputs[2], (o, 1), ops))] if len(inputs) > 2 else []
    weights = _view(inputs[1], (o, c // groups, kh, kw), ops)
    conv = Im2ColConv(geometry, z, weights, out, target)
    owner = inputs[1].owner
    if isinstance(owner, HbmConstantOp) and isinstance(owner.value, DenseIntOrFPElementsAttr):
        flipped = _flipped(dense_to_numpy(owner.value), groups)
        constant = HbmConstantOp(
            dense_from_numpy(flipped), BufferType(flipped.shape, element, "hbm")
        )
        conv.laid_weights = img2col_order_weights(constant.buffer, groups)
        ops.append(conv.laid_weights)
    else:
        k = -(-(c // groups) // 16) * 16 * kh * kw
        laid = HbmAllocOp(BufferType((groups, k, og), element, "hbm"))
        kernel = flip_weights_kernel(
            f"{name}_weights", inputs[1], laid.buffer, groups, target, op.fused_names
        )
        ops += [laid, kernel]
        conv.laid_weights = _Laid(laid.buffer)
    return [*ops, conv.emit(name, steps)]
