"""ONNX forms of the `ge` dialect's reductions and data-movement ops.

Static properties that ONNX takes as inputs since opsets 13 and 18 (shapes, axes, starts,
pads, sizes) become int64 initializers.
"""

from __future__ import annotations

import numpy as np
import onnx

from ge.frontends.onnx_export.graph import GraphBuilder, element_dtype, emits
from gedialects.errors import UnsupportedError
from gedialects.ge import ops
from gedialects.ge.semantics import REFERENCE
from gedialects.ge.types import shape_of

B = GraphBuilder

_REDUCE = {
    ops.ReduceSumOp: "ReduceSum",
    ops.ReduceMeanOp: "ReduceMean",
    ops.ReduceMaxOp: "ReduceMax",
    ops.ReduceMinOp: "ReduceMin",
    ops.ReduceProdOp: "ReduceProd",
    ops.ReduceL2Op: "ReduceL2",
}


@emits(*_REDUCE)
def _reduce(b: B, op, xs: list[str], ys: list[str]) -> None:
    axes = op.ints("axes")
    args = [xs[0], b.ints(axes, "axes")] if axes else xs
    b.node(_REDUCE[type(op)], args, ys, keepdims=int(op.get_flag("keepdims")))


@emits(ops.ArgMaxOp, ops.ArgMinOp)
def _arg(b: B, op, xs: list[str], ys: list[str]) -> None:
    b.node(
        "ArgMax" if isinstance(op, ops.ArgMaxOp) else "ArgMin",
        xs,
        ys,
        axis=op.get_int("axis"),
        keepdims=int(op.get_flag("keepdims")),
        select_last_index=int(op.get_flag("select_last_index")),
    )


@emits(ops.TransposeOp)
def _transpose(b: B, op: ops.TransposeOp, xs: list[str], ys: list[str]) -> None:
    b.node("Transpose", xs, ys, perm=list(op.ints("perm")))


@emits(ops.ReshapeOp)
def _reshape(b: B, op: ops.ReshapeOp, xs: list[str], ys: list[str]) -> None:
    shape = op.ints("shape")
    allowzero = 1 if 0 in shape else None  # else ONNX reads a 0 as "copy this dim"
    b.node("Reshape", [xs[0], b.ints(shape, "shape")], ys, allowzero=allowzero)


@emits(ops.ExpandOp)
def _expand(b: B, op: ops.ExpandOp, xs: list[str], ys: list[str]) -> None:
    b.node("Expand", [xs[0], b.ints(op.ints("shape"), "shape")], ys)


@emits(ops.ConcatOp)
def _concat(b: B, op: ops.ConcatOp, xs: list[str], ys: list[str]) -> None:
    b.node("Concat", xs, ys, axis=op.get_int("axis"))


@emits(ops.SliceOp)
def _slice(b: B, op: ops.SliceOp, xs: list[str], ys: list[str]) -> None:
    args = [b.ints(op.ints(k), k) for k in ("starts", "ends", "axes", "steps")]
    b.node("Slice", [xs[0], *args], ys)


@emits(ops.GatherOp)
def _gather(b: B, op: ops.GatherOp, xs: list[str], ys: list[str]) -> None:
    b.node("Gather", xs, ys, axis=op.get_int("axis"))


@emits(ops.ScatterOp)
def _scatter(b: B, op: ops.ScatterOp, xs: list[str], ys: list[str]) -> None:
    """ScatterND of the scattered axis brought to the front, each index a one-element tuple."""
    rank, idx_rank = len(shape_of(op.data.type)), len(shape_of(op.indices.type))
    axis = op.get_int("axis") % rank
    data, index, updates = xs
    if element_dtype(op.indices) != np.int64:
        index = b.temp("Cast", [index], to=onnx.TensorProto.INT64)
    index = b.temp("Unsqueeze", [index, b.ints([-1], "axes")])
    perm = [axis, *range(axis), *range(axis + 1, rank)]
    if axis:
        data = b.temp("Transpose", [data], perm=perm)
        front = [
            *range(axis, axis + idx_rank),
            *range(axis),
            *range(axis + idx_rank, rank - 1 + idx_rank),
        ]
        updates = b.temp("Transpose", [updates], perm=front)
    reduction = op.get_str("reduction")
    attrs = {} if reduction == "none" else {"reduction": reduction}
    if not axis:
        b.node("ScatterND", [data, index, updates], ys, **attrs)
        return
    scattered = b.temp("ScatterND", [data, index, updates], **attrs)
    b.node("Transpose", [scattered], ys, perm=[int(p) for p in np.argsort(perm)])


