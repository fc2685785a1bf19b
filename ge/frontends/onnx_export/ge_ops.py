"""ONNX forms of the `ge` dialect's ops (default domain, opset 21).

Most ops are one ONNX node of the same meaning; properties that ONNX takes as inputs
since opset 13/18 (shapes, axes, pads, Clip bounds) become int64 or scalar initializers.
"""

from __future__ import annotations

import numpy as np

from ge.frontends.onnx_export.graph import GraphBuilder, emits, onnx_dtype
from gedialects.ge import ops
from gedialects.ge.constant import ConstantOp
from gedialects.ge.semantics import REFERENCE
from gedialects.ge.types import element_of, shape_of, to_numpy_dtype

B = GraphBuilder

_SAME_NAME: dict[type, str] = {
    ops.ReluOp: "Relu",
    ops.SigmoidOp: "Sigmoid",
    ops.TanhOp: "Tanh",
    ops.ErfOp: "Erf",
    ops.ExpOp: "Exp",
    ops.LogOp: "Log",
    ops.SqrtOp: "Sqrt",
    ops.ReciprocalOp: "Reciprocal",
    ops.NegOp: "Neg",
    ops.AbsOp: "Abs",
    ops.SignOp: "Sign",
    ops.FloorOp: "Floor",
    ops.CeilOp: "Ceil",
    ops.RoundOp: "Round",
    ops.SinOp: "Sin",
    ops.CosOp: "Cos",
    ops.SoftplusOp: "Softplus",
    ops.HardSwishOp: "HardSwish",
    ops.LogicalNotOp: "Not",
    ops.AddOp: "Add",
    ops.SubOp: "Sub",
    ops.MulOp: "Mul",
    ops.DivOp: "Div",
    ops.PowOp: "Pow",
    ops.MaximumOp: "Max",
    ops.MinimumOp: "Min",
    ops.EqualOp: "Equal",
    ops.LessOp: "Less",
    ops.LessEqualOp: "LessOrEqual",
    ops.GreaterOp: "Greater",
    ops.GreaterEqualOp: "GreaterOrEqual",
    ops.LogicalAndOp: "And",
    ops.LogicalOrOp: "Or",
    ops.LogicalXorOp: "Xor",
    ops.WhereOp: "Where",
    ops.MatMulOp: "MatMul",
    ops.GlobalAvgPoolOp: "GlobalAveragePool",
    ops.GlobalMaxPoolOp: "GlobalMaxPool",
}


def _same_name(b: B, op, xs: list[str], ys: list[str]) -> None:
    b.node(_SAME_NAME[type(op)], xs, ys)


emits(*_SAME_NAME)(_same_name)


@emits(ConstantOp)
def _constant(b: B, op: ConstantOp, xs: list[str], ys: list[str]) -> None:
    b.constant(op.to_numpy(), name=ys[0])


def _dtype(value) -> np.dtype:
    return to_numpy_dtype(element_of(value.type))


@emits(ops.GeluOp)
def _gelu(b: B, op: ops.GeluOp, xs: list[str], ys: list[str]) -> None:
    b.node("Gelu", xs, ys, approximate=op.get_str("approximate"))


@emits(ops.LeakyReluOp, ops.EluOp)
def _alpha(b: B, op, xs: list[str], ys: list[str]) -> None:
    kind = "LeakyRelu" if isinstance(op, ops.LeakyReluOp) else "Elu"
    b.node(kind, xs, ys, alpha=op.get_float("alpha"))


@emits(ops.HardSigmoidOp)
def _hard_sigmoid(b: B, op: ops.HardSigmoidOp, xs: list[str], ys: list[str]) -> None:
    b.node("HardSigmoid", xs, ys, alpha=op.get_float("alpha"), beta=op.get_float("beta"))


@emits(ops.ClipOp)
def _clip(b: B, op: ops.ClipOp, xs: list[str], ys: list[str]) -> None:
    dtype = _dtype(op.input)
    bounds = [
        b.constant(np.asarray(op.get_float(k)).astype(dtype), f"clip_{k}")
        if getattr(op, k) is not None
        else ""
        for k in ("min", "max")
    ]
    while bounds and bounds[-1] == "":
        bounds.pop()
    b.node("Clip", [xs[0], *bounds], ys)


@emits(ops.CastOp)
def _cast(b: B, op: ops.CastOp, xs: list[str], ys: list[str]) -> None:
    b.node("Cast", xs, ys, to=onnx_dtype(op.output.type))


@emits(ops.ModOp)
def _mod(b: B, op: ops.ModOp, xs: list[str], ys: list[str]) -> None:
    is_float = np.issubdtype(_dtype(op.lhs), np.floating)
    b.node("Mod", xs, ys, fmod=int(is_float))


@emits(ops.PReluOp)
def _prelu(b: B, op: ops.PReluOp, xs: list[str], ys: list[str]) -> None:
    if shape_of(op.output.type) == shape_of(op.lhs.type):
        b.node("PRelu", xs, ys)
        return
    # ONNX PRelu broadcasts the slope one way only; spell the two-way form out.
    zero = b.constant(np.zeros((), _dtype(op.lhs)), "zero")
    positive = b.temp("GreaterOrEqual", [xs[0], zero])
    b.node("Where", [positive, xs[0], b.temp("Mul", xs)], ys)


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
    dtype = _dtype(op.input)
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
        b.node("Dropout", [xs[0], b.constant(np.asarray(ratio, _dtype(op.input)), "ratio")], ys)
        return
    # The op's mask is a function of its seed (see the reference semantics); onnxruntime's
    # Dropout draws another, so the exported model multiplies by the op's own mask.
    dummy = np.ones(shape_of(op.input.type), _dtype(op.input))
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
        pad_value = b.constant(np.zeros((), _dtype(op.input)), "zero")
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


@emits(ops.SplitOp)
def _split(b: B, op: ops.SplitOp, xs: list[str], ys: list[str]) -> None:
    b.node("Split", [xs[0], b.ints(op.ints("sizes"), "split")], ys, axis=op.get_int("axis"))


@emits(ops.PadOp)
def _pad(b: B, op: ops.PadOp, xs: list[str], ys: list[str]) -> None:
    mode = op.get_str("mode")
    args = [xs[0], b.ints(op.ints("pads"), "pads")]
    if mode == "constant":
        value = np.asarray(op.get_float("value")).astype(_dtype(op.input))
        args.append(b.constant(value, "pad_value"))
    b.node("Pad", args, ys, mode=mode)


@emits(ops.ResizeOp)
def _resize(b: B, op: ops.ResizeOp, xs: list[str], ys: list[str]) -> None:
    if op.scales is not None:
        scales = np.asarray(op.scales.get_values(), dtype=np.float32)
        args = [xs[0], "", b.constant(scales, "scales")]
    else:
        args = [xs[0], "", "", b.ints(op.ints("sizes"), "sizes")]
    b.node(
        "Resize",
        args,
        ys,
        mode=op.get_str("mode"),
        coordinate_transformation_mode=op.get_str("coordinate_transformation_mode"),
        nearest_mode=op.get_str("nearest_mode"),
    )
