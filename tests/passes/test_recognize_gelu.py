"""recognize-gelu keeps outputs on programs with planted erf- and tanh-form GELUs."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mlir_cases import filecheck_cases, parse_case
from planted import expect_search_to_catch, float_value, planted_programs

from ge.testing.equivalence import assert_preserves_semantics
from ge.testing.program_builder import ProgramBuilder, Value
from ge.testing.strategies import inputs_for, smooth_ops
from gedialects.ge import ConstantOp, ops

EXAMPLES = max(200, settings.default.max_examples)
"""The pass must hold on at least 200 random programs in CI (more under `soak`)."""
"""Budget of the search for a planted bug; it stops at the first failure."""

TOLERANCE = {"rtol": 1e-4, "atol": 1e-5}


def _emit(b: ProgramBuilder, op) -> Value:
    return b.emit(op, -1e3, 1e3)[0]


def _mul(b: ProgramBuilder, u: Value, v: Value) -> Value:
    """u * v with the operands in a drawn order."""
    return _emit(b, ops.MulOp(*((u.ssa, v.ssa) if b.draw(st.booleans()) else (v.ssa, u.ssa))))


def _const(b: ProgramBuilder, value: float, dtype, broadcast: bool = False) -> Value:
    """A splat constant of rank 0 or 1, or of a shape that broadcasts the result larger."""
    shape = (2, 1, 1, 1, 1) if broadcast else b.draw(st.sampled_from([(), (1,)]))
    return b.emit(ConstantOp(np.full(shape, value, dtype)), value, value)[0]


SPOILS = ["none"] * 4 + ["sqrt2", "half", "broadcast", "other_x", "extra"]
"""How a planted GELU is spoiled: mostly not; else each way the pass must refuse."""


def plant_gelu(b: ProgramBuilder) -> list[Value]:
    x = float_value(b, 0, 3, limit=10.0)
    dt, spoil = x.dtype, b.draw(st.sampled_from(SPOILS))
    root2 = math.sqrt(2) * (1.01 if spoil == "sqrt2" else 1.0)
    if b.draw(st.booleans()):
        if b.draw(st.booleans()):
            a = _emit(b, ops.DivOp(x.ssa, _const(b, root2, dt).ssa))
        else:
            a = _mul(b, x, _const(b, 1 / root2, dt))
        f = _emit(b, ops.ErfOp(a.ssa))
    else:
        if b.draw(st.booleans()):
            cube = _emit(b, ops.PowOp(x.ssa, _const(b, 3.0, dt).ssa))
        else:
            cube = _mul(b, x, _mul(b, x, x))
        inner = _emit(b, ops.AddOp(x.ssa, _mul(b, cube, _const(b, 0.044715, dt)).ssa))
        beta = math.sqrt(2 / math.pi) * (1.01 if spoil == "sqrt2" else 1.0)
        f = _emit(b, ops.TanhOp(_mul(b, inner, _const(b, beta, dt)).ssa))
    one = _const(b, 1.0, dt)
    c = _emit(b, ops.AddOp(*((f.ssa, one.ssa) if b.draw(st.booleans()) else (one.ssa, f.ssa))))
    half = _const(b, 0.6 if spoil == "half" else 0.5, dt, broadcast=spoil == "broadcast")
    other = b.argument(x.shape, dt) if spoil == "other_x" else x
    grouping = b.draw(st.integers(0, 2))
    if grouping == 0:
        y = _mul(b, _mul(b, other, c), half)
    elif grouping == 1:
        y = _mul(b, _mul(b, other, half), c)
    else:
        y = _mul(b, _mul(b, c, half), other)
    return [y, b.draw(st.sampled_from([f, c]))] if spoil == "extra" else [y]


PROGRAMS = planted_programs(
    [plant_gelu], ops=smooth_ops(["unary", "binary"]), max_plants=2, max_noise=2
)


@settings(max_examples=EXAMPLES)
@given(st.data())
def test_preserves_semantics_on_planted_programs(data):
    module = data.draw(PROGRAMS)
    inputs = data.draw(inputs_for(module))
    assert_preserves_semantics("recognize-gelu", module, inputs, **TOLERANCE)


@pytest.mark.parametrize(("name", "source"), filecheck_cases("recognize-gelu"))
def test_filecheck_cases_preserve_semantics(name, source):
    assert_preserves_semantics("recognize-gelu", parse_case(source), **TOLERANCE)


def test_a_wrong_recognition_is_caught(monkeypatch):
    """The random search can fail: accepting any constant as 0.5 is found."""
    import passes.recognize_gelu as recognize

    monkeypatch.setattr(recognize, "is_splat", lambda value, target, rtol=0.0: True)

    expect_search_to_catch("recognize-gelu", PROGRAMS, **TOLERANCE)
