"""kernel.argmax / kernel.argmin on the modeled NPU equal their reference semantics."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from npu_diff import check, parse, t

from gedialects.errors import UnsupportedError
from lowering.convert_kernel_to_npu import lower_module


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


def _run(kind, shape, axis, keep=True, last=False, dtype="f32", ties=False, seed=0):  # noqa: ANN001, ANN202
    rng = np.random.default_rng(seed)
    if ties or dtype == "i32":
        x = rng.integers(-3, 3, shape)
    else:
        x = rng.standard_normal(shape)
    x = x.astype({"f32": np.float32, "f16": np.float16, "i32": np.int32}[dtype])
    return check(_arg(kind, shape, axis, keep, last, dtype), [x], rtol=0, atol=0)


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


def test_line_longer_than_ub_is_refused() -> None:
    with pytest.raises(UnsupportedError, match="does not fit UB"):
        lower_module(parse(_arg("argmax", (2, 200000), 1, True, False)))


@settings(max_examples=20)
@given(st.data())
def test_random_arg_reductions(data: st.DataObject) -> None:
    shape = tuple(data.draw(st.lists(st.integers(1, 9), min_size=1, max_size=3)))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    kind = data.draw(st.sampled_from(["argmax", "argmin"]))
    keep, last, ties = (data.draw(st.booleans()) for _ in range(3))
    _run(kind, shape, axis, keep, last, ties=ties, seed=len(shape))
