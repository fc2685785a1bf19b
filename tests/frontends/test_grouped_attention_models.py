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

nn = torch.nn
F = torch.nn.functional


def rotate_half(x):  # noqa: ANN001, ANN201
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def repeat_kv(x, groups: int):  # noqa: ANN001, ANN201
    """HF transformers' repeat_kv: (B, Hkv, S, d) -> (B, Hkv * groups, S, d)."""
    b, kv, s, d = x.shape
    return x[:, :, None, :, :].expand(b, kv, groups, s, d).reshape(b, kv * groups, s, d)


class GroupedAttention(nn.Module):
    """LLaMA-2-70B / Mistral / Qwen2 self-attention: `heads` query heads, `kv_heads` key and
    value heads, the rotary embedding on q and k, a causal mask; with `past`, one decoding
    step over a KV cache of `past` positions (its rotation at position `past`)."""

    def __init__(self, dim=64, heads=8, kv_heads=2, seq=16, sdpa=False):  # noqa: ANN001
        super().__init__()
        self.heads, self.kv_heads, self.depth, self.sdpa = heads, kv_heads, dim // heads, sdpa
        self.q = nn.Linear(dim, dim, bias=False)
        self.k, self.v = (nn.Linear(dim, kv_heads * self.depth, bias=True) for _ in range(2))
        self.o = nn.Linear(dim, dim, bias=False)
        inv = 1.0 / (10000 ** (torch.arange(0, self.depth, 2).float() / self.depth))
        angles = torch.outer(torch.arange(seq).float(), inv)
        table = torch.cat((angles, angles), dim=-1)
        self.register_buffer("cos", table.cos()[None, None])
        self.register_buffer("sin", table.sin()[None, None])

    def forward(self, x, past_k=None, past_v=None):  # noqa: ANN001, ANN201
        b, s, _ = x.shape
        start = 0 if past_k is None else past_k.shape[2]
        split = lambda t, h: t.view(b, s, h, self.depth).transpose(1, 2)  # noqa: E731
        q, k = split(self.q(x), self.heads), split(self.k(x), self.kv_heads)
        v = split(self.v(x), self.kv_heads)
        cos, sin = self.cos[:, :, start : start + s], self.sin[:, :, start : start + s]
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if past_k is not None:
            k, v = torch.cat([past_k, k], dim=2), torch.cat([past_v, v], dim=2)
        groups = self.heads // self.kv_heads
        k, v = repeat_kv(k, groups), repeat_kv(v, groups)
        if self.sdpa:
            o = F.scaled_dot_product_attention(q, k, v, is_causal=past_k is None)
        else:
            scores = q @ k.transpose(-1, -2) / self.depth**0.5
            if past_k is None:
                scores = scores + torch.full((s, s), float("-inf")).triu(1)
            o = torch.softmax(scores, dim=-1) @ v
        return self.o(o.transpose(1, 2).reshape(b, s, -1))


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


@pytest.mark.parametrize(("opset", "sdpa"), [(14, False), (17, False), (17, True)])
def test_prefill_reads_keys_and_values_unrepeated(opset: int, sdpa: bool) -> None:
    torch.manual_seed(0)
    model = GroupedAttention(sdpa=sdpa).eval()
    want, got, kernels, _ = _run(model, {"x": torch.randn(2, 16, 64)}, opset)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-4, atol=1e-5)
    ops = [k["op"] for k in kernels]
    assert ops.count("kernel.attention") == 1 and ops.count("kernel.rope") == 2, kernels
    # no expand (an elementwise copy), no head-split transpose, no rotate_half copies
    moves = ("kernel.elementwise", "kernel.transpose", "kernel.concat", "kernel.slice")
    assert not [k for k in kernels if k["op"] in moves], kernels


@pytest.mark.parametrize("kv_heads", [1, 2])
def test_decoding_step_stacks_the_group_as_rows(kv_heads: int) -> None:
    torch.manual_seed(0)
    model = GroupedAttention(kv_heads=kv_heads, seq=48).eval()
    cache = (1, kv_heads, 40, 8)
    inputs = {"x": torch.randn(1, 1, 64)} | {n: torch.randn(cache) for n in ("past_k", "past_v")}
    want, got, kernels, optimized = _run(model, inputs)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-4, atol=1e-5)
    assert not [k for k in kernels if k["op"] in ("kernel.elementwise", "kernel.transpose")]
    (attention,) = [op for op in optimized.walk() if isinstance(op, AttentionKernelOp)]
    query, _, _ = attention.logical_shapes()
    assert query[-2] == 8 // kv_heads, attention  # the group's queries, one tile's rows
    assert attention.logical_key()[:-2] == (*query[:-3], 1), attention
