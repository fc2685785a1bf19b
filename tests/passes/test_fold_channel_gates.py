"""fold-channel-gates keeps outputs on programs with planted squeeze-excitation gates before
convs, and moves the gate into the weights only where that is sound and smaller."""

import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from mlir_cases import filecheck_cases, parse_case
from planted import expect_search_to_catch, planted_programs

from ge.pipeline import apply_pipeline
from ge.testing.equivalence import assert_preserves_semantics
from ge.testing.program_builder import ProgramBuilder, Value
from ge.testing.strategies import smooth_ops
from gedialects.ge import ops

EXAMPLES = max(200, settings.default.max_examples)
"""The pass must hold on at least 200 random programs in CI (more under `soak`)."""

TOLERANCE = {"rtol": 1e-4, "atol": 1e-4}
"""The products reassociate: (y * g) * w against y * (w * g) in f32, over values ~10."""

SPOILS = ["none"] * 5 + ["per_image_gate", "groups", "second_user", "spatial_gate"]
"""How a planted gate is spoiled: mostly not; else each case the pass must leave alone."""


def _emit(b: ProgramBuilder, op) -> Value:
    return b.emit(op, -1e3, 1e3)[0]


def plant_gated_conv(b: ProgramBuilder) -> list[Value]:
    """y * sigmoid(s) -> conv, s per channel; the conv strided, padded, dilated or not."""
    spoil = b.draw(st.sampled_from(SPOILS))
    n = 2 if spoil == "per_image_gate" or b.draw(st.booleans()) else 1
    c = b.draw(st.integers(1, 4)) * 2
    h, w = b.draw(st.integers(2, 7)), b.draw(st.integers(2, 7))
    y = b.bounded(b.argument((n, c, h, w), np.dtype(np.float32)), 10.0)
    gate_shape = b.draw(st.sampled_from([(1, c, 1, 1), (c, 1, 1)]))
    if spoil == "spatial_gate":
        gate_shape = (1, 1, 1, w)
    elif spoil == "per_image_gate":
        gate_shape = (n, c, 1, 1)
    s = b.argument(gate_shape, np.dtype(np.float32))
    g = _emit(b, ops.SigmoidOp(s.ssa))
    pair = (y.ssa, g.ssa) if b.draw(st.booleans()) else (g.ssa, y.ssa)
    product = _emit(b, ops.MulOp(*pair))
    groups = 2 if spoil == "groups" else 1
    k = b.draw(st.integers(1, min(3, h, w)))
    out = b.draw(st.integers(1, 3)) * groups
    weight = b.constant((out, c // groups, k, k), np.dtype(np.float32))
    bias = b.constant((out,), np.dtype(np.float32)).ssa if b.draw(st.booleans()) else None
    stride, pad = b.draw(st.integers(1, 2)), b.draw(st.integers(0, k - 1))
    conv = _emit(b, ops.Conv2DOp(product.ssa, weight.ssa, bias, groups=groups,
                                 strides=[stride] * 2, pads=[pad] * 4))  # fmt: skip
    return [conv, _emit(b, ops.NegOp(product.ssa))] if spoil == "second_user" else [conv]


PROGRAMS = planted_programs(
    [plant_gated_conv], ops=smooth_ops(["unary", "binary"]), max_plants=2, max_noise=2
)


@settings(max_examples=EXAMPLES)
@given(st.data())
def test_preserves_semantics_on_planted_programs(data):
    module = data.draw(PROGRAMS)
    before = sum(1 for op in module.walk() if isinstance(op, ops.Conv2DOp))
    after = assert_preserves_semantics("fold-channel-gates", module, **TOLERANCE)
    gated = sum(
        1 for op in after.walk()
        if isinstance(op, ops.Conv2DOp) and not isinstance(op.input.owner, ops.MulOp)
    )  # fmt: skip
    event(f"gates folded: {gated} of {before} convs")


@pytest.mark.parametrize(("name", "source"), filecheck_cases("fold-channel-gates"))
def test_filecheck_cases_preserve_semantics(name, source):
    assert_preserves_semantics("fold-channel-gates", parse_case(source), **TOLERANCE)


def test_a_wrong_fold_is_caught(monkeypatch):
    """The random search can fail: taking any gate of C elements for a per-channel one
    (a spatial gate over W = C columns) is found."""
    import passes.fold_channel_gates as fold

    monkeypatch.setattr(fold, "per_channel", lambda gate, channels: np.prod(gate) == channels)
    expect_search_to_catch("fold-channel-gates", PROGRAMS, **TOLERANCE)


def test_squeeze_excitation_leaves_no_activation_sized_kernel():
    """MBConv's tail through ge-optimize: the gate's product is gone; the projection conv
    reads the depthwise conv's output directly, its weights scaled by the gate."""
    source = """
    func.func @main(%y: tensor<1x32x28x28xf32>, %s: tensor<1x32x1x1xf32>)
        -> tensor<1x16x28x28xf32> {
      %w = ge.constant dense<0.5> : tensor<16x32x1x1xf32>
      %g = ge.sigmoid %s : (tensor<1x32x1x1xf32>) -> tensor<1x32x1x1xf32>
      %p = ge.mul %y, %g : (tensor<1x32x28x28xf32>, tensor<1x32x1x1xf32>) -> tensor<1x32x28x28xf32>
      %c = ge.conv2d %p, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>,
        dilations = array<i64: 1, 1>, groups = 1 : i64}
        : (tensor<1x32x28x28xf32>, tensor<16x32x1x1xf32>) -> tensor<1x16x28x28xf32>
      func.return %c : tensor<1x16x28x28xf32>
    }"""
    module = parse_case(source)
    apply_pipeline(module, "ge-optimize")
    big = [op for op in module.walk() if op.name.startswith("kernel.")
           and any(getattr(r.type, "get_shape", lambda: ())() == (1, 32, 28, 28)
                   for r in op.results)]  # fmt: skip
    assert big == []
    (conv,) = [op for op in module.walk() if op.name == "kernel.conv2d"]
    assert conv.input is module.ops.first.args[0]  # y itself
