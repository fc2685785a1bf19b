"""Ceil-mode pools against onnxruntime, including those whose last window onnxruntime drops
(it would start in the end padding) while ONNX's shape inference counts it
(`ge/frontends/onnx/ceil_pools.py`): MaxPool, LpPool (whose converter takes floor mode
only: every ceil-mode one is rewritten) and AveragePool on random windows."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper

from ge.frontends.onnx import import_onnx_model
from ge.frontends.onnx.ceil_pools import extra_end_pad, floor_mode_pads
from ge.testing import run
from gedialects.errors import FrontendError


def pool_model(op: str, shape, **attrs):
    node = helper.make_node(op, ["x"], ["y"], ceil_mode=1, **attrs)
    relu = helper.make_node("Relu", ["y"], ["z"])  # a value after it: its shape is checked
    graph = helper.make_graph(
        [node, relu],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, None)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    return model


def assert_like_onnxruntime(model, x: np.ndarray) -> None:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    want = session.run(None, {"x": x})[0]
    got = run(import_onnx_model(model), {"x": x})[0]
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_a_dropped_window_is_not_counted():
    """A stride-3 1x1 pool of a 3-wide map: onnxruntime makes 1 column, ONNX's shape
    inference 2 (the importer refused the model before)."""
    model = pool_model("MaxPool", (1, 2, 3, 3), kernel_shape=[1, 1], strides=[1, 3])
    assert floor_mode_pads(model.graph.node[0], [1, 2, 3, 3]) == [0, 0, 0, 0]
    x = np.random.default_rng(0).standard_normal((1, 2, 3, 3)).astype(np.float32)
    assert_like_onnxruntime(model, x)


def test_pools_onnx_counts_right_are_left_alone():
    model = pool_model("MaxPool", (1, 1, 6, 6), kernel_shape=[3, 3], strides=[2, 2])
    assert floor_mode_pads(model.graph.node[0], [1, 1, 6, 6]) is None


def test_average_counting_padding_is_not_rewritten_when_it_needs_more():
    """count_include_pad=1 divides by the padding too: one axis dropping a window and one
    adding one cannot be a floor-mode twin; the importer names the mismatch."""
    attrs = {"kernel_shape": [1, 3], "strides": [3, 3], "pads": [0, 1, 0, 1]}
    model = pool_model("AveragePool", (1, 1, 3, 3), count_include_pad=1, **attrs)
    assert floor_mode_pads(model.graph.node[0], [1, 1, 3, 3]) is None
    with pytest.raises(FrontendError, match="inconsistent shapes"):
        import_onnx_model(model)


POOLS = st.sampled_from(["MaxPool", "LpPool", "AveragePool", "AveragePool-counting-pads"])


def pairs(lo: int, hi: int, n: int = 2) -> st.SearchStrategy:
    return st.tuples(*[st.integers(lo, hi)] * n)


def onnx_op(op: str, attrs: dict) -> str:
    """The ONNX op of a drawn pool; an average's count_include_pad set in `attrs`."""
    if op.startswith("AveragePool"):
        attrs["count_include_pad"] = int(op.endswith("pads"))
        return "AveragePool"
    return op


@settings(deadline=None)
@given(POOLS, pairs(2, 8), pairs(1, 3), pairs(1, 3), pairs(0, 2, 4))
def test_random_ceil_mode_pools(op, size, kernel, strides, pads):
    pads = [min(p, kernel[i % 2] - 1) for i, p in enumerate(pads)]
    kernel = [min(k, s + p0 + p1) for k, s, p0, p1 in zip(kernel, size, pads[:2], pads[2:])]
    attrs = {"kernel_shape": list(kernel), "strides": list(strides), "pads": pads}
    op = onnx_op(op, attrs)
    x = np.random.default_rng(sum(size)).standard_normal((1, 2, *size)).astype(np.float32)
    model = pool_model(op, x.shape, **attrs)
    axes = [
        extra_end_pad(*a, (p0, p1), 1)
        for a, p0, p1 in zip(zip(size, kernel, strides), pads[:2], pads[2:])
    ]
    # the one form left as it was (`test_average_counting_padding_is_not_rewritten...`)
    assume(
        not (attrs.get("count_include_pad") and any(d for _, d in axes) and any(e for e, _ in axes))
    )
    assert_like_onnxruntime(model, x)


