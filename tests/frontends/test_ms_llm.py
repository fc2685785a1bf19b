"""onnxruntime's decoder-LLM contrib ops (RotaryEmbedding, GroupQueryAttention) equal
onnxruntime at the npu level: prompts and decode steps with a past, grouped heads, rotary
inside attention, halves and interleaved pairs."""

from __future__ import annotations

import numpy as np
import onnxruntime
import pytest
from onnx import TensorProto, helper

import ge

MS = "com.microsoft"
F = TensorProto.FLOAT


def _run_both(node, feeds: dict[str, np.ndarray], outputs: list[str]) -> list[dict]:
    types = {np.dtype(np.float32): F, np.dtype(np.int32): TensorProto.INT32,
             np.dtype(np.int64): TensorProto.INT64}  # fmt: skip
    graph = helper.make_graph(
        [node],
        "llm",
        [helper.make_tensor_value_info(k, types[v.dtype], list(v.shape)) for k, v in feeds.items()],
        [helper.make_empty_tensor_value_info(o) for o in outputs],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(MS, 1)]
    )
    session = onnxruntime.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    want = session.run(None, feeds)
    for info, value in zip(model.graph.output, want):
        info.CopyFrom(helper.make_tensor_value_info(info.name, F, list(value.shape)))
    compiled = ge.compile(model, level="npu", cache=False)
    got = compiled.run(**feeds)
    for have, expected in zip(got, want, strict=True):
        assert have.shape == expected.shape
        np.testing.assert_allclose(have, expected, rtol=1e-4, atol=1e-5)
    assert not compiled.last_profile["fallbacks"]
    return compiled.last_profile["kernels"]


def _caches(positions: int, half: int) -> tuple[np.ndarray, np.ndarray]:
    angles = np.arange(positions)[:, None] / 10000 ** (np.arange(half)[None] / half)
    return np.cos(angles).astype(np.float32), np.sin(angles).astype(np.float32)


@pytest.mark.parametrize(
    ("batch", "seq", "past", "heads", "kv_heads", "rotary", "interleaved"),
    [
        (1, 4, 3, 4, 2, False, False),  # a prompt after a past, two query heads a kv head
        (2, 5, 0, 2, 2, False, False),  # a prompt, no past
        (2, 1, 6, 4, 1, True, False),  # a decode step with rotary, one kv head for four
        (1, 3, 2, 2, 2, True, True),  # interleaved rotary
    ],
)
def test_group_query_attention(batch, seq, past, heads, kv_heads, rotary, interleaved) -> None:
    rng = np.random.default_rng(seq + past)
    depth = 16  # onnxruntime's rotary wants heads of a multiple of 16
    feeds = {
        "q": rng.standard_normal((batch, seq, heads * depth)).astype(np.float32),
        "k": rng.standard_normal((batch, seq, kv_heads * depth)).astype(np.float32),
        "v": rng.standard_normal((batch, seq, kv_heads * depth)).astype(np.float32),
    }
    names = ["q", "k", "v", "", ""]
    if past:
        feeds["pk"] = rng.standard_normal((batch, kv_heads, past, depth)).astype(np.float32)
        feeds["pv"] = rng.standard_normal((batch, kv_heads, past, depth)).astype(np.float32)
        names[3:5] = ["pk", "pv"]
    feeds["lengths"] = np.full(batch, past + seq - 1, np.int32)
    feeds["total"] = np.array(past + seq, np.int32)
    names += ["lengths", "total"]
    attrs = {"num_heads": heads, "kv_num_heads": kv_heads}
    if rotary:
        feeds["cos"], feeds["sin"] = _caches(32, depth // 2)
        names += ["cos", "sin"]
        attrs.update(do_rotary=1, rotary_interleaved=int(interleaved))
    node = helper.make_node(
        "GroupQueryAttention", names, ["y", "present_k", "present_v"], domain=MS, **attrs
    )
    kernels = _run_both(node, feeds, ["y", "present_k", "present_v"])
    ops = [k["op"] for k in kernels]
    assert ops.count("kernel.attention") == 1, kernels
    if rotary and not interleaved:
        assert ops.count("kernel.rope") == 2, kernels  # q's and k's
    if heads > kv_heads:  # the repeat of K and V reads them unrepeated: no expand kernel
        assert not [k for k in kernels if k["fused_from"] == ["ge.expand"]], kernels


@pytest.mark.parametrize(
    ("layout", "interleaved", "partial"), [(3, False, False), (4, True, False), (4, False, True)]
)
def test_rotary_embedding(layout: int, interleaved: bool, partial: bool) -> None:
    rng = np.random.default_rng(layout)
    batch, seq, heads, depth = 2, 5, 2, 8
    shape = (batch, seq, heads * depth) if layout == 3 else (batch, heads, seq, depth)
    rotary = 4 if partial else depth
    cos, sin = _caches(16, rotary // 2)
    feeds = {
        "x": rng.standard_normal(shape).astype(np.float32),
        "pos": rng.integers(0, 16, (batch, seq)).astype(np.int64),
        "cos": cos,
        "sin": sin,
    }
    attrs = {"interleaved": int(interleaved)}
    if layout == 3:
        attrs["num_heads"] = heads
    if partial:
        attrs["rotary_embedding_dim"] = rotary
        attrs["num_heads"] = heads
    node = helper.make_node(
        "RotaryEmbedding", ["x", "pos", "cos", "sin"], ["y"], domain=MS, **attrs
    )
    kernels = _run_both(node, feeds, ["y"])
    if not interleaved:  # the rotate-half form (partial too) is one rope kernel
        assert [k["op"] for k in kernels].count("kernel.rope") == 1, kernels


def test_a_right_padded_prompt_batch() -> None:
    """Rows of other lengths in one prompt: each row's keys past its length are masked and
    its positions start at 0; the valid query rows equal onnxruntime's."""
    rng = np.random.default_rng(9)
    batch, seq, heads, depth = 2, 5, 2, 16
    cos, sin = _caches(32, depth // 2)
    feeds = {
        "q": rng.standard_normal((batch, seq, heads * depth)).astype(np.float32),
        "k": rng.standard_normal((batch, seq, heads * depth)).astype(np.float32),
        "v": rng.standard_normal((batch, seq, heads * depth)).astype(np.float32),
        "lengths": np.array([4, 2], np.int32),  # rows of 5 and 3 tokens
        "total": np.array(seq, np.int32),
        "cos": cos,
        "sin": sin,
    }
    node = helper.make_node(
        "GroupQueryAttention", ["q", "k", "v", "", "", "lengths", "total", "cos", "sin"],
        ["y", "present_k", "present_v"], domain=MS, num_heads=heads, kv_num_heads=heads,
        do_rotary=1,
    )  # fmt: skip
    graph = helper.make_graph(
        [node],
        "padded",
        [helper.make_tensor_value_info(k, TensorProto.INT32 if v.dtype == np.int32 else F,
                                       list(v.shape)) for k, v in feeds.items()],
        [helper.make_tensor_value_info("y", F, [batch, seq, heads * depth])],
    )  # fmt: skip
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(MS, 1)]
    )
    session = onnxruntime.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    (want,) = session.run(None, feeds)
    (got,) = ge.compile(model, level="npu", cache=False).run(**feeds)
    for row, length in enumerate(feeds["lengths"] + 1):
        np.testing.assert_allclose(got[row, :length], want[row, :length], rtol=1e-4, atol=1e-5)
