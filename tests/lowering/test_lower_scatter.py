"""kernel.scatter (a copy kernel, then the updates in index order read by npu.load_scalar)
equals its reference: duplicates, reductions, negative indices, edge tiles, big data."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from npu_diff import check, parse, t

from gedialects.errors import InterpretationError
from gedialects.npu.launch import KernelOp
from gedialects.npu.scalar import LoadScalarOp
from lowering.convert_kernel_to_npu import lower_module
from runtime.npu_interpreter import NpuExecutable

REDUCTIONS = ["none", "add", "mul", "max", "min"]


def _scatter(data: tuple, idx: tuple, axis: int, reduction: str, dtype: str, idt: str) -> str:
    a = axis % len(data)
    upd = (*data[:a], *idx, *data[a + 1 :])
    d, i, u = t(data, dtype), t(idx, idt), t(upd, dtype)
    props = f'axis = {axis} : i64, reduction = "{reduction}", fused_from = ["ge.scatter"]'
    return f"""func.func @main(%d: {d}, %i: {i}, %u: {u}) -> {d} {{
  %y = kernel.scatter %d, %i, %u {{{props}}} : ({d}, {i}, {u}) -> {d}
  func.return %y : {d}
}}"""


def _inputs(data: tuple, idx: tuple, axis: int, dtype: str, idt: str, seed: int):  # noqa: ANN202
    rng = np.random.default_rng(seed)
    a = axis % len(data)
    upd = (*data[:a], *idx, *data[a + 1 :])
    np_dtype = {"f32": np.float32, "f16": np.float16, "i32": np.int32}[dtype]
    x = rng.standard_normal(data).astype(np_dtype)
    u = rng.standard_normal(upd).astype(np_dtype) * 3
    n = data[a]
    i = rng.integers(-n, n, idx).astype(np.int32 if idt == "i32" else np.int64)
    return [x, i, u]


def _summation_bound(x: np.ndarray, i: np.ndarray, u: np.ndarray, axis: int) -> float:
    """How far two orders of the same adds may land apart: an element's k adds round once
    each, by at most eps/2 times a partial sum, which is at most the sum of the magnitudes
    that reach the element (|x| and every |update| scattered onto it); each order is within
    k * eps/2 * that of the exact sum. A tolerance scaled by the result instead fails when the
    adds cancel (f16: 0.3008 against 0.2969 from terms of magnitude 5)."""
    a = axis % x.ndim
    n = x.shape[a]
    pre, post = int(np.prod(x.shape[:a])), int(np.prod(x.shape[a + 1 :]))
    mass = np.abs(x.astype(np.float64)).reshape(pre, n, post)
    count = np.zeros_like(mass)
    rows = i.reshape(-1) % n
    np.add.at(mass, (slice(None), rows), np.abs(u.astype(np.float64)).reshape(pre, -1, post))
    np.add.at(count, (slice(None), rows), 1.0)
    return float(np.finfo(x.dtype).eps * (count * mass).max(initial=0.0))


def _run(data, idx, axis, reduction="none", dtype="f32", idt="i64", seed=0):  # noqa: ANN001, ANN202
    inputs = _inputs(data, idx, axis, dtype, idt, seed)
    rtol = atol = 0.0  # the atomic adds of several cores sum in another order than the reference
    if reduction == "add" and dtype != "i32":
        atol = _summation_bound(*inputs, axis)
    elif reduction == "mul" and dtype == "f16":
        rtol = 2e-3
    return check(_scatter(data, idx, axis, reduction, dtype, idt), inputs, rtol=rtol, atol=atol)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_rows_with_duplicate_indices(reduction: str) -> None:
    """12 updates into 5 rows: every row is hit more than once; the later update wins, or
    all of them combine in order."""
    result = _run((5, 40), (12,), 0, reduction)
    assert result.kernel_names == ["scatter_0_copy", "scatter_0"]
    assert all(k.cycles > 0 for k in result.profile.kernels)


def test_the_last_update_of_a_row_wins() -> None:
    text = _scatter((4, 3), (3,), 0, "none", "f32", "i64")
    x = np.zeros((4, 3), np.float32)
    u = np.arange(9, dtype=np.float32).reshape(3, 3)
    got = NpuExecutable(lower_module(parse(text))).run([x, np.array([2, -2, 0]), u]).outputs[0]
    np.testing.assert_array_equal(got, [[6, 7, 8], [0, 0, 0], [3, 4, 5], [0, 0, 0]])


def test_inner_axes_f16_i32_and_a_rank_0_index() -> None:
    _run((3, 10, 7), (4,), 1, "add", "f16", "i32")
    _run((3, 10, 7), (2, 3), -1, "max")
    _run((5, 2), (), 0)
    _run((6, 5), (9,), 1, "add", "i32")


def test_data_larger_than_ub_with_few_updates() -> None:
    """A 4096 x 768 f32 cache (12 MiB) with 24 rows written: the copy spreads over the cores,
    the updates' tiles split the 768 columns."""
    result = _run((4096, 768), (24,), 0)
    copy, scatter = result.profile.kernels
    assert copy.cycles > scatter.cycles


