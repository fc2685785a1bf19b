"""ONNX forms of the `ge` dialect's neural-network ops: convolutions, normalizations.

Where onnxruntime runs only part of what the ONNX standard allows (LRN on 4-D with an odd
size), the op is written in a form of the same meaning that it runs.
"""

from __future__ import annotations

import numpy as np
import onnx

from ge.frontends.onnx_export.graph import GraphBuilder, element_dtype, emits
from gedialects.ge import ops
from gedialects.ge.semantics import REFERENCE
from gedialects.ge.types import shape_of

B = GraphBuilder


def _spatial(op) -> dict:
    return {"strides": list(op.ints("strides")), "pads": list(op.ints("pads"))}


@emits(ops.Conv2DOp)
def _conv(b: B, op: ops.Conv2DOp, xs: list[str], ys: list[str]) -> None:
    kernel = list(shape_of(op.weight.type)[2:])
    b.node(
        "Conv",
        xs,
        ys,
        kernel_shape=kernel,
        dilations=list(op.ints("dilations")),
        group=op.get_int("groups"),
        **_spatial(op),
    )


@emits(ops.ConvTranspose2DOp)
def _conv_transpose(b: B, op: ops.ConvTranspose2DOp, xs: list[str], ys: list[str]) -> None:
    b.node(
        "ConvTranspose",
        xs,
        ys,
        kernel_shape=list(shape_of(op.weight.type)[2:]),
        dilations=list(op.ints("dilations")),
        output_padding=list(op.ints("output_padding")),
        group=op.get_int("groups"),
        **_spatial(op),
    )


@emits(ops.BatchNormOp, ops.InstanceNormOp)
def _norm(b: B, op, xs: list[str], ys: list[str]) -> None:
    kind = "BatchNormalization" if isinstance(op, ops.BatchNormOp) else "InstanceNormalization"
    b.node(kind, xs, ys, epsilon=op.get_float("epsilon"))


GROUP_NORM_OPSET = 21
"""The opset whose GroupNormalization takes per-channel scale and bias (opset 18's took
them per group); below it the op is written as torch.onnx.export writes GroupNorm."""


@emits(ops.GroupNormOp)
def _group_norm(b: B, op: ops.GroupNormOp, xs: list[str], ys: list[str]) -> None:
    """GroupNormalization where the opset has it, else Reshape to (N, G, rest),
    InstanceNormalization with unit scale and zero bias, Reshape back, Mul and Add by the
    per-channel scale and bias (as (C, 1, ...) columns)."""
    groups, eps = op.get_int("num_groups"), op.get_float("epsilon")
    if b.opsets[""] >= GROUP_NORM_OPSET:
        b.node("GroupNormalization", xs, ys, num_groups=groups, epsilon=eps)
        return
    shape, dtype = list(shape_of(op.input.type)), element_dtype(op.input)
    x, scale, bias = xs
    grouped = b.temp("Reshape", [x, b.ints([shape[0], groups, -1], "grouped")])
    ones = b.constant(np.ones(groups, dtype), "ones")
    zeros = b.constant(np.zeros(groups, dtype), "zeros")
    normed = b.temp("InstanceNormalization", [grouped, ones, zeros], epsilon=eps)
    y = b.temp("Reshape", [normed, b.ints(shape, "shape")])
    column = b.ints([shape[1], *[1] * (len(shape) - 2)], "column")
    y = b.temp("Mul", [y, b.temp("Reshape", [scale, column])])
    b.node("Add", [y, b.temp("Reshape", [bias, column])], ys)


