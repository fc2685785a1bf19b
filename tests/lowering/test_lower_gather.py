"""kernel.gather (indices are runtime data, read by npu.load_scalar) equals its reference."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from npu_diff import check, parse, t

from gedialects.errors import InterpretationError
from gedialects.npu.scalar import LoadScalarOp
from lowering.convert_kernel_to_npu import lower_module
from runtime.npu_interpreter import NpuExecutable


def _gather(data: tuple, idx: tuple, axis: int, dtype: str = "f32", idt: str = "i64") -> str:
    a = axis % len(data)
    out = (*data[:a], *idx, *data[a + 1 :])
    d, i, y = t(data, dtype), t(idx, idt), t(out, dtype)
    return f"""func.func @main(%d: {d}, %i: {i}) -> {y} {{
  %y = kernel.gather %d, %i {{axis = {axis} : i64, fused_from = ["ge.gather"]}} : ({d}, {i}) -> {y}
  func.return %y : {y}
}}"""


def _run(data: tuple, idx: tuple, axis: int, dtype: str = "f32", idt: str = "i64", seed=0):  # noqa: ANN001, ANN202
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(data).astype(np.float16 if dtype == "f16" else np.float32)
    n = data[axis % len(data)]
    i = rng.integers(-n, n, idx).astype(np.int32 if idt == "i32" else np.int64)
    return check(_gather(data, idx, axis, dtype, idt), [x, i], rtol=0, atol=0)


def test_embedding_lookup_with_negative_indices() -> None:
    result = _run((100, 64), (2, 16), 0)
    assert 0 < result.profile.kernels[0].cycles


def test_gather_inner_axes_and_i32_f16() -> None:
    _run((3, 10, 7), (4,), 1, "f16", "i32")
    _run((3, 10, 7), (2, 3), -1)
    _run((5,), (), 0)


def test_table_larger_than_ub() -> None:
    """A 2048 x 768 f32 table (6 MiB) and 300 lookups: row tiles split the 768 columns."""
    _run((2048, 768), (3, 100), 0)


def test_out_of_range_index_is_an_interpretation_error() -> None:
    lowered = lower_module(parse(_gather((10, 4), (3,), 0)))
    x = np.zeros((10, 4), np.float32)
    with pytest.raises(InterpretationError, match="npu.load_scalar.*10.*outside"):
        NpuExecutable(lowered).run([x, np.array([1, 10, 2])])
    with pytest.raises(InterpretationError, match="outside"):
        NpuExecutable(lowered).run([x, np.array([-11, 0, 2])])


def test_indices_read_by_the_scalar_unit() -> None:
    lowered = lower_module(parse(_gather((10, 4), (3,), 0)))
    loads = [op for op in lowered.walk() if isinstance(op, LoadScalarOp)]
    assert len(loads) == 1 and loads[0].bound.value.data == 10


@settings(max_examples=20)
@given(st.data())
def test_random_gathers(data: st.DataObject) -> None:
    shape = tuple(data.draw(st.lists(st.integers(1, 9), min_size=1, max_size=3)))
    idx = tuple(data.draw(st.lists(st.integers(1, 5), max_size=2)))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    _run(shape, idx, axis, data.draw(st.sampled_from(["f32", "f16"])), "i64", len(shape))
