"""Converters of elementwise aten ops: activations, arithmetic, comparisons, selection.

Operands follow torch's type promotion: arithmetic is done in the result dtype torch
recorded for the node; comparisons promote their operands first (a Python scalar adapts
to the tensor's dtype, a float scalar turns an integer tensor to float32).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from xdsl.ir import SSAValue

from ge.frontends.torch.convert import ComplexValue, Converter, dtype_of, op_key
from ge.frontends.torch.table import converts
from gedialects import ge
from gedialects.ge.types import is_float_dtype, shape_of

_UNARY = {
    "relu": ge.ReluOp,
    "sigmoid": ge.SigmoidOp,
    "tanh": ge.TanhOp,
    "erf": ge.ErfOp,
    "exp": ge.ExpOp,
    "log": ge.LogOp,
    "sqrt": ge.SqrtOp,
    "reciprocal": ge.ReciprocalOp,
    "neg": ge.NegOp,
    "abs": ge.AbsOp,
    "sign": ge.SignOp,
    "floor": ge.FloorOp,
    "ceil": ge.CeilOp,
    "sin": ge.SinOp,
    "cos": ge.CosOp,
    "hardswish": ge.HardSwishOp,
    "logical_not": ge.LogicalNotOp,
}


def _unary(op_type: type) -> Any:
    def convert(cx: Converter, a: dict[str, Any]) -> SSAValue:
        x = a["self"]
        if op_type is not ge.LogicalNotOp:
            x = cx.cast(x, cx.out_dtype())
        return cx.emit(op_type(x))

    return convert


for _name, _op in _UNARY.items():
    converts(_name)(_unary(_op))


@converts("bitwise_not")
def bitwise_not(cx: Converter, a: dict[str, Any]) -> SSAValue:
    if dtype_of(a["self"]) != np.bool_:
        raise cx.unsupported("bitwise_not is supported on bool tensors only")
    return cx.emit(ge.LogicalNotOp(a["self"]))


@converts("round")
def round_(cx: Converter, a: dict[str, Any]) -> SSAValue:
    """Half to even, as torch."""
    if a.get("decimals", 0):
        raise cx.unsupported("round with decimals")
    return cx.emit(ge.RoundOp(a["self"]))


@converts("log1p", "expm1")
def log1p_expm1(cx: Converter, a: dict[str, Any]) -> SSAValue:
    """log(1 + x) and exp(x) - 1 (no dedicated ops: exact to f32 rounding of 1 + x)."""
    x = cx.cast(a["self"], cx.out_dtype())
    one = cx.scalar(1.0, dtype_of(x))
    if op_key(cx.node.target) == "log1p":
        return cx.emit(ge.LogOp(cx.emit(ge.AddOp(x, one))))
    return cx.emit(ge.SubOp(cx.emit(ge.ExpOp(x)), one))


@converts("log2", "log10", "exp2")
def other_bases(cx: Converter, a: dict[str, Any]) -> SSAValue:
    """Logarithms and powers to bases 2 and 10 through ln (spectrogram front ends: log10 of
    a power spectrum)."""
    x = cx.cast(a["self"], cx.out_dtype())
    key = op_key(cx.node.target)
    if key == "exp2":
        return cx.emit(ge.ExpOp(cx.emit(ge.MulOp(x, cx.scalar(np.log(2.0), dtype_of(x))))))
    base = 2.0 if key == "log2" else 10.0
    return cx.emit(ge.MulOp(cx.emit(ge.LogOp(x)), cx.scalar(1.0 / np.log(base), dtype_of(x))))


@converts("tan")
def tan(cx: Converter, a: dict[str, Any]) -> SSAValue:
    x = cx.cast(a["self"], cx.out_dtype())
    return cx.emit(ge.DivOp(cx.emit(ge.SinOp(x)), cx.emit(ge.CosOp(x))))


@converts("rsqrt")
def rsqrt(cx: Converter, a: dict[str, Any]) -> SSAValue:
    return cx.emit(ge.ReciprocalOp(cx.emit(ge.SqrtOp(cx.cast(a["self"], cx.out_dtype())))))


@converts("silu")
def silu(cx: Converter, a: dict[str, Any]) -> SSAValue:
    return cx.emit(ge.SiluOp(a["self"]))


@converts("gelu")
def gelu(cx: Converter, a: dict[str, Any]) -> SSAValue:
    return cx.emit(ge.GeluOp(a["self"], approximate=a["approximate"]))


@converts("hardtanh", "clamp", "clamp_min", "clamp_max", "relu6")
def clamp(cx: Converter, a: dict[str, Any]) -> SSAValue:
    x = cx.cast(a["self"], cx.out_dtype())
    name = op_key(cx.node.target)
    lo, hi = {
        "hardtanh": (a.get("min_val"), a.get("max_val")),
        "relu6": (0.0, 6.0),
        "clamp_min": (a.get("min"), None),
        "clamp_max": (None, a.get("max")),
    }.get(name, (a.get("min"), a.get("max")))
    if not isinstance(lo, SSAValue) and not isinstance(hi, SSAValue):
        return cx.emit(
            ge.ClipOp(
                x, min=None if lo is None else float(lo), max=None if hi is None else float(hi)
            )
        )
    if lo is not None:
        x = cx.emit(ge.MaximumOp(x, cx.operand(lo, dtype_of(x))))
    if hi is not None:
        x = cx.emit(ge.MinimumOp(x, cx.operand(hi, dtype_of(x))))
    return x


@converts("hardsigmoid")
def hardsigmoid(cx: Converter, a: dict[str, Any]) -> SSAValue:
    return cx.emit(ge.HardSigmoidOp(a["self"], alpha=1.0 / 6.0, beta=0.5))


@converts("leaky_relu")
def leaky_relu(cx: Converter, a: dict[str, Any]) -> SSAValue:
    return cx.emit(ge.LeakyReluOp(a["self"], alpha=float(a["negative_slope"])))


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
"""torch's SELU constants (`aten.selu` is `elu(x, alpha, scale)` with them)."""


