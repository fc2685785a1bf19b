"""Converters of ONNX elementwise math: activations, arithmetic, comparisons, casts, MatMul/Gemm.

Each entry of `CONVERTERS` maps an ONNX op type to a function of the `Node` that returns
the SSA values of the node's outputs. Ops that `ge` has no single op for (Selu, Softsign,
Mean, ...) are composed exactly from `ge` ops.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import reduce

import numpy as np
from xdsl.ir import Attribute, SSAValue

from ge.frontends.onnx.context import Node, onnx_element_type
from gedialects.ge import ops
from gedialects.ge.types import (
    FLOAT8_TYPES,
    element_of,
    f8E8M0FNU,
    is_float_dtype,
    is_integer_dtype,
)

Converter = Callable[[Node], SSAValue | list[SSAValue]]

UNARY: dict[str, type] = {
    "Relu": ops.ReluOp,
    "Sigmoid": ops.SigmoidOp,
    "Tanh": ops.TanhOp,
    "Erf": ops.ErfOp,
    "Exp": ops.ExpOp,
    "Log": ops.LogOp,
    "Sqrt": ops.SqrtOp,
    "Reciprocal": ops.ReciprocalOp,
    "Neg": ops.NegOp,
    "Abs": ops.AbsOp,
    "Sign": ops.SignOp,
    "Floor": ops.FloorOp,
    "Ceil": ops.CeilOp,
    "Round": ops.RoundOp,
    "Sin": ops.SinOp,
    "Cos": ops.CosOp,
    "Softplus": ops.SoftplusOp,
    "HardSwish": ops.HardSwishOp,
    "Not": ops.LogicalNotOp,
}

BINARY: dict[str, type] = {
    "Add": ops.AddOp,
    "Sub": ops.SubOp,
    "Mul": ops.MulOp,
    "Div": ops.DivOp,
    "PRelu": ops.PReluOp,
    "Equal": ops.EqualOp,
    "Less": ops.LessOp,
    "LessOrEqual": ops.LessEqualOp,
    "Greater": ops.GreaterOp,
    "GreaterOrEqual": ops.GreaterEqualOp,
    "And": ops.LogicalAndOp,
    "Or": ops.LogicalOrOp,
    "Xor": ops.LogicalXorOp,
}

VARIADIC: dict[str, type] = {"Max": ops.MaximumOp, "Min": ops.MinimumOp, "Sum": ops.AddOp}


def scalar(n: Node, value: float, like: SSAValue) -> SSAValue:
    """A rank-0 constant of `like`'s element type."""
    return n.constant(np.asarray(value, dtype=n.dtype_of(like)))


def _unary(op_class: type) -> Converter:
    return lambda n: n.emit(op_class(n.value(0)))


def _binary(op_class: type) -> Converter:
    return lambda n: n.emit(op_class(n.value(0), n.value(1)))


def _variadic(op_class: type) -> Converter:
    return lambda n: reduce(lambda a, b: n.emit(op_class(a, b)), n.inputs())


def mean(n: Node) -> SSAValue:
    total = _variadic(ops.AddOp)(n)
    return n.emit(ops.DivOp(total, scalar(n, n.num_inputs, total)))


def identity(n: Node) -> SSAValue:
    return n.value(0)


def leaky_relu(n: Node) -> SSAValue:
    return n.emit(ops.LeakyReluOp(n.value(0), alpha=float(n.attr("alpha", 0.01))))


def hard_sigmoid(n: Node) -> SSAValue:
    alpha, beta = float(n.attr("alpha", 0.2)), float(n.attr("beta", 0.5))
    return n.emit(ops.HardSigmoidOp(n.value(0), alpha=alpha, beta=beta))


def elu(n: Node) -> SSAValue:
    return n.emit(ops.EluOp(n.value(0), alpha=float(n.attr("alpha", 1.0))))


def selu(n: Node) -> SSAValue:
    alpha = float(n.attr("alpha", 1.67326319217681884765625))
    gamma = float(n.attr("gamma", 1.05070102214813232421875))
    x = n.value(0)
    return n.emit(ops.MulOp(n.emit(ops.EluOp(x, alpha=alpha)), scalar(n, gamma, x)))


def celu(n: Node) -> SSAValue:
    x, alpha = n.value(0), float(n.attr("alpha", 1.0))
    scaled = n.emit(ops.EluOp(n.emit(ops.DivOp(x, scalar(n, alpha, x))), alpha=1.0))
    return n.emit(ops.MulOp(scaled, scalar(n, alpha, x)))


def thresholded_relu(n: Node) -> SSAValue:
    return thresholded_relu_of(n, n.value(0), float(n.attr("alpha", 1.0)))


def thresholded_relu_of(n: Node, x: SSAValue, alpha: float) -> SSAValue:
    """x where x > alpha, else 0."""
    keep = n.emit(ops.GreaterOp(x, scalar(n, alpha, x)))
    return n.emit(ops.WhereOp(keep, x, scalar(n, 0.0, x)))


def softsign(n: Node) -> SSAValue:
    return softsign_of(n, n.value(0))


def softsign_of(n: Node, x: SSAValue) -> SSAValue:
    """x / (1 + |x|)."""
    return n.emit(ops.DivOp(x, n.emit(ops.AddOp(scalar(n, 1.0, x), n.emit(ops.AbsOp(x))))))


