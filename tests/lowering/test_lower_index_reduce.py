"""kernel.argmax / kernel.argmin on the modeled NPU equal their reference semantics."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from npu_diff import check, t

from runtime.targets import load_target

DEFAULT = load_target("ascend910a")


def _arg(kind: str, shape: tuple, axis: int, keep: bool, last: bool, dtype: str = "f32") -> str:
    a = axis % len(shape)
    out = tuple(1 if i == a else d for i, d in enumerate(shape) if keep or i != a)
    x, y = t(shape, dtype), t(out, "i64")
    props = (
        f"axis = {axis} : i64, keepdims = {int(keep)} : i64, select_last_index = {int(last)} : i64"
    )
    return f"""func.func @main(%x: {x}) -> {y} {{
  %y = kernel.{kind} %x {{{props}, fused_from = ["ge.{kind}"]}} : ({x}) -> {y}
  func.return %y : {y}
}}"""


def _run(kind, shape, axis, keep=True, last=False, dtype="f32", ties=False, seed=0, target=None):  # noqa: ANN001, ANN202
    rng = np.random.default_rng(seed)
    if ties or dtype == "i32":
        x = rng.integers(-3, 3, shape)
    else:
        x = rng.standard_normal(shape)
    x = x.astype({"f32": np.float32, "f16": np.float16, "i32": np.int32}[dtype])
    return check(_arg(kind, shape, axis, keep, last, dtype), [x], rtol=0, atol=0, target=target)


@pytest.mark.parametrize("kind", ["argmax", "argmin"])
def test_last_axis_first_and_last_ties(kind: str) -> None:
    _run(kind, (40, 33), -1, ties=True)
    _run(kind, (40, 33), 1, keep=False, last=True, ties=True)


def test_middle_and_leading_axes_f16_and_int() -> None:
    _run("argmax", (3, 7, 50), 1, dtype="f16")
    _run("argmin", (9, 5, 4), 0, keep=False, dtype="i32")


def test_larger_than_ub() -> None:
    """4 MiB of f32: 1024 lines of 1024 over many tiles and cores."""
    result = _run("argmax", (1024, 1024), 1)
    assert result.profile.kernels[0].block_dim > 1


SMALL_UB = dataclasses.replace(DEFAULT, capacity={**DEFAULT.capacity, "ub": 8 * 1024})
"""Lines of f32 longer than ~600 elements need chunks (608 a chunk)."""


def test_an_lm_head_argmax_over_its_vocabulary_runs_in_chunks() -> None:
    """GPT-2's 50,257 logits a line do not fit UB: a chunks kernel over the cores, then the
    line kernel over the chunks' extremes. The maxima lie in late chunks, tied twice (the
    first index wins), so the second kernel's choice among chunks is what is checked."""
    x = np.random.default_rng(0).standard_normal((2, 50257)).astype(np.float32)
    x[0, [41000, 50000]] = 9.0
    x[1, 50256] = 9.0
    result = check(_arg("argmax", x.shape, 1, True, False), [x], rtol=0, atol=0)
    np.testing.assert_array_equal(result.outputs[0].ravel(), [41000, 50256])
    assert result.kernel_names == ["argmax_0_chunks", "argmax_0"]
    assert result.profile.kernels[0].block_dim > 2


@pytest.mark.parametrize("kind", ["argmax", "argmin"])
@pytest.mark.parametrize("last", [False, True])
@pytest.mark.parametrize("length", [2000, 1824])
def test_long_lines_first_and_last_ties(kind: str, last: bool, length: int) -> None:
    """2,000: chunks of 512 and a short last one of 464; 1,824: three whole chunks of 608."""
    _run(kind, (3, length), 1, last=last, ties=True, target=SMALL_UB)


def test_long_lines_of_infinities_over_a_middle_axis() -> None:
    """Lines that are all -inf (every chunk's extreme is the fill's value) and an inner axis."""
    x = np.full((2, 1500, 3), -np.inf, np.float32)
    x[1, 700:, 1] = np.arange(800, dtype=np.float32) % 5
    for last in (False, True):
        check(_arg("argmax", x.shape, 1, True, last), [x], rtol=0, atol=0, target=SMALL_UB)


@settings(max_examples=20)
@given(
    kind=st.sampled_from(["argmax", "argmin"]),
    outer=st.integers(1, 3),
    length=st.integers(600, 2600),
    inner=st.integers(1, 2),
    last=st.booleans(),
    ties=st.booleans(),
)
def test_random_long_arg_reductions(kind, outer, length, inner, last, ties) -> None:  # noqa: ANN001
    _run(kind, (outer, length, inner), 1, True, last, ties=ties, seed=length, target=SMALL_UB)


@settings(max_examples=20)
@given(st.data())
def test_random_arg_reductions(data: st.DataObject) -> None:
    shape = tuple(data.draw(st.lists(st.integers(1, 9), min_size=1, max_size=3)))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    kind = data.draw(st.sampled_from(["argmax", "argmin"]))
    keep, last, ties = (data.draw(st.booleans()) for _ in range(3))
    _run(kind, shape, axis, keep, last, ties=ties, seed=len(shape))


@pytest.mark.parametrize("kind", ["argmax", "argmin"])
@pytest.mark.parametrize("last", [False, True])
@pytest.mark.parametrize(("length", "target"), [(4, None), (2000, SMALL_UB)])
def test_a_nan_wins_as_in_numpy(kind: str, last: bool, length: int, target) -> None:  # noqa: ANN001
    """The vector max propagates NaN and NaN equals nothing: no index matched, and the
    result was the axis length, past the end (a Gather fed by it reads out of bounds)."""
    x = np.random.default_rng(1).standard_normal((4, length)).astype(np.float32)
    x[0, [1, length - 2]] = np.nan  # two NaNs: the first (or the last) wins
    x[1, :] = np.nan
    x[3, length - 1] = np.nan  # in a chunked line, in the short last chunk
    result = check(_arg(kind, x.shape, 1, False, last), [x], rtol=0, atol=0, target=target)
    got = result.outputs[0]
    assert got[0] == (length - 2 if last else 1) and got[1] == (length - 1 if last else 0)
    assert got[3] == length - 1 and (got < length).all()
