"""The shared differential check's exact mode compares bits, not values."""

from __future__ import annotations

import numpy as np
import pytest
from npu_diff import assert_bitwise_equal


def test_signed_zeros_differ() -> None:
    with pytest.raises(AssertionError, match="bits differ"):
        assert_bitwise_equal(np.array([0.0, 1.0], np.float32), np.array([-0.0, 1.0], np.float32))


def test_nan_matches_nan_of_any_payload_but_not_a_number() -> None:
    quiet = np.array([np.nan, np.inf], np.float32)
    other = quiet.copy()
    other.view(np.uint32)[0] |= 1  # another NaN payload
    assert_bitwise_equal(other, quiet)
    with pytest.raises(AssertionError):
        assert_bitwise_equal(np.array([0.0, np.inf], np.float32), quiet)


def test_dtype_and_shape_must_match() -> None:
    with pytest.raises(AssertionError):
        assert_bitwise_equal(np.zeros(3, np.float16), np.zeros(3, np.float32))
    with pytest.raises(AssertionError):
        assert_bitwise_equal(np.zeros((1, 3), np.int32), np.zeros(3, np.int32))
