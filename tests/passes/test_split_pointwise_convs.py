"""`split-pointwise-convs` on random programs with planted bottlenecks (a deep pointwise conv,
its bias and activation, a consumer): outputs stay equal, the postcondition holds (no conv
the pass could move an activation from is left), and on the modeled NPU the rewritten
bottleneck runs the producer as an init kernel and a K-split GEMM, equal to the reference."""

from __future__ import annotations

import numpy as np
from fusion_cases import EXAMPLES
from fusion_planters import emit, maybe, second_user
from hypothesis import event, given, settings
from hypothesis import strategies as st
from planted import planted_programs

from ge.testing.equivalence import assert_preserves_semantics
from ge.testing.program_builder import ProgramBuilder, Value
from ge.testing.strategies import inputs_for, smooth_ops
from gedialects.ge import ops
from gedialects.interpreter import run_reference
from gedialects.kernel.ops import Conv2DKernelOp
from passes.split_pointwise_convs import movable
from runtime.kernel_runner import KernelRunner
from runtime.targets import default_target

PIPELINE = "ge-optimize,select-implementations"
TOLERANCE = {"rtol": 1e-3, "atol": 1e-2}
"""Sums of 512 to 1024 products of values up to ~10 (~1e4) in another order than the plain
reference's (the selected algorithm's GEMM): f32 rounding ~1e-4 of the value."""
SHAPES = [(512, 16, 4), (1024, 32, 7), (512, 32, 7), (64, 32, 6), (256, 16, 5)]
"""(input channels, output channels, image side) of the pointwise producer: the first three
split K on ascend910a (a deep K, few output tiles), the others do not (K under 512)."""
ACTIVATIONS = (
    lambda v: ops.ReluOp(v),
    lambda v: ops.ClipOp(v, min=0.0, max=6.0),
    lambda v: ops.LeakyReluOp(v, alpha=0.1),
    lambda v: ops.ClipOp(v, min=0.5, max=6.0),  # does not keep zero: stays
    lambda v: ops.SigmoidOp(v),  # likewise
)


def plant_bottleneck(b: ProgramBuilder) -> list[Value]:
    """x -> 1x1 conv [+ bias] [-> act] -> consumer: a 3x3 conv (padded or not, strided or
    not), a 1x1 conv, or an elementwise op; sometimes a second user of the activation."""
    c, o, side = b.draw(st.sampled_from(SHAPES))
    dtype = np.dtype(np.float32)
    x = b.argument((1, c, side, side), dtype)
    bias = b.constant((o,), dtype).ssa if not maybe(b, 4) else None
    y = emit(b, ops.Conv2DOp(x.ssa, b.constant((o, c, 1, 1), dtype).ssa, bias))
    if not maybe(b, 5):
        y = emit(b, b.draw(st.sampled_from(ACTIVATIONS))(y.ssa))
    outputs: list[Value] = []
    second_user(b, y, outputs)
    consumer = b.draw(st.sampled_from(["3x3", "3x3", "1x1", "neg"]))
    if consumer == "neg":
        return [*outputs, emit(b, ops.NegOp(y.ssa))]
    k = 3 if consumer == "3x3" else 1
    pad, stride = (1 if maybe(b, 3) else 0) if k == 3 else 0, b.draw(st.integers(1, 2))
    weight = b.constant((16, o, k, k), dtype).ssa
    z = emit(b, ops.Conv2DOp(y.ssa, weight, None, pads=[pad] * 4, strides=[stride] * 2))
    return [*outputs, emit(b, ops.ReluOp(z.ssa))]


@settings(max_examples=EXAMPLES)
@given(data=st.data())
def test_split_pointwise_convs_preserves_semantics(data) -> None:  # noqa: ANN001
    module = data.draw(planted_programs((plant_bottleneck,), ops=smooth_ops(), max_noise=2))
    inputs = data.draw(inputs_for(module))
    before = assert_preserves_semantics(PIPELINE, module, inputs, **TOLERANCE)
    after = assert_preserves_semantics(f"{PIPELINE},split-pointwise-convs", module, inputs,
                                       **TOLERANCE)  # fmt: skip
    convs = [op for op in after.walk() if isinstance(op, Conv2DKernelOp)]
    target = default_target()
    assert not [c for c in convs if movable(c, target) is not None], "a movable one is left"
    moved = sum(c.input_activation is not None for c in convs)
    assert len(convs) == sum(isinstance(op, Conv2DKernelOp) for op in before.walk())
    event(f"moved: {moved}")


def _bottleneck_module():  # noqa: ANN202
    from xdsl.parser import Parser

    from ge.registry import make_context

    x, w1, b1 = "tensor<1x1024x14x14xf32>", "tensor<256x1024x1x1xf32>", "tensor<256xf32>"
    y, w2, z = "tensor<1x256x14x14xf32>", "tensor<256x256x3x3xf32>", "tensor<1x256x14x14xf32>"
    text = f"""func.func @main(%x: {x}, %w1: {w1}, %b1: {b1}, %w2: {w2}) -> {z} {{
  %c = ge.conv2d %x, %w1, %b1 : ({x}, {w1}, {b1}) -> {y}
  %y = ge.relu %c : ({y}) -> {y}
  %c2 = ge.conv2d %y, %w2 {{pads = array<i64: 1, 1, 1, 1>}} : ({y}, {w2}) -> {z}
  %z = ge.relu %c2 : ({z}) -> {z}
  func.return %z : {z}
}}"""
    return Parser(make_context(), text).parse_module()


def test_bottleneck_on_the_npu_splits_the_pointwise_conv() -> None:
    """ResNet-50's stage-3 reduce conv: an init kernel and a split GEMM, the relu in the 3x3
    conv's loads, the result equal to the reference of the program as written."""
    from ge.pipeline import apply_pipeline

    module = _bottleneck_module()
    rng = np.random.default_rng(0)
    inputs = [
        rng.standard_normal(s).astype(np.float32) * scale
        for s, scale in [((1, 1024, 14, 14), 1), ((256, 1024, 1, 1), 0.03), ((256,), 1),
                         ((256, 256, 3, 3), 0.02)]
    ]  # fmt: skip
    want = run_reference(module.clone(), inputs)[0]
    apply_pipeline(module, f"{PIPELINE},split-pointwise-convs")
    convs = [op for op in module.walk() if isinstance(op, Conv2DKernelOp)]
    assert [c.activation is None for c in convs] == [True, False]
    assert convs[1].input_activation.data == "relu"
    assert "ge.relu" in convs[1].fused_names[:1]
    run = KernelRunner(module).run(inputs)
    names = [k.name for k in run.profile.kernels]
    assert len(names) == 3 and names[0] == names[1]  # the producer's init and GEMM
    assert not run.fallbacks
    np.testing.assert_allclose(run.outputs[0], want, rtol=1e-4, atol=1e-4)
