"""kernel.resize (nearest) on the modeled NPU equals the kernel dialect's reference semantics."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from xdsl.parser import Parser

from ge.registry import make_context
from gedialects.errors import UnsupportedError
from gedialects.interpreter import run_reference
from lowering.convert_kernel_to_npu import lower_module
from runtime.npu_interpreter import NpuExecutable

TRANSFORMS = ["asymmetric", "half_pixel", "pytorch_half_pixel", "half_pixel_symmetric"]
ROUNDINGS = ["floor", "round_prefer_floor", "round_prefer_ceil", "ceil"]


def _t(shape: tuple[int, ...], dtype: str = "f32") -> str:
    return f"tensor<{'x'.join(map(str, shape))}x{dtype}>"


def _module(shape, out, ctm="asymmetric", nm="floor", mode="nearest", scales=None):  # noqa: ANN001, ANN202
    sc = "" if scales is None else f", scales = array<f32: {', '.join(map(str, scales))}>"
    attrs = (
        f'sizes = array<i64: {", ".join(map(str, out))}>{sc}, mode = "{mode}", '
        f'coordinate_transformation_mode = "{ctm}", nearest_mode = "{nm}", '
        'fused_from = ["ge.resize"]'
    )
    x, y = _t(shape), _t(out)
    text = f"""func.func @main(%x: {x}) -> {y} {{
  %y = kernel.resize %x {{{attrs}}} : ({x}) -> {y}
  func.return %y : {y}
}}"""
    return Parser(make_context(), text).parse_module()


def _check(shape, out, ctm="asymmetric", nm="floor", scales=None):  # noqa: ANN001, ANN202
    module = _module(shape, out, ctm, nm, scales=scales)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    want = run_reference(module, [x])[0]
    result = NpuExecutable(lower_module(module)).run([x])  # verifies flags, races, capacities
    np.testing.assert_array_equal(result.outputs[0], want)
    kernel = result.profile.kernels[0]
    assert 0 < kernel.roofline_cycles <= kernel.cycles
    return kernel


def test_yolo_upsample_by_two_larger_than_ub():
    """256 planes of 40x40 -> 80x80 (6.5 MB out) with scales, as the ONNX importer writes it."""
    shape, out = (1, 256, 40, 40), (1, 256, 80, 80)
    kernel = _check(shape, out, "asymmetric", "floor", scales=[1.0, 1.0, 2.0, 2.0])
    assert kernel.cycles < 1.3 * kernel.roofline_cycles


@st.composite
def resizes(draw):  # noqa: ANN201
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 4)), h, w)
    if draw(st.booleans()):
        out = (*shape[:2], h * draw(st.integers(1, 3)), w * draw(st.integers(1, 3)))
    else:
        out = (*shape[:2], -(-h // draw(st.integers(1, 3))), -(-w // draw(st.integers(1, 3))))
    return shape, out, draw(st.sampled_from(TRANSFORMS)), draw(st.sampled_from(ROUNDINGS))


@given(resizes())
def test_random_nearest_resizes_match_reference_or_are_refused(case):  # noqa: ANN001
    try:
        _check(*case)
    except UnsupportedError as err:  # a map that is neither o // f nor a * o + c
        assert "neither an integer upsampling nor a strided subsampling" in str(err)


def test_downsampling_by_steps():
    _check((1, 3, 9, 10), (1, 3, 3, 10), "half_pixel", "round_prefer_floor")
    _check((1, 3, 8, 10), (1, 3, 4, 5))


def test_linear_and_other_nearest_maps_go_to_other_lowerings():
    from lowering.registry import lowering_for

    for module, lowering in (
        (_module((1, 1, 4, 4), (1, 1, 8, 8), "half_pixel", mode="linear"), "lower_resize_gemm"),
        (_module((1, 1, 3, 3), (1, 1, 8, 8), "align_corners", "round_prefer_floor"),
         "lower_resize_gather"),
    ):  # fmt: skip
        op = next(op for op in module.walk() if op.name == "kernel.resize")
        assert lowering_for(op).__name__ == lowering
