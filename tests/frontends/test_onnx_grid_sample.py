"""GridSample on 4-D images and 5-D volumes, every mode and padding, against torch's
grid_sample (the definition ONNX follows) and onnxruntime, at both levels.

Grids reach past [-1, 1], so every padding rule (zeros, border clamp, reflection over
several periods) is exercised; nearest grids avoid exact .5 ties, where float rounding of
the unnormalized coordinate decides between two pixels.
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto as T
from onnx import helper

import ge

torch = pytest.importorskip("torch")
F = torch.nn.functional

TORCH_MODES = {"linear": "bilinear", "nearest": "nearest", "cubic": "bicubic"}


def _model(x_shape, grid_shape, mode, padding, align, grid_type=T.FLOAT):  # noqa: ANN001, ANN202
    node = helper.make_node("GridSample", ["x", "g"], ["y"], mode=mode, padding_mode=padding,
                            align_corners=int(align))  # fmt: skip
    graph = helper.make_graph(
        [node],
        "grid_sample",
        [
            helper.make_tensor_value_info("x", T.FLOAT, x_shape),
            helper.make_tensor_value_info("g", grid_type, grid_shape),
        ],
        [helper.make_tensor_value_info("y", T.FLOAT, None)],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])


def _torch(x, g, mode, padding, align):  # noqa: ANN001, ANN202
    return F.grid_sample(torch.from_numpy(x), torch.from_numpy(g), mode=TORCH_MODES[mode],
                         padding_mode=padding, align_corners=align).numpy()  # fmt: skip


@st.composite
def cases(draw: st.DrawFn):  # noqa: ANN201
    volume = draw(st.booleans())
    mode = draw(
        st.sampled_from(["linear", "nearest"] if volume else ["linear", "nearest", "cubic"])
    )
    spatial = [draw(st.integers(1, 6)) for _ in range(3 if volume else 2)]
    out = [draw(st.integers(1, 4)) for _ in range(len(spatial))]
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal([2, 3, *spatial]).astype(np.float32)
    g = rng.uniform(-2.5, 2.5, [2, *out, len(spatial)]).astype(np.float32)
    if mode == "nearest":  # keep clear of rounding ties
        g = np.round(g * 8) / 8 + 1 / 64
    padding = draw(st.sampled_from(["zeros", "border", "reflection"]))
    return x, g.astype(np.float32), mode, padding, draw(st.booleans())


@settings(max_examples=40, deadline=None)
@given(cases())
def test_random_grid_samples_equal_torch(case):
    x, g, mode, padding, align = case
    model = _model(list(x.shape), list(g.shape), mode, padding, align)
    got = ge.compile(model, cache=False, level="reference")(x, g)
    np.testing.assert_allclose(got, _torch(x, g, mode, padding, align), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("level", ["reference", "npu"])
@pytest.mark.parametrize(
    ("mode", "padding", "volume"),
    [("cubic", "reflection", False), ("linear", "reflection", True), ("cubic", "border", False),
     ("nearest", "zeros", True), ("linear", "zeros", False)],
)  # fmt: skip
def test_grid_sample_equals_onnxruntime(level, mode, padding, volume):
    rng = np.random.default_rng(3)
    spatial = [3, 5, 6] if volume else [7, 9]
    x = rng.standard_normal([1, 2, *spatial]).astype(np.float32)
    g = rng.uniform(-1.6, 1.6, [1, *([4] * len(spatial)), len(spatial)]).astype(np.float32)
    model = _model(list(x.shape), list(g.shape), mode, padding, False)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (want,) = session.run(None, {"x": x, "g": g})
    got = ge.compile(model, cache=False, level=level)(x, g)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("level", ["reference", "npu"])
@pytest.mark.parametrize("mode", ["linear", "cubic"])
def test_a_double_grid_samples_a_float_image(level, mode):
    """GridSample's grid type (T2) may differ from its input's: Hugging Face's Deformable
    DETR, exported by torch, samples f32 values at f64 locations (onnxruntime has no kernel
    for that pair). The weights come out in f64 and are cast to the input's type."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal([1, 2, 6, 7]).astype(np.float32)
    g = rng.uniform(-1.2, 1.2, [1, 3, 4, 2])
    model = _model(list(x.shape), list(g.shape), mode, "zeros", False, grid_type=T.DOUBLE)
    got = ge.compile(model, cache=False, level=level)(x, g)
    assert got.dtype == np.float32
    want = _torch(x, g.astype(np.float32), mode, "zeros", False)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
