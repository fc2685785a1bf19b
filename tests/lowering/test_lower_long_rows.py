"""Reductions over rows longer than UB (`lowering/lower_long_rows.py`): a partials kernel over
(row, chunk) tiles, then the row kernel over the partials, equal to the reference for every
kind, with and without a short last chunk. A small-UB target keeps the rows short."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from npu_diff import check, kernels_of, reduce_program, t

from gedialects.npu.launch import KernelOp
from lowering.lower_long_rows import chunk_length
from runtime.targets import load_target

DEFAULT = load_target("ascend910a")
SMALL_UB = dataclasses.replace(DEFAULT, capacity={**DEFAULT.capacity, "ub": 8 * 1024})
"""Rows of f32 longer than ~1,000 elements need chunks (992 a chunk)."""

NP = {"f32": np.float32, "f16": np.float16, "i32": np.int32, "i64": np.int64}


def _data(kind: str, shape: tuple[int, ...], dtype: str, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if dtype[0] == "i":  # products of +-1 do not overflow
        values = (
            rng.choice([1, 1, 1, -1], shape) if kind == "prod" else rng.integers(-50, 50, shape)
        )
        return values.astype(NP[dtype])
    if kind == "prod":  # near 1, so a product of thousands stays finite
        return rng.uniform(0.999, 1.001, shape).astype(NP[dtype])
    return rng.standard_normal(shape).astype(NP[dtype])


def _check(kind, shape, axes, keep, dtype, seed=0, target=SMALL_UB):  # noqa: ANN001, ANN202
    x = _data(kind, shape, dtype, seed)
    exact = dtype[0] == "i" or kind in ("max", "min")
    tolerance = {"rtol": 0, "atol": 0} if exact else {"rtol": 2e-5, "atol": 1e-4}
    return check(
        kernels_of(reduce_program(kind, shape, axes, keep, dtype)), [x], target=target, **tolerance
    )


def _kernels(result) -> list[KernelOp]:  # noqa: ANN001
    return [op for op in result.lowered.walk() if isinstance(op, KernelOp)]


@pytest.mark.parametrize("kind", ["sum", "mean", "max", "min", "prod", "l2"])
@pytest.mark.parametrize("cols", [3000, 2976])
def test_every_kind_over_long_rows(kind: str, cols: int) -> None:
    """3,000 f32 a row: 4 chunks of 752, the last one 744 (filled with the kind's identity);
    2,976: 3 whole chunks of 992, nothing filled."""
    assert chunk_length(SMALL_UB, cols, 4) == {3000: 752, 2976: 992}[cols]
    result = _check(kind, (3, cols), [1], False, "f32")
    partials, rows = _kernels(result)
    assert partials.block_dim.value.data == 3 * -(-cols // chunk_length(SMALL_UB, cols, 4))
    assert rows.sym_name.data.endswith("_rows")


@pytest.mark.parametrize(
    ("kind", "dtype"), [("sum", "i32"), ("min", "i64"), ("max", "i64"), ("max", "f16")]
)
def test_integer_and_half_long_rows(kind: str, dtype: str) -> None:
    """int64 min fills a short chunk with INT64_MAX (exact through the vector fill)."""
    _check(kind, (2, 2500), [1], True, dtype)


def test_a_full_reduction_on_the_default_target_spreads_its_chunks() -> None:
    """x.sum() of a 300x700 f32 tensor (210,000 elements, 840 KB: UB holds 256 KB) runs on the
    npu; its chunks go to several cores instead of one row on one core."""
    result = _check("sum", (300, 700), [], False, "f32", target=DEFAULT)
    partials, _ = _kernels(result)
    assert partials.block_dim.value.data > 1


def test_rows_that_fit_keep_one_kernel() -> None:
    result = _check("sum", (3, 900), [1], False, "f32")
    assert len(_kernels(result)) == 1


@st.composite
def cases(draw):  # noqa: ANN201
    dtype = draw(st.sampled_from(["f32", "i32"]))
    kinds = (
        ["sum", "mean", "max", "min", "prod", "l2"]
        if dtype == "f32"
        else ["sum", "max", "min", "prod"]
    )
    rows = draw(st.integers(1, 4))
    cols = draw(st.integers(900, 4100))
    over_all = draw(st.booleans())
    shape = (rows, cols)
    axes = [] if over_all else [1]
    return draw(st.sampled_from(kinds)), shape, axes, draw(st.booleans()), dtype


@given(cases(), st.integers(0, 3))
def test_random_long_reductions_match_the_reference(case, seed: int) -> None:  # noqa: ANN001
    _check(*case, seed)


def _softmax_program(op: str, shape: tuple[int, ...], axis: int, scale: float, cast: bool) -> str:
    x, y = t(shape, "f32"), t(shape, "f16" if cast else "f32")
    attrs = f"axis = {axis} : i64"
    if op == "softmax":
        attrs += f", scale = {scale!r} : f64"
    if cast:
        attrs += ", cast_to = f16"
    return f"""func.func @main(%x: {x}) -> {y} {{
  %y = kernel.{op} %x {{{attrs}, fused_from = ["ge.{op}"]}} : ({x}) -> {y}
  func.return %y : {y}
}}"""


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
@pytest.mark.parametrize("cols", [3000, 2976])
def test_softmax_over_long_rows(op: str, cols: int) -> None:
    """Chunk statistics, per-row combination, then the chunks normalized: three kernels."""
    x = np.random.default_rng(0).standard_normal((3, cols)).astype(np.float32) * 4
    result = check(
        _softmax_program(op, (3, cols), -1, 1.0, False), [x], target=SMALL_UB, rtol=1e-5, atol=1e-6
    )
    assert result.kernel_names == [f"{op}_0_stats", f"{op}_0_rows", f"{op}_0"]


def test_softmax_of_long_rows_with_masked_chunks_a_scale_and_a_cast() -> None:
    """A row whose first 2,000 logits are -inf (whole chunks of -inf add 0, not NaN), a
    prologue scale, an f16 result (the folded cast), over a middle axis (transposed)."""
    x = np.random.default_rng(1).standard_normal((2, 3000, 2)).astype(np.float32)
    x[0, :2000, :] = -np.inf
    check(
        _softmax_program("softmax", (2, 3000, 2), 1, 0.5, True),
        [x],
        target=SMALL_UB,
        rtol=2e-3,
        atol=1e-4,
    )


@given(
    op=st.sampled_from(["softmax", "log_softmax"]),
    rows=st.integers(1, 3),
    cols=st.integers(1000, 4000),
    spread=st.sampled_from([1.0, 30.0]),
    seed=st.integers(0, 3),
)
def test_random_long_softmaxes_match_the_reference(op, rows, cols, spread, seed) -> None:  # noqa: ANN001
    x = (np.random.default_rng(seed).standard_normal((rows, cols)) * spread).astype(np.float32)
    check(
        _softmax_program(op, (rows, cols), -1, 1.0, False),
        [x],
        target=SMALL_UB,
        rtol=1e-4,
        atol=1e-6,
    )
