"""kernel.slice with steps other than 1 (strided, reversed) on the modeled NPU equals the
kernel dialect's reference semantics."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from xdsl.parser import Parser

from ge.registry import make_context
from gedialects.ge.ops import slice_extent
from gedialects.interpreter import run_reference
from gedialects.npu.window import VecWindowOp
from lowering.convert_kernel_to_npu import lower_module
from lowering.registry import lowering_for
from passes.memory.memory_rules import view_offsets
from runtime.npu_interpreter import NpuExecutable


def _t(shape, dtype: str = "f32") -> str:  # noqa: ANN001
    return f"tensor<{'x'.join(map(str, shape))}x{dtype}>"


def _module(shape: tuple[int, ...], starts, ends, axes, steps, dtype: str = "f32"):  # noqa: ANN001, ANN202
    out = list(shape)
    for s, e, a, st_ in zip(starts, ends, axes, steps):
        out[a % len(shape)] = slice_extent(s, e, st_, shape[a % len(shape)])[2]
    x, y = _t(shape, dtype), _t(out, dtype)

    def arr(v) -> str:  # noqa: ANN001
        return f"array<i64: {', '.join(map(str, v))}>"

    attrs = (
        f"starts = {arr(starts)}, ends = {arr(ends)}, axes = {arr(axes)}, "
        f'steps = {arr(steps)}, fused_from = ["ge.slice"]'
    )
    text = f"""func.func @main(%x: {x}) -> {y} {{
  %y = kernel.slice %x {{{attrs}}} : ({x}) -> {y}
  func.return %y : {y}
}}"""
    return Parser(make_context(), text).parse_module()


def _check(shape, starts, ends, axes, steps, dtype=np.float32):  # noqa: ANN001, ANN202
    name = {np.float32: "f32", np.float16: "f16", np.int64: "i64"}[dtype]
    module = _module(shape, starts, ends, axes, steps, name)
    x = (np.random.default_rng(0).standard_normal(shape) * 100).astype(dtype)
    want = run_reference(module, [x])[0]
    lowered = lower_module(module)
    result = NpuExecutable(lowered).run([x])  # verifies flags, races, capacities
    np.testing.assert_array_equal(result.outputs[0], want)
    op = next(op for op in module.walk() if op.name == "kernel.slice")
    assert lowering_for(op).__name__ == "lower_strided_slice"
    if view_offsets(op) is not None:  # contiguous elements: a view of the input, no kernel
        assert not result.profile.kernels
        assert any(o.name == "npu.view" for o in lowered.walk())
        return lowered, None
    return lowered, result.profile.kernels[0]


def test_onnx_negative_steps_on_every_axis() -> None:
    """ONNX's slice_neg_steps: steps -1, -3, -2 on a 20x10x5 tensor."""
    _check((20, 10, 5), [20, 10, 4], [0, 0, 1], [0, 1, 2], [-1, -3, -2])


def test_reversed_vector_and_strided_vector() -> None:
    _check((10,), [9], [-11], [0], [-1])
    _check((10,), [1], [10], [0], [3], np.int64)


def test_positive_steps_use_one_strided_window() -> None:
    lowered, _ = _check((4, 9, 13), [1, 2], [9, 13], [1, 2], [2, 3], np.float16)
    windows = [op for op in lowered.walk() if isinstance(op, VecWindowOp)]
    assert len(windows) == 1 and list(windows[0].strides.get_values()) == [2, 3]


def test_larger_than_ub() -> None:
    """3000x300 f32 (3.6 MB): rows reversed, every other column kept, tiles over the cores."""
    _, kernel = _check((3000, 300), [2999, 0], [-3001, 300], [0, 1], [-1, 2])
    assert 0 < kernel.roofline_cycles <= kernel.cycles


@st.composite
def slices(draw):  # noqa: ANN201
    rank = draw(st.integers(1, 3))
    shape = tuple(draw(st.lists(st.integers(1, 9), min_size=rank, max_size=rank)))
    axes = draw(
        st.lists(
            st.integers(-rank, rank - 1), min_size=1, max_size=rank, unique_by=lambda a: a % rank
        )
    )
    starts, ends, steps = [], [], []
    for a in axes:
        dim = shape[a % rank]
        step = draw(st.sampled_from([-3, -2, -1, 2, 3]))
        start, end = draw(st.integers(-dim - 1, dim + 1)), draw(st.integers(-dim - 1, dim + 1))
        if slice_extent(start, end, step, dim)[2] == 0:  # keep at least one element
            start, end = (dim - 1, -dim - 1) if step < 0 else (0, dim)
        starts.append(start)
        ends.append(end)
        steps.append(step)
    return shape, starts, ends, axes, steps


@given(slices())
def test_random_slices_match_the_reference(case) -> None:  # noqa: ANN001
    _check(*case)
