"""Generators of elementwise `ge` ops for the program strategies.

Each generator takes a `ProgramBuilder`, draws operands from its pool (or makes fresh
constants / arguments), guards them into the op's domain, appends the op and returns
True; it returns False when the builder's dtypes rule the op out.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as npst
from scipy import special

from ge.testing.program_builder import ProgramBuilder, Value, out_limit
from gedialects.ge import ALL_OPS, ops
from gedialects.ge.types import from_numpy_dtype

OP_BY_NAME: dict[str, type] = {cls.name: cls for cls in ALL_OPS}
Interval = Callable[[float, float], tuple[float, float]]
Generator = Callable[[ProgramBuilder], bool]


def _mono(f: Callable[[float], float]) -> Interval:
    return lambda lo, hi: (f(lo), f(hi))


def _fixed(a: float, b: float) -> Interval:
    return lambda lo, hi: (a, b)


def _softplus(x: float) -> float:
    return float(np.logaddexp(0.0, x))


# name -> (op class, guard, interval, ints allowed); properties come from UNARY_PROPERTIES
UNARY: dict[str, tuple] = {
    "ge.relu": (ops.ReluOp, None, _mono(lambda x: max(x, 0.0)), True),
    "ge.sigmoid": (ops.SigmoidOp, None, _mono(lambda x: float(special.expit(x))), False),
    "ge.tanh": (ops.TanhOp, None, _mono(math.tanh), False),
    "ge.erf": (ops.ErfOp, None, _mono(math.erf), False),
    "ge.exp": (ops.ExpOp, "exp", _mono(math.exp), False),
    "ge.log": (ops.LogOp, "positive", _mono(math.log), False),
    "ge.sqrt": (ops.SqrtOp, "nonnegative", _mono(math.sqrt), False),
    "ge.reciprocal": (ops.ReciprocalOp, "positive", lambda lo, hi: (1 / hi, 1 / lo), False),
    "ge.neg": (ops.NegOp, None, lambda lo, hi: (-hi, -lo), True),
    "ge.abs": (ops.AbsOp, None, lambda lo, hi: (0.0, max(abs(lo), abs(hi))), True),
    "ge.sign": (ops.SignOp, None, _fixed(-1.0, 1.0), True),
    "ge.floor": (ops.FloorOp, None, _mono(math.floor), False),
    "ge.ceil": (ops.CeilOp, None, _mono(math.ceil), False),
    "ge.round": (ops.RoundOp, None, lambda lo, hi: (math.floor(lo), math.ceil(hi)), False),
    "ge.sin": (ops.SinOp, None, _fixed(-1.0, 1.0), False),
    "ge.cos": (ops.CosOp, None, _fixed(-1.0, 1.0), False),
    "ge.softplus": (ops.SoftplusOp, None, _mono(_softplus), False),
    "ge.hard_swish": (ops.HardSwishOp, None, lambda lo, hi: (-0.375, max(hi, 0.0)), False),
    "ge.silu": (ops.SiluOp, None, lambda lo, hi: (-0.28, max(hi, 0.0)), False),
    "ge.gelu": (ops.GeluOp, None, lambda lo, hi: (-0.18, max(hi, 0.0)), False),
    "ge.leaky_relu": (ops.LeakyReluOp, None, lambda lo, hi: (min(lo, 0.0), hi), False),
    "ge.elu": (ops.EluOp, None, lambda lo, hi: (-1.0, max(hi, 0.0)), False),
    "ge.hard_sigmoid": (ops.HardSigmoidOp, None, _fixed(0.0, 1.0), False),
    "ge.clip": (ops.ClipOp, None, None, True),
}

UNARY_PROPERTIES: dict[str, Callable[[ProgramBuilder], dict]] = {
    "ge.gelu": lambda b: {"approximate": b.draw(st.sampled_from(["none", "tanh"]))},
    "ge.leaky_relu": lambda b: {"alpha": b.draw(st.sampled_from([0.01, 0.1, 0.5]))},
    "ge.elu": lambda b: {"alpha": b.draw(st.sampled_from([1.0, 0.5]))},
    "ge.silu": lambda b: b.draw(st.sampled_from([{}, {"alpha": 1.702}])),
    "ge.hard_sigmoid": lambda b: {
        "alpha": b.draw(st.sampled_from([0.2, 1 / 6])),
        "beta": b.draw(st.sampled_from([0.5, 0.25])),
    },
}


def numeric(v: Value) -> bool:
    return v.is_float or v.is_int


def _guard(b: ProgramBuilder, v: Value, guard: str | None) -> Value:
    if guard == "exp":
        return b.bounded(v, 8.0)
    if guard == "positive":
        return b.positive(v, 1.0 if v.is_int else 0.5)
    if guard == "nonnegative":
        return b.positive(v, 0.0)
    return v


def unary(name: str) -> Generator:
    cls, guard, interval, allow_int = UNARY[name]
    kinds = "fi" if allow_int else "f"

    def generate(b: ProgramBuilder) -> bool:
        dtype = b.dtype(kinds)
        if dtype is None:
            return False
        x = b.operand(lambda v: v.dtype.kind in kinds, lambda: (b.shape(), dtype))
        x = _guard(b, x, guard)
        props = UNARY_PROPERTIES.get(name, lambda b: {})(b)
        if name == "ge.clip":
            return _clip(b, x)
        lo, hi = interval(x.lo, x.hi)
        b.emit(cls(x.ssa, **props), lo, hi)
        return True

    return generate


def _clip(b: ProgramBuilder, x: Value) -> bool:
    bounds = st.none() | st.sampled_from([-2.0, -1.0, 0.0, 0.5, 1.0, 2.5])
    low, high = b.draw(bounds), b.draw(bounds)
    if low is not None and high is not None and low > high:
        low, high = high, low
    lo = x.lo if low is None else min(max(x.lo, low), high if high is not None else x.hi)
    hi = x.hi if high is None else max(min(x.hi, high), low if low is not None else x.lo)
    b.emit(ops.ClipOp(x.ssa, min=low, max=high), min(lo, hi), max(lo, hi))
    return True


def broadcast_partner(b: ProgramBuilder, x: Value, kinds: str | None = None) -> Value:
    """A pool value or fresh constant whose shape broadcasts with `x` (same dtype)."""
    side = max([b.max_dim, *x.shape])
    shapes = npst.broadcastable_shapes(x.shape, min_dims=0, max_dims=b.max_rank, max_side=side)

    def accept(v: Value) -> bool:
        try:
            np.broadcast_shapes(v.shape, x.shape)
        except ValueError:
            return False
        return v.dtype == x.dtype

    return b.operand(accept, lambda: (b.draw(shapes), x.dtype), partner=x)


def _products(a: Value, c: Value) -> tuple[float, float]:
    p = [a.lo * c.lo, a.lo * c.hi, a.hi * c.lo, a.hi * c.hi]
    return min(p), max(p)


def _binary_rule(name: str, x: Value, y: Value) -> tuple[float, float]:
    """Bounds of the result of binary op `name`."""
    if name == "ge.add":
        return x.lo + y.lo, x.hi + y.hi
    if name == "ge.sub":
        return x.lo - y.hi, x.hi - y.lo
    if name == "ge.mul":
        return _products(x, y)
    if name == "ge.div":
        lo, hi = _products(x, Value(y.ssa, 1 / y.hi, 1 / y.lo))
        return math.floor(lo), math.ceil(hi)
    if name == "ge.pow":
        corners = [x.lo**y.lo, x.lo**y.hi, x.hi**y.lo, x.hi**y.hi]
        return min(corners), max(corners)
    if name == "ge.maximum":
        return max(x.lo, y.lo), max(x.hi, y.hi)
    if name == "ge.minimum":
        return min(x.lo, y.lo), min(x.hi, y.hi)
    if name == "ge.mod":
        return -y.hi, y.hi
    if name == "ge.prelu":
        lo, hi = _products(x, y)
        return min(lo, x.lo, 0.0), max(hi, x.hi, 0.0)
    raise KeyError(name)


_BINARY_KINDS = {"ge.pow": "f", "ge.prelu": "f"}


def binary(name: str) -> Generator:
    cls = OP_BY_NAME[name]
    kinds = _BINARY_KINDS.get(name, "fi")

    def generate(b: ProgramBuilder) -> bool:
        dtype = b.dtype(kinds)
        if dtype is None:
            return False
        x = b.operand(lambda v: v.dtype.kind in kinds, lambda: (b.shape(), dtype))
        y = broadcast_partner(b, x)
        if b.draw(st.booleans()):
            x, y = y, x
        limit = out_limit(x.dtype)
        multiplies = name in ("ge.mul", "ge.prelu", "ge.div")
        x = b.bounded(x, math.sqrt(limit) if multiplies else limit / 2)
        if name in ("ge.div", "ge.mod"):
            y = b.positive(y, 1.0 if y.is_int else 0.5, math.sqrt(limit))
        elif name == "ge.pow":
            x, y = b.positive(x, 0.5, 4.0), b.bounded(y, 2.0)
        else:
            y = b.bounded(y, math.sqrt(limit) if multiplies else limit / 2)
        b.emit(cls(x.ssa, y.ssa), *_binary_rule(name, x, y))
        return True

    return generate


def compare(name: str) -> Generator:
    cls = OP_BY_NAME[name]
    logical = name.startswith("ge.logical")

    def generate(b: ProgramBuilder) -> bool:
        if logical:
            x = b.operand(lambda v: v.is_bool, lambda: (b.shape(), np.dtype(bool)))
        else:
            dtype = b.dtype("fi")
            if dtype is None:
                return False
            x = b.operand(numeric, lambda: (b.shape(), dtype))
        y = broadcast_partner(b, x)
        b.emit(cls(x.ssa, y.ssa), 0.0, 1.0)
        return True

    return generate


def logical_not(b: ProgramBuilder) -> bool:
    x = b.operand(lambda v: v.is_bool, lambda: (b.shape(), np.dtype(bool)))
    b.emit(ops.LogicalNotOp(x.ssa), 0.0, 1.0)
    return True


def where(b: ProgramBuilder) -> bool:
    dtype = b.dtype("fi")
    if dtype is None:
        return False
    x = b.operand(numeric, lambda: (b.shape(), dtype))
    y = broadcast_partner(b, x)
    side = max([b.max_dim, *x.shape, *y.shape])
    out = np.broadcast_shapes(x.shape, y.shape)
    shapes = npst.broadcastable_shapes(out, min_dims=0, max_dims=len(out), max_side=side)

    def accept(v: Value) -> bool:
        try:
            return v.is_bool and np.broadcast_shapes(v.shape, out) == out
        except ValueError:
            return False

    c = b.operand(accept, lambda: (b.draw(shapes), np.dtype(bool)), partner=x)
    b.emit(ops.WhereOp(c.ssa, x.ssa, y.ssa), min(x.lo, y.lo), max(x.hi, y.hi))
    return True


def cast(b: ProgramBuilder) -> bool:
    target = b.dtype()
    if target is None:
        return False
    x = b.operand(lambda v: True, lambda: (b.shape(), target))
    if target.kind != "b" and not x.is_bool:
        x = b.bounded(x, min(out_limit(target), out_limit(x.dtype)))
    lo, hi = x.lo, x.hi
    if target.kind in "iu":
        lo, hi = float(math.trunc(lo)), float(math.trunc(hi))
    elif target.kind == "b":
        lo, hi = 0.0, 1.0
    b.emit(ops.CastOp(x.ssa, to=from_numpy_dtype(target)), lo, hi)
    return True


GENERATORS: dict[str, Generator] = {
    **{name: unary(name) for name in UNARY},
    **{
        name: binary(name)
        for name in (
            "ge.add",
            "ge.sub",
            "ge.mul",
            "ge.div",
            "ge.pow",
            "ge.maximum",
            "ge.minimum",
            "ge.mod",
            "ge.prelu",
        )
    },
    **{
        name: compare(name)
        for name in (
            "ge.equal",
            "ge.less",
            "ge.less_equal",
            "ge.greater",
            "ge.greater_equal",
            "ge.logical_and",
            "ge.logical_or",
            "ge.logical_xor",
        )
    },
    "ge.logical_not": logical_not,
    "ge.where": where,
    "ge.cast": cast,
}
"""Generators of elementwise ops, by op name."""
