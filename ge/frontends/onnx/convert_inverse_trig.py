"""Converters of ONNX's inverse trigonometric and hyperbolic ops, composed from `ge` ops.

`ge` has no atan, so Atan is Cephes' `atanf`: the argument is reduced to |x| <= tan(pi/8)
(by atan(x) = pi/2 + atan(-1/x) and pi/4 + atan((x-1)/(x+1))) and a degree-9 odd polynomial
does the rest, within a few float32 ulps (float64 inputs get float32 accuracy too).
Asin and Acos are atans of ratios chosen to keep their precision at |x| near 1; the
hyperbolic ones are their logarithm formulas (asinh odd by construction). Every piece is an
elementwise op the npu lowers. NaN and out-of-domain inputs give NaN, as numpy does.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from xdsl.ir import SSAValue

from ge.frontends.onnx.context import Node
from ge.frontends.onnx.convert_math import scalar
from gedialects.ge import ops
from gedialects.ge.types import is_float_dtype

Converter = Callable[[Node], SSAValue]

ATAN_COEFFICIENTS = (8.05374449538e-2, -1.38776856032e-1, 1.99777106478e-1, -3.33329491539e-1)
"""Cephes atanf: atan(x) ~ x + x * z * P(z), z = x * x, on |x| <= tan(pi / 8)."""


def _float_input(n: Node) -> SSAValue:
    x = n.value(0)
    if not is_float_dtype(n.dtype_of(x)):
        raise n.unsupported(f"input of type {n.dtype_of(x)} is not a float")
    return x


def atan_of(n: Node, x: SSAValue) -> SSAValue:
    """atan(x), elementwise."""
    e = lambda op: n.emit(op)  # noqa: E731
    c = lambda v: scalar(n, v, x)  # noqa: E731
    t = e(ops.AbsOp(x))
    big = e(ops.GreaterOp(t, c(2.414213562373095)))
    mid = e(ops.GreaterOp(t, c(0.4142135623730950)))
    inverted = e(ops.NegOp(e(ops.ReciprocalOp(e(ops.MaximumOp(t, c(1.0)))))))
    shifted = e(ops.DivOp(e(ops.SubOp(t, c(1.0))), e(ops.AddOp(t, c(1.0)))))
    r = e(ops.WhereOp(big, inverted, e(ops.WhereOp(mid, shifted, t))))
    base = e(ops.WhereOp(big, c(np.pi / 2), e(ops.WhereOp(mid, c(np.pi / 4), c(0.0)))))
    z = e(ops.MulOp(r, r))
    poly = c(ATAN_COEFFICIENTS[0])
    for coefficient in ATAN_COEFFICIENTS[1:]:
        poly = e(ops.AddOp(e(ops.MulOp(poly, z)), c(coefficient)))
    small = e(ops.AddOp(e(ops.MulOp(e(ops.MulOp(poly, z)), r)), r))
    magnitude = e(ops.AddOp(base, small))
    negative = e(ops.LessOp(x, c(0.0)))
    return e(ops.WhereOp(negative, e(ops.NegOp(magnitude)), magnitude))


def atan(n: Node) -> SSAValue:
    return atan_of(n, _float_input(n))


def asin(n: Node) -> SSAValue:
    """asin(x) = atan(x / sqrt((1 - x)(1 + x))); x = +-1 gives atan(+-inf) = +-pi/2."""
    x = _float_input(n)
    one = scalar(n, 1.0, x)
    below = n.emit(ops.SubOp(one, x))
    above = n.emit(ops.AddOp(one, x))
    root = n.emit(ops.SqrtOp(n.emit(ops.MulOp(below, above))))
    return atan_of(n, n.emit(ops.DivOp(x, root)))


def acos(n: Node) -> SSAValue:
    """acos(x) = 2 atan(sqrt((1 - x) / (1 + x))): exact near x = 1, pi at x = -1."""
    x = _float_input(n)
    one = scalar(n, 1.0, x)
    ratio = n.emit(ops.DivOp(n.emit(ops.SubOp(one, x)), n.emit(ops.AddOp(one, x))))
    half = atan_of(n, n.emit(ops.SqrtOp(ratio)))
    return n.emit(ops.MulOp(half, scalar(n, 2.0, x)))


def asinh(n: Node) -> SSAValue:
    """sign(x) log(|x| + sqrt(x^2 + 1)) (no cancellation for negative x); the root is
    |x| sqrt(1 + 1/x^2) above 1, so x^2 cannot overflow."""
    x = _float_input(n)
    one = scalar(n, 1.0, x)
    t = n.emit(ops.AbsOp(x))
    r = n.emit(ops.ReciprocalOp(n.emit(ops.MaximumOp(t, one))))
    wide = n.emit(ops.MulOp(t, n.emit(ops.SqrtOp(n.emit(ops.AddOp(n.emit(ops.MulOp(r, r)), one))))))
    narrow = n.emit(ops.SqrtOp(n.emit(ops.AddOp(n.emit(ops.MulOp(t, t)), one))))
    root = n.emit(ops.WhereOp(n.emit(ops.GreaterOp(t, one)), wide, narrow))
    magnitude = n.emit(ops.LogOp(n.emit(ops.AddOp(t, root))))
    negative = n.emit(ops.LessOp(x, scalar(n, 0.0, x)))
    return n.emit(ops.WhereOp(negative, n.emit(ops.NegOp(magnitude)), magnitude))


def acosh(n: Node) -> SSAValue:
    """log(x + sqrt(x - 1) sqrt(x + 1)) (no x^2 to overflow), NaN below 1."""
    x = _float_input(n)
    one = scalar(n, 1.0, x)
    below = n.emit(ops.SqrtOp(n.emit(ops.SubOp(x, one))))
    above = n.emit(ops.SqrtOp(n.emit(ops.AddOp(x, one))))
    value = n.emit(ops.LogOp(n.emit(ops.AddOp(x, n.emit(ops.MulOp(below, above))))))
    return n.emit(ops.WhereOp(n.emit(ops.LessOp(x, one)), scalar(n, np.nan, x), value))


def atanh(n: Node) -> SSAValue:
    """log((1 + x) / (1 - x)) / 2: +-inf at +-1, NaN beyond."""
    x = _float_input(n)
    one = scalar(n, 1.0, x)
    ratio = n.emit(ops.DivOp(n.emit(ops.AddOp(one, x)), n.emit(ops.SubOp(one, x))))
    return n.emit(ops.MulOp(n.emit(ops.LogOp(ratio)), scalar(n, 0.5, x)))


CONVERTERS: dict[str, Converter] = {
    "Atan": atan,
    "Asin": asin,
    "Acos": acos,
    "Asinh": asinh,
    "Acosh": acosh,
    "Atanh": atanh,
}
