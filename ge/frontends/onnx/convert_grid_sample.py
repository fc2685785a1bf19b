"""ONNX GridSample (torch's grid_sample) on images of any number of spatial axes (4-D
images, 5-D volumes), composed from `ge` gathers.

Each output point reads the input at the grid's coordinates (x for the last axis, y for the
one before, ...), unnormalized from [-1, 1] by `align_corners`, as ONNX's reference (which
follows torch) does:
- nearest rounds half to even (onnxruntime and torch);
- a coordinate beyond [lo, hi] (align_corners: [0, d - 1], else [-0.5, d - 0.5]) is clamped
  to [0, d - 1] (`border`; not for cubic, whose taps alone are clamped, as torch and
  onnxruntime do: ONNX's reference clamps the coordinate too, up to 0.3 away) or reflected
  into [lo, hi] (`reflection`);
- linear takes the two neighbours of every axis, cubic the four (Keys' kernel, A = -0.75),
  each weighted by the product of its axes' weights;
- a tap beyond the input reads 0 (`zeros`), the nearest border value (`border`), or the
  value at its index reflected into [lo, hi] (`reflection`).
Each tap is one `ge.gather` of the flattened input at its flat index.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
from xdsl.dialects.builtin import i64
from xdsl.ir import SSAValue

from ge.frontends.onnx.context import Node
from ge.frontends.onnx.convert_math import scalar
from gedialects.ge import ops
from gedialects.ge.types import element_of

MODES = {"bilinear": "linear", "linear": "linear", "nearest": "nearest",
         "bicubic": "cubic", "cubic": "cubic"}  # fmt: skip
PADDINGS = ("zeros", "border", "reflection")
CUBIC_A = -0.75


class Axis:
    """One spatial axis: its size and the interval [lo, hi] its coordinates live in."""

    def __init__(self, size: int, align: bool):
        self.size = size
        self.lo, self.hi = (0.0, size - 1.0) if align else (-0.5, size - 0.5)


def _coordinate(n: Node, grid: SSAValue, component: int, axis: Axis, align: bool) -> SSAValue:
    """Grid component `component` in input pixels, shape [N, points]."""
    batch, *out, k = n.shape_of(grid)
    part = n.emit(ops.SliceOp(grid, starts=[component], ends=[component + 1], axes=[len(out) + 1],
                              steps=[1]))  # fmt: skip
    part = n.emit(ops.ReshapeOp(part, shape=[batch, int(np.prod(out))]))
    shifted = n.emit(ops.AddOp(part, scalar(n, 1.0, grid)))
    if align:
        return n.emit(ops.MulOp(shifted, scalar(n, (axis.size - 1) / 2, grid)))
    scaled = n.emit(ops.MulOp(shifted, scalar(n, axis.size / 2, grid)))
    return n.emit(ops.SubOp(scaled, scalar(n, 0.5, grid)))


def _reflect(n: Node, v: SSAValue, axis: Axis) -> SSAValue:
    """v reflected at lo and hi until inside: lo + t, or lo + 2r - t past r, for
    t = |v - lo| mod 2r, r = hi - lo (ONNX's `_gs_reflect`)."""
    span = axis.hi - axis.lo
    if span <= 0:
        return n.emit(ops.MulOp(v, scalar(n, 0.0, v)))  # one pixel, aligned: always lo = 0
    t = n.emit(ops.AbsOp(n.emit(ops.SubOp(v, scalar(n, axis.lo, v)))))
    t = n.emit(ops.ModOp(t, scalar(n, 2 * span, v)))
    back = n.emit(ops.SubOp(scalar(n, 2 * span, v), t))
    folded = n.emit(ops.WhereOp(n.emit(ops.GreaterOp(t, scalar(n, span, v))), back, t))
    return n.emit(ops.AddOp(folded, scalar(n, axis.lo, v)))


def _outside(n: Node, v: SSAValue, low: float, high: float) -> SSAValue:
    return n.emit(ops.LogicalOrOp(n.emit(ops.LessOp(v, scalar(n, low, v))),
                                  n.emit(ops.GreaterOp(v, scalar(n, high, v)))))  # fmt: skip


def _place(n: Node, v: SSAValue, axis: Axis, padding: str) -> SSAValue:
    """A coordinate beyond [lo, hi] clamped (border) or reflected (reflection)."""
    if padding == "border":
        clamped = n.emit(ops.ClipOp(v, min=0.0, max=float(axis.size - 1)))
        return n.emit(ops.WhereOp(_outside(n, v, axis.lo, axis.hi), clamped, v))
    if padding == "reflection":
        return _reflect(n, v, axis)
    return v


def _cubic_weights(n: Node, t: SSAValue) -> list[SSAValue]:
    """Keys' weights of the taps at offsets -1, 0, 1, 2 from floor, for t = v - floor(v)."""
    a = CUBIC_A

    def near(d: SSAValue) -> SSAValue:  # ((a + 2) d - (a + 3)) d² + 1, 0 <= d <= 1
        inner = n.emit(ops.SubOp(n.emit(ops.MulOp(d, scalar(n, a + 2, d))), scalar(n, a + 3, d)))
        return n.emit(ops.AddOp(n.emit(ops.MulOp(n.emit(ops.MulOp(inner, d)), d)),
                                scalar(n, 1.0, d)))  # fmt: skip

    def far(d: SSAValue) -> SSAValue:  # ((a d - 5a) d + 8a) d - 4a, 1 <= d <= 2
        inner = n.emit(ops.SubOp(n.emit(ops.MulOp(d, scalar(n, a, d))), scalar(n, 5 * a, d)))
        inner = n.emit(ops.AddOp(n.emit(ops.MulOp(inner, d)), scalar(n, 8 * a, d)))
        return n.emit(ops.SubOp(n.emit(ops.MulOp(inner, d)), scalar(n, 4 * a, d)))

    one = scalar(n, 1.0, t)
    two = scalar(n, 2.0, t)
    return [
        far(n.emit(ops.AddOp(t, one))),
        near(t),
        near(n.emit(ops.SubOp(one, t))),
        far(n.emit(ops.SubOp(two, t))),
    ]


def axis_taps(n: Node, v: SSAValue, mode: str) -> list[tuple[SSAValue, SSAValue | None]]:
    """(index, weight) of each tap of one axis at coordinate v (weight None for nearest)."""
    if mode == "nearest":
        return [(n.emit(ops.RoundOp(v)), None)]
    base = n.emit(ops.FloorOp(v))
    t = n.emit(ops.SubOp(v, base))
    if mode == "linear":
        one = scalar(n, 1.0, v)
        return [(base, n.emit(ops.SubOp(one, t))), (n.emit(ops.AddOp(base, one)), t)]
    offsets = [n.emit(ops.AddOp(base, scalar(n, float(k), v))) for k in (-1, 0, 1, 2)]
    return list(zip(offsets, _cubic_weights(n, t)))


def tap_index(n: Node, i: SSAValue, axis: Axis, padding: str) -> tuple[SSAValue, SSAValue | None]:
    """(an index inside the axis, the mask of taps that read 0) for tap index i."""
    if padding == "reflection":
        i = _reflect(n, i, axis)
    inside = None
    if padding == "zeros":
        inside = n.emit(ops.LogicalNotOp(_outside(n, i, 0.0, float(axis.size - 1))))
    return n.emit(ops.ClipOp(i, min=0.0, max=float(axis.size - 1))), inside


def grid_sample(n: Node) -> SSAValue:
    x, grid = n.value(0), n.value(1)
    shape = n.shape(0)
    if len(shape) < 3:
        raise n.unsupported(
            f"the input needs a batch, a channel and spatial axes: rank {len(shape)}"
        )
    given = str(n.attr("mode", "linear" if n.opset >= 20 else "bilinear"))
    mode = MODES.get(given)
    padding = str(n.attr("padding_mode", "zeros"))
    if mode is None or padding not in PADDINGS:
        raise n.unsupported(f"mode '{given}' with padding '{padding}' is not supported")
    align = bool(n.attr("align_corners", 0))
    batch, channels, *spatial = shape
    _, *out, _ = n.shape(1)
    points = int(np.prod(out))
    axes = [Axis(d, align) for d in spatial]
    k = len(axes)
    coords = [_coordinate(n, grid, k - 1 - a, axes[a], align) for a in range(k)]  # x: last axis
    if mode == "nearest":  # rounded before it is placed, as torch
        coords = [n.emit(ops.RoundOp(c)) for c in coords]
    if not (mode == "cubic" and padding == "border"):
        coords = [_place(n, c, ax, padding) for c, ax in zip(coords, axes)]
    per_axis = [axis_taps(n, c, mode) for c in coords]
    strides = [int(np.prod(spatial[a + 1 :])) for a in range(k)]
    flat = n.emit(ops.ReshapeOp(x, shape=[int(np.prod(shape))]))
    base = (np.arange(batch)[:, None, None] * channels + np.arange(channels)[None, :, None]) * int(
        np.prod(spatial)
    )
    base_index = n.constant(base.astype(np.int64))
    zero = scalar(n, 0.0, x)
    total = None
    for combo in itertools.product(*per_axis):
        pixel, weight, inside = None, None, None
        for a, (i, w) in enumerate(combo):
            i, mask = tap_index(n, i, axes[a], padding)
            term = n.emit(ops.MulOp(i, scalar(n, float(strides[a]), i))) if strides[a] != 1 else i
            pixel = term if pixel is None else n.emit(ops.AddOp(pixel, term))
            weight = _join(n, weight, w, ops.MulOp)
            inside = _join(n, inside, mask, ops.LogicalAndOp)
        index = n.emit(ops.ReshapeOp(n.emit(ops.CastOp(pixel, to=i64)), shape=[batch, 1, points]))
        values = n.emit(ops.GatherOp(flat, n.emit(ops.AddOp(index, base_index)), axis=0))
        if weight is not None:
            if element_of(weight.type) != element_of(x.type):  # GridSample's T2 may differ
                weight = n.emit(ops.CastOp(weight, to=element_of(x.type)))
            values = n.emit(
                ops.MulOp(values, n.emit(ops.ReshapeOp(weight, shape=[batch, 1, points])))
            )
        if inside is not None:
            mask = n.emit(ops.ReshapeOp(inside, shape=[batch, 1, points]))
            values = n.emit(ops.WhereOp(mask, values, zero))
        total = values if total is None else n.emit(ops.AddOp(total, values))
    return n.emit(ops.ReshapeOp(total, shape=[batch, channels, *out]))


def _join(n: Node, acc: SSAValue | None, value: SSAValue | None, op: Callable) -> SSAValue | None:
    if value is None:
        return acc
    return value if acc is None else n.emit(op(acc, value))


CONVERTERS = {"GridSample": grid_sample}
