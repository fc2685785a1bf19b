"""Antialiased Resize (ONNX 18: linear and cubic downscaling with the filter stretched by
1 / scale), against ONNX's reference and onnxruntime, at the reference and npu levels.

onnxruntime takes antialias on 4-D inputs whose two outer scales are 1, its reference any
rank; both are oracles where they apply. The npu lowers the resize as two GEMMs by the
per-axis weight matrices the reference semantics give (`lowering/lower_resize_gemm.py`),
so the antialiased weights reach it without a lowering of their own.
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from onnx import TensorProto as T
from onnx import helper, numpy_helper
from onnx.reference import ReferenceEvaluator

import ge

COORDINATES = ("half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
               "half_pixel_symmetric")  # fmt: skip


def _model(shape, scales, mode, coordinates, exclude_outside=0, sizes=None):  # noqa: ANN001, ANN202
    attrs = {"mode": mode, "coordinate_transformation_mode": coordinates, "antialias": 1}
    if mode == "cubic":
        attrs["exclude_outside"] = exclude_outside
    if sizes is None:
        inputs = ["x", "", "s"]
        init = [numpy_helper.from_array(np.array(scales, np.float32), "s")]
    else:
        inputs = ["x", "", "", "z"]
        init = [numpy_helper.from_array(np.array(sizes, np.int64), "z")]
    graph = helper.make_graph(
        [helper.make_node("Resize", inputs, ["y"], **attrs)],
        "antialias",
        [helper.make_tensor_value_info("x", T.FLOAT, shape)],
        [helper.make_tensor_value_info("y", T.FLOAT, None)],
        init,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(1, 12), min_size=2, max_size=2),
    st.lists(st.sampled_from([0.25, 0.4, 0.5, 0.6, 0.75, 1.0, 1.5]), min_size=2, max_size=2),
    st.sampled_from(["linear", "cubic"]),
    st.sampled_from(COORDINATES),
    st.integers(0, 1),
    st.integers(0, 2**16),
)
def test_random_antialiased_resizes_equal_the_reference(hw, scales, mode, coords, exclude, seed):
    """Outputs of at least one pixel; pytorch_half_pixel to one pixel is left out: ONNX's
    reference maps it to -0.5, the spec and onnxruntime (and ge) to 0. half_pixel_symmetric
    (opset 19) and align_corners are checked against onnxruntime: ONNX's reference differs
    from it and ge on odd input sizes (soak: a 2x7 image halved, 0.45 off in the first
    column) and, for align_corners, on fractional output lengths (it divides by n * scale - 1,
    onnxruntime, torch and ge by the output's length - 1)."""
    out = [int(np.floor(d * s)) for d, s in zip(hw, scales)]
    assume(min(out) >= 1 and not (coords == "pytorch_half_pixel" and min(out) == 1))
    shape = [1, 2, *hw]
    model = _model(shape, [1, 1, *scales], mode, coords, exclude)
    x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    if coords in ("half_pixel_symmetric", "align_corners"):
        model.opset_import[0].version = 19
        session = ort.InferenceSession(
            model.SerializeToString(), providers=["CPUExecutionProvider"]
        )
        (want,) = session.run(None, {"x": x})
    else:
        (want,) = ReferenceEvaluator(model).run(None, {"x": x})
    got = ge.compile(model, cache=False, level="reference")(x)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("level", ["reference", "npu"])
@pytest.mark.parametrize(
    ("mode", "scales", "sizes"),
    [
        ("linear", [1, 1, 0.5, 0.5], None),
        ("linear", [1, 1, 0.3, 0.6], None),
        ("cubic", [1, 1, 0.5, 0.25], None),
        ("linear", None, [1, 3, 7, 5]),  # sizes: the scale is out / in
    ],
)
def test_antialiased_downscaling_equals_onnxruntime(level, mode, scales, sizes):
    """An image pipeline's resize to a thumbnail (torchvision's antialias=True)."""
    shape = [1, 3, 24, 20]
    model = _model(shape, scales, mode, "half_pixel", sizes=sizes)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (want,) = session.run(None, {"x": x})
    compiled = ge.compile(model, cache=False, level=level)
    np.testing.assert_allclose(compiled(x), want, rtol=1e-4, atol=1e-5)
    if level == "npu":
        assert not compiled.last_profile.get("fallbacks")


def test_antialias_leaves_upscaling_and_nearest_as_they_were():
    """ONNX: only shrinking axes of linear/cubic resizes change; nearest ignores it (ONNX's
    reference raises instead, so the nearest case compares with antialias=0)."""
    shape = [1, 1, 4, 6]
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    model = _model(shape, [1, 1, 2, 0.5], "linear", "half_pixel")
    (want,) = ReferenceEvaluator(model).run(None, {"x": x})
    np.testing.assert_allclose(ge.compile(model, cache=False)(x), want, rtol=1e-5, atol=1e-6)
    nearest = _model(shape, [1, 1, 0.5, 0.5], "nearest", "half_pixel")
    plain = _model(shape, [1, 1, 0.5, 0.5], "nearest", "half_pixel")
    attrs = plain.graph.node[0].attribute
    attrs.remove(next(a for a in attrs if a.name == "antialias"))
    (want,) = ReferenceEvaluator(plain).run(None, {"x": x})
    np.testing.assert_array_equal(ge.compile(nearest, cache=False)(x), want)


@pytest.mark.parametrize("level", ["reference", "npu"])
@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("size", [(7, 5), (30, 9)], ids=["down", "up-and-down"])
def test_torch_interpolate_antialias_equals_torch(level, mode, size):
    """F.interpolate(antialias=True) (torchvision's resize): PIL's filters, the taps inside
    the image renormalized, bicubic's A = -0.5."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional

    class Thumbnail(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return F.interpolate(x, size=size, mode=mode, antialias=True, align_corners=False)

    x = torch.randn(1, 3, 24, 20, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        want = Thumbnail()(x)
    got = ge.compile(Thumbnail(), example_inputs=(x,), cache=False, level=level)(x)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-4, atol=1e-5)
