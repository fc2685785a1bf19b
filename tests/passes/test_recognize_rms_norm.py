"""recognize-rms-norm keeps outputs on programs with planted decomposed RMSNorms."""

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

EXAMPLES = max(100, settings.default.max_examples)
TOLERANCE = {"rtol": 1e-4, "atol": 1e-4}


def _emit(b: ProgramBuilder, op, lo: float = -1e3, hi: float = 1e3) -> Value:
    return b.emit(op, lo, hi)[0]


def _const(b: ProgramBuilder, value: float, dtype, rank: int) -> Value:
    return b.emit(ConstantOp(np.full((1,) * rank, value, dtype)), value, value)[0]


def plant_rms_norm(b: ProgramBuilder) -> list[Value]:
    """A decomposed RMSNorm in one of the exporters' spellings, sometimes spoiled on purpose."""
    x = float_value(b, 1, 4, limit=10.0)
    rank, dt = len(x.shape), x.dtype
    count = b.draw(st.integers(1, rank))
    axes = list(range(rank - count, rank))
    if b.draw(st.integers(0, 7)) == 0:
        axes = [0]  # a leading axis: not an RMSNorm unless it is also the last one
    spoil = b.draw(st.sampled_from(["none"] * 3 + ["exponent", "numerator"]))
    if b.draw(st.booleans()):
        exponent = _const(b, 3.0 if spoil == "exponent" else 2.0, dt, b.draw(st.integers(0, 1)))
        square = _emit(b, ops.PowOp(x.ssa, exponent.ssa))
    else:
        square = _emit(b, ops.MulOp(x.ssa, x.ssa))
    ms = _emit(b, ops.ReduceMeanOp(square.ssa, axes=axes, keepdims=True), 0.0, 1e3)
    eps = _const(b, b.draw(st.sampled_from([1e-5, 1e-6, 1e-3])), dt, 0)
    pair = (ms.ssa, eps.ssa) if b.draw(st.booleans()) else (eps.ssa, ms.ssa)
    s = _emit(b, ops.SqrtOp(_emit(b, ops.AddOp(*pair), 1e-12, 1e3).ssa), 0.0, 1e3)
    how = b.draw(st.sampled_from(["div", "recip", "one_over"]))
    if how == "div":
        n = _emit(b, ops.DivOp(x.ssa, s.ssa))
    else:
        one = _const(b, 2.0 if spoil == "numerator" else 1.0, dt, 0)
        op = ops.ReciprocalOp(s.ssa) if how == "recip" else ops.DivOp(one.ssa, s.ssa)
        r = _emit(b, op)
        n = _emit(b, ops.MulOp(*((r.ssa, x.ssa) if b.draw(st.booleans()) else (x.ssa, r.ssa))))
    y = n
    if b.draw(st.booleans()):
        shape = x.shape[rank - b.draw(st.integers(1, count)) :]
        w = b.argument(shape, dt) if b.draw(st.booleans()) else b.constant(shape, dt)
        y = _emit(b, ops.MulOp(*((y.ssa, w.ssa) if b.draw(st.booleans()) else (w.ssa, y.ssa))))
    extra = b.draw(st.sampled_from([[], [], [], [x], [ms], [s], [n]]))
    return [y, *extra] if extra != [y] else [y]


PROGRAMS = planted_programs(
    [plant_rms_norm], ops=smooth_ops(["unary", "binary"]), max_plants=2, max_noise=2
)


@settings(max_examples=EXAMPLES)
@given(st.data())
def test_preserves_semantics_on_planted_programs(data):
    module = data.draw(PROGRAMS)
    inputs = data.draw(inputs_for(module))
    assert_preserves_semantics("recognize-rms-norm", module, inputs, **TOLERANCE)


@pytest.mark.parametrize(("name", "source"), filecheck_cases("recognize-rms-norm"))
def test_filecheck_cases_preserve_semantics(name, source):
    assert_preserves_semantics("recognize-rms-norm", parse_case(source), **TOLERANCE)


def test_recognizes_the_planted_chain():
    """The pass does fire: a planted, unspoiled chain becomes one ge.rms_norm."""
    (_, source), *_ = filecheck_cases("recognize-rms-norm")
    module = parse_case(source)
    from ge.registry import make_context
    from passes.recognize_rms_norm import RecognizeRmsNormPass

    RecognizeRmsNormPass().apply(make_context(), module)
    names = [op.name for op in module.walk()]
    assert "ge.rms_norm" in names and "ge.reduce_mean" not in names


def test_a_wrong_recognition_is_caught(monkeypatch):
    """The random search can fail: ignoring the exponent of the Pow is found (the square is
    matched by `recognize_layer_norm.squares`, which both norm recognizers share)."""
    import passes.recognize_layer_norm as shared

    monkeypatch.setattr(shared, "is_splat", lambda value, target, rtol=0.0: True)
    expect_search_to_catch("recognize-rms-norm", PROGRAMS, **TOLERANCE)
