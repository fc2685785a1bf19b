"""ONNX GridSample (torch's grid_sample) on 4-D inputs, composed from `ge` gathers.

Each output pixel reads the input at the grid's (x, y), unnormalized from [-1, 1] by
`align_corners`. Bilinear takes the four neighbours, nearest the rounded one (half to
even, as onnxruntime); each is one `ge.gather` of the flattened input at
n*C*H*W + c*H*W + y*W + x, weighted, and zero where it falls outside the input
(`padding_mode` zeros) or clamped to the border (border). Reflection and bicubic are
refused.
"""

from __future__ import annotations

import numpy as np
from xdsl.dialects.builtin import i64
from xdsl.ir import SSAValue

from ge.frontends.onnx.context import Node
from ge.frontends.onnx.convert_math import scalar
from gedialects.ge import ops

MODES = {"bilinear": "linear", "linear": "linear", "nearest": "nearest"}


def _coordinate(n: Node, grid: SSAValue, axis: int, size: int, align: bool) -> SSAValue:
    """Grid component `axis` (0: x, 1: y) in input pixels, shape [N, Ho*Wo]."""
    batch, out_h, out_w, _ = n.shape_of(grid)
    part = n.emit(ops.SliceOp(grid, starts=[axis], ends=[axis + 1], axes=[3], steps=[1]))
    part = n.emit(ops.ReshapeOp(part, shape=[batch, out_h * out_w]))
    shifted = n.emit(ops.AddOp(part, scalar(n, 1.0, grid)))
    if align:
        return n.emit(ops.MulOp(shifted, scalar(n, (size - 1) / 2, grid)))
    scaled = n.emit(ops.MulOp(shifted, scalar(n, size / 2, grid)))
    return n.emit(ops.SubOp(scaled, scalar(n, 0.5, grid)))


def _tap(n: Node, flat: SSAValue, xs: SSAValue, ys: SSAValue, geometry, border: bool):
    """(values [N, C, P], in-range mask [N, 1, P]) of the input at integer-valued xs, ys."""
    batch, channels, height, width = geometry
    like = xs
    inside = n.emit(
        ops.LogicalAndOp(
            n.emit(ops.LogicalAndOp(
                n.emit(ops.GreaterEqualOp(xs, scalar(n, 0.0, like))),
                n.emit(ops.LessOp(xs, scalar(n, float(width), like))),
            )),
            n.emit(ops.LogicalAndOp(
                n.emit(ops.GreaterEqualOp(ys, scalar(n, 0.0, like))),
                n.emit(ops.LessOp(ys, scalar(n, float(height), like))),
            )),
        )
    )  # fmt: skip
    xs = n.emit(ops.ClipOp(xs, min=0.0, max=float(width - 1)))
    ys = n.emit(ops.ClipOp(ys, min=0.0, max=float(height - 1)))
    pixel = n.emit(ops.AddOp(n.emit(ops.MulOp(ys, scalar(n, float(width), like))), xs))
    pixel = n.emit(ops.CastOp(pixel, to=i64))
    count = n.shape_of(pixel)[1]
    pixel = n.emit(ops.ReshapeOp(pixel, shape=[batch, 1, count]))
    base = (np.arange(batch)[:, None, None] * channels + np.arange(channels)[None, :, None]) * (
        height * width
    )
    index = n.emit(ops.AddOp(pixel, n.constant(base.astype(np.int64))))
    values = n.emit(ops.GatherOp(flat, index, axis=0))
    mask = None if border else n.emit(ops.ReshapeOp(inside, shape=[batch, 1, count]))
    return values, mask


def grid_sample(n: Node) -> SSAValue:
    x, grid = n.value(0), n.value(1)
    shape = n.shape(0)
    if len(shape) != 4:
        raise n.unsupported(f"only 4-D inputs are supported, got rank {len(shape)}")
    given = str(n.attr("mode", "linear" if n.opset >= 20 else "bilinear"))
    mode = MODES.get(given)
    padding = str(n.attr("padding_mode", "zeros"))
    if mode is None or padding not in ("zeros", "border"):
        raise n.unsupported(
            f"mode '{given}' with padding '{padding}' is not supported "
            "(bilinear or nearest, zeros or border)"
        )
    align = bool(n.attr("align_corners", 0))
    batch, channels, height, width = shape
    _, out_h, out_w, _ = n.shape(1)
    xs = _coordinate(n, grid, 0, width, align)
    ys = _coordinate(n, grid, 1, height, align)
    flat = n.emit(ops.ReshapeOp(x, shape=[int(np.prod(shape))]))
    border = padding == "border"
    if border:
        xs = n.emit(ops.ClipOp(xs, min=0.0, max=float(width - 1)))
        ys = n.emit(ops.ClipOp(ys, min=0.0, max=float(height - 1)))
    if mode == "nearest":
        taps = [(n.emit(ops.RoundOp(xs)), n.emit(ops.RoundOp(ys)), None)]
    else:
        x0, y0 = n.emit(ops.FloorOp(xs)), n.emit(ops.FloorOp(ys))
        fx, fy = n.emit(ops.SubOp(xs, x0)), n.emit(ops.SubOp(ys, y0))
        one = scalar(n, 1.0, xs)
        x1, y1 = n.emit(ops.AddOp(x0, one)), n.emit(ops.AddOp(y0, one))
        gx, gy = n.emit(ops.SubOp(one, fx)), n.emit(ops.SubOp(one, fy))
        taps = [
            (x0, y0, n.emit(ops.MulOp(gx, gy))),
            (x1, y0, n.emit(ops.MulOp(fx, gy))),
            (x0, y1, n.emit(ops.MulOp(gx, fy))),
            (x1, y1, n.emit(ops.MulOp(fx, fy))),
        ]
    total = None
    zero = scalar(n, 0.0, x)
    for tx, ty, weight in taps:
        values, mask = _tap(n, flat, tx, ty, shape, border)
        if weight is not None:
            count = n.shape_of(weight)[1]
            values = n.emit(
                ops.MulOp(values, n.emit(ops.ReshapeOp(weight, shape=[batch, 1, count])))
            )
        if mask is not None:
            values = n.emit(ops.WhereOp(mask, values, zero))
        total = values if total is None else n.emit(ops.AddOp(total, values))
    return n.emit(ops.ReshapeOp(total, shape=[batch, channels, out_h, out_w]))


CONVERTERS = {"GridSample": grid_sample}
