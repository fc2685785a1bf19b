"""ge.sign in kernel.elementwise bodies on the modeled NPU equals np.sign: +-1, +-0, NaN,
infinities and the smallest subnormals, for floats and integers, fused with other ops."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from npu_diff import check, kernels_of, t

from gedialects.npu.vector import SCALAR_OPS
from lowering.convert_kernel_to_npu import lower_module

NP = {"f32": np.float32, "f16": np.float16, "i32": np.int32, "i64": np.int64}


def _sign(shape: tuple[int, ...], dtype: str, then_mul: bool = False) -> str:
    x = t(shape, dtype)
    body = f"  %s = ge.sign %x : ({x}) -> {x}\n"
    if then_mul:  # a chain: sign(x) * x = |x|, fused into one elementwise body
        body += f"  %y = ge.mul %s, %x : ({x}, {x}) -> {x}\n"
    else:
        body += f"  %y = ge.abs %s : ({x}) -> {x}\n  %z = ge.neg %y : ({x}) -> {x}\n"
    result = "%y" if then_mul else "%z"
    return f"func.func @main(%x: {x}) -> {x} {{\n{body}  func.return {result} : {x}\n}}"


def _special(dtype: str) -> np.ndarray:
    info = np.finfo(NP[dtype])
    tiny = info.smallest_subnormal
    values = [0.0, -0.0, 1.5, -2.0, np.inf, -np.inf, np.nan, tiny, -tiny, info.max, -info.max]
    return np.array(values * 4, dtype=NP[dtype]).reshape(4, 11)


@pytest.mark.parametrize("dtype", ["f32", "f16"])
def test_special_values_as_np_sign(dtype: str) -> None:
    x = _special(dtype)
    result = check(kernels_of(_sign(x.shape, dtype, then_mul=True)), [x], rtol=0, atol=0)
    np.testing.assert_array_equal(result.outputs[0], np.sign(x) * x)


@pytest.mark.parametrize("dtype", ["i32", "i64"])
def test_integers_are_clipped_without_a_gain(dtype: str) -> None:
    x = np.arange(-50, 50, dtype=NP[dtype]).reshape(10, 10)
    module = kernels_of(_sign(x.shape, dtype))
    check(module, [x], rtol=0, atol=0)
    lowered = lower_module(module)
    assert not any(isinstance(op, SCALAR_OPS["muls"]) for op in lowered.walk())


def test_larger_than_ub() -> None:
    x = np.random.default_rng(0).standard_normal((600, 700)).astype(np.float32)
    check(kernels_of(_sign(x.shape, "f32")), [x], rtol=0, atol=0)


@given(hnp.arrays(np.float32, hnp.array_shapes(min_dims=1, max_dims=3, max_side=9),
                  elements=st.floats(width=32, allow_nan=True)))  # fmt: skip
def test_random_values_match_the_reference(x: np.ndarray) -> None:
    result = check(kernels_of(_sign(x.shape, "f32", then_mul=True)), [x], rtol=0, atol=0)
    np.testing.assert_array_equal(result.outputs[0], np.sign(x) * x)
