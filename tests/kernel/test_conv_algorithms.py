"""Every conv algorithm that accepts a geometry matches direct convolution.

Tolerances (f32 inputs, relative to the output's max magnitude): direct, im2col and
Winograd F(2x2,3x3) stay within 1e-5; Winograd F(4x4,3x3) and FFT within 1e-4. F(4x4)
is looser because its transform matrices hold 1/24 ... 8 (the interpolation points +-2),
which amplify rounding by about 10x over F(2x2) (Lavin & Gray report the same); measured
worst case over the CI examples is printed by `benchmarks/bench_conv_algorithms.py`.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gedialects.ge.semantics import conv2d_nchw
from gedialects.kernel.conv_algorithms import ALGORITHMS, ConvGeometry, accepting


@st.composite
def geometries(draw):
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    depthwise = draw(st.booleans()) and groups > 1
    cg = 1 if depthwise else draw(st.integers(1, 4))
    c = groups * cg
    o = groups * draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    dil = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    pads = tuple(draw(st.integers(0, 3)) for _ in range(4))
    strides = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    span_h, span_w = dil[0] * (kh - 1) + 1, dil[1] * (kw - 1) + 1
    h = draw(st.integers(max(1, span_h - pads[0] - pads[2]), span_h + 9))
    w = draw(st.integers(max(1, span_w - pads[1] - pads[3]), span_w + 9))
    n = draw(st.integers(1, 2))
    return ConvGeometry(n, c, h, w, o, kh, kw, strides, pads, dil, groups)


@st.composite
def winograd_geometries(draw):
    g = draw(geometries())
    return ConvGeometry(
        g.n, g.c, max(g.h, 3), max(g.w, 3), g.o, 3, 3, (1, 1), g.pads, (1, 1), g.groups
    )


def _data(g: ConvGeometry, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((g.n, g.c, g.h, g.w)).astype(np.float32)
    w = rng.standard_normal((g.o, g.c // g.groups, g.kh, g.kw)).astype(np.float32)
    return x, w


def _check(name: str, g: ConvGeometry) -> None:
    x, w = _data(g)
    expected = conv2d_nchw(
        x.astype(np.float64), w.astype(np.float64), g.strides, g.pads, g.dilations, g.groups
    )
    got = ALGORITHMS[name].run(x, w, g)
    assert got.shape == expected.shape and got.dtype == np.float32
    scale = max(1.0, float(np.abs(expected).max()))
    np.testing.assert_allclose(got, expected, rtol=0, atol=ALGORITHMS[name].rtol * scale)


@pytest.mark.parametrize("name", ["direct", "im2col", "fft"])
@given(g=geometries())
def test_general_algorithms_match_direct(name, g):
    assert name in accepting(g)
    _check(name, g)


@pytest.mark.parametrize("name", ["winograd_2x2", "winograd_4x4"])
@given(g=winograd_geometries())
def test_winograd_matches_direct(name, g):
    assert name in accepting(g)
    _check(name, g)


@pytest.mark.parametrize(
    "geometry, reason",
    [
        (ConvGeometry(1, 4, 8, 8, 4, 5, 5), "3x3 kernel"),
        (ConvGeometry(1, 4, 8, 8, 4, 3, 3, strides=(2, 2)), "stride 1"),
        (ConvGeometry(1, 4, 8, 8, 4, 3, 3, dilations=(2, 2)), "no dilation"),
    ],
)
def test_winograd_declares_what_it_cannot_take(geometry, reason):
    for name in ("winograd_2x2", "winograd_4x4"):
        assert reason in ALGORITHMS[name].unsupported_reason(geometry)
        assert name not in accepting(geometry)


@given(g=geometries(), budget=st.integers(1, 4096))
def test_the_reference_conv_in_bands_of_rows_is_the_same(g, budget):
    """The reference gathers patches a band of output rows at a time past `PATCH_BYTES` (a
    32 -> 3 9x9 conv on 1024x1024 had 10 GiB of them): the same products and sums."""
    from gedialects.ge.semantics import linalg

    x, w = _data(g)
    whole = conv2d_nchw(x, w, g.strides, g.pads, g.dilations, g.groups)
    saved = linalg.PATCH_BYTES
    linalg.PATCH_BYTES = budget  # (bands of 1 row up to whole images)
    try:
        banded = conv2d_nchw(x, w, g.strides, g.pads, g.dilations, g.groups)
    finally:
        linalg.PATCH_BYTES = saved
    # (BLAS may block a product of other shapes otherwise: f32 rounding of the output's scale)
    scale = max(1.0, float(np.abs(whole).max()))
    np.testing.assert_allclose(banded, whole, rtol=0, atol=1e-5 * scale)
