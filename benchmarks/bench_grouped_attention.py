"""Grouped-query attention with K and V read unrepeated vs repeated, on ascend910a.

LLaMA-2-70B, LLaMA-3, Mistral and Qwen2 share each key/value head among g query heads;
HF's `repeat_kv` copies K and V g times (an expand kernel each) before the attention reads
them. `fuse-grouped-attention` makes the attention broadcast the unrepeated K and V over
the group, and in a decoding step it stacks the group's queries as rows of one tile, so the
KV cache is read once per KV head. Each case, a plain `torch.nn` block exported at opset
17, is compiled by `ge-optimize` with and without the pass, lowered and run on the npu
interpreter; the table gives the kernels' summed modeled cycles and HBM bytes, their ratio,
the kernels run and the output's distance from onnxruntime's.

    .venv/bin/python benchmarks/bench_grouped_attention.py
"""

from __future__ import annotations

import torch
from pipeline_ab import compare
from torch import nn

from ge.testing.models import export_onnx
from passes.pipelines import GE_OPTIMIZE

GROUPED = ",".join(GE_OPTIMIZE)
REPEATED = GROUPED.replace("fuse-grouped-attention,", "")


def rotate_half(x):  # noqa: ANN001, ANN201
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def repeat_kv(x, groups: int):  # noqa: ANN001, ANN201
    b, kv, s, d = x.shape
    return x[:, :, None, :, :].expand(b, kv, groups, s, d).reshape(b, kv * groups, s, d)


class GroupedAttention(nn.Module):
    """LLaMA-3-style self-attention (rotary q and k, causal) with `kv_heads` KV heads; with a
    KV cache (`past_k`, `past_v`), one decoding step at position `cache`."""

    def __init__(self, dim: int, heads: int, kv_heads: int, positions: int) -> None:
        super().__init__()
        self.heads, self.kv_heads, self.depth = heads, kv_heads, dim // heads
        self.q, self.o = nn.Linear(dim, dim, bias=False), nn.Linear(dim, dim, bias=False)
        self.k, self.v = (nn.Linear(dim, kv_heads * self.depth, bias=False) for _ in range(2))
        inv = 1.0 / (500000 ** (torch.arange(0, self.depth, 2).float() / self.depth))
        angles = torch.outer(torch.arange(positions).float(), inv)
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
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        if past_k is not None:
            k, v = torch.cat([past_k, k], dim=2), torch.cat([past_v, v], dim=2)
        groups = self.heads // self.kv_heads
        scores = q @ repeat_kv(k, groups).transpose(-1, -2) / self.depth**0.5
        if past_k is None:
            scores = scores + torch.full((s, s), float("-inf")).triu(1)
        o = torch.softmax(scores, dim=-1) @ repeat_kv(v, groups)
        return self.o(o.transpose(1, 2).reshape(b, s, -1))


def _prefill(dim: int, heads: int, kv_heads: int, tokens: int):  # noqa: ANN202
    def build():  # noqa: ANN202
        torch.manual_seed(0)
        model = GroupedAttention(dim, heads, kv_heads, tokens).eval()
        x = torch.randn(1, tokens, dim)
        return export_onnx(model, [x], input_names=["x"]), x.numpy()

    return build


def _decode(dim: int, heads: int, kv_heads: int, cache: int, batch: int = 1):  # noqa: ANN202
    def build():  # noqa: ANN202
        torch.manual_seed(0)
        model = GroupedAttention(dim, heads, kv_heads, cache + 1).eval()
        shape = (batch, kv_heads, cache, dim // heads)
        inputs = {"x": torch.randn(batch, 1, dim), "past_k": torch.randn(shape),
                  "past_v": torch.randn(shape)}  # fmt: skip
        proto = export_onnx(model, list(inputs.values()), input_names=list(inputs))
        return proto, {name: t.numpy() for name, t in inputs.items()}

    return build


CASES = [
    ("prefill d 1024, 16 heads / 4 KV, 256 tokens", _prefill(1024, 16, 4, 256)),
    ("prefill d 2048, 32 heads / 8 KV, 512 tokens", _prefill(2048, 32, 8, 512)),
    ("decode d 2048, 32 heads / 8 KV, cache 1024", _decode(2048, 32, 8, 1024)),
    ("decode d 2048, 32 heads / 8 KV, cache 1024, batch 4", _decode(2048, 32, 8, 1024, 4)),
    ("decode d 1024, 16 heads / 1 KV (MQA), cache 2048", _decode(1024, 16, 1, 2048)),
]


def main() -> None:
    torch.manual_seed(0)
    compare(CASES, REPEATED, GROUPED, ("case", "repeated", "grouped"))


if __name__ == "__main__":
    main()
