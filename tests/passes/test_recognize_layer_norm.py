"""recognize-layer-norm keeps outputs on programs with planted decomposed LayerNorms."""

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

TOLERANCE = {"rtol": 1e-4, "atol": 1e-4}


def _emit(b: ProgramBuilder, op, lo: float = -1e3, hi: float = 1e3) -> Value:
    return b.emit(op, lo, hi)[0]


def _const(b: ProgramBuilder, value: float, dtype, rank: int) -> Value:
    shape = (1,) * rank
    return b.emit(ConstantOp(np.full(shape, value, dtype)), value, value)[0]


def plant_layer_norm(b: ProgramBuilder) -> list[Value]:
    """A decomposed LayerNorm in one of torch's spellings, sometimes spoiled on purpose."""
    x = float_value(b, 1, 4, limit=10.0)
    rank, dt = len(x.shape), x.dtype
    count = b.draw(st.integers(1, rank))
    axes = list(range(rank - count, rank))
    if b.draw(st.integers(0, 7)) == 0:
        axes = [0]  # a leading axis: not a LayerNorm unless it is also the last one
    spelled = [a - rank if b.draw(st.booleans()) else a for a in b.draw(st.permutations(axes))]
    spoil = b.draw(st.sampled_from(["none"] * 3 + ["exponent", "var_axes"]))
    mean = _emit(b, ops.ReduceMeanOp(x.ssa, axes=spelled, keepdims=True))
    d = _emit(b, ops.SubOp(x.ssa, mean.ssa))
    if b.draw(st.booleans()):
        exponent = _const(b, 3.0 if spoil == "exponent" else 2.0, dt, b.draw(st.integers(0, 1)))
        square = _emit(b, ops.PowOp(d.ssa, exponent.ssa))
    else:
        square = _emit(b, ops.MulOp(d.ssa, d.ssa))
    var_axes = list(range(rank)) if spoil == "var_axes" else spelled
    var = _emit(b, ops.ReduceMeanOp(square.ssa, axes=var_axes, keepdims=True), 0.0, 1e3)
    eps = _const(b, b.draw(st.sampled_from([1e-5, 1e-3, 1e-12])), dt, 0)
    pair = (var.ssa, eps.ssa) if b.draw(st.booleans()) else (eps.ssa, var.ssa)
    s = _emit(b, ops.SqrtOp(_emit(b, ops.AddOp(*pair), 1e-12, 1e3).ssa), 0.0, 1e3)
    if b.draw(st.booleans()):
        n = _emit(b, ops.DivOp(d.ssa, s.ssa))
    else:
        r = _emit(b, ops.ReciprocalOp(s.ssa))
        n = _emit(b, ops.MulOp(*((r.ssa, d.ssa) if b.draw(st.booleans()) else (d.ssa, r.ssa))))
    y = _affine(b, n, x.shape[rank - count :])
    extra = b.draw(st.sampled_from([[], [], [], [mean], [d], [var], [s], [n]]))
    return [y, *extra] if extra != [y] else [y]


def _affine(b: ProgramBuilder, n: Value, normalized: tuple) -> Value:
    """n [* gamma] [+ beta], operands in either order, gamma maybe a runtime argument."""
    y = n
    if b.draw(st.booleans()):
        keep = b.draw(st.integers(0, len(normalized)))
        shape = normalized[keep:]
        gamma = b.argument(shape, n.dtype) if b.draw(st.booleans()) else b.constant(shape, n.dtype)
        operands = (y.ssa, gamma.ssa) if b.draw(st.booleans()) else (gamma.ssa, y.ssa)
        y = _emit(b, ops.MulOp(*operands))
    if b.draw(st.booleans()):
        beta = b.constant(normalized, n.dtype)
        y = _emit(
            b, ops.AddOp(*((beta.ssa, y.ssa) if b.draw(st.booleans()) else (y.ssa, beta.ssa)))
        )
    return y


PROGRAMS = planted_programs(
    [plant_layer_norm], ops=smooth_ops(["unary", "binary"]), max_plants=2, max_noise=2
)


@settings(max_examples=EXAMPLES)
@given(st.data())
def test_preserves_semantics_on_planted_programs(data):
    module = data.draw(PROGRAMS)
    inputs = data.draw(inputs_for(module))
    assert_preserves_semantics("recognize-layer-norm", module, inputs, **TOLERANCE)


@pytest.mark.parametrize(("name", "source"), filecheck_cases("recognize-layer-norm"))
def test_filecheck_cases_preserve_semantics(name, source):
    assert_preserves_semantics("recognize-layer-norm", parse_case(source), **TOLERANCE)


def test_a_wrong_recognition_is_caught(monkeypatch):
    """The random search can fail: ignoring the exponent of the Pow is found."""
    import passes.recognize_layer_norm as recognize

    monkeypatch.setattr(recognize, "is_splat", lambda value, target, rtol=0.0: True)

    expect_search_to_catch("recognize-layer-norm", PROGRAMS, **TOLERANCE)
