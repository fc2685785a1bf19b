"""ONNX forms of the `ge` dialect's ops (default domain, opset 21).

Most ops are one ONNX node of the same meaning; properties that ONNX takes as inputs
since opset 13/18 (shapes, axes, pads, Clip bounds) become int64 or scalar initializers.
"""

from __future__ import annotations

import numpy as np

from ge.frontends.onnx_export.graph import GraphBuilder, emits, onnx_dtype
from gedialects.ge import ops
from gedialects.ge.constant import ConstantOp
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
    props = {k: op.get_float(k) for k in ("alpha", "beta", "bias")}
    b.node("LRN", xs, ys, size=op.get_int("size"), **props)


@emits(ops.DropoutOp)
def _dropout(b: B, op: ops.DropoutOp, xs: list[str], ys: list[str]) -> None:
    ratio = b.constant(np.asarray(op.get_float("ratio"), _dtype(op.input)), "ratio")
    if not op.get_flag("is_training"):
        b.node("Dropout", [xs[0], ratio], ys)
        return
    # onnxruntime draws its own mask: the same ratio and seed, not the same elements.
    training = b.constant(np.asarray(True), "training_mode")
    b.node("Dropout", [xs[0], ratio, training], ys, seed=op.get_int("seed"))


def _floor_mode_pads(op) -> list[int] | None:
    """Pads that give `op`'s ceil-mode output in floor mode, or None if that changes values.

    ONNX's shape inference and onnxruntime disagree on ceil mode when the last window
    would start in the padding; extra end padding (never the max, never counted in the
    mean without count_include_pad) states the output size without ceil mode.
    """
    if isinstance(op, ops.AvgPool2DOp) and op.get_flag("count_include_pad"):
        return None
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
    ceil = op.get_flag("ceil_mode")
    pads = _floor_mode_pads(op) if ceil else list(op.ints("pads"))
    attrs = {
        "kernel_shape": list(op.ints("kernel_shape")),
        "ceil_mode": int(pads is None),
        "strides": list(op.ints("strides")),
        "pads": pads if pads is not None else list(op.ints("pads")),
    }
    dilations = list(op.ints("dilations"))
    if isinstance(op, ops.MaxPool2DOp):
        b.node("MaxPool", xs, ys, dilations=dilations, **attrs)
        return
    # AveragePool takes dilations since opset 19; left out when trivial.
    dilated = dilations if any(d != 1 for d in dilations) else None
    include = int(op.get_flag("count_include_pad"))
    b.node("AveragePool", xs, ys, dilations=dilated, count_include_pad=include, **attrs)


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
