"""`gedialects.numerics.power`: one rounding per element, whatever layout numpy is handed."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

from gedialects.numerics import power

RNG = np.random.default_rng(11)


@pytest.mark.parametrize("dtype", [np.float32, np.float16, ml_dtypes.bfloat16])
def test_power_rounds_the_float64_result_once(dtype: type) -> None:
    x = (RNG.random(4096) * 3).astype(dtype)
    y = (RNG.random(4096) * 4 - 2).astype(dtype)
    with np.errstate(over="ignore"):
        want = np.power(x.astype(np.float64), y.astype(np.float64)).astype(dtype)
    got = power(x, y)
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(got, want)


def test_power_of_a_scalar_two_equals_an_array_of_twos() -> None:
    """numpy's own float32 power squares exactly for a scalar 2 and, on AVX-512 machines, not
    for an array of 2s: 1.3217702 ** 2 is 1.7470764 one way and 1.7470765 the other."""
    x = np.array([1.3217702, 0.75, 3.0e-3], np.float32)
    by_scalar, by_array = power(x, np.float32(2)), power(x, np.full(3, 2, np.float32))
    np.testing.assert_array_equal(by_scalar, by_array)
    np.testing.assert_array_equal(by_scalar, x * x)
    strided = np.broadcast_to(np.float32(2), (3,))
    np.testing.assert_array_equal(power(x, strided), by_scalar)


def test_power_writes_into_out_and_keeps_integers_exact() -> None:
    out = np.empty(3, np.float32)
    assert power(np.float32([2, 3, 4]), np.float32([0.5, 2, -1]), out=out) is out
    np.testing.assert_allclose(out, [np.sqrt(2), 9, 0.25], rtol=1e-7)
    ints = power(np.array([3, 7], np.int64), np.array([39, 2], np.int64))
    assert ints.dtype == np.int64 and ints.tolist() == [3**39, 49]
