"""ONNX forms of the `ge` dialect's neural-network ops: convolutions, normalizations, pools.

Where onnxruntime runs only part of what the ONNX standard allows (LRN on 4-D with an odd
size, ceil-mode pools whose last window starts in the padding), the op is written in a
form of the same meaning that it runs.
"""

from __future__ import annotations

import numpy as np

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


def _floor_mode_pads(op) -> list[int]:
    """Pads that give `op`'s ceil-mode output size in floor mode.

    ONNX's shape inference and onnxruntime disagree on ceil mode when the last window
    would start in the padding; extra end padding states the size without ceil mode. The
    extra cells never win a max and, like ceil mode's, are never counted in a mean.
    """
    pads = list(op.ints("pads"))
    size = shape_of(op.input.type)[2:]
    out = shape_of(op.output.type)[2:]
    for i in range(2):
        span = op.ints("dilations")[i] * (op.ints("kernel_shape")[i] - 1) + 1
        needed = (out[i] - 1) * op.ints("strides")[i] + span
        pads[i + 2] += max(0, needed - (size[i] + pads[i] + pads[i + 2]))
    return pads


@emits(ops.MaxPool2DOp, ops.AvgPool2DOp)
def _pool(b: B, op, xs: list[str], ys: list[str]) -> None:
    pads = _floor_mode_pads(op) if op.get_flag("ceil_mode") else list(op.ints("pads"))
    attrs = {"kernel_shape": list(op.ints("kernel_shape")), "strides": list(op.ints("strides"))}
    dilations = list(op.ints("dilations"))
    if isinstance(op, ops.MaxPool2DOp):
        b.node("MaxPool", xs, ys, dilations=dilations, pads=pads, **attrs)
        return
    x, include = xs[0], int(op.get_flag("count_include_pad"))
    if include and op.get_flag("ceil_mode"):
        # Counted pads become zeros of the input; only ceil mode's extra cells stay out.
        explicit = list(op.ints("pads"))
        pad_value = b.constant(np.zeros((), element_dtype(op.input)), "zero")
        nchw = [0, 0, explicit[0], explicit[1], 0, 0, explicit[2], explicit[3]]
        x = b.temp("Pad", [x, b.ints(nchw, "pads"), pad_value])
        pads = [0, 0, pads[2] - explicit[2], pads[3] - explicit[3]]
        include = 0
    # AveragePool takes dilations since opset 19; left out when trivial.
    dilated = dilations if any(d != 1 for d in dilations) else None
    b.node(
        "AveragePool",
        [x],
        ys,
        dilations=dilated,
        pads=pads,
        count_include_pad=include,
        **attrs,
    )
