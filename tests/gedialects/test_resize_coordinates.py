"""`ge.resize`'s coordinate transforms against onnxruntime: TF1's `tf_half_pixel_for_nn`
(x_in = (x_out + 0.5) / scale) and axes of scale 1, which onnxruntime leaves alone even
when the transform would shift them; an unknown transform is refused when the op is built."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from xdsl.dialects.builtin import DenseArrayBase, f32, f64
from xdsl.ir import Block

import ge.api
from ge.frontends.onnx import import_onnx_model
from ge.testing import run
from gedialects.errors import GeVerifyError
from gedialects.ge import ops
from gedialects.ge.types import tensor

X = np.random.default_rng(3).standard_normal((2, 3, 4, 5)).astype(np.float32)


def resize_model(mode: str, nearest: str, scales: list[float]):
    node = helper.make_node(
        "Resize",
        ["x", "roi", "scales"],
        ["y"],
        mode=mode,
        coordinate_transformation_mode="tf_half_pixel_for_nn",
        nearest_mode=nearest,
    )
    inits = [
        numpy_helper.from_array(np.array([], np.float32), "roi"),
        numpy_helper.from_array(np.array(scales, np.float32), "scales"),
    ]
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(X.shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)])
    model.ir_version = 6
    return model


CASES = [
    ("nearest", "round_prefer_floor", [1, 1, 2, 2]),
    ("nearest", "ceil", [1, 1, 1, 2]),
    ("nearest", "floor", [1, 1, 1.5, 0.6]),
    ("linear", "round_prefer_floor", [1, 1, 2, 2]),
    ("linear", "round_prefer_floor", [1, 1, 1, 2]),
    ("linear", "round_prefer_floor", [1, 1, 1.5, 0.6]),
]


@pytest.mark.parametrize("mode, nearest, scales", CASES)
def test_tf_half_pixel_for_nn_is_onnxruntimes(mode, nearest, scales):
    model = resize_model(mode, nearest, scales)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    want = session.run(None, {"x": X})[0]
    got = run(import_onnx_model(model), {"x": X})[0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_tf_half_pixel_for_nn_on_the_npu_level():
    """Linear mode lowers to GEMMs by interpolation matrices taken from the semantics: the
    scale-1 axis must give the identity matrix there too."""
    model = resize_model("linear", "round_prefer_floor", [1, 1, 1, 2])
    want = run(import_onnx_model(model), {"x": X})[0]
    compiled = ge.api.compile(import_onnx_model(model), level="npu", cache=False)
    np.testing.assert_allclose(compiled.run(x=X)[0], want, rtol=1e-5, atol=1e-6)
    assert not compiled.last_profile["fallbacks"]


def test_an_unknown_coordinate_transform_is_refused_when_built():
    x = Block(arg_types=[tensor([1, 1, 2, 2], f32)]).args[0]
    with pytest.raises(GeVerifyError, match='coordinate_transformation_mode "tf_crop"'):
        ops.ResizeOp(
            x,
            sizes=[1, 1, 4, 4],
            scales=DenseArrayBase.from_list(f64, [1.0, 1.0, 2.0, 2.0]),
            coordinate_transformation_mode="tf_crop",
        )
