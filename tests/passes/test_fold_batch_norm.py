"""fold-batch-norm keeps outputs (to f32 rounding) on programs with planted conv/matmul + BN."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mlir_cases import filecheck_cases, parse_case
from planted import expect_search_to_catch, float_value, planted_programs

from ge.testing.equivalence import apply_pipeline, assert_preserves_semantics
from ge.testing.program_builder import ProgramBuilder, Value
from ge.testing.strategies import inputs_for, smooth_ops
from gedialects.ge import ConstantOp, ops

EXAMPLES = max(200, settings.default.max_examples)
"""The pass must hold on at least 200 random programs in CI (more under `soak`)."""
"""Budget of the search for a planted bug; it stops at the first failure."""

TOLERANCE = {"rtol": 1e-4, "atol": 1e-3}
"""Folding reassociates (W * s) x against (W x) * s: f32 rounding of values up to ~1e3."""


def batch_norm(b: ProgramBuilder, x: Value, runtime_params: bool = False) -> Value:
    """BN over axis 1 of x with constant parameters (or a runtime scale, which blocks folds)."""
    c, dt = x.shape[1], x.dtype
    scale = b.argument((c,), dt) if runtime_params else b.constant((c,), dt)
    bias, mean = b.constant((c,), dt), b.constant((c,), dt)
    var = b.constant((c,), dt, positive=True)
    m = 4 * (x.magnitude + 4) + 4
    op = ops.BatchNormOp(x.ssa, scale.ssa, bias.ssa, mean.ssa, var.ssa, epsilon=1e-3)
    return b.emit(op, -m, m)[0]


def second_user(b: ProgramBuilder, v: Value) -> list[Value]:
    """Sometimes give `v` another user, which must keep a fold from firing."""
    return b.emit(ops.ReluOp(v.ssa), 0.0, v.hi) if b.draw(st.integers(0, 3)) == 0 else []


def weight(b: ProgramBuilder, shape: tuple, dtype: np.dtype) -> Value:
    return b.constant(shape, dtype)


def plant_conv_bn(b: ProgramBuilder) -> list[Value]:
    x = float_value(b, 4, 4, limit=10.0)
    n, c, h, w = x.shape
    transpose = b.draw(st.booleans())
    groups = b.draw(st.sampled_from([g for g in (1, 2, c) if c % g == 0]))
    out = b.draw(st.integers(1, 3)) * groups
    k = b.draw(st.integers(1, min(3, h, w)))
    wshape = (c, out // groups, k, k) if transpose else (out, c // groups, k, k)
    wt = weight(b, wshape, x.dtype)
    bias = b.constant((out,), x.dtype).ssa if b.draw(st.booleans()) else None
    cls = ops.ConvTranspose2DOp if transpose else ops.Conv2DOp
    conv = b.emit(cls(x.ssa, wt.ssa, bias, groups=groups), -1e3, 1e3)[0]
    shared = []
    if b.draw(st.integers(0, 4)) == 0:  # a second reader of the weight blocks the fold
        shared = b.emit(cls(x.ssa, wt.ssa, groups=groups), -1e3, 1e3)
    extra = second_user(b, conv)
    return [batch_norm(b, conv, runtime_params=b.draw(st.integers(0, 5)) == 0), *extra, *shared]


def plant_gemm_bn(b: ProgramBuilder) -> list[Value]:
    """BN after matmul(x, W) [+ bias] (2-D), or after matmul(W, x) with x (N, K, L)."""
    rows = b.draw(st.booleans())
    x = float_value(b, 3 if rows else 2, 3 if rows else 2, limit=10.0)
    c = b.draw(st.integers(1, 4))
    if rows:
        mm = ops.MatMulOp(weight(b, (c, x.shape[1]), x.dtype).ssa, x.ssa)
    else:
        mm = ops.MatMulOp(x.ssa, weight(b, (x.shape[1], c), x.dtype).ssa)
    y = b.emit(mm, -1e3, 1e3)[0]
    if b.draw(st.booleans()):
        bias_shape = b.draw(st.sampled_from([(c,), (1, c), (y.shape[0], 1)]))
        if rows:
            bias_shape = b.draw(st.sampled_from([(c, 1), (y.shape[-1],), (1, c, y.shape[-1])]))
        y = b.emit(ops.AddOp(y.ssa, b.constant(bias_shape, x.dtype).ssa), -1e3, 1e3)[0]
    extra = second_user(b, y)
    return [batch_norm(b, y), *extra]


def plant_bn_matmul(b: ProgramBuilder) -> list[Value]:
    """matmul(BN(x), W) with 2-D x: BN folds forward into W."""
    x = float_value(b, 2, 2, limit=10.0)
    n = batch_norm(b, x)
    extra = second_user(b, n)
    w = weight(b, (x.shape[1], b.draw(st.integers(1, 4))), x.dtype)
    return [*b.emit(ops.MatMulOp(n.ssa, w.ssa), -1e4, 1e4), *extra]


def plant_standalone_bn(b: ProgramBuilder) -> list[Value]:
    x = float_value(b, 2, 4, limit=10.0)
    return [batch_norm(b, x, runtime_params=b.draw(st.integers(0, 3)) == 0)]


PLANTERS = (plant_conv_bn, plant_conv_bn, plant_gemm_bn, plant_bn_matmul, plant_standalone_bn)
PROGRAMS = planted_programs(PLANTERS, ops=smooth_ops(["unary", "binary"]), max_noise=2)


@settings(max_examples=EXAMPLES)
@given(st.data())
def test_preserves_semantics_on_planted_programs(data):
    module = data.draw(PROGRAMS)
    inputs = data.draw(inputs_for(module))
    folded = assert_preserves_semantics("fold-batch-norm", module, inputs, **TOLERANCE)
    remaining = [op for op in folded.walk() if isinstance(op, ops.BatchNormOp)]
    assert not [op for op in remaining if _constant_params(op)]


def _constant_params(bn: ops.BatchNormOp) -> bool:
    return all(isinstance(v.owner, ConstantOp) for v in bn.operands[1:])


@pytest.mark.parametrize(("name", "source"), filecheck_cases("fold-batch-norm"))
def test_filecheck_cases_preserve_semantics(name, source):
    assert_preserves_semantics("fold-batch-norm", parse_case(source), **TOLERANCE)


def test_scale_shift_off_keeps_standalone_batch_norm():
    (_, source) = next(c for c in filecheck_cases("fold-batch-norm") if "standalone" in c[0])
    module = parse_case(source)
    apply_pipeline("fold-batch-norm{scale-shift=false}", module)
    assert any(isinstance(op, ops.BatchNormOp) for op in module.walk())


def test_a_wrong_fold_is_caught(monkeypatch):
    """The random search can fail: a fold that forgets the mean is found."""
    import passes.fold_batch_norm as fold

    real = fold.bn_factors

    def without_mean(bn):
        found = real(bn)
        if found is None:
            return None
        s, _ = found
        return s, np.asarray(fold.constant_array(bn.bias), np.float64)

    monkeypatch.setattr(fold, "bn_factors", without_mean)

    expect_search_to_catch("fold-batch-norm", PROGRAMS, **TOLERANCE)