def mish(n: Node) -> SSAValue:
    x = n.value(0)
    return n.emit(ops.MulOp(x, n.emit(ops.TanhOp(n.emit(ops.SoftplusOp(x))))))


def gelu(n: Node) -> SSAValue:
    return n.emit(ops.GeluOp(n.value(0), approximate=n.attr("approximate", "none")))


def pow_(n: Node) -> SSAValue:
    base, exponent = n.value(0), n.value(1)
    if n.dtype(1) != n.dtype(0):
        exponent = n.emit(ops.CastOp(exponent, to=element_of(base.type)))
    return n.emit(ops.PowOp(base, exponent))


def mod(n: Node) -> SSAValue:
    x, y = n.value(0), n.value(1)
    if n.attr("fmod", 0) and is_integer_dtype(n.dtype(0)):
        # C fmod on integers: x - trunc(x / y) * y (ge.div truncates integers).
        return n.emit(ops.SubOp(x, n.emit(ops.MulOp(n.emit(ops.DivOp(x, y)), y))))
    r = n.emit(ops.ModOp(x, y))
    if n.attr("fmod", 0) or not is_float_dtype(n.dtype(0)):
        return r
    # Python's remainder from C's fmod, as numpy.mod: add y where the signs differ.
    zero = scalar(n, 0.0, x)
    nonzero = n.emit(ops.LogicalNotOp(n.emit(ops.EqualOp(r, zero))))
    signs = n.emit(ops.LogicalXorOp(n.emit(ops.LessOp(r, zero)), n.emit(ops.LessOp(y, zero))))
    fix = n.emit(ops.LogicalAndOp(nonzero, signs))
    return n.emit(ops.WhereOp(fix, n.emit(ops.AddOp(r, y)), r))


def where(n: Node) -> SSAValue:
    return n.emit(ops.WhereOp(n.value(0), n.value(1), n.value(2)))


def _bound(n: Node, index: int, attr: str) -> tuple[float | None, SSAValue | None]:
    """A Clip bound as a float (constant scalar) or as a value (anything else)."""
    if n.opset < 11:
        value = n.attr(attr)
        return (None if value is None else float(value)), None
    if not n.has(index):
        return None, None
    if n.is_const(index) and is_float_dtype(n.dtype(index)):
        return float(n.const(index)), None
    return None, n.value(index)


def clip(n: Node) -> SSAValue:
    x = n.value(0)
    low, low_value = _bound(n, 1, "min")
    high, high_value = _bound(n, 2, "max")
    if low_value is not None:
        x = n.emit(ops.MaximumOp(x, low_value))
    if high_value is not None and low is None and high is None:
        return n.emit(ops.MinimumOp(x, high_value))
    if low is not None or high is not None:
        x = n.emit(ops.ClipOp(x, min=low, max=high))
    if high_value is not None:
        x = n.emit(ops.MinimumOp(x, high_value))
    return x


def cast(n: Node) -> SSAValue:
    to = onnx_element_type(int(n.attr("to")), f"{n.state.source}: {n.describe()}: the target")
    return _cast(n, to)


def cast_like(n: Node) -> SSAValue:
    return _cast(n, element_of(n.value(1).type))


def _cast(n: Node, to: Attribute) -> SSAValue:
    """Cast-19's `saturate` (default 1) for float8 and e8m0 targets, Cast-24's `round_mode`
    (default "up") for e8m0 ones; other targets read neither."""
    props: dict[str, object] = {}
    if to in FLOAT8_TYPES or to == f8E8M0FNU:
        props["saturate"] = bool(n.attr("saturate", 1))
    if to == f8E8M0FNU:
        props["round_mode"] = n.attr("round_mode", "up")
    return n.emit(ops.CastOp(n.value(0), to=to, **props))


def matmul(n: Node) -> SSAValue:
    return n.emit(ops.MatMulOp(n.value(0), n.value(1)))


def gemm(n: Node) -> SSAValue:
    a, b = n.value(0), n.value(1)
    if n.attr("transA", 0):
        a = n.emit(ops.TransposeOp(a, perm=[1, 0]))
    if n.attr("transB", 0):
        b = n.emit(ops.TransposeOp(b, perm=[1, 0]))
    alpha, beta = float(n.attr("alpha", 1.0)), float(n.attr("beta", 1.0))
    if alpha != 1.0:
        a = n.emit(ops.MulOp(a, scalar(n, alpha, a)))
    y = n.emit(ops.MatMulOp(a, b))
    if not n.has(2) or beta == 0.0:
        return y
    c = n.value(2)
    if beta != 1.0:
        c = n.emit(ops.MulOp(c, scalar(n, beta, c)))
    return n.emit(ops.AddOp(y, c))


CONVERTERS: dict[str, Converter] = {
    **{name: _unary(cls) for name, cls in UNARY.items()},
    **{name: _binary(cls) for name, cls in BINARY.items()},
    **{name: _variadic(cls) for name, cls in VARIADIC.items()},
    "Mean": mean,
    "Identity": identity,
    "LeakyRelu": leaky_relu,
    "HardSigmoid": hard_sigmoid,
    "Elu": elu,
    "Selu": selu,
    "Celu": celu,
    "ThresholdedRelu": thresholded_relu,
    "Softsign": softsign,
    "Mish": mish,
    "Gelu": gelu,
    "Pow": pow_,
    "Mod": mod,
    "Where": where,
    "Clip": clip,
    "Cast": cast,
    "CastLike": cast_like,
    "MatMul": matmul,
    "Gemm": gemm,
}
