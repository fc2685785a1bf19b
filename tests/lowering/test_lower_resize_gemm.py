"""kernel.resize linear by interpolation GEMMs on the modeled NPU equals the kernel dialect's
reference semantics."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from xdsl.parser import Parser

from ge.registry import make_context
from gedialects.errors import UnsupportedError
from gedialects.interpreter import run_reference
from gedialects.npu.cube import MmadOp
from gedialects.npu.launch import KernelOp
from lowering.convert_kernel_to_npu import lower_module
from lowering.lower_resize_gemm import interpolation_matrix
from runtime.npu_interpreter import NpuExecutable

TRANSFORMS = ["asymmetric", "half_pixel", "pytorch_half_pixel", "half_pixel_symmetric",
              "align_corners"]  # fmt: skip


def _t(shape: tuple[int, ...], dtype: str = "f32") -> str:
    return f"tensor<{'x'.join(map(str, shape))}x{dtype}>"


def _module(
    shape, out, mode="linear", ctm="half_pixel", nm="floor", scales=None, dtype="f32", extra=""
):  # noqa: ANN001, ANN202, E501
    sc = "" if scales is None else f", scales = array<f32: {', '.join(map(str, scales))}>"
    attrs = (
        f'sizes = array<i64: {", ".join(map(str, out))}>{sc}, mode = "{mode}", '
        f'coordinate_transformation_mode = "{ctm}", nearest_mode = "{nm}", '
        f'fused_from = ["ge.resize"]{extra}'
    )
    x, y = _t(shape, dtype), _t(out, dtype)
    text = f"""func.func @main(%x: {x}) -> {y} {{
  %y = kernel.resize %x {{{attrs}}} : ({x}) -> {y}
  func.return %y : {y}
}}"""
    return Parser(make_context(), text).parse_module()


def _check(
    shape, out, mode="linear", ctm="half_pixel", nm="floor", scales=None, dtype=np.float32, extra=""
):  # noqa: ANN001, ANN202, E501
    name = "f16" if dtype == np.float16 else "f32"
    module = _module(shape, out, mode, ctm, nm, scales, name, extra)
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    want = run_reference(module, [x])[0]
    lowered = lower_module(module)
    result = NpuExecutable(lowered).run([x])  # verifies flags, races, capacities
    tol = 2e-3 if dtype == np.float16 else 1e-5
    np.testing.assert_allclose(result.outputs[0].astype(np.float64), want, rtol=tol, atol=tol)
    if mode in ("linear", "cubic"):
        assert any(isinstance(op, MmadOp) for op in lowered.walk())
    for kernel in result.profile.kernels:
        assert 0 < kernel.roofline_cycles <= kernel.cycles
    return lowered, result


def test_interpolation_matrix_is_the_reference_on_the_identity() -> None:
    module = _module((1, 1, 2, 4), (1, 1, 4, 4), "linear", "half_pixel")
    op = next(op for op in module.walk() if op.name == "kernel.resize")
    want = [[1, 0], [0.75, 0.25], [0.25, 0.75], [0, 1]]
    np.testing.assert_allclose(interpolation_matrix(op, 2), want)
    np.testing.assert_array_equal(interpolation_matrix(op, 3), np.eye(4))


def test_bilinear_upsample_by_two() -> None:
    lowered, _ = _check((1, 3, 6, 5), (1, 3, 12, 10))
    names = [op.sym_name.data for op in lowered.walk() if isinstance(op, KernelOp)]
    assert names == ["resize_0_cols", "resize_0_rows"] or names == [
        "resize_0_rows",
        "resize_0_cols",
    ]


def test_one_axis_is_one_gemm() -> None:
    lowered, _ = _check((2, 2, 4, 4), (2, 2, 4, 9), ctm="pytorch_half_pixel")
    assert sum(isinstance(op, KernelOp) for op in lowered.walk()) == 1


def test_f16_with_scales() -> None:
    _check((1, 4, 5, 5), (1, 4, 10, 10), ctm="asymmetric", scales=[1.0, 1.0, 2.0, 2.0],
           dtype=np.float16)  # fmt: skip


def test_larger_than_ub() -> None:
    """32 planes of 64x64 -> 128x128 f32 (2 MB out, UB 256 KiB): tiles over the cores."""
    _, result = _check((1, 32, 64, 64), (1, 32, 128, 128), ctm="align_corners")
    assert all(kernel.cycles > 0 for kernel in result.profile.kernels)


def test_resizing_leading_axes_is_refused() -> None:
    with pytest.raises(UnsupportedError, match="kernel.resize' of axes before the last two"):
        lower_module(_module((1, 2, 3, 3), (1, 4, 3, 3)))


@st.composite
def resizes(draw):  # noqa: ANN201
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3)))
    shape += (draw(st.integers(1, 9)), draw(st.integers(1, 9)))
    out = (*shape[:2], draw(st.integers(1, 12)), draw(st.integers(1, 12)))
    return shape, out, "linear", draw(st.sampled_from(TRANSFORMS))


@given(resizes())
def test_random_resizes_match_the_reference(case) -> None:  # noqa: ANN001
    _check(*case)


@pytest.mark.parametrize(
    "extra",
    [
        "",
        ", cubic_coeff_a = -0.5 : f64",
        ", cubic_coeff_a = -0.75 : f64, exclude_outside = 1 : i64",
    ],
)
def test_bicubic_resizes_match_the_reference(extra: str) -> None:
    """Cubic is separable too: four taps per output row and column, from the reference."""
    _check((1, 2, 7, 5), (1, 2, 12, 9), "cubic", "half_pixel", extra=extra)
    _check((2, 1, 9, 9), (2, 1, 4, 6), "cubic", "align_corners", extra=extra)
