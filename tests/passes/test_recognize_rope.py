"""recognize-rope keeps outputs on programs with planted rotary embeddings written as
HF transformers' apply_rotary_pos_emb exports them (Slice, Neg, Concat, Mul, Mul, Add), and
turns them into ge.rope, one kernel."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mlir_cases import filecheck_cases, parse_case
from planted import expect_search_to_catch, float_value, planted_programs

from ge.testing.equivalence import assert_preserves_semantics
from ge.testing.program_builder import ProgramBuilder, Value
from ge.testing.strategies import smooth_ops
from gedialects.ge import ConstantOp, ops

EXAMPLES = max(200, settings.default.max_examples)
"""The pass must hold on at least 200 random programs in CI (more under `soak`)."""

TOLERANCE = {"rtol": 1e-5, "atol": 1e-5}

SPOILS = ["none"] * 5 + ["swapped_halves", "other_x", "odd_cut", "extra", "growing_table"]
SPOILS += ["folded_cos"]
"""How a planted rotation is varied: mostly not; else concat(-x1, x2) (not rotate_half),
halves of another value, a cut off the middle, the Concat returned too, or a cos that
grows x: the pass must leave each of those (or keep what another reader needs); or x
itself for x * cos (position 0, cos all ones, folded), which the pass takes. A quarter of
the rotations are partial (x the first D columns of a wider value, the rest concatenated
back, sometimes from another value)."""


def _emit(b: ProgramBuilder, op) -> Value:
    return b.emit(op, -1e3, 1e3)[0]


def _table(b: ProgramBuilder, x: Value, grow: bool) -> Value:
    """A cos or sin table broadcasting to x: some leading axes 1, the last D or 1."""
    shape = list(x.shape)
    for axis in range(len(shape) - 1):
        if b.draw(st.booleans()):
            shape[axis] = 1
    if b.draw(st.integers(0, 4)) == 0:
        shape[-1] = 1
    keep = b.draw(st.integers(1, len(shape)))
    shape = shape[len(shape) - keep :]
    if grow:
        shape = [2, *x.shape]
    seed = b.draw(st.integers(0, 2**16))
    values = np.random.default_rng(seed).uniform(-1, 1, shape).astype(x.dtype)
    return b.emit(ConstantOp(values), -1.0, 1.0)[0]


def _half(b: ProgramBuilder, x: Value, start: int, end: int) -> Value:
    axis = b.draw(st.sampled_from([-1, len(x.shape) - 1]))
    end_value = b.draw(st.sampled_from([end, 2**62])) if end == x.shape[-1] else end
    return _emit(b, ops.SliceOp(x.ssa, starts=[start], ends=[end_value], axes=[axis], steps=[1]))


def plant_rope(b: ProgramBuilder) -> list[Value]:
    x = float_value(b, 1, 4, limit=30.0)
    if x.shape[-1] % 2:
        x = b.argument((*x.shape[:-1], 2 * x.shape[-1]), x.dtype)
    full = None
    if b.draw(st.integers(0, 3)) == 0:  # partial rotary: x is the first D of a wider value
        full = b.argument((*x.shape[:-1], x.shape[-1] + b.draw(st.integers(1, 5))), x.dtype)
        x = _half(b, full, 0, x.shape[-1])
    spoil = b.draw(st.sampled_from(SPOILS))
    d = x.shape[-1]
    h = d // 2
    source = b.argument(x.shape, x.dtype) if spoil == "other_x" else x
    cut = h + 1 if spoil == "odd_cut" and d > 2 else h
    low, high = _half(b, source, 0, cut), _half(b, source, cut, d)
    if spoil == "swapped_halves":
        pieces = [_emit(b, ops.NegOp(low.ssa)), high]
    else:
        pieces = [_emit(b, ops.NegOp(high.ssa)), low]
    rotated = _emit(b, ops.ConcatOp(*[p.ssa for p in pieces], axis=-1))
    cos, sin = _table(b, x, spoil == "growing_table"), _table(b, x, False)
    pair = lambda u, v: (u.ssa, v.ssa) if b.draw(st.booleans()) else (v.ssa, u.ssa)  # noqa: E731
    straight = x if spoil == "folded_cos" else _emit(b, ops.MulOp(*pair(x, cos)))
    turned = _emit(b, ops.MulOp(*pair(rotated, sin)))
    y = _emit(b, ops.AddOp(*pair(straight, turned)))
    # partial: the rest passes through (sometimes cut from another value); a growing
    # table's result has no rest to join
    if full is not None and y.shape == x.shape:
        rest = b.argument(full.shape, x.dtype) if b.draw(st.integers(0, 4)) == 0 else full
        tail = _half(b, rest, d, full.shape[-1])
        y = _emit(b, ops.ConcatOp(y.ssa, tail.ssa, axis=-1))
    return [y, rotated] if spoil == "extra" else [y]


PROGRAMS = planted_programs(
    [plant_rope], ops=smooth_ops(["unary", "binary"]), max_plants=2, max_noise=2
)


@settings(max_examples=EXAMPLES)
@given(st.data())
def test_preserves_semantics_on_planted_programs(data):
    module = data.draw(PROGRAMS)
    assert_preserves_semantics("recognize-rope", module, **TOLERANCE)


@pytest.mark.parametrize(("name", "source"), filecheck_cases("recognize-rope"))
def test_filecheck_cases_preserve_semantics(name, source):
    assert_preserves_semantics("recognize-rope", parse_case(source), **TOLERANCE)


def test_a_wrong_recognition_is_caught(monkeypatch):
    """The random search can fail: a recognizer that takes either half order is found."""
    import passes.recognize_rope as recognize

    real = recognize.half_of

    def either(value):
        found = real(value)
        return None if found is None else (found[0], 1 - found[1])

    monkeypatch.setattr(recognize, "half_of", either)
    expect_search_to_catch("recognize-rope", PROGRAMS, **TOLERANCE)
