"""A deep pointwise conv whose epilogue is a bias and/or a residual splits K over groups of
cores on the modeled NPU (`lower_conv.pointwise_split`): an init kernel writes the addends,
the GEMM's parts add into the output; the result equals the reference semantics."""

from __future__ import annotations

import numpy as np
import pytest

from ge.registry import make_context
from gedialects.interpreter import run_reference
from lowering.convert_kernel_to_npu import lower_module
from runtime.npu_interpreter import NpuExecutable


def _t(*shape: int) -> str:
    return f"tensor<{'x'.join(map(str, shape))}xf32>"


def _run(c: int, o: int, side: int, bias: bool, residual: bool, activation: str = ""):
    from xdsl.parser import Parser

    x, w, y, b = _t(1, c, side, side), _t(o, c, 1, 1), _t(1, o, side, side), _t(o)
    params, operands, shapes = [f"%x: {x}", f"%w: {w}"], "", [(1, c, side, side), (o, c, 1, 1)]
    if bias:
        params.append(f"%b: {b}")
        operands += f"bias %b : {b} "
        shapes.append((o,))
    if residual:
        params.append(f"%r: {y}")
        operands += f"residual %r : {y} "
        shapes.append((1, o, side, side))
    attrs = (
        "strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>,"
        f' groups = 1 : i64, fused_from = ["ge.conv2d"]{activation}'
    )
    text = f"""func.func @main({", ".join(params)}) -> {y} {{
  %y = kernel.conv2d %x, %w {operands}{{{attrs}}} : {x}, {w} -> {y}
  func.return %y : {y}
}}"""
    module = Parser(make_context(), text).parse_module()
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    want = run_reference(module, inputs)[0]
    result = NpuExecutable(lower_module(module)).run(inputs)
    np.testing.assert_allclose(result.outputs[0], want, rtol=1e-4, atol=1e-3)
    return [k.kind for k in result.profile.kernels]


@pytest.mark.parametrize(("bias", "residual"), [(True, False), (False, True), (True, True)])
def test_deep_pointwise_conv_splits_k(bias: bool, residual: bool) -> None:
    """512 input channels on 4x4 pixels: each core's K panels bound the whole-K GEMM."""
    assert _run(512, 16, 4, bias, residual) == ["elementwise", "conv2d"]


@pytest.mark.parametrize(
    ("c", "activation"),
    [(512, ', activation = "relu"'), (64, "")],
)
def test_what_does_not_split(c: int, activation: str) -> None:
    """An activation needs the whole sum; 64 channels are too shallow to pay for a split."""
    assert _run(c, 16, 4, True, False, activation) == ["conv2d"]
