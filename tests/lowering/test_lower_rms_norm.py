"""kernel.rms_norm on the modeled NPU equals the reference semantics of `ge.rms_norm`."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from xdsl.parser import Parser

from ge.registry import make_context
from gedialects.errors import UnsupportedError
from gedialects.interpreter import run_reference
from lowering.convert_kernel_to_npu import lower_module
from runtime.npu_interpreter import NpuExecutable


def _t(shape: tuple[int, ...], dtype: str = "f32") -> str:
    return f"tensor<{'x'.join(map(str, shape))}x{dtype}>"


def _module(shape: tuple[int, ...], axis: int, scale: tuple[int, ...], dtype: str = "f32"):
    x, s = _t(shape, dtype), _t(scale, dtype)
    props = f'axis = {axis} : i64, epsilon = 1.0e-06 : f64, fused_from = ["ge.rms_norm"]'
    text = f"""func.func @main(%x: {x}, %s: {s}) -> {x} {{
  %y = kernel.rms_norm %x, %s {{{props}}} : ({x}, {s}) -> {x}
  func.return %y : {x}
}}"""
    return Parser(make_context(), text).parse_module()


def _check(shape: tuple[int, ...], axis: int = -1, dtype: str = "f32") -> None:
    scale = shape[axis % len(shape) :]
    module = _module(shape, axis, scale, dtype)
    rng = np.random.default_rng(0)
    np_dtype = np.float16 if dtype == "f16" else np.float32
    inputs = [rng.standard_normal(s).astype(np_dtype) for s in (shape, scale)]
    want = run_reference(module, inputs)[0]
    result = NpuExecutable(lower_module(module)).run(inputs)  # verifies capacities too
    tol = 2e-2 if dtype == "f16" else 1e-5
    np.testing.assert_allclose(result.outputs[0], want, rtol=tol, atol=tol)
    assert [k.name for k in result.profile.kernels] and result.profile.kernels[0].cycles > 0


@pytest.mark.parametrize(
    "shape,axis",
    [((1, 7, 13), -1), ((3, 5, 33), -1), ((2, 4, 6), 1), ((37, 64), -1), ((100,), 0)],
)
def test_rms_norm_matches_reference(shape: tuple[int, ...], axis: int) -> None:
    _check(shape, axis)


def test_rms_norm_f16() -> None:
    _check((4, 9, 48), -1, "f16")


def test_rms_norm_many_rows_larger_than_ub() -> None:
    """600 rows of 160 f32 (375 KiB) do not fit UB: many row tiles over the cores."""
    _check((600, 160))


def test_rms_norm_row_larger_than_ub_refused() -> None:
    module = _module((2, 70000), -1, (70000,))
    with pytest.raises(UnsupportedError, match="does not fit the unified buffer"):
        lower_module(module)


def test_rms_norm_broadcast_scale_refused() -> None:
    module = _module((2, 3, 8), 1, (8,))
    with pytest.raises(UnsupportedError, match="kernel.rms_norm.*broadcasts"):
        lower_module(module)


@given(
    st.lists(st.integers(1, 9), min_size=0, max_size=2),
    st.integers(1, 70),
)
def test_rms_norm_random_shapes(lead: list[int], cols: int) -> None:
    _check((*lead, cols))
