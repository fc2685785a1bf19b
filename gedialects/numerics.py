"""Floating-point functions whose results must not depend on how numpy is handed the data.

numpy's float32 `power` is not correctly rounded: its SIMD loop is within an ulp, and a scalar
exponent of 2 takes an exact `x * x` path instead, so the same element can round two ways
depending on whether the exponent arrives as an array, a broadcast view or a scalar. A kernel
replayed on stacked tiles then differs from its first run by an ulp. Narrow floats are raised in
float64 and rounded once, which is the correctly rounded result but for ties at 2^-29 odds,
whatever the layout (and what onnxruntime's `powf` gives).
"""

from __future__ import annotations

import numpy as np


def power(x: np.ndarray, y: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """x ** y elementwise, in the operands' common dtype, independent of their layout."""
    dtype = np.result_type(x, y)
    if dtype.kind in "biuc" or dtype == np.float64:
        return np.power(x, y, out=out)
    wide = np.power(np.asarray(x, np.float64), np.asarray(y, np.float64))
    with np.errstate(over="ignore"):  # past the narrow type's range is inf, as its own pow
        if out is None:
            return wide.astype(dtype)
        out[...] = wide
    return out
