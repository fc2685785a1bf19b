"""3-D convolution (video and volumetric models: C3D, R(2+1)D, I3D, 3-D U-Nets) as one 2-D
convolution over the depth windows.

The `ge` dialect has a 2-D convolution, which every npu algorithm implements. A 3-D one is
the 2-D one over an im2col of the depth axis: the input, zero-padded in depth, gathers for
each output depth its kd input depths (N, C, Dout, kd, H, W), which become the channels of
a batch of Dout images (N*Dout, C*kd, H, W); the weights (M, C/g, kd, kh, kw) read as
(M, C/g*kd, kh, kw) in the same channel order, so groups keep their meaning; the result
(N*Dout, M, Ho, Wo) is put back as (N, M, Dout, Ho, Wo). Bias, height and width strides,
pads and dilations pass to the 2-D op. The input is read kd / stride_d times over: the price
of reusing the 2-D kernels, small for the usual kd = 3.
"""

from __future__ import annotations

import numpy as np
from xdsl.ir import SSAValue

from ge.frontends.onnx.context import Node
from gedialects.ge import ops


def conv3d(
    n: Node,
    kernel: list[int],
    strides: list[int],
    pads: list[int],
    dilations: list[int],
) -> SSAValue:
    """ONNX Conv of a 5-D input (pads as ONNX orders them: begins, then ends)."""
    geometry = (kernel, strides, pads, dilations)
    groups = int(n.attr("group", 1))
    return conv3d_of(n, n.value(0), n.value(1), n.optional(2), geometry, groups)


def conv3d_of(
    n: Node,
    x: SSAValue,
    w: SSAValue,
    bias: SSAValue | None,
    geometry: tuple[list[int], list[int], list[int], list[int]],
    groups: int,
) -> SSAValue:
    """A 3-D convolution of `x` by `w` (M, C/g, kd, kh, kw); geometry is (kernel, strides,
    pads, dilations)."""
    kernel, strides, pads, dilations = geometry
    batch, channels, depth, height, width = n.shape_of(x)
    kd = kernel[0]
    sd, dd = strides[0], dilations[0]
    front, back = pads[0], pads[3]
    if front or back:
        x = n.emit(ops.PadOp(x, pads=[0, 0, front, 0, 0, 0, 0, back, 0, 0]))
    padded = depth + front + back
    out_depth = (padded - dd * (kd - 1) - 1) // sd + 1
    if out_depth < 1:
        raise n.unsupported(f"the depth window ({kd}, dilation {dd}) is longer than the input")
    windows = np.arange(out_depth)[:, None] * sd + np.arange(kd)[None, :] * dd
    gathered = n.emit(ops.GatherOp(x, n.constant(windows.astype(np.int64)), axis=2))
    images = n.emit(ops.TransposeOp(gathered, perm=[0, 2, 1, 3, 4, 5]))
    images = n.emit(ops.ReshapeOp(images, shape=[batch * out_depth, channels * kd, height, width]))
    out_channels, per_group = n.shape_of(w)[:2]
    kernels = n.emit(ops.ReshapeOp(w, shape=[out_channels, per_group * kd, *kernel[1:]]))
    y = n.emit(
        ops.Conv2DOp(
            images,
            kernels,
            bias,
            strides=list(strides[1:]),
            pads=[pads[1], pads[2], pads[4], pads[5]],
            dilations=list(dilations[1:]),
            groups=groups,
        )
    )
    _, _, out_h, out_w = n.shape_of(y)
    y = n.emit(ops.ReshapeOp(y, shape=[batch, out_depth, out_channels, out_h, out_w]))
    return n.emit(ops.TransposeOp(y, perm=[0, 2, 1, 3, 4]))


def conv_transpose3d(
    n: Node,
    kernel: list[int],
    strides: list[int],
    pads: list[int],
    dilations: list[int],
    output_padding: list[int],
) -> SSAValue:
    """ONNX ConvTranspose of a 5-D input: the 3-D convolution, stride 1, of the input with
    stride - 1 zeros between its elements, padded by d * (k - 1) - pad on each side (and the
    output padding at the end), by the flipped kernels with input and output channels swapped
    within each group (3-D U-Nets' up-convolutions: the weights are constants)."""
    x, groups = n.value(0), int(n.attr("group", 1))
    weights = n.const(1, "W")  # (C, M/g, kd, kh, kw)
    channels = weights.shape[0]
    per_in, per_out = channels // groups, weights.shape[1]
    flipped = weights[:, :, ::-1, ::-1, ::-1].reshape(groups, per_in, per_out, *kernel)
    swapped = flipped.transpose(0, 2, 1, 3, 4, 5).reshape(groups * per_out, per_in, *kernel)
    batch, _, *sizes = n.shape_of(x)
    if any(s > 1 for s in strides):  # stride - 1 zeros after each element, then cut the tail
        spread = [batch, channels]
        for size in sizes:
            spread += [size, 1]
        x = n.emit(ops.ReshapeOp(x, shape=spread))
        ends = [0, 0]
        for stride in strides:
            ends += [0, stride - 1]
        x = n.emit(ops.PadOp(x, pads=[0] * len(spread) + ends))
        x = n.emit(
            ops.ReshapeOp(x, shape=[batch, channels, *(s * t for s, t in zip(sizes, strides))])
        )
        cut = [(s * t - (s - 1) * t - 1) for s, t in zip(sizes, strides)]
        x = n.emit(ops.PadOp(x, pads=[0] * 5 + [0, 0, *(-c for c in cut)]))
    reach = [d * (k - 1) for d, k in zip(dilations, kernel)]
    begins = [r - p for r, p in zip(reach, pads[:3])]
    ends = [r - p + o for r, p, o in zip(reach, pads[3:], output_padding)]
    x = n.emit(ops.PadOp(x, pads=[0, 0, *begins, 0, 0, *ends]))
    w = n.constant(np.ascontiguousarray(swapped))
    geometry = (kernel, [1, 1, 1], [0] * 6, dilations)
    return conv3d_of(n, x, w, n.optional(2), geometry, groups)
