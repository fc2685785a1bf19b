"""recognize-group-norm keeps outputs on programs with planted GroupNorms written as
torch.onnx.export writes them (Reshape, InstanceNormalization, Reshape, Mul, Add), and turns
them into ge.group_norm, which takes the SiLU after it in one kernel."""

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

TOLERANCE = {"rtol": 1e-4, "atol": 1e-5}

FACTORS = ["column", "column", "full_rank", "runtime", "none", "per_pixel", "group_values"]
"""How a planted Mul / Add factor is drawn: a constant (C, 1, ...) column, a (1, C, 1, ...)
one, a graph input (runtime weights), none, one that varies per pixel (the pass must leave
it), or none but non-trivial group scale and bias on the instance norm (folded)."""


def _emit(b: ProgramBuilder, op) -> Value:
    return b.emit(op, -1e4, 1e4)[0]


def _factor(b: ProgramBuilder, x: Value, kind: str) -> Value | None:
    n, c, *spatial = x.shape
    if kind == "column":
        shape = (c, *[1] * len(spatial))
    elif kind == "full_rank":
        shape = (1, c, *[1] * len(spatial))
    elif kind == "runtime":
        return b.argument((c, *[1] * len(spatial)), x.dtype)
    elif kind == "per_pixel":
        shape = (1, c, *spatial)
    else:
        return None
    seed = b.draw(st.integers(0, 2**16))
    values = np.random.default_rng(seed).uniform(-2, 2, shape).astype(x.dtype)
    return b.emit(ConstantOp(values), -2.0, 2.0)[0]


FORMS = ["reshaped", "reshaped", "other_source", "bare"]
"""How the chain starts: Reshape of x to (N, G, ...); Reshape of a value of another shape
(a Conv1d's 4-D result, whose view `simplify` merged into the grouping one); or, for
GroupNorm(C, C), the instance norm on x itself (its identity reshapes removed)."""


def plant_group_norm(b: ProgramBuilder) -> list[Value]:
    x = float_value(b, 2, 4, limit=30.0)
    n, c, *spatial = x.shape
    rest = int(np.prod(spatial))
    form = b.draw(st.sampled_from(FORMS if spatial else FORMS[:3]))
    groups = (
        c if form == "bare" else b.draw(st.sampled_from([g for g in range(1, c + 1) if c % g == 0]))
    )
    per = c // groups
    source = x
    if form == "other_source":
        source = _emit(
            b, ops.ReshapeOp(x.ssa, shape=b.draw(st.sampled_from([[n, c * rest], [n, c, rest, 1]])))
        )
    if form == "bare":
        grouped = x
    elif b.draw(st.booleans()) or not spatial:
        grouped = _emit(b, ops.ReshapeOp(source.ssa, shape=[n, groups, per * rest]))
    else:
        grouped = _emit(b, ops.ReshapeOp(source.ssa, shape=[n, groups, per, *spatial]))
    kind = b.draw(st.sampled_from(FACTORS))
    seed = b.draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    if kind == "group_values":
        s, t = rng.uniform(-2, 2, groups), rng.uniform(-2, 2, groups)
    else:
        s, t = np.ones(groups), np.zeros(groups)
    scale = b.emit(ConstantOp(s.astype(x.dtype)), -2.0, 2.0)[0]
    bias = b.emit(ConstantOp(t.astype(x.dtype)), -2.0, 2.0)[0]
    eps = b.draw(st.sampled_from([1e-5, 1e-3]))
    normed = _emit(b, ops.InstanceNormOp(grouped.ssa, scale.ssa, bias.ssa, epsilon=eps))
    y = normed if form == "bare" else _emit(b, ops.ReshapeOp(normed.ssa, shape=list(x.shape)))
    keep = [y] if b.draw(st.integers(0, 5)) == 0 else []  # the normalized tensor returned too
    for op in (ops.MulOp, ops.AddOp):
        other = _factor(b, x, b.draw(st.sampled_from(FACTORS)))
        if other is not None:
            pair = (y.ssa, other.ssa) if b.draw(st.booleans()) else (other.ssa, y.ssa)
            y = _emit(b, op(*pair))
    return [*keep, y]


PROGRAMS = planted_programs(
    [plant_group_norm], ops=smooth_ops(["unary", "binary"]), max_plants=2, max_noise=2
)


@settings(max_examples=EXAMPLES)
@given(st.data())
def test_preserves_semantics_on_planted_programs(data):
    module = data.draw(PROGRAMS)
    assert_preserves_semantics("recognize-group-norm", module, **TOLERANCE)


@pytest.mark.parametrize(("name", "source"), filecheck_cases("recognize-group-norm"))
def test_filecheck_cases_preserve_semantics(name, source):
    assert_preserves_semantics("recognize-group-norm", parse_case(source), **TOLERANCE)


def test_a_wrong_recognition_is_caught(monkeypatch):
    """The random search can fail: a recognizer that takes every channel for a group (an
    instance norm's statistics) is found."""
    import passes.recognize_group_norm as recognize

    real = recognize.match_group_norm

    def per_channel(norm):
        found = real(norm)
        if found is not None:
            found.groups = found.shape[1]
        return found

    monkeypatch.setattr(recognize, "match_group_norm", per_channel)
    expect_search_to_catch("recognize-group-norm", PROGRAMS, **TOLERANCE)


def test_torch_export_of_group_norm_and_silu_is_one_kernel():
    """What torch.onnx.export writes for GroupNorm(2, 4) + SiLU at opset 17, through
    ge-optimize: one kernel.group_norm with the SiLU as its activation."""
    source = """
    func.func @main(%x: tensor<2x4x5x5xf32>) -> tensor<2x4x5x5xf32> {
      %ones = ge.constant dense<1.0> : tensor<2xf32>
      %zeros = ge.constant dense<0.0> : tensor<2xf32>
      %w = ge.constant dense<[[[0.5]], [[1.5]], [[2.0]], [[-1.0]]]> : tensor<4x1x1xf32>
      %b = ge.constant dense<[[[0.1]], [[0.2]], [[0.3]], [[0.4]]]> : tensor<4x1x1xf32>
      %g = ge.reshape %x {shape = array<i64: 2, 2, 50>}
        : (tensor<2x4x5x5xf32>) -> tensor<2x2x50xf32>
      %n = ge.instance_norm %g, %ones, %zeros {epsilon = 1.0e-05 : f64}
        : (tensor<2x2x50xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<2x2x50xf32>
      %r = ge.reshape %n {shape = array<i64: 2, 4, 5, 5>}
        : (tensor<2x2x50xf32>) -> tensor<2x4x5x5xf32>
      %m = ge.mul %r, %w : (tensor<2x4x5x5xf32>, tensor<4x1x1xf32>) -> tensor<2x4x5x5xf32>
      %a = ge.add %m, %b : (tensor<2x4x5x5xf32>, tensor<4x1x1xf32>) -> tensor<2x4x5x5xf32>
      %s = ge.sigmoid %a : (tensor<2x4x5x5xf32>) -> tensor<2x4x5x5xf32>
      %y = ge.mul %a, %s : (tensor<2x4x5x5xf32>, tensor<2x4x5x5xf32>) -> tensor<2x4x5x5xf32>
      func.return %y : tensor<2x4x5x5xf32>
    }"""
    module = assert_preserves_semantics("ge-optimize", parse_case(source), **TOLERANCE)
    kernels = [op for op in module.walk() if op.name.startswith("kernel.")]
    assert [op.name for op in kernels] == ["kernel.group_norm"]
    assert kernels[0].activation.data == "silu"
    assert kernels[0].num_groups.value.data == 2
