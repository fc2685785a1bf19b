"""MaxPool's Indices output (`ge/frontends/onnx/convert_pool_indices.py`) against
onnxruntime: overlapping and padded windows, ceil_mode, dilations, auto_pad,
storage_order=1, 1-D and 3-D pools, integral values with ties (the first maximum in
row-major window order wins), and random 2-D geometry."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper

from ge.frontends.onnx import import_onnx_model
from ge.testing import run


def max_pool(shape, dtype=TensorProto.FLOAT, **attrs):
    node = helper.make_node("MaxPool", ["x"], ["y", "i"], **attrs)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", dtype, list(shape))],
        [
            helper.make_tensor_value_info("y", dtype, None),
            helper.make_tensor_value_info("i", TensorProto.INT64, None),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 12)])
    model.ir_version = 7
    return model


def assert_like_onnxruntime(model, x: np.ndarray) -> None:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    want = session.run(None, {"x": x})
    got = run(import_onnx_model(model), {"x": x})
    np.testing.assert_array_equal(got[0], want[0])
    assert got[1].dtype == np.int64
    np.testing.assert_array_equal(got[1], want[1])


RNG = np.random.default_rng(5)
CASES = {
    "overlapping-padded": (
        (2, 3, 7, 6),
        {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1] * 4},
    ),
    "ceil-mode": ((1, 2, 6, 6), {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1}),
    "dilated": ((1, 2, 7, 7), {"kernel_shape": [2, 2], "dilations": [2, 3]}),
    "same-upper": ((1, 2, 5, 5), {"kernel_shape": [2, 2], "auto_pad": "SAME_UPPER"}),
    "column-major": ((2, 2, 4, 6), {"kernel_shape": [2, 2], "strides": [2, 2], "storage_order": 1}),
    "1-d": ((2, 3, 9), {"kernel_shape": [3], "strides": [2], "pads": [1, 1]}),
    "3-d": ((1, 2, 4, 4, 4), {"kernel_shape": [2, 2, 2], "strides": [2, 2, 2]}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_indices_are_onnxruntimes(case: str):
    shape, attrs = CASES[case]
    assert_like_onnxruntime(max_pool(shape, **attrs), RNG.standard_normal(shape).astype(np.float32))


def test_ties_pick_the_first_maximum_in_window_order():
    x = RNG.integers(0, 3, (2, 2, 6, 6)).astype(np.float32)
    model = max_pool(x.shape, kernel_shape=[3, 3], strides=[1, 1])
    assert_like_onnxruntime(model, x)


@settings(deadline=None)
@given(
    size=st.tuples(st.integers(3, 8), st.integers(3, 8)),
    kernel=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    strides=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    pad=st.integers(0, 1),
    ceil=st.booleans(),
)
def test_random_windows(size, kernel, strides, pad, ceil):
    pads = [min(pad, k - 1) for k in kernel] * 2
    x = np.random.default_rng(sum(size)).standard_normal((1, 2, *size)).astype(np.float32)
    attrs = {"kernel_shape": list(kernel), "strides": list(strides), "pads": pads}
    assert_like_onnxruntime(max_pool(x.shape, ceil_mode=int(ceil), **attrs), x)


@pytest.mark.parametrize("order", [0, 1])
def test_one_tap_windows_are_known_at_import(order: int):
    """torch's return_indices export pools 1x1 for the per-plane offsets: no gather."""
    model = max_pool((2, 3, 5, 4), kernel_shape=[1, 1], strides=[2, 1], storage_order=order)
    module = import_onnx_model(model)
    assert "ge.gather" not in str(module)
    assert_like_onnxruntime(model, RNG.standard_normal((2, 3, 5, 4)).astype(np.float32))