@emits(ops.RopeOp)
def _rope(b: B, op: ops.RopeOp, xs: list[str], ys: list[str]) -> None:
    """x * cos + rotate_half(x) * sin written out as HF transformers' export has it (ONNX's
    RotaryEmbedding takes caches and positions, not broadcasting cos and sin)."""
    x, cos, sin = xs
    width = shape_of(op.input.type)[-1]
    d = op.rotated()
    axes = b.ints([-1], "last")

    def cut(source: str, start: int, end: int) -> str:
        return b.temp("Slice", [source, b.ints([start], "start"), b.ints([end], "end"), axes])

    part = x if d == width else cut(x, 0, d)  # partial rotary: the rest passes through
    negated = b.temp("Neg", [cut(part, d // 2, d)])
    rotated = b.temp("Concat", [negated, cut(part, 0, d // 2)], axis=-1)
    terms = [b.temp("Mul", [part, cos]), b.temp("Mul", [rotated, sin])]
    if d == width:
        b.node("Add", terms, ys)
    else:
        b.node("Concat", [b.temp("Add", terms), cut(x, d, width)], ys, axis=-1)


@emits(ops.LayerNormOp)
def _layer_norm(b: B, op: ops.LayerNormOp, xs: list[str], ys: list[str]) -> None:
    shape = shape_of(op.input.type)
    axis = op.get_int("axis") % len(shape)
    normalized = list(shape[axis:])
    args = list(xs)
    for i, operand in enumerate(op.operands[1:], start=1):
        if list(shape_of(operand.type)) != normalized:  # onnxruntime wants them full-size
            args[i] = b.temp("Expand", [xs[i], b.ints(normalized, "norm_shape")])
    b.node("LayerNormalization", args, ys, axis=axis, epsilon=op.get_float("epsilon"))


RMS_NORM_OPSET = 23
"""The opset that has RMSNormalization; below it the op is written out."""


@emits(ops.RMSNormOp)
def _rms_norm(b: B, op: ops.RMSNormOp, xs: list[str], ys: list[str]) -> None:
    """RMSNormalization where the opset has it, else x * 1/sqrt(mean(x^2) + eps) * scale
    (in f32 for f16, as RMSNormalization's stash_type 1 does)."""
    rank = len(shape_of(op.input.type))
    axis, eps = op.get_int("axis") % rank, op.get_float("epsilon")
    if b.opsets[""] >= RMS_NORM_OPSET:
        b.node("RMSNormalization", xs, ys, axis=axis, epsilon=eps)
        return
    dtype = element_dtype(op.input)
    x, scale = xs
    wide = dtype == np.float16
    if wide:
        x = b.temp("Cast", [x], to=onnx.TensorProto.FLOAT)
        scale = b.temp("Cast", [scale], to=onnx.TensorProto.FLOAT)
        dtype = np.dtype(np.float32)
    axes = b.ints(list(range(axis, rank)), "axes")
    ms = b.temp("ReduceMean", [b.temp("Mul", [x, x]), axes], keepdims=1)
    eps_name = b.constant(np.asarray(eps, dtype), "eps")
    inv = b.temp("Reciprocal", [b.temp("Sqrt", [b.temp("Add", [ms, eps_name])])])
    y = b.temp("Mul", [b.temp("Mul", [x, inv]), scale])
    if wide:
        b.node("Cast", [y], ys, to=onnx.TensorProto.FLOAT16)
    else:
        b.node("Identity", [y], ys)


@emits(ops.SoftmaxOp, ops.LogSoftmaxOp)
def _softmax(b: B, op, xs: list[str], ys: list[str]) -> None:
    kind = "Softmax" if isinstance(op, ops.SoftmaxOp) else "LogSoftmax"
    b.node(kind, xs, ys, axis=op.get_int("axis"))


@emits(ops.LRNOp)
def _lrn(b: B, op: ops.LRNOp, xs: list[str], ys: list[str]) -> None:
    size, props = op.get_int("size"), {k: op.get_float(k) for k in ("alpha", "beta", "bias")}
    shape = shape_of(op.input.type)
    if len(shape) == 4 and size % 2:
        b.node("LRN", xs, ys, size=size, **props)
        return
    # onnxruntime runs LRN on 4-D with an odd size only; LRN mixes channels alone, so
    # fold the spatial dims, and spell an even window out as a sum by convolution.
    spatial = int(np.prod(shape[2:], dtype=np.int64))
    if size % 2:
        x4 = b.temp("Reshape", [xs[0], b.ints([*shape[:2], spatial, 1], "lrn_shape")])
        y4 = b.temp("LRN", [x4], size=size, **props)
        b.node("Reshape", [y4, b.ints(shape, "shape")], ys)
        return
    dtype = element_dtype(op.input)
    x4 = b.temp("Reshape", [xs[0], b.ints([shape[0], 1, shape[1], spatial], "lrn_shape")])
    ones = b.constant(np.ones((1, 1, size, 1), dtype), "lrn_window")
    lo = (size - 1) // 2
    window = b.temp("Conv", [b.temp("Mul", [x4, x4]), ones], pads=[lo, 0, size - 1 - lo, 0])
    scaled = b.temp("Mul", [window, b.constant(np.asarray(props["alpha"] / size, dtype), "a")])
    base = b.temp("Add", [scaled, b.constant(np.asarray(props["bias"], dtype), "bias")])
    denom = b.temp("Pow", [base, b.constant(np.asarray(props["beta"], dtype), "beta")])
    flat = b.temp("Reshape", [denom, b.ints(shape, "shape")])
    b.node("Div", [xs[0], flat], ys)


@emits(ops.DropoutOp)
def _dropout(b: B, op: ops.DropoutOp, xs: list[str], ys: list[str]) -> None:
    ratio = op.get_float("ratio")
    if not op.get_flag("is_training") or ratio == 0.0:
        b.node(
            "Dropout", [xs[0], b.constant(np.asarray(ratio, element_dtype(op.input)), "ratio")], ys
        )
        return
    # The op's mask is a function of its seed (see the reference semantics); onnxruntime's
    # Dropout draws another, so the exported model multiplies by the op's own mask.
    dummy = np.ones(shape_of(op.input.type), element_dtype(op.input))
    scale = REFERENCE[ops.DropoutOp](op, dummy)
    b.node("Mul", [xs[0], b.constant(scale, "dropout_scale")], ys)