def _elu(cx: Converter, x: SSAValue, alpha: float, scale: float, input_scale: float) -> SSAValue:
    """torch's elu: scale * x where x > 0, else scale * alpha * (exp(input_scale * x) - 1)."""
    x = cx.cast(x, cx.out_dtype())
    dtype = dtype_of(x)
    if input_scale == 1:  # ge.elu is the input_scale 1 form; scale multiplies both branches
        y = cx.emit(ge.EluOp(x, alpha=alpha))
        return y if scale == 1 else cx.emit(ge.MulOp(y, cx.scalar(scale, dtype)))
    neg = cx.emit(ge.EluOp(cx.emit(ge.MulOp(x, cx.scalar(input_scale, dtype))), alpha=alpha))
    pos = x
    if scale != 1:
        neg = cx.emit(ge.MulOp(neg, cx.scalar(scale, dtype)))
        pos = cx.emit(ge.MulOp(x, cx.scalar(scale, dtype)))
    positive = cx.emit(ge.GreaterOp(x, cx.scalar(0, dtype)))
    return cx.emit(ge.WhereOp(positive, pos, neg))


@converts("elu")
def elu(cx: Converter, a: dict[str, Any]) -> SSAValue:
    """`F.selu` reaches the core-aten graph as elu with scale; `F.celu` with input_scale."""
    return _elu(cx, a["self"], float(a["alpha"]), float(a["scale"]), float(a["input_scale"]))


@converts("selu")
def selu(cx: Converter, a: dict[str, Any]) -> SSAValue:
    return _elu(cx, a["self"], _SELU_ALPHA, _SELU_SCALE, 1.0)


