"""ONNX forms of the `ge` dialect's elementwise ops and constants (default domain, opset 21).

Most are one ONNX node of the same meaning; Clip bounds, which ONNX takes as inputs,
become scalar initializers of the operand's dtype.
"""

from __future__ import annotations

import numpy as np

from ge.frontends.onnx_export.graph import GraphBuilder, element_dtype, emits, onnx_dtype
from gedialects.ge import ops
from gedialects.ge.constant import ConstantOp
from gedialects.ge.types import is_float_dtype, shape_of

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
    if isinstance(op, ops.ReluOp) and not is_float_dtype(element_dtype(op.input)):
        # onnxruntime has no integer Relu kernel; max(x, 0) is the same.
        zero = b.constant(np.zeros((), element_dtype(op.input)), "zero")
        b.node("Max", [xs[0], zero], ys)
        return
    b.node(_SAME_NAME[type(op)], xs, ys)


emits(*_SAME_NAME)(_same_name)


@emits(ConstantOp)
def _constant(b: B, op: ConstantOp, xs: list[str], ys: list[str]) -> None:
    b.constant(op.to_numpy(), name=ys[0])


@emits(ops.GeluOp)
def _gelu(b: B, op: ops.GeluOp, xs: list[str], ys: list[str]) -> None:
    b.node("Gelu", xs, ys, approximate=op.get_str("approximate"))


@emits(ops.SiluOp)
def _silu(b: B, op: ops.SiluOp, xs: list[str], ys: list[str]) -> None:
    """x * Sigmoid(alpha x): the default domain has no SiLU (Swish is opset 24's)."""
    gated = xs[0]
    if op.gain != 1.0:
        alpha = b.constant(np.asarray(op.gain).astype(element_dtype(op.input)), "alpha")
        gated = b.temp("Mul", [xs[0], alpha])
    b.node("Mul", [xs[0], b.temp("Sigmoid", [gated])], ys)


@emits(ops.LeakyReluOp, ops.EluOp)
def _alpha(b: B, op, xs: list[str], ys: list[str]) -> None:
    kind = "LeakyRelu" if isinstance(op, ops.LeakyReluOp) else "Elu"
    b.node(kind, xs, ys, alpha=op.get_float("alpha"))


@emits(ops.HardSigmoidOp)
def _hard_sigmoid(b: B, op: ops.HardSigmoidOp, xs: list[str], ys: list[str]) -> None:
    b.node("HardSigmoid", xs, ys, alpha=op.get_float("alpha"), beta=op.get_float("beta"))


@emits(ops.ClipOp)
def _clip(b: B, op: ops.ClipOp, xs: list[str], ys: list[str]) -> None:
    dtype = element_dtype(op.input)
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
    is_float = is_float_dtype(element_dtype(op.lhs))
    b.node("Mod", xs, ys, fmod=int(is_float))


@emits(ops.PReluOp)
def _prelu(b: B, op: ops.PReluOp, xs: list[str], ys: list[str]) -> None:
    if shape_of(op.output.type) == shape_of(op.lhs.type):
        b.node("PRelu", xs, ys)
        return
    # ONNX PRelu broadcasts the slope one way only; spell the two-way form out.
    zero = b.constant(np.zeros((), element_dtype(op.lhs)), "zero")
    positive = b.temp("GreaterOrEqual", [xs[0], zero])
    b.node("Where", [positive, xs[0], b.temp("Mul", xs)], ys)
