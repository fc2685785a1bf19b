"""im2col with runtime filters too long for one UB stage (`conv_tiling.staged_taps`): the
filters of a channel tile come in parts of taps, each transposed into its place in the K
order; the conv equals the reference. Eager mode passes every weight as an argument, so a
9x9 or a 400-tap DFT filter used to leave im2col no tile."""

from __future__ import annotations

import numpy as np
from hypothesis import event, given, settings
from hypothesis import strategies as st
from xdsl.parser import Parser

from ge.registry import make_context
from gedialects.interpreter import run_reference
from gedialects.npu.buffers import ReshapeOp
from lowering.conv_im2col_shape import ConvShape
from lowering.conv_tiling import choose_conv_tile, staged_taps
from lowering.convert_kernel_to_npu import lower_module
from runtime.npu_interpreter import run_npu
from runtime.targets import default_target


def _t(shape: tuple[int, ...]) -> str:
    return f"tensor<{'x'.join(map(str, shape))}xf32>"


def _module(n, c, h, w, o, kh, kw, pads):  # noqa: ANN001, ANN202
    oh, ow = h + pads[0] + pads[2] - kh + 1, w + pads[1] + pads[3] - kw + 1
    x, wt, out = _t((n, c, h, w)), _t((o, c, kh, kw)), _t((n, o, oh, ow))
    attrs = (
        f"strides = array<i64: 1, 1>, pads = array<i64: {', '.join(map(str, pads))}>, "
        'dilations = array<i64: 1, 1>, groups = 1 : i64, algorithm = "im2col"'
    )
    text = f"""func.func @main(%x: {x}, %w: {wt}) -> {out} {{
  %y = kernel.conv2d %x, %w {{{attrs}, fused_from = ["ge.conv2d"]}} : {x}, {wt} -> {out}
  func.return %y : {out}
}}"""
    return Parser(make_context(), text).parse_module()


@settings(max_examples=max(20, settings.default.max_examples), deadline=None)
@given(
    st.sampled_from([(9, 9), (11, 11), (400, 1), (1, 160)]),
    st.integers(1, 40),
    st.integers(0, 2**16),
    st.data(),
)
def test_long_runtime_filters_come_in_parts_and_equal_the_reference(kernel, o, seed, data) -> None:  # noqa: ANN001
    kh, kw = kernel
    # (a unit holds its weight columns, K = C1 * taps * 16, whole in L1: channels that fit)
    c = data.draw(st.integers(1, 16 * max(1, 300 // (kh * kw))))
    h, w = kh + (seed % 5), kw + (seed % 7)
    pads = (seed % 2, seed % 3, 0, seed % 2)
    module = _module(1, c, h, w, o, kh, kw, pads)
    rng = np.random.default_rng(seed)
    inputs = [
        rng.standard_normal((1, c, h, w)).astype(np.float32),
        (rng.standard_normal((o, c, kh, kw)) / np.sqrt(c * kh * kw)).astype(np.float32),
    ]
    (want,) = run_reference(module, inputs)
    lowered = lower_module(module)
    views = [op for op in lowered.walk() if isinstance(op, ReshapeOp)]
    event(f"in parts: {any(op.result.type.dims == (o, c, kh * kw) for op in views)}")
    (got,) = run_npu(lowered, inputs).outputs
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_a_dft_filters_taps_are_staged_in_parts() -> None:
    """The 400 taps of a spectrogram's DFT filters (66 channels, as runtime filters)."""
    oh = (3600 - 400) // 160 + 1
    shape = ConvShape(1, 3600, 1, 400, oh, 66, 2, 4, (), 1, 160, 400, (0, 0), False, 4, 1)
    tiling = choose_conv_tile(default_target(), shape)
    assert tiling is not None
    assert 0 < staged_taps(default_target(), shape, tiling.tm, tiling.tn) < 400