@converts("celu")
def celu(cx: Converter, a: dict[str, Any]) -> SSAValue:
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1)): elu with input_scale 1 / alpha."""
    alpha = float(a["alpha"])
    if alpha == 0:
        raise cx.unsupported("celu with alpha 0")
    return _elu(cx, a["self"], alpha, 1.0, 1.0 / alpha)


@converts("softplus")
def softplus(cx: Converter, a: dict[str, Any]) -> SSAValue:
    """x where beta * x > threshold, else log(1 + exp(beta * x)) / beta. ge.softplus is
    log(1 + exp(.)) without overflow, so the branch left out is finite too. With beta 1 and
    a threshold of 20 or more the select is left out below float64: past it softplus(x)
    rounds to x (it exceeds x by less than exp(-20), under half an ulp of x)."""
    x = cx.cast(a["self"], cx.out_dtype())
    dtype = dtype_of(x)
    beta, threshold = float(a["beta"]), float(a["threshold"])
    if beta == 0:
        raise cx.unsupported("softplus with beta 0")
    bx = x if beta == 1 else cx.emit(ge.MulOp(x, cx.scalar(beta, dtype)))
    y = cx.emit(ge.SoftplusOp(bx))
    if beta != 1:
        y = cx.emit(ge.DivOp(y, cx.scalar(beta, dtype)))
    if beta == 1 and threshold >= 20 and dtype != np.float64:
        return y
    linear = cx.emit(ge.GreaterOp(bx, cx.scalar(threshold, dtype)))
    return cx.emit(ge.WhereOp(linear, x, y))


@converts("mish")
def mish(cx: Converter, a: dict[str, Any]) -> SSAValue:
    """x * tanh(softplus(x))."""
    x = cx.cast(a["self"], cx.out_dtype())
    return cx.emit(ge.MulOp(x, cx.emit(ge.TanhOp(cx.emit(ge.SoftplusOp(x))))))


@converts("log_sigmoid")
def log_sigmoid(cx: Converter, a: dict[str, Any]) -> SSAValue:
    """log(sigmoid(x)) as -softplus(-x), finite for large |x|."""
    x = cx.cast(a["self"], cx.out_dtype())
    return cx.emit(ge.NegOp(cx.emit(ge.SoftplusOp(cx.emit(ge.NegOp(x))))))


@converts("prelu")
def prelu(cx: Converter, a: dict[str, Any]) -> SSAValue:
    """x where x > 0, else weight * x; a weight of several values is per channel (dim 1)."""
    x = cx.cast(a["self"], cx.out_dtype())
    weight = cx.cast(a["weight"], dtype_of(x))
    rank, count = len(shape_of(x.type)), int(np.prod(shape_of(weight.type)))
    if count == 1:
        weight = cx.reshape(weight, ())
    elif rank >= 2:
        weight = cx.reshape(weight, (count,) + (1,) * (rank - 2))
    else:
        raise cx.unsupported(f"prelu of a rank-{rank} input with {count} weights")
    return cx.emit(ge.PReluOp(x, weight))


@converts("glu")
def glu(cx: Converter, a: dict[str, Any]) -> SSAValue:
    """a * sigmoid(b), a and b the halves of `dim`."""
    x = cx.cast(a["self"], cx.out_dtype())
    shape = shape_of(x.type)
    dim = a["dim"] % len(shape)
    if shape[dim] % 2:
        raise cx.unsupported(f"glu of dim {dim} of odd size {shape[dim]}")
    half = shape[dim] // 2
    split = ge.SplitOp(x, axis=dim, sizes=[half, half])
    cx.emit(split)
    first, second = split.results
    return cx.emit(ge.MulOp(first, cx.emit(ge.SigmoidOp(second))))


@converts("hardshrink")
def hardshrink(cx: Converter, a: dict[str, Any]) -> SSAValue:
    """0 where |x| <= lambd, else x (NaN stays NaN)."""
    x = cx.cast(a["self"], cx.out_dtype())
    dtype = dtype_of(x)
    inside = cx.emit(ge.LessEqualOp(cx.emit(ge.AbsOp(x)), cx.scalar(a["lambd"], dtype)))
    return cx.emit(ge.WhereOp(inside, cx.scalar(0, dtype), x))


@converts("softshrink")
def softshrink(cx: Converter, a: dict[str, Any]) -> SSAValue:
    """x - lambd above lambd, x + lambd below -lambd, else 0: x - clip(x, -lambd, lambd)."""
    x = cx.cast(a["self"], cx.out_dtype())
    lambd = float(a["lambd"])
    if lambd < 0:
        raise cx.unsupported(f"softshrink with lambd {lambd} < 0")
    return cx.emit(ge.SubOp(x, cx.emit(ge.ClipOp(x, min=-lambd, max=lambd))))


@converts("logit")
def logit(cx: Converter, a: dict[str, Any]) -> SSAValue:
    """log(z / (1 - z)), z = x clamped to [eps, 1 - eps] when eps is given (and not < 0)."""
    x = cx.cast(a["self"], cx.out_dtype())
    dtype = dtype_of(x)
    eps = a.get("eps")
    if eps is not None and eps >= 0:
        lo = dtype.type(eps)  # as torch: the bounds in the tensor's type
        x = cx.emit(ge.ClipOp(x, min=float(lo), max=float(dtype.type(1) - lo)))
    odds = cx.emit(ge.DivOp(x, cx.emit(ge.SubOp(cx.scalar(1, dtype), x))))
    return cx.emit(ge.LogOp(odds))


@converts("threshold")
def threshold(cx: Converter, a: dict[str, Any]) -> SSAValue:
    """`value` where x <= threshold, else x."""
    x = cx.cast(a["self"], cx.out_dtype())
    dtype = dtype_of(x)
    below = cx.emit(ge.LessEqualOp(x, cx.scalar(a["threshold"], dtype)))
    return cx.emit(ge.WhereOp(below, cx.scalar(a["value"], dtype), x))


def _rrelu(cx: Converter, a: dict[str, Any], index: int | None = None) -> SSAValue:
    """In eval mode a leaky relu of slope (lower + upper) / 2; training draws slopes."""
    if a["training"]:
        raise cx.in_training_mode("rrelu")
    x = cx.cast(a["self"], cx.out_dtype(index))
    slope = (float(a["lower"]) + float(a["upper"])) / 2
    return cx.emit(ge.LeakyReluOp(x, alpha=slope))


@converts("rrelu")
def rrelu(cx: Converter, a: dict[str, Any]) -> SSAValue:
    return _rrelu(cx, a)


@converts("rrelu_with_noise_functional")
def rrelu_with_noise_functional(cx: Converter, a: dict[str, Any]) -> tuple:
    """The core-aten form of rrelu; the noise it would write back is not built."""
    return _rrelu(cx, a, 0), None


@converts("dropout", "feature_dropout", "alpha_dropout")
def dropout(cx: Converter, a: dict[str, Any]) -> SSAValue:
    if a["train"] and a["p"] > 0:
        raise cx.in_training_mode("dropout")
    return a["input"]


@converts("native_dropout")
def native_dropout(cx: Converter, a: dict[str, Any]) -> tuple:
    if a["train"] and a["p"] > 0:
        raise cx.in_training_mode("dropout")
    return a["input"], None


@converts("clone", "alias", "detach", "lift_fresh_copy", "contiguous", "_to_copy", "to", "type_as")
def identity(cx: Converter, a: dict[str, Any]) -> SSAValue | ComplexValue:
    """Copies and dtype conversions: the result check casts to torch's dtype (to a complex
    one: the value as a real part, for the fft converters)."""
    x = a["self"]
    if cx.meta().dtype.is_complex and isinstance(x, SSAValue):
        return ComplexValue(x, None)
    return x


# ---- binary ------------------------------------------------------------------------


def _scaled(cx: Converter, v: Any, alpha: Any, dtype: np.dtype) -> SSAValue:
    v = cx.operand(v, dtype)
    if alpha is None or alpha == 1:
        return v
    return cx.emit(ge.MulOp(v, cx.scalar(alpha, dtype)))


@converts("add", "sub")
def add_sub(cx: Converter, a: dict[str, Any]) -> SSAValue:
    dtype = cx.out_dtype()
    op = ge.AddOp if op_key(cx.node.target) == "add" else ge.SubOp
    x = cx.operand(a["self"], dtype)
    if dtype == np.bool_ and op is ge.AddOp:  # torch: bool + bool is or
        return cx.emit(ge.LogicalOrOp(x, cx.operand(a["other"], dtype)))
    return cx.emit(op(x, _scaled(cx, a["other"], a.get("alpha"), dtype)))


@converts("rsub")
def rsub(cx: Converter, a: dict[str, Any]) -> SSAValue:
    """other - alpha * self."""
    dtype = cx.out_dtype()
    other = cx.operand(a["other"], dtype)
    return cx.emit(ge.SubOp(other, _scaled(cx, a["self"], a.get("alpha"), dtype)))


@converts("mul")
def mul(cx: Converter, a: dict[str, Any]) -> SSAValue:
    """bool * bool is and (torch.logaddexp's decomposition multiplies two masks)."""
    dtype = cx.out_dtype()
    x, y = cx.operand(a["self"], dtype), cx.operand(a["other"], dtype)
    return cx.emit(ge.LogicalAndOp(x, y) if dtype == np.bool_ else ge.MulOp(x, y))


def _trunc(cx: Converter, x: SSAValue) -> SSAValue:
    """Rounded toward zero: sign(x) * floor(|x|)."""
    return cx.emit(ge.MulOp(cx.emit(ge.SignOp(x)), cx.emit(ge.FloorOp(cx.emit(ge.AbsOp(x))))))


@converts("trunc", "fix")
def trunc(cx: Converter, a: dict[str, Any]) -> SSAValue:
    x = cx.cast(a["self"], cx.out_dtype())
    return _trunc(cx, x) if is_float_dtype(dtype_of(x)) else x


@converts("frac")
def frac(cx: Converter, a: dict[str, Any]) -> SSAValue:
    """x - trunc(x)."""
    x = cx.cast(a["self"], cx.out_dtype())
    return cx.emit(ge.SubOp(x, _trunc(cx, x)))


@converts("hypot")
def hypot(cx: Converter, a: dict[str, Any]) -> SSAValue:
    """sqrt(x^2 + y^2)."""
    dtype = cx.out_dtype()
    x, y = cx.operand(a["self"], dtype), cx.operand(a["other"], dtype)
    squares = cx.emit(ge.AddOp(cx.emit(ge.MulOp(x, x)), cx.emit(ge.MulOp(y, y))))
    return cx.emit(ge.SqrtOp(squares))


@converts("logaddexp")
def logaddexp(cx: Converter, a: dict[str, Any]) -> SSAValue:
    """log(exp(x) + exp(y)) = max(x, y) + softplus(-|x - y|), without overflow; x where
    x and y are the same infinity (their difference is NaN)."""
    dtype = cx.out_dtype()
    x, y = cx.operand(a["self"], dtype), cx.operand(a["other"], dtype)
    gap = cx.emit(ge.NegOp(cx.emit(ge.AbsOp(cx.emit(ge.SubOp(x, y))))))
    value = cx.emit(ge.AddOp(cx.emit(ge.MaximumOp(x, y)), cx.emit(ge.SoftplusOp(gap))))
    infinite = cx.emit(ge.EqualOp(cx.emit(ge.AbsOp(x)), cx.scalar(np.inf, dtype)))
    same_infinity = cx.emit(ge.LogicalAndOp(infinite, cx.emit(ge.EqualOp(x, y))))
    return cx.emit(ge.WhereOp(same_infinity, x, value))


@converts("xlogy")
def xlogy(cx: Converter, a: dict[str, Any]) -> SSAValue:
    """x * log(y), 0 where x is 0 (unless y is NaN: NaN, as torch)."""
    dtype = cx.out_dtype()
    x, y = cx.operand(a["self"], dtype), cx.operand(a["other"], dtype)
    product = cx.emit(ge.MulOp(x, cx.emit(ge.LogOp(y))))
    zero = cx.scalar(0, dtype)
    y_nan = cx.emit(ge.LogicalNotOp(cx.emit(ge.EqualOp(y, y))))
    keep = cx.emit(ge.LogicalOrOp(cx.emit(ge.LogicalNotOp(cx.emit(ge.EqualOp(x, zero)))), y_nan))
    return cx.emit(ge.WhereOp(keep, product, zero))


@converts("div", "floor_divide")
def div(cx: Converter, a: dict[str, Any]) -> SSAValue:
    dtype = cx.out_dtype()
    mode = "floor" if op_key(cx.node.target) == "floor_divide" else a.get("rounding_mode")
    x, y = cx.operand(a["self"], dtype), cx.operand(a["other"], dtype)
    if not is_float_dtype(dtype):
        if mode == "floor":  # ge.mod of integers floors (numpy.mod): x - mod(x, y) divides
            x = cx.emit(ge.SubOp(x, cx.emit(ge.ModOp(x, y))))
        elif mode is None:
            raise cx.unsupported("true division of integers into an integer result")
        return cx.emit(ge.DivOp(x, y))  # ge.div truncates integers
    q = cx.emit(ge.DivOp(x, y))
    if mode == "floor":
        return cx.emit(ge.FloorOp(q))
    if mode == "trunc":
        sign = cx.emit(ge.SignOp(q))
        return cx.emit(ge.MulOp(sign, cx.emit(ge.FloorOp(cx.emit(ge.AbsOp(q))))))
    return q


@converts("remainder", "fmod")
def remainder(cx: Converter, a: dict[str, Any]) -> SSAValue:
    """remainder takes the divisor's sign (x - floor(x / y) * y, torch's definition), fmod
    the dividend's (C's). ge.mod is numpy.mod on integers and C's fmod on floats."""
    dtype = cx.out_dtype()
    x, y = cx.operand(a["self"], dtype), cx.operand(a["other"], dtype)
    floor = op_key(cx.node.target) == "remainder"
    if floor != is_float_dtype(dtype):
        return cx.emit(ge.ModOp(x, y))
    q = cx.emit(ge.DivOp(x, y))  # integers: truncated
    if floor:
        q = cx.emit(ge.FloorOp(q))
    return cx.emit(ge.SubOp(x, cx.emit(ge.MulOp(q, y))))


@converts("pow")
def pow_(cx: Converter, a: dict[str, Any]) -> SSAValue:
    dtype = cx.out_dtype()
    return cx.emit(ge.PowOp(cx.operand(a["self"], dtype), cx.operand(a["exponent"], dtype)))


@converts("maximum", "minimum")
def max_min(cx: Converter, a: dict[str, Any]) -> SSAValue:
    dtype = cx.out_dtype()
    op = ge.MaximumOp if op_key(cx.node.target) == "maximum" else ge.MinimumOp
    return cx.emit(op(cx.operand(a["self"], dtype), cx.operand(a["other"], dtype)))


def promote(*values: Any) -> np.dtype:
    """torch's promotion of tensors with Python scalars (scalars adapt to tensors)."""
    dtypes = [dtype_of(v) for v in values if isinstance(v, SSAValue)]
    dtype = np.result_type(*dtypes) if dtypes else np.dtype(np.float32)
    scalars = [v for v in values if not isinstance(v, SSAValue)]
    if any(isinstance(s, float) for s in scalars) and not is_float_dtype(dtype):
        return np.dtype(np.float32)
    if any(isinstance(s, int) and not isinstance(s, bool) for s in scalars) and dtype == np.bool_:
        return np.dtype(np.int64)
    return dtype


_COMPARE = {
    "eq": ge.EqualOp,
    "lt": ge.LessOp,
    "le": ge.LessEqualOp,
    "gt": ge.GreaterOp,
    "ge": ge.GreaterEqualOp,
    "logical_and": ge.LogicalAndOp,
    "logical_or": ge.LogicalOrOp,
    "logical_xor": ge.LogicalXorOp,
}


_BITWISE = {
    "__and__": "logical_and",
    "bitwise_and": "logical_and",
    "__or__": "logical_or",
    "bitwise_or": "logical_or",
    "__xor__": "logical_xor",
    "bitwise_xor": "logical_xor",
}


@converts(*_COMPARE, *_BITWISE, "ne")
def compare(cx: Converter, a: dict[str, Any]) -> SSAValue:
    name = op_key(cx.node.target)
    if name in _BITWISE:
        if cx.out_dtype() != np.bool_:
            raise cx.unsupported("bitwise ops are supported on bool tensors only")
        name = _BITWISE[name]
    logical = name.startswith("logical_")
    dtype = np.dtype(np.bool_) if logical else promote(a["self"], a["other"])
    lhs, rhs = cx.operand(a["self"], dtype), cx.operand(a["other"], dtype)
    if name == "ne":
        return cx.emit(ge.LogicalNotOp(cx.emit(ge.EqualOp(lhs, rhs))))
    return cx.emit(_COMPARE[name](lhs, rhs))


@converts("where")
def where(cx: Converter, a: dict[str, Any]) -> SSAValue:
    dtype = cx.out_dtype()
    cond = cx.cast(a["condition"], np.dtype(np.bool_))
    x, y = cx.operand(a["self"], dtype), cx.operand(a["other"], dtype)
    return cx.emit(ge.WhereOp(cond, x, y))


@converts("masked_fill")
def masked_fill(cx: Converter, a: dict[str, Any]) -> SSAValue:
    x = a["self"]
    fill = cx.operand(a["value"], dtype_of(x))
    return cx.emit(ge.WhereOp(cx.cast(a["mask"], np.dtype(np.bool_)), fill, x))
