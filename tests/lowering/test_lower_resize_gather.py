"""kernel.resize nearest with general maps (by gathers of rows) on the modeled NPU equals the
kernel dialect's reference semantics exactly, non-finite values included."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from npu_diff import Checked, check
from test_lower_resize_gemm import _module as resize_module

from gedialects.errors import UnsupportedError
from gedialects.npu.scalar import LoadScalarOp
from lowering.convert_kernel_to_npu import lower_module

TRANSFORMS = ["asymmetric", "half_pixel", "pytorch_half_pixel", "half_pixel_symmetric",
              "align_corners"]  # fmt: skip
ROUNDINGS = ["floor", "round_prefer_floor", "round_prefer_ceil", "ceil"]


def _module(shape, out, ctm="half_pixel", nm="round_prefer_floor", dtype="f32"):  # noqa: ANN001, ANN202
    return resize_module(shape, out, "nearest", ctm, nm, None, dtype)


def _check(shape, out, ctm="half_pixel", nm="round_prefer_floor", x=None) -> Checked:  # noqa: ANN001
    if x is None:
        x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    return check(_module(shape, out, ctm, nm), [x], exact=True)


def test_two_to_seven_half_pixel_with_non_finite_values() -> None:
    """ONNX's resize_upsample_sizes_nearest (2x2 -> 7x8) with inf and NaN: copies, exact."""
    x = np.array([[[[1.0, np.inf], [-np.inf, np.nan]]]], np.float32)
    checked = _check((1, 1, 2, 2), (1, 1, 7, 8), x=x)
    assert checked.kernel_names == ["resize_0_rows", "resize_0_t0", "resize_0_cols", "resize_0_t1"]
    assert any(isinstance(op, LoadScalarOp) for op in checked.lowered.walk())


def test_one_axis_is_one_gather() -> None:
    checked = _check((2, 3, 5, 4), (2, 3, 8, 4), "align_corners")
    assert checked.kernel_names == ["resize_0_rows"]


def test_larger_than_ub() -> None:
    """64 planes of 40x40 -> 70x70 f32 (1.25 MB out): gathered rows tiled over the cores."""
    _check((1, 64, 40, 40), (1, 64, 70, 70), "half_pixel", "round_prefer_ceil")


def test_resizing_leading_axes_is_refused() -> None:
    with pytest.raises(UnsupportedError, match="kernel.resize' of axes before the last two"):
        lower_module(_module((1, 2, 3, 3), (1, 3, 3, 3)))


@st.composite
def resizes(draw):  # noqa: ANN201
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3)))
    shape += (draw(st.integers(1, 9)), draw(st.integers(1, 9)))
    out = (*shape[:2], draw(st.integers(1, 12)), draw(st.integers(1, 12)))
    return shape, out, draw(st.sampled_from(TRANSFORMS)), draw(st.sampled_from(ROUNDINGS))


@given(resizes())
def test_random_nearest_resizes_match_the_reference(case) -> None:  # noqa: ANN001
    _check(*case)
