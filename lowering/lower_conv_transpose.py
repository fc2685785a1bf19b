"""kernel.conv_transpose2d -> npu by one of two routes, the one with fewer estimated cycles
(`route_costs`; `GE_CONV_TRANSPOSE=zeros|col2im` forces one).

- zeros: the ordinary convolution of the zero-inserted input with the flipped kernel, through
  the im2col cube lowering (`lowering.conv_im2col`). y = conv(Z, w') where Z puts (stride - 1)
  zeros between the input's rows and columns, the padding is dilation * (k - 1) - pads
  (top/left; bottom/right whatever the output size needs, output_padding included), stride 1,
  the same dilation, w'[g O/g + o, c, i, j] = w[g C/g + c, o, kh - 1 - i, kw - 1 - j]. Z comes
  from a vector kernel (`conv_transpose_prep.zero_insert_kernel`; none for stride 1); constant
  weights are laid out at compile time in the cube's K order, runtime ones by a vector kernel
  (`flip_weights_kernel`); the bias and an activation are the conv's epilogue. Pads above
  dilation * (k - 1) on the top or left (a negative conv padding) are refused on this route.
- col2im (`lowering.conv_transpose_col2im`): cols = Wᵀ @ X on the cube (stride^2 fewer flops:
  no zeros), then a vector kernel adds each tap's block into the output's phase accumulators,
  and the bias and an activation into its canvas before the store; any pads. Its buffers
  hold whole (phase) images of a few channels in UB.
Measured (`benchmarks/bench_conv_transpose.py`, ascend910a, constant weights, f16, modeled
cycles zeros / col2im): DCGAN 512->256 4x4 9,412 / 5,570; 256->128 8x8 2,260 / 2,221; 128->64
16x16 2,062 / 1,645; UNet 2x2 s2 128->64 32x32 4,341 / 2,212; 64->32 64x64 7,154 / 4,163;
FCN 3x3 s2 64ch 28x28 2,610 / 2,663. The estimates pick the faster route in 5 of 6 (the miss,
FCN, is 2% apart); both routes' figures move with the im2col and GEMM lowerings they reuse.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
from xdsl.ir import Operation, SSAValue

from gedialects.errors import UnsupportedError
from gedialects.ge.types import element_of, to_numpy_dtype
from gedialects.kernel.mirrored import ConvTranspose2DKernelOp
from gedialects.npu.attrs import BufferType
from gedialects.npu.buffers import HbmAllocOp, HbmConstantOp, ReshapeOp, constant_array
from lowering.conv_im2col import Im2ColConv, img2col_order_weights
from lowering.conv_transpose_col2im import (
    col2im_estimate,
    lower_by_col2im,
    transposed_activation,
)
from lowering.conv_transpose_prep import flip_weights_kernel, insert_tile, zero_insert_kernel
from lowering.gemm_epilogue import Step
from lowering.registry import lowers
from runtime.targets import Target

ROUTE_ENV = "GE_CONV_TRANSPOSE"
"""Set to "zeros" or "col2im" to force a route (tests, benchmarks); unset: the cheaper one."""


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
    transposed_activation(op)  # (an activation without an npu lowering: said so, first)
    costs = route_costs(op, target)
    forced = os.environ.get(ROUTE_ENV)
    route = forced if forced in costs else min(costs, key=costs.get)
    if costs[route] == float("inf"):
        equivalent_conv(op)  # raises the zero-insertion's reason when neither route fits
        raise UnsupportedError(f"'{op.name}': the zero-inserted image does not fit L1")
    if route == "col2im":
        return lower_by_col2im(op, inputs, output, target, name)
    return _by_zero_insertion(op, inputs, output, target, name)


def route_costs(op: ConvTranspose2DKernelOp, target: Target) -> dict[str, float]:
    """Estimated cycles of each route ("zeros": zero insertion + im2col conv, "col2im": GEMM +
    col2im), inf where a route's buffers do not fit. The runtime weights' layout kernel of
    either route (one read and one write of the weights) is left out of both."""
    return {"zeros": _zero_insertion_estimate(op, target), "col2im": col2im_estimate(op, target)}


def _zero_insertion_estimate(op: ConvTranspose2DKernelOp, target: Target) -> float:
    n, c, h, w = op.input.type.get_shape()
    _, og, kh, kw = op.weight.type.get_shape()
    groups, element = op.get_int("groups"), element_of(op.output.type)
    isz = to_numpy_dtype(element).itemsize
    try:
        (zh, zw), pads = equivalent_conv(op)
    except UnsupportedError:
        return float("inf")
    o, (ho, wo) = og * groups, op.output.type.get_shape()[2:]

    def typed(*dims: int) -> SSAValue:  # a typed value for planning only, never inserted
        return HbmAllocOp(BufferType(dims, element, "hbm")).buffer

    geometry = _ConvGeometry(
        op.name, op.fused_names, op.output, groups, pads, tuple(op.ints("dilations"))
    )
    conv = Im2ColConv(geometry, typed(n, c, zh, zw), typed(o, c // groups, kh, kw),
                      typed(n, o, ho * wo), target)  # fmt: skip
    bias = [Step("add", operand=typed(o, 1))] if op.bias is not None else []
    try:
        steps = bias + transposed_activation(op)
        cycles = conv.plan([s.operand for s in bias], steps).estimate
    except UnsupportedError:
        return float("inf")
    if (zh, zw) != (h, w):
        sh, sw = op.ints("strides")
        cycles += insert_tile(target, n * c, h, w * isz, sh * w * sw * isz, 2)[2]
    return cycles


def _by_zero_insertion(
    op: ConvTranspose2DKernelOp, inputs: list[SSAValue], output: SSAValue, target: Target, name: str
) -> list[Operation]:
    element = inputs[0].type.element_type
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
    steps += transposed_activation(op)
    weights = _view(inputs[1], (o, c // groups, kh, kw), ops)
    conv = Im2ColConv(geometry, z, weights, out, target)
    data = constant_array(inputs[1])
    if data is not None:
        constant = HbmConstantOp.from_array(_flipped(data, groups), element)
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
