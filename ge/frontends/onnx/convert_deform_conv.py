"""ONNX DeformConv (opset 19; DCN v1, and v2 with a mask) on 2-D images, composed from
`ge` gathers and one batched matmul.

Kernel tap (a, b) of output pixel (i, j) reads the input at (i * sh - pad_top + a * dh +
offset_y, j * sw - pad_left + b * dw + offset_x), bilinearly, reading 0 outside the image
(ONNX's reference samples with GridSample, zeros padding: this module takes GridSample's
taps, `convert_grid_sample.axis_taps` / `tap_index`); the offsets come per offset
group of channels. The samples of every channel and tap, times the mask, form the columns
[N, C * kh * kw, OH * OW] of an im2col, which the weights [group, M / group, C / group *
kh * kw] multiply as one batched `ge.matmul` (grouped convolution), plus the bias.
"""

from __future__ import annotations

import itertools

import numpy as np
from xdsl.dialects.builtin import i64
from xdsl.ir import SSAValue

from ge.frontends.onnx.context import Node
from ge.frontends.onnx.convert_grid_sample import Axis, axis_taps, tap_index
from ge.frontends.onnx.convert_math import scalar
from gedialects.ge import ops


def _coordinates(n: Node, offset: SSAValue, component: int, geometry: dict) -> SSAValue:
    """Sample coordinates along one image axis (0: rows, 1: columns): [N, G, K, P]."""
    batch, groups, k, points = (geometry[key] for key in ("batch", "groups", "taps", "points"))
    (kh, kw), (oh, ow) = geometry["kernel"], geometry["out"]
    stride, dilation, pad = (geometry[key][component] for key in ("strides", "dilations", "pads"))
    part = n.emit(ops.ReshapeOp(offset, shape=[batch, groups, k, 2, points]))
    part = n.emit(ops.SliceOp(part, starts=[component], ends=[component + 1], axes=[3], steps=[1]))
    part = n.emit(ops.ReshapeOp(part, shape=[batch, groups, k, points]))
    rows, cols = np.meshgrid(np.arange(oh), np.arange(ow), indexing="ij")
    out_pos = (rows if component == 0 else cols).reshape(-1) * stride - pad
    taps_a, taps_b = np.meshgrid(np.arange(kh), np.arange(kw), indexing="ij")
    tap_pos = (taps_a if component == 0 else taps_b).reshape(-1) * dilation
    base = (tap_pos[:, None] + out_pos[None, :]).astype(n.dtype_of(offset))
    return n.emit(ops.AddOp(part, n.constant(base.reshape(1, 1, k, points))))


def deform_conv(n: Node) -> SSAValue:
    x, w, offset = n.value(0), n.value(1), n.value(2)
    shape, w_shape = n.shape(0), n.shape(1)
    if len(shape) != 4:
        raise n.unsupported(f"only 2-D images (4-D inputs) are supported, got rank {len(shape)}")
    batch, channels, height, width = shape
    out_channels, per_group, kh, kw = w_shape
    group = int(n.attr("group", 1))
    offset_groups = int(n.attr("offset_group", 1))
    if channels != per_group * group or channels % offset_groups:
        raise n.error(f"channels {channels} do not split into {group} groups of {per_group} "
                      f"and {offset_groups} offset groups")  # fmt: skip
    _, _, oh, ow = n.shape(2)
    pads = n.ints("pads", [0, 0, 0, 0])
    k, points = kh * kw, oh * ow
    geometry = {
        "batch": batch, "groups": offset_groups, "taps": k, "points": points, "kernel": (kh, kw),
        "out": (oh, ow), "strides": n.ints("strides", [1, 1]),
        "dilations": n.ints("dilations", [1, 1]), "pads": pads[:2],
    }  # fmt: skip
    ys = _coordinates(n, offset, 0, geometry)
    xs = _coordinates(n, offset, 1, geometry)
    per_offset_group = channels // offset_groups
    flat = n.emit(ops.ReshapeOp(x, shape=[batch * channels * height * width]))
    plane = np.arange(batch * offset_groups * per_offset_group, dtype=np.int64) * height * width
    planes = n.constant(plane.reshape(batch, offset_groups, per_offset_group, 1))
    rows, cols = Axis(height, align=True), Axis(width, align=True)
    columns = None
    for (ty, wy), (tx, wx) in itertools.product(
        axis_taps(n, ys, "linear"), axis_taps(n, xs, "linear")
    ):
        row, row_inside = tap_index(n, ty, rows, "zeros")
        col, col_inside = tap_index(n, tx, cols, "zeros")
        pixel = n.emit(ops.AddOp(n.emit(ops.MulOp(row, scalar(n, float(width), row))), col))
        pixel = n.emit(ops.ReshapeOp(n.emit(ops.CastOp(pixel, to=i64)),
                                     shape=[batch, offset_groups, 1, k * points]))  # fmt: skip
        values = n.emit(ops.GatherOp(flat, n.emit(ops.AddOp(pixel, planes)), axis=0))
        inside = n.emit(ops.LogicalAndOp(row_inside, col_inside))
        weight = n.emit(ops.WhereOp(inside, n.emit(ops.MulOp(wy, wx)), scalar(n, 0.0, wy)))
        weight = n.emit(ops.ReshapeOp(weight, shape=[batch, offset_groups, 1, k * points]))
        values = n.emit(ops.MulOp(values, weight))
        columns = values if columns is None else n.emit(ops.AddOp(columns, values))
    if n.has(4):
        mask = n.emit(ops.ReshapeOp(n.value(4), shape=[batch, offset_groups, 1, k * points]))
        columns = n.emit(ops.MulOp(columns, mask))
    columns = n.emit(ops.ReshapeOp(columns, shape=[batch, group, per_group * k, points]))
    weights = n.emit(ops.ReshapeOp(w, shape=[group, out_channels // group, per_group * k]))
    y = n.emit(ops.MatMulOp(weights, columns))  # [N, group, M / group, P]
    y = n.emit(ops.ReshapeOp(y, shape=[batch, out_channels, oh, ow]))
    if n.has(3):
        y = n.emit(ops.AddOp(y, n.emit(ops.ReshapeOp(n.value(3), shape=[1, out_channels, 1, 1]))))
    return y


CONVERTERS = {"DeformConv": deform_conv}