@settings(deadline=None, max_examples=40)
@example(  # the dilated taps miss the one input column: an average of nothing is 0 (was NaN)
    op="AveragePool", size=(1, 1), over=(0, 0), stride_over=(1, 1), pads=(0, 1, 0, 0),
    dilation=2, level="reference",
)  # fmt: skip
@example(
    op="AveragePool", size=(1, 1), over=(0, 0), stride_over=(1, 1), pads=(0, 1, 0, 0),
    dilation=2, level="npu",
)  # fmt: skip
@given(
    op=POOLS,
    size=pairs(1, 6),
    over=pairs(0, 4),
    stride_over=pairs(1, 4),
    pads=pairs(0, 1, 4),
    dilation=st.integers(1, 2),
    level=st.sampled_from(["reference", "npu"]),
)
def test_ceil_mode_windows_wider_than_the_input(op, size, over, stride_over, pads, dilation, level):
    """One ceil-mode window that runs past the padded input (Hugging Face's EfficientNet:
    a 2560-wide AvgPool2d on a 7x7 map): ge's pools clamp it to the positions inside
    (`clamp_overhanging_windows`); the output is onnxruntime's at both levels."""
    import ge

    padded = [s + pads[i] + pads[i + 2] for i, s in enumerate(size)]
    kernel = [-(-(p + o) // dilation) + 1 for p, o in zip(padded, over)]
    spans = [dilation * (k - 1) + 1 for k in kernel]
    strides = [sp - p + extra for sp, p, extra in zip(spans, padded, stride_over)]
    attrs = {"kernel_shape": kernel, "strides": strides, "pads": list(pads)}
    op = onnx_op(op, attrs)
    if op != "AveragePool" or dilation > 1:  # AveragePool's dilations: opset 19
        attrs["dilations"] = [dilation, dilation]
    x = np.random.default_rng(sum(size)).standard_normal((1, 2, *size)).astype(np.float32)
    model = pool_model(op, x.shape, **attrs)
    if op == "AveragePool" and dilation > 1:
        model.opset_import[0].version = 19
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    want = session.run(None, {"x": x})[0]
    got = ge.compile(model, level=level)(x)
    got = got[0] if isinstance(got, (list, tuple)) else got
    assert got.shape == want.shape == (1, 2, 1, 1)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "pool",
    [
        "AvgPool2d(2560, ceil_mode=True)",
        "AvgPool2d(9, stride=5, padding=1, ceil_mode=True, count_include_pad=False)",
        "MaxPool2d(5, stride=6, dilation=2, ceil_mode=True)",
    ],
)
def test_torch_pools_wider_than_the_input(pool):
    """The same windows through the torch frontend (EfficientNet's pooler is the first)."""
    torch = pytest.importorskip("torch")
    import ge

    module = eval(f"torch.nn.{pool}")  # noqa: S307 (the parametrized constructors above)
    x = torch.randn(1, 3, 7, 7, generator=torch.Generator().manual_seed(0))
    got = ge.compile(module, example_inputs=(x,))(x)
    np.testing.assert_allclose(np.asarray(got), module(x).numpy(), rtol=1e-5, atol=1e-6)


def test_a_window_of_padding_alone_runs_by_reference_at_the_npu_level():
    """A dilated ceil-mode window past a one-pixel input can hold only padding (found by
    the property test above); the npu pool lowering, whose input rows would be empty,
    refuses it, so it runs by reference, equal to onnxruntime."""
    import ge

    attrs = {"kernel_shape": [2, 2], "strides": [3, 2], "pads": [0, 1, 0, 0]}
    model = pool_model("MaxPool", (1, 2, 1, 1), dilations=[2, 2], **attrs)
    x = np.array([[[[0.5]], [[-2.0]]]], np.float32)
    compiled = ge.compile(model, level="npu", cache=False)
    assert_like_onnxruntime(model, x)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    np.testing.assert_array_equal(compiled(x), session.run(None, {"x": x})[0])
    assert len(compiled.last_profile["fallbacks"]) == 1
