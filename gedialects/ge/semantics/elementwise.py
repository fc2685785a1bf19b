"""Reference semantics of the elementwise `ge` ops (unary, binary, compare, logical, cast,
where): numpy ufuncs run without floating-point warnings and cast to the result type."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from onnx import numpy_helper
from scipy import special

from gedialects.ge import ops
from gedialects.ge.semantics.registry import REFERENCE, Reference, reference, result_dtype
from gedialects.ge.types import FLOAT8_TYPES, f8E8M0FNU
from gedialects.numerics import power


def _elementwise(fn: Callable[[np.ndarray], np.ndarray]) -> Reference:
    def run(op: Any, x: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.asarray(fn(x)).astype(result_dtype(op), copy=False)

    return run


def _erf(x: np.ndarray) -> np.ndarray:
    return special.erf(x)


_UNARY: dict[type, Callable[[np.ndarray], np.ndarray]] = {
    ops.ReluOp: lambda x: np.maximum(x, np.zeros((), x.dtype)),
    ops.SigmoidOp: lambda x: special.expit(x),
    ops.TanhOp: np.tanh,
    ops.ErfOp: _erf,
    ops.ExpOp: np.exp,
    ops.LogOp: np.log,
    ops.SqrtOp: np.sqrt,
    ops.ReciprocalOp: np.reciprocal,
    ops.NegOp: np.negative,
    ops.AbsOp: np.abs,
    ops.SignOp: np.sign,
    ops.FloorOp: np.floor,
    ops.CeilOp: np.ceil,
    ops.RoundOp: np.round,
    ops.SinOp: np.sin,
    ops.CosOp: np.cos,
    ops.SoftplusOp: lambda x: np.logaddexp(np.zeros((), x.dtype), x),
    ops.HardSwishOp: lambda x: x * np.clip(x / 6 + 0.5, 0, 1),
    ops.LogicalNotOp: np.logical_not,
}
for _op, _fn in _UNARY.items():
    REFERENCE[_op] = _elementwise(_fn)


@reference(ops.SiluOp)
def silu(op: ops.SiluOp, x: np.ndarray) -> np.ndarray:
    """The sigmoid rounded to x's type, then the product in it: Sigmoid then Mul, as the
    two ONNX ops compute it (scipy's expit of f16 answers in f64)."""
    dtype, gain = result_dtype(op), op.gain
    with np.errstate(all="ignore"):
        scaled = x if gain == 1.0 else x * np.asarray(gain, dtype)
        gate = np.asarray(special.expit(scaled)).astype(dtype, copy=False)
        return np.asarray(x * gate).astype(dtype, copy=False)


@reference(ops.GeluOp)
def gelu(op: ops.GeluOp, x: np.ndarray) -> np.ndarray:
    """In f64, in place on one temporary (x * x * x, not x**3: numpy's float power is
    ~10x slower than two products)."""
    x64 = x.astype(np.float64)
    y = np.empty_like(x64)  # an array even for a rank-0 x, whose products are scalars
    if op.get_str("approximate") == "tanh":
        np.multiply(x64, x64, out=y)
        y *= x64
        y *= 0.044715
        y += x64
        y *= np.sqrt(2 / np.pi)
        np.tanh(y, out=y)
    else:
        np.divide(x64, np.sqrt(2), out=y)
        special.erf(y, out=y)
    y += 1
    y *= x64
    y *= 0.5
    return y.astype(x.dtype)


@reference(ops.LeakyReluOp)
def leaky_relu(op: ops.LeakyReluOp, x: np.ndarray) -> np.ndarray:
    return np.where(x >= 0, x, x * x.dtype.type(op.get_float("alpha"))).astype(x.dtype)


@reference(ops.EluOp)
def elu(op: ops.EluOp, x: np.ndarray) -> np.ndarray:
    alpha = op.get_float("alpha")
    with np.errstate(over="ignore"):
        return np.where(x > 0, x, alpha * np.expm1(x)).astype(x.dtype)


@reference(ops.HardSigmoidOp)
def hard_sigmoid(op: ops.HardSigmoidOp, x: np.ndarray) -> np.ndarray:
    y = op.get_float("alpha") * x + op.get_float("beta")
    return np.clip(y, 0, 1).astype(x.dtype)


@reference(ops.ClipOp)
def clip(op: ops.ClipOp, x: np.ndarray) -> np.ndarray:
    y = x
    if op.min is not None:
        y = np.maximum(y, np.asarray(op.get_float("min")).astype(x.dtype))
    if op.max is not None:
        y = np.minimum(y, np.asarray(op.get_float("max")).astype(x.dtype))
    return np.asarray(y, dtype=x.dtype)


@reference(ops.CastOp)
def cast(op: ops.CastOp, x: np.ndarray) -> np.ndarray:
    to = result_dtype(op)
    with np.errstate(invalid="ignore", over="ignore"):
        if op.to == f8E8M0FNU:
            mode = op.get_str("round_mode") if op.round_mode is not None else "up"
            return numpy_helper.to_float8e8m0(x.astype(np.float32), op.get_flag("saturate"), mode)
        if op.to in FLOAT8_TYPES and op.get_flag("saturate"):
            wide = x if x.dtype in (np.float32, np.float64) else x.astype(np.float32)
            return numpy_helper.saturate_cast(wide, to)
        return x.astype(to)


def _int_div(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    if np.issubdtype(x.dtype, np.integer):
        with np.errstate(divide="ignore"):
            q = np.trunc(np.divide(x.astype(np.float64), y))
        return q.astype(x.dtype)
    return np.divide(x, y)


def _mod(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.mod(x, y) if np.issubdtype(x.dtype, np.integer) else np.fmod(x, y)


_BINARY: dict[type, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    ops.AddOp: np.add,
    ops.SubOp: np.subtract,
    ops.MulOp: np.multiply,
    ops.DivOp: _int_div,
    ops.PowOp: power,
    ops.MaximumOp: np.maximum,
    ops.MinimumOp: np.minimum,
    ops.ModOp: _mod,
    ops.PReluOp: lambda x, s: np.where(x >= 0, x, x * s),
    ops.EqualOp: np.equal,
    ops.LessOp: np.less,
    ops.LessEqualOp: np.less_equal,
    ops.GreaterOp: np.greater,
    ops.GreaterEqualOp: np.greater_equal,
    ops.LogicalAndOp: np.logical_and,
    ops.LogicalOrOp: np.logical_or,
    ops.LogicalXorOp: np.logical_xor,
}


def _binary(fn: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Reference:
    def run(op: Any, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.asarray(fn(x, y)).astype(result_dtype(op), copy=False)

    return run


for _op, _fn in _BINARY.items():
    REFERENCE[_op] = _binary(_fn)


@reference(ops.WhereOp)
def where(op: ops.WhereOp, c: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.where(c, x, y).astype(result_dtype(op), copy=False)