@emits(ops.SplitOp)
def _split(b: B, op: ops.SplitOp, xs: list[str], ys: list[str]) -> None:
    b.node("Split", [xs[0], b.ints(op.ints("sizes"), "split")], ys, axis=op.get_int("axis"))


@emits(ops.PadOp)
def _pad(b: B, op: ops.PadOp, xs: list[str], ys: list[str]) -> None:
    mode = op.get_str("mode")
    args = [xs[0], b.ints(op.ints("pads"), "pads")]
    if mode == "constant":
        value = np.asarray(op.get_float("value")).astype(element_dtype(op.input))
        args.append(b.constant(value, "pad_value"))
    b.node("Pad", args, ys, mode=mode)


def _resize_node(b: B, op: ops.ResizeOp, x: str, sizes, scales, ys: list[str]) -> None:
    roi = ""
    extra: dict = {}
    if op.roi is not None:  # tf_crop_and_resize
        roi = b.constant(np.asarray(op.roi.get_values(), dtype=np.float32), "roi")
        extra["extrapolation_value"] = op.get_float("extrapolation_value")
    if op.antialias is not None and op.get_int("antialias"):
        extra["antialias"] = 1
    if scales is not None:
        args = [x, roi, b.constant(np.asarray(scales, dtype=np.float32), "scales")]
    else:
        args = [x, roi, "", b.ints(sizes, "sizes")]
    b.node(
        "Resize",
        args,
        ys,
        mode=op.get_str("mode"),
        coordinate_transformation_mode=op.get_str("coordinate_transformation_mode"),
        nearest_mode=op.get_str("nearest_mode"),
        **_cubic_attributes(op),
        **extra,
    )


def _cubic_attributes(op: ops.ResizeOp) -> dict:
    if op.get_str("mode") != "cubic":
        return {}
    return {
        "cubic_coeff_a": op.get_float("cubic_coeff_a"),
        "exclude_outside": op.get_int("exclude_outside"),
    }


def _nearest_by_gather(b: B, op: ops.ResizeOp, x: str, ys: list[str]) -> None:
    """A nearest resize as one Gather: the reference resize of an iota gives the sources."""
    shape = shape_of(op.input.type)
    iota = np.arange(int(np.prod(shape, dtype=np.int64)), dtype=np.int64).reshape(shape)
    sources = REFERENCE[ops.ResizeOp](op, iota)
    flat = b.temp("Reshape", [x, b.ints([-1], "flat")])
    b.node("Gather", [flat, b.constant(sources, "resize_sources")], ys, axis=0)


@emits(ops.ResizeOp)
def _resize(b: B, op: ops.ResizeOp, xs: list[str], ys: list[str]) -> None:
    if op.get_str("mode") == "nearest" and element_dtype(op.input) != np.float32:
        # onnxruntime resizes only a few dtypes (no int64, no bool); a gather moves any.
        _nearest_by_gather(b, op, xs[0], ys)
        return
    shape, sizes = shape_of(op.input.type), list(op.ints("sizes"))
    scales = [float(v) for v in op.scales.get_values()] if op.scales is not None else None
    if scales is not None:
        implied = [int(np.floor(d * np.float32(f))) for d, f in zip(shape, scales)]
        if implied != sizes:
            raise UnsupportedError(
                f"'ge.resize' to sizes {sizes} with scales {scales} has no ONNX form: "
                f"ONNX Resize with scales gives sizes {implied}"
            )
    whole = op.roi is not None or (len(shape) == 4 and sizes[:2] == list(shape[:2]))
    if op.get_str("mode") != "linear" or whole:
        _resize_node(b, op, xs[0], sizes, scales, ys)
        return
    # onnxruntime interpolates linearly over the inner two of four dims only; linear
    # resizing is separable, so resize one axis at a time as the third of four dims.
    moved = [
        a
        for a in range(len(shape))
        if shape[a] != sizes[a] or (scales is not None and scales[a] != 1.0)
    ]
    x, current = xs[0], list(shape)
    for a in moved:
        outer = int(np.prod(current[:a], dtype=np.int64))
        inner = int(np.prod(current[a + 1 :], dtype=np.int64))
        x4 = b.temp("Reshape", [x, b.ints([1, outer, current[a], inner], "shape")])
        axis_scales = [1.0, 1.0, scales[a], 1.0] if scales is not None else None
        y4 = b.fresh("resized")
        _resize_node(b, op, x4, [1, outer, sizes[a], inner], axis_scales, [y4])
        current[a] = sizes[a]
        x = b.temp("Reshape", [y4, b.ints(current, "shape")])
    b.node("Identity", [x], ys)
