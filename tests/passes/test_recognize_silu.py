"""recognize-silu keeps outputs on programs with planted x * sigmoid(x), and turns them into
ge.silu that the conv fusions take as an epilogue."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mlir_cases import filecheck_cases, parse_case
from planted import expect_search_to_catch, float_value, planted_programs

from ge.pipeline import apply_pipeline
from ge.testing.equivalence import assert_preserves_semantics
from ge.testing.program_builder import ProgramBuilder, Value
from ge.testing.strategies import smooth_ops
from gedialects.ge import ConstantOp, ops

EXAMPLES = max(200, settings.default.max_examples)
"""The pass must hold on at least 200 random programs in CI (more under `soak`)."""

TOLERANCE = {"rtol": 1e-5, "atol": 1e-6}

SPOILS = ["none"] * 4 + ["alpha"] * 2 + ["other_x", "add", "vector_alpha", "extra"]
"""How a planted SiLU is varied: mostly not; a gate of alpha x (QuickGELU, Swish), which the
pass takes; else a gate of another value, of x + x or of x times a vector (the pass must
leave those), or the sigmoid returned too (the pass must keep it)."""


def _emit(b: ProgramBuilder, op) -> Value:
    return b.emit(op, -1e3, 1e3)[0]


def plant_silu(b: ProgramBuilder) -> list[Value]:
    x = float_value(b, 0, 4, limit=30.0)
    spoil = b.draw(st.sampled_from(SPOILS))
    gated = b.argument(x.shape, x.dtype) if spoil == "other_x" else x
    if spoil == "add":
        gated = _emit(b, ops.AddOp(x.ssa, x.ssa))
    elif spoil in ("alpha", "vector_alpha"):
        alpha = b.draw(st.sampled_from([1.702, 2.0, 0.5, -1.0]))
        shape = x.shape[-1:] if spoil == "vector_alpha" and x.shape else ()
        values = np.full(shape, alpha, x.dtype)
        if shape:
            values[0] = 1.0  # not one value
        c = b.emit(ConstantOp(values), float(values.min()), float(values.max()))[0]
        gated = _emit(b, ops.MulOp(*((x.ssa, c.ssa) if b.draw(st.booleans()) else (c.ssa, x.ssa))))
    gate = _emit(b, ops.SigmoidOp(gated.ssa))
    pair = (x.ssa, gate.ssa) if b.draw(st.booleans()) else (gate.ssa, x.ssa)
    y = _emit(b, ops.MulOp(*pair))
    return [y, gate] if spoil == "extra" else [y]


PROGRAMS = planted_programs(
    [plant_silu], ops=smooth_ops(["unary", "binary"]), max_plants=2, max_noise=2
)


@settings(max_examples=EXAMPLES)
@given(st.data())
def test_preserves_semantics_on_planted_programs(data):
    module = data.draw(PROGRAMS)
    assert_preserves_semantics("recognize-silu", module, **TOLERANCE)


@pytest.mark.parametrize(("name", "source"), filecheck_cases("recognize-silu"))
def test_filecheck_cases_preserve_semantics(name, source):
    assert_preserves_semantics("recognize-silu", parse_case(source), **TOLERANCE)


def test_a_wrong_recognition_is_caught(monkeypatch):
    """The random search can fail: taking any sigmoid's operand for x is found."""
    import passes.recognize_silu as recognize

    class AnyGate(recognize.RecognizeSilu):
        def match_and_rewrite(self, op, rewriter, /):
            if not isinstance(op, ops.MulOp):
                return
            for x, gate in ((op.lhs, op.rhs), (op.rhs, op.lhs)):
                if isinstance(gate.owner, ops.SigmoidOp):
                    rewriter.replace(op, ops.SiluOp(x))
                    return

    monkeypatch.setattr(recognize, "RecognizeSilu", AnyGate)
    expect_search_to_catch("recognize-silu", PROGRAMS, **TOLERANCE)


def test_a_conv_takes_the_recognized_silu_as_its_epilogue():
    """Conv -> x * sigmoid(x) through ge-optimize: one kernel.conv2d, activation silu."""
    source = """
    func.func @main(%x: tensor<1x4x6x6xf32>, %w: tensor<8x4x3x3xf32>) -> tensor<1x8x4x4xf32> {
      %c = ge.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>,
        dilations = array<i64: 1, 1>, groups = 1 : i64}
        : (tensor<1x4x6x6xf32>, tensor<8x4x3x3xf32>) -> tensor<1x8x4x4xf32>
      %s = ge.sigmoid %c : (tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32>
      %y = ge.mul %c, %s : (tensor<1x8x4x4xf32>, tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32>
      func.return %y : tensor<1x8x4x4xf32>
    }"""
    module = parse_case(source)
    apply_pipeline(module, "ge-optimize")
    kernels = [op for op in module.walk() if op.name.startswith("kernel.")]
    assert [op.name for op in kernels] == ["kernel.conv2d"]
    assert kernels[0].activation.data == "silu"
