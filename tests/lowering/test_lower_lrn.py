"""kernel.lrn on the modeled NPU equals the kernel dialect's reference semantics."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from xdsl.parser import Parser

from ge.registry import make_context
from gedialects.errors import UnsupportedError
from gedialects.interpreter import run_reference
from gedialects.npu.window import VecWindowOp
from lowering.convert_kernel_to_npu import lower_module
from runtime.npu_interpreter import NpuExecutable


def _t(shape: tuple[int, ...], dtype: str = "f32") -> str:
    return f"tensor<{'x'.join(map(str, shape))}x{dtype}>"


def _module(shape, size, alpha=1e-4, beta=0.75, bias=1.0, dtype="f32"):  # noqa: ANN001, ANN202
    x = _t(shape, dtype)
    attrs = (
        f"size = {size} : i64, alpha = {alpha:e} : f64, beta = {beta:e} : f64, "
        f'bias = {bias:e} : f64, fused_from = ["ge.lrn"]'
    )
    text = f"""func.func @main(%x: {x}) -> {x} {{
  %y = kernel.lrn %x {{{attrs}}} : ({x}) -> {x}
  func.return %y : {x}
}}"""
    return Parser(make_context(), text).parse_module()


def _check(shape, size, alpha=1e-4, beta=0.75, bias=1.0, dtype=np.float32):  # noqa: ANN001, ANN202
    name = "f16" if dtype == np.float16 else "f32"
    module = _module(shape, size, alpha, beta, bias, name)
    x = (np.random.default_rng(0).standard_normal(shape) * 3).astype(dtype)
    want = run_reference(module, [x])[0]
    lowered = lower_module(module)
    result = NpuExecutable(lowered).run([x])  # verifies flags, races, capacities
    tol = 1e-2 if dtype == np.float16 else 1e-5
    np.testing.assert_allclose(result.outputs[0], want, rtol=tol, atol=tol)
    kernel = result.profile.kernels[0]
    assert 0 < kernel.roofline_cycles <= kernel.cycles
    return lowered, kernel


def test_window_is_one_vec_window_per_channel_tap() -> None:
    lowered, _ = _check((1, 5, 5, 5), 3, alpha=0.02, beta=0.5)
    windows = [op for op in lowered.walk() if isinstance(op, VecWindowOp)]
    assert [list(w.offsets.get_values())[0] for w in windows] == [0, 1, 2, 1]


def test_even_size_rank_three_and_bias() -> None:
    _check((2, 7, 3), 4, alpha=0.3, bias=2.0)


def test_alexnet_first_lrn_larger_than_ub() -> None:
    """1x96x55x55 f32 (1.2 MB), size 5: tiles of channels with their halo over the cores."""
    _, kernel = _check((1, 96, 55, 55), 5)
    assert kernel.cycles < 2.5 * kernel.roofline_cycles


def test_f16() -> None:
    _check((1, 16, 7, 7), 5, alpha=0.01, dtype=np.float16)


def test_rank_one_is_refused() -> None:
    with pytest.raises(UnsupportedError, match="'kernel.lrn' on 1-d f32 has no npu lowering"):
        lower_module(_module((6,), 3))


@given(
    st.lists(st.integers(1, 9), min_size=2, max_size=4),
    st.integers(1, 6),
    st.floats(1e-4, 0.5),
    st.floats(0.1, 1.0),
    st.floats(0.5, 2.0),
)
def test_random_shapes_match_the_reference(shape, size, alpha, beta, bias) -> None:  # noqa: ANN001
    _check(tuple(shape), size, alpha, beta, bias)
