"""kernel.split on the modeled NPU equals its reference semantics."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from npu_diff import check, parse, t

from gedialects.errors import GeError
from lowering.convert_kernel_to_npu import lower_module


def _split(shape: tuple[int, ...], axis: int, sizes: list[int], dtype: str = "f32") -> str:
    outs = [t(tuple(s if a == axis % len(shape) else d for a, d in enumerate(shape)), dtype)
            for s in sizes]  # fmt: skip
    names = ", ".join(f"%o{i}" for i in range(len(sizes)))
    props = f"axis = {axis} : i64, sizes = array<i64: {', '.join(map(str, sizes))}>"
    x, types = t(shape, dtype), ", ".join(outs)
    return f"""func.func @main(%x: {x}) -> ({types}) {{
  {names} = kernel.split %x {{{props}, fused_from = ["ge.split"]}} : ({x}) -> ({types})
  func.return {names} : {types}
}}"""


def _run(shape, axis, sizes, dtype="f32"):  # noqa: ANN001, ANN202
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype.replace("f", "float"))
    return check(_split(shape, axis, sizes, dtype), [x])


def test_split_gpt_qkv() -> None:
    result = _run((2, 16, 192), -1, [64, 64, 64])
    assert len(result.profile.kernels) == 1


def test_split_larger_than_ub_uneven() -> None:
    _run((3, 300, 257), 1, [100, 1, 199])


def test_split_rank1_and_f16() -> None:
    _run((37,), 0, [5, 32])
    _run((4, 6, 5), 0, [1, 3], "f16")


@settings(max_examples=25)
@given(st.data())
def test_split_random(data: st.DataObject) -> None:
    shape = tuple(data.draw(st.lists(st.integers(1, 9), min_size=1, max_size=4)))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    dim = shape[axis]
    cuts = sorted(data.draw(st.lists(st.integers(1, dim), max_size=3))) if dim > 1 else []
    edges = [0, *[c for c in cuts if c < dim], dim]
    sizes = [b - a for a, b in zip(edges, edges[1:]) if b > a]
    _run(shape, axis, sizes)


def test_split_empty_piece_refused_clearly() -> None:
    with pytest.raises(GeError, match="positive|zero-element|empty"):
        lower_module(parse(_split((4, 3), 0, [0, 4])))
