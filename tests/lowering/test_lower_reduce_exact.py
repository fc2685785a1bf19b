"""kernel.reduce on integers (sum, max, min, prod) and booleans (max = any, min = all) on the
modeled NPU equals the reference exactly; sums and products of booleans are refused."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from npu_diff import check, kernels_of, reduce_program

from gedialects.errors import UnsupportedError
from lowering.convert_kernel_to_npu import lower_module

NP = {"i32": np.int32, "i64": np.int64, "i1": np.bool_, "ui8": np.uint8}


def _data(shape: tuple[int, ...], dtype: str, rng: np.random.Generator) -> np.ndarray:
    if dtype == "i1":
        return rng.random(shape) < 0.7
    low = 0 if dtype[0] == "u" else -3
    return rng.integers(low, 4, shape).astype(NP[dtype])


def _check(kind: str, shape, axes, keep, dtype, seed: int = 0):  # noqa: ANN001, ANN202
    x = _data(shape, dtype, np.random.default_rng(seed))
    return check(kernels_of(reduce_program(kind, shape, axes, keep, dtype)), [x], rtol=0, atol=0)


@pytest.mark.parametrize("kind", ["max", "min"])
def test_onnx_bool_reductions(kind: str) -> None:
    """ONNX's reduce_{max,min}_bool_inputs: (4, 3) booleans over axis 1, kept."""
    _check(kind, (4, 3), [1], True, "i1")


@pytest.mark.parametrize("kind", ["sum", "max", "min", "prod"])
def test_integer_reductions_over_inner_and_outer_axes(kind: str) -> None:
    _check(kind, (3, 4, 5), [0, 2], False, "i32")
    _check(kind, (6, 7), [], True, "i64")


def test_many_rows_tile_and_rows_longer_than_ub_reduce_in_chunks() -> None:
    """int32 rows of 100,000 (400 KB) do not fit UB: partial sums of chunks, then the row
    kernel over them (`lower_long_rows`); 3000 rows of 200 (2.4 MB) tile over the cores."""
    long_rows = _check("sum", (4, 100000), [1], False, "i32")
    assert len(long_rows.profile.kernels) == 2
    result = _check("max", (3000, 200), [1], False, "i32")  # 2.4 MB over the cores
    assert result.profile.kernels[0].cycles > 0


@pytest.mark.parametrize(("kind", "dtype"), [("sum", "i1"), ("prod", "i1")])
def test_inexact_reductions_are_refused(kind: str, dtype: str) -> None:
    module = kernels_of(reduce_program(kind, (2, 3), [1], True, dtype))
    with pytest.raises(UnsupportedError, match=f"kernel.reduce {kind} on {dtype} has no npu"):
        lower_module(module)


@st.composite
def cases(draw):  # noqa: ANN201
    dtype = draw(st.sampled_from(["i32", "i64", "ui8", "i1"]))
    kinds = ["max", "min"] if dtype == "i1" else ["sum", "max", "min", "prod"]
    shape = tuple(draw(st.lists(st.integers(1, 6), min_size=1, max_size=3)))
    axes = draw(st.lists(st.integers(-len(shape), len(shape) - 1), max_size=len(shape),
                         unique_by=lambda a: a % len(shape)))  # fmt: skip
    return draw(st.sampled_from(kinds)), shape, axes, draw(st.booleans()), dtype


@given(cases(), st.integers(0, 3))
def test_random_reductions_match_the_reference(case, seed: int) -> None:  # noqa: ANN001
    _check(*case, seed)
