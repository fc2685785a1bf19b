"""`npu.img2col`'s numpy meaning (`runtime.npu_semantics.img2col`) against a patch matrix
written out element by element: every window of rows and columns (K steps that cut a C1
slice at a tap or inside one, tiles past the image's last row or slice), padding, strides,
dilations, and a leading axis of stacked blocks (a replay's batch)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from runtime.npu_semantics import img2col


def _patch_matrix(src: np.ndarray, geometry: tuple) -> np.ndarray:
    """Row p = output pixel (oy, ox), column q = (c1, i, j, c0): the input value under tap
    (i, j) of that pixel's window, 0 in the padding."""
    (kh, kw), (sh, sw), (pt, _, pl, _), (dh, dw), (ho, wo) = geometry
    *lead, _, c1, h, w, c0 = src.shape
    out = np.zeros((*lead, ho * wo, c1 * kh * kw * c0), src.dtype)
    for oy in range(ho):
        for ox in range(wo):
            for g in range(c1):
                for i in range(kh):
                    for j in range(kw):
                        y, x = oy * sh + i * dh - pt, ox * sw + j * dw - pl
                        if 0 <= y < h and 0 <= x < w:
                            q = ((g * kh + i) * kw + j) * c0
                            out[..., oy * wo + ox, q : q + c0] = src[..., 0, g, y, x, :]
    return out


@st.composite
def windows(draw: st.DrawFn) -> tuple:
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    sh, sw, dh, dw = (draw(st.integers(1, 2)) for _ in range(4))
    c1 = draw(st.integers(1, 3))
    h = draw(st.integers(dh * (kh - 1) + 1, 7))
    w = draw(st.integers(dw * (kw - 1) + 1, 7))
    pt, pl = draw(st.integers(0, 1)), draw(st.integers(0, 1))
    ho, wo = (h + pt - dh * (kh - 1) - 1) // sh + 1, (w + pl - dw * (kw - 1) - 1) // sw + 1
    geometry = ((kh, kw), (sh, sw), (pt, 0, pl, 0), (dh, dw), (ho, wo))
    lead = draw(st.sampled_from([(), (2,)]))
    m_all, k_all = ho * wo, c1 * kh * kw * 16
    m0 = draw(st.integers(0, m_all - 1))
    m = draw(st.integers(1, m_all - m0 + 2))  # may run past the last pixel
    unit = draw(st.sampled_from([16, 16, 1]))  # whole taps, or any column
    k0 = draw(st.integers(0, (k_all - 1) // unit)) * unit
    k = draw(st.integers(1, (k_all - k0) // unit + 1)) * unit
    seed = draw(st.integers(0, 2**16))
    src = np.random.default_rng(seed).standard_normal((*lead, 1, c1, h, w, 16))
    return src.astype(np.float32), geometry, (m0, m), (k0, k)


@given(windows())
def test_img2col_writes_its_window_of_the_patch_matrix(case: tuple) -> None:
    src, geometry, (m0, m), (k0, k) = case
    want = np.zeros((*src.shape[:-5], m, k), np.float32)
    full = _patch_matrix(src, geometry)
    rows, cols = full[..., m0 : m0 + m, k0 : k0 + k].shape[-2:]
    want[..., :rows, :cols] = full[..., m0 : m0 + m, k0 : k0 + k]
    dst = np.full((*src.shape[:-5], m + 2, k + 3), 7.0, np.float32)  # room past the window
    img2col(src, dst, (m0, m), (k0, k), geometry)
    np.testing.assert_array_equal(dst[..., :m, :k], want)
    assert (dst[..., m:, :] == 7).all() and (dst[..., :, k:] == 7).all()  # nothing past it
