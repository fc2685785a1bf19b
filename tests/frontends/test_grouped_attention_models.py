"""Grouped-query attention from torch, at the npu level, against onnxruntime: LLaMA-style
blocks whose K and V have fewer heads than Q, repeated by HF's `repeat_kv` (unsqueeze,
expand, reshape) before an eager or SDPA attention, exported by torch.onnx.export. The
repeats must not run (no expand kernel), the head splits must be the attention's layouts
(no transpose kernel), and in a decoding step the query heads that share a KV head must
be rows of one tile, so the KV cache is read once per KV head."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

import ge
from ge.frontends.onnx import import_onnx_model
from ge.pipeline import apply_pipeline
from gedialects.kernel.ops import AttentionKernelOp

torch = pytest.importorskip("torch")
from ge.testing.models import export_onnx  # noqa: E402
from ge.testing.torch_blocks import GroupedAttention  # noqa: E402


def _run(model, inputs: dict[str, torch.Tensor], opset: int = 17):  # noqa: ANN001, ANN202
    """(onnxruntime's outputs, ge's at the npu level, its kernels, the optimized module)."""
    torch.manual_seed(0)
    proto = export_onnx(model, list(inputs.values()), opset=opset, input_names=list(inputs))
    feeds = {name: t.numpy() for name, t in inputs.items()}
    want = ort.InferenceSession(proto.SerializeToString()).run(None, feeds)
    compiled = ge.compile(import_onnx_model(proto), level="npu", cache=False)
    got = compiled.run(**feeds)
    optimized = import_onnx_model(proto)
    apply_pipeline(optimized, "ge-optimize")
    return want, got, compiled.last_profile["kernels"], optimized


@pytest.mark.parametrize(
    ("opset", "sdpa", "repeat"),
    [(14, False, "repeat_kv"), (17, False, "repeat_kv"), (17, True, "repeat_kv"),
     (17, False, "interleave"), (17, True, "tile")],
)  # fmt: skip
def test_prefill_reads_keys_and_values_unrepeated(opset: int, sdpa: bool, repeat: str) -> None:
    """HF's repeat_kv, and torch's repeat_interleave and repeat (ONNX Tile: imported as an
    expand between reshapes of unit axes) all read the unrepeated K and V."""
    torch.manual_seed(0)
    model = GroupedAttention(64, 8, 2, 16, sdpa=sdpa, bias=True, repeat=repeat).eval()
    want, got, kernels, _ = _run(model, {"x": torch.randn(2, 16, 64)}, opset)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-4, atol=1e-5)
    ops = [k["op"] for k in kernels]
    assert ops.count("kernel.attention") == 1 and ops.count("kernel.rope") == 2, kernels
    # no expand (an elementwise copy), no head-split transpose, no rotate_half copies
    moves = ("kernel.elementwise", "kernel.transpose", "kernel.concat", "kernel.slice")
    assert not [k for k in kernels if k["op"] in moves], kernels


@pytest.mark.parametrize(("kv_heads", "repeat"), [(1, "repeat_kv"), (2, "repeat_kv"), (2, "tile")])
def test_decoding_step_stacks_the_group_as_rows(kv_heads: int, repeat: str) -> None:
    torch.manual_seed(0)
    model = GroupedAttention(64, 8, kv_heads, 48, bias=True, repeat=repeat).eval()
    cache = (1, kv_heads, 40, 8)
    inputs = {"x": torch.randn(1, 1, 64)} | {n: torch.randn(cache) for n in ("past_k", "past_v")}
    want, got, kernels, optimized = _run(model, inputs)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-4, atol=1e-5)
    # repeat(1, g, 1, 1) puts the group before the KV heads, so its queries as rows are a
    # real transpose of Q and O: the fused kernel reads them in place, the unfused form
    # (chosen at this size) runs two small transpose kernels
    moves = ("kernel.elementwise",) + (("kernel.transpose",) if repeat != "tile" else ())
    assert not [k for k in kernels if k["op"] in moves], kernels
    (attention,) = [op for op in optimized.walk() if isinstance(op, AttentionKernelOp)]
    query, _, _ = attention.logical_shapes()
    assert query[-2] == 8 // kv_heads, attention  # the group's queries, one tile's rows
    assert attention.logical_key()[:-2] == query[:-2], attention  # one K per item: no group