def test_elementwise_scatter_of_one_column() -> None:
    """ScatterElements' form: the data flattened to (F, 1), one update per element."""
    _run((300, 1), (200,), 0, "add")


def test_out_of_range_index_is_an_interpretation_error() -> None:
    lowered = lower_module(parse(_scatter((10, 4), (3,), 0, "none", "f32", "i64")))
    x, u = np.zeros((10, 4), np.float32), np.ones((3, 4), np.float32)
    with pytest.raises(InterpretationError, match="npu.load_scalar.*10.*outside"):
        NpuExecutable(lowered).run([x, np.array([1, 10, 2]), u])
    with pytest.raises(InterpretationError, match="outside"):
        NpuExecutable(lowered).run([x, np.array([-11, 0, 2]), u])


def test_indices_read_by_the_scalar_unit() -> None:
    lowered = lower_module(parse(_scatter((10, 4), (3,), 0, "add", "f32", "i64")))
    loads = [op for op in lowered.walk() if isinstance(op, LoadScalarOp)]
    assert len(loads) == 1 and loads[0].bound.value.data == 10
    kinds = [op.properties.get("kind") or op.attributes.get("kind") for op in lowered.walk()
             if isinstance(op, KernelOp)]  # fmt: skip
    assert [str(k) for k in kinds] == ['"copy"', '"scatter"']


@settings(max_examples=30)
@given(st.data())
def test_random_scatters(data: st.DataObject) -> None:
    shape = tuple(data.draw(st.lists(st.integers(1, 9), min_size=1, max_size=3)))
    idx = tuple(data.draw(st.lists(st.integers(1, 6), max_size=2)))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    reduction = data.draw(st.sampled_from(REDUCTIONS))
    dtype = data.draw(st.sampled_from(["f32", "f16"]))
    _run(shape, idx, axis, reduction, dtype, data.draw(st.sampled_from(["i64", "i32"])), 3)


def test_atomic_adds_of_many_cores_into_one_row_all_land() -> None:
    """ScatterElements' scatter_add form: 512 one-element updates, most into element 3; the
    chunks of indices spread over the cores, whose atomic adds all reach the output."""
    text = _scatter((300, 1), (512,), 0, "add", "f32", "i64")
    idx = np.where(np.arange(512) % 4 == 0, np.arange(512) % 300, 3)
    x = np.zeros((300, 1), np.float32)
    u = np.ones((512, 1), np.float32)
    result = check(text, [x, idx, u], rtol=0, atol=0)  # sums of ones are exact in any order
    scatter = result.profile.kernels[-1]
    assert result.outputs[0][3, 0] == 384 + (idx[::4] == 3).sum()
    kernel = next(op for op in result.lowered.walk() if isinstance(op, KernelOp)
                  and op.sym_name.data == "scatter_0")  # fmt: skip
    assert kernel.block_dim.value.data > 1 and scatter.cycles > 0
