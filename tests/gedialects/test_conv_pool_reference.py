"""The reference semantics of Conv, MaxPool and AveragePool against onnxruntime on random
geometries: strides, dilations, asymmetric pads, groups (depthwise with a channel
multiplier too), ceil mode and count_include_pad. The f32 conv runs as a GEMM on patches
gathered tap by tap and the pools combine their taps' views (`gedialects.ge.semantics`):
these say that each computes what ONNX means, edge windows included."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from onnx_oracle import run_ge_op, run_onnx

from gedialects.ge import ops


@st.composite
def convs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, dict]:
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    depthwise = draw(st.booleans())
    cg = 1 if depthwise else draw(st.integers(1, 4))
    og = draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    dil = [draw(st.integers(1, 2)), draw(st.integers(1, 2))]
    strides = [draw(st.integers(1, 3)), draw(st.integers(1, 3))]
    pads = [draw(st.integers(0, 2)) for _ in range(4)]
    h = draw(st.integers(dil[0] * (kh - 1) + 1, 11))
    w = draw(st.integers(dil[1] * (kw - 1) + 1, 11))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    n = draw(st.integers(1, 2))
    x = rng.standard_normal((n, groups * cg, h, w)).astype(np.float32)
    weights = rng.standard_normal((groups * og, cg, kh, kw)).astype(np.float32)
    attrs = dict(strides=strides, pads=pads, dilations=dil, groups=groups)
    return x, weights, attrs


@given(convs())
def test_conv_matches_onnxruntime(case: tuple[np.ndarray, np.ndarray, dict]) -> None:
    x, w, attrs = case
    (got,) = run_ge_op(ops.Conv2DOp, [x, w], **attrs)
    onnx_attrs = {**attrs, "group": attrs["groups"]}
    del onnx_attrs["groups"]
    (want,) = run_onnx("Conv", [x, w], onnx_attrs, engine="ort")
    assert got.shape == want.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@st.composite
def pools(draw: st.DrawFn) -> tuple[np.ndarray, dict]:
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dil = [draw(st.integers(1, 2)), draw(st.integers(1, 2))]
    pads = [draw(st.integers(0, min(kh, kw) - 1)) for _ in range(4)]
    h = draw(st.integers(dil[0] * (kh - 1) + 1, 10))
    w = draw(st.integers(dil[1] * (kw - 1) + 1, 10))
    attrs = dict(
        kernel_shape=[kh, kw],
        strides=[draw(st.integers(1, 3)), draw(st.integers(1, 3))],
        pads=pads,
        dilations=dil,
        ceil_mode=draw(st.booleans()),
    )
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    return rng.standard_normal((1, 3, h, w)).astype(np.float32), attrs


@given(pools())
def test_max_pool_matches_onnxruntime(case: tuple[np.ndarray, dict]) -> None:
    x, attrs = case
    (got,) = run_ge_op(ops.MaxPool2DOp, [x], **attrs)
    onnx_attrs = {**attrs, "ceil_mode": int(attrs["ceil_mode"])}
    (want,) = run_onnx("MaxPool", [x], onnx_attrs, engine="ort")
    np.testing.assert_array_equal(got, want)


@given(pools(), st.booleans())
def test_average_pool_matches_onnxruntime(case: tuple[np.ndarray, dict], count_pads: bool) -> None:
    x, attrs = case
    attrs = {**attrs, "dilations": [1, 1]}  # onnxruntime's AveragePool takes no dilations
    (got,) = run_ge_op(ops.AvgPool2DOp, [x], count_include_pad=count_pads, **attrs)
    onnx_attrs = {**attrs, "ceil_mode": int(attrs["ceil_mode"])}
    onnx_attrs["count_include_pad"] = int(count_pads)
    del onnx_attrs["dilations"]
    (want,) = run_onnx("AveragePool", [x], onnx_attrs, engine="ort")
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_a_nan_in_a_window_is_its_maximum() -> None:
    x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    x[0, 0, 1, 2] = np.nan
    (got,) = run_ge_op(ops.MaxPool2DOp, [x], kernel_shape=[2, 2], strides=[2, 2])
    assert np.isnan(got[0, 0, 0, 1]) and not np.isnan(got[0, 0, 1]).any()
