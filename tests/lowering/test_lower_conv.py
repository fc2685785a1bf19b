"""kernel.conv2d by im2col on the modeled NPU equals the kernel dialect's reference semantics."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from padding_windows import reads_only_padding
from xdsl.parser import Parser

from ge.registry import make_context
from gedialects.errors import UnsupportedError
from gedialects.interpreter import run_reference
from gedialects.npu.img2col import Img2ColOp
from lowering.convert_kernel_to_npu import lower_module
from runtime.npu_interpreter import NpuExecutable

RELU6 = ', activation = "clip", activation_attrs = {min = 0.0 : f64, max = 6.0 : f64}'


def _t(shape: tuple[int, ...], dtype: str = "f32") -> str:
    return f"tensor<{'x'.join(map(str, shape))}x{dtype}>"


def _out_size(size: int, k: int, s: int, p: int, d: int) -> int:
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def _module(geo: dict, epilogue: str = "", full: bool = False, algorithm: str | None = None):
    n, c, h, w, o, k = (geo[key] for key in ("n", "c", "h", "w", "o", "k"))
    s, p, d, g = geo["s"], geo["p"], geo["d"], geo["g"]
    out = (n, o, _out_size(h, k, s, p, d), _out_size(w, k, s, p, d))
    x, wt, y, vec = _t((n, c, h, w)), _t((o, c // g, k, k)), _t(out), _t((o,))
    params = [f"%x: {x}", f"%w: {wt}"]
    operands = ""
    if full:
        params += [f"%b: {vec}", f"%s: {vec}", f"%h: {vec}", f"%r: {y}"]
        operands = f"bias %b : {vec} scale %s : {vec} shift %h : {vec} residual %r : {y}"
        epilogue += ', post_activation = "relu"'
    attrs = (
        f"strides = array<i64: {s}, {s}>, pads = array<i64: {p}, {p}, {p}, {p}>, "
        f"dilations = array<i64: {d}, {d}>, groups = {g} : i64"
    )
    if algorithm is not None:
        attrs += f', algorithm = "{algorithm}"'
    props = f'{attrs}{epilogue}, fused_from = ["ge.conv2d"]'
    text = f"""func.func @main({", ".join(params)}) -> {y} {{
  %y = kernel.conv2d %x, %w {operands} {{{props}}} : {x}, {wt} -> {y}
  func.return %y : {y}
}}"""
    shapes = [(n, c, h, w), (o, c // g, k, k)] + ([(o,), (o,), (o,), out] if full else [])
    return Parser(make_context(), text).parse_module(), shapes


def _check(geo: dict, epilogue: str = "", full: bool = False, algorithm: str | None = None):
    module, shapes = _module(geo, epilogue, full, algorithm)
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    want = run_reference(module, inputs)[0]
    lowered = lower_module(module)
    result = NpuExecutable(lowered).run(inputs)  # verifies the program (capacities included)
    np.testing.assert_allclose(result.outputs[0], want, rtol=1e-4, atol=1e-4)
    pointwise = (geo["k"], geo["s"], geo["p"], geo["g"]) == (1, 1, 0, 1)
    assert any(isinstance(op, Img2ColOp) for op in lowered.walk()) != pointwise
    kernel = result.profile.kernels[0]
    assert 0 < kernel.roofline_cycles <= kernel.cycles
    return result


def padding_only(geo: dict, out: tuple[int, ...]) -> bool:
    """Whether a window of the square-kernel geometry reads only padding."""
    k, s, p, d = geo["k"], geo["s"], geo["p"], geo["d"]
    return reads_only_padding((geo["h"], geo["w"]), out, (k, k), (s, s), (p, p), (d, d))


@st.composite
def geometries(draw):
    """Conv geometries with at least one output pixel; groups divide both channel counts."""
    k, s, d = draw(st.integers(1, 7)), draw(st.integers(1, 3)), draw(st.integers(1, 2))
    p = draw(st.integers(0, 3))
    span = d * (k - 1) + 1
    h = draw(st.integers(max(1, span - 2 * p), 20))
    w = draw(st.integers(max(1, span - 2 * p), 20))
    g = draw(st.sampled_from([1, 1, 2, 3]))
    c = g * draw(st.integers(1, 40 // g))
    o = g * draw(st.integers(1, 40 // g))
    return dict(n=draw(st.integers(1, 2)), c=c, h=h, w=w, o=o, k=k, s=s, p=p, d=d, g=g)


@given(geometries(), st.booleans())
def test_conv_equals_reference(geo: dict, full: bool) -> None:
    _check(geo, RELU6 if full else ', activation = "relu"', full)


@pytest.mark.parametrize(
    "geo",
    [
        dict(n=1, c=8, h=9, w=9, o=8, k=3, s=1, p=1, d=1, g=8),  # depthwise
        dict(n=2, c=33, h=19, w=17, o=37, k=5, s=2, p=2, d=2, g=1),  # no dim divides a tile
        dict(n=1, c=40, h=20, w=20, o=40, k=7, s=1, p=3, d=1, g=1),  # K = 3 * 49 * 16
        dict(n=1, c=4, h=1, w=1, o=3, k=3, s=1, p=1, d=1, g=1),  # one pixel, all padding
        # windows of padding alone (found by the soak profile): tiles above the image, and
        # a tile that reads no image row at all
        dict(n=1, c=1, h=1, w=9, o=1, k=1, s=1, p=3, d=1, g=1),
        dict(n=1, c=2, h=1, w=2, o=3, k=1, s=3, p=1, d=2, g=1),
    ],
)
def test_conv_edge_geometries(geo: dict) -> None:
    _check(geo, RELU6, full=True, algorithm="im2col")


def test_conv_whose_data_exceeds_l1() -> None:
    """Two 400 KiB images and 147 KiB of weights: more than L1 holds, one image at a time."""
    geo = dict(n=2, c=64, h=40, w=40, o=64, k=3, s=1, p=1, d=1, g=1)
    result = _check(geo)
    assert result.profile.kernels[0].cube_flops >= 2 * 2 * 64 * 64 * 9 * 40 * 40


def test_a_strided_pointwise_conv_s_roofline_counts_the_input_it_reads() -> None:
    """ResNet's 1x1 stride-2 downsample reads every other input row (L2 serves no element
    twice from HBM): its roofline's HBM bytes are the elements read, not the whole input,
    which put the roofline above the modeled cycles (1,208 against 1,094 in a ResNet-18)."""
    result = _check(dict(n=1, c=64, h=56, w=56, o=128, k=1, s=2, p=0, d=1, g=1))
    kernel = result.profile.kernels[0]
    weights_and_output = (64 * 128 + 128 * 28 * 28) * 4
    needed, whole = 64 * 28 * 28 * 4, 64 * 56 * 56 * 4
    assert needed <= kernel.hbm_compulsory_bytes - weights_and_output < whole


def test_rows_of_one_output_row_larger_than_l1_are_unsupported() -> None:
    """Images larger than L1 are tiled by rows; one output row's 3 input rows of 512 channels
    x 200 pixels (3 x 410 KiB in NC1HWC0) are more than L1 holds twice."""
    module, _ = _module(dict(n=1, c=512, h=3, w=200, o=8, k=3, s=1, p=1, d=1, g=1))
    with pytest.raises(UnsupportedError, match="do not fit L1"):  # rows and 16 weight columns
        lower_module(module)


def test_f16_conv_accumulates_in_f32() -> None:
    x, wt, y = _t((1, 20, 9, 9), "f16"), _t((24, 20, 3, 3), "f16"), _t((1, 24, 5, 5), "f16")
    attrs = (
        "strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, "
        'dilations = array<i64: 1, 1>, groups = 1 : i64, fused_from = ["ge.conv2d"]'
    )
    text = f"""func.func @main(%x: {x}, %w: {wt}) -> {y} {{
  %y = kernel.conv2d %x, %w {{{attrs}}} : {x}, {wt} -> {y}
  func.return %y : {y}
}}"""
    module = Parser(make_context(), text).parse_module()
    rng = np.random.default_rng(1)
    inputs = [rng.standard_normal(s).astype(np.float16) for s in [(1, 20, 9, 9), (24, 20, 3, 3)]]
    want = run_reference(module, inputs)[0]
    got = NpuExecutable(lower_module(module)).run(inputs).outputs[0]
    assert got.dtype == np.float16
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-2)
