"""The rotary position embedding as one kernel vs as the Slice, Neg, Concat, Mul, Add kernels
the exported graph spells, on ascend910a.

HF transformers' `apply_rotary_pos_emb` (LLaMA, Mistral, Qwen, Phi) computes x * cos +
rotate_half(x) * sin for the query and the key of every layer; `torch.onnx.export` writes
it as five kernels that each read and write the rotated tensor. `recognize-rope` makes it
one `kernel.rope` (`lowering.lower_rope`). Each case, a plain `torch.nn` model exported at
opset 17, is compiled by `ge-optimize` with and without `recognize-rope`, lowered and run on
the npu interpreter; the table gives the kernels' summed modeled cycles and HBM bytes, their
ratio, the kernels run and the fused output's distance from onnxruntime's.

    .venv/bin/python benchmarks/bench_rope.py
"""

from __future__ import annotations

import torch
from pipeline_ab import compare, torch_case
from torch import nn

from passes.pipelines import GE_OPTIMIZE

FUSED = ",".join(GE_OPTIMIZE)
UNFUSED = FUSED.replace("recognize-rope,", "")


def rotate_half(x):  # noqa: ANN001, ANN201
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def _tables(seq: int, depth: int) -> tuple[torch.Tensor, torch.Tensor]:
    inv = 1.0 / (10000 ** (torch.arange(0, depth, 2).float() / depth))
    angles = torch.outer(torch.arange(seq).float(), inv)
    table = torch.cat((angles, angles), dim=-1)
    return table.cos()[None, None], table.sin()[None, None]


class Rotation(nn.Module):
    """The query rotation alone: x (1, H, S, D)."""

    def __init__(self, seq: int, depth: int) -> None:
        super().__init__()
        cos, sin = _tables(seq, depth)
        self.register_buffer("cos", cos)
        self.register_buffer("sin", sin)

    def forward(self, x):  # noqa: ANN001, ANN201
        return x * self.cos + rotate_half(x) * self.sin


class PartialRotation(Rotation):
    """GPT-NeoX's partial rotary (rotary_pct 0.25): the first `rotary` columns rotate, the
    rest pass through, concatenated back."""

    def __init__(self, seq: int, depth: int, rotary: int) -> None:
        super().__init__(seq, rotary)
        self.rotary = rotary

    def forward(self, x):  # noqa: ANN001, ANN201
        r = self.rotary
        rotated = x[..., :r] * self.cos + rotate_half(x[..., :r]) * self.sin
        return torch.cat((rotated, x[..., r:]), dim=-1)


class RMSNorm(nn.Module):
    """LLaMA's RMSNorm written out (torch.onnx.export has no aten::rms_norm at opset 17)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):  # noqa: ANN001, ANN201
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * self.weight


class LlamaLayer(nn.Module):
    """A LLaMA decoder layer: RMSNorm, attention with rotary q and k, RMSNorm, SwiGLU MLP."""

    def __init__(self, dim: int, heads: int, hidden: int, seq: int) -> None:
        super().__init__()
        self.heads, self.depth = heads, dim // heads
        self.q, self.k, self.v, self.o = (nn.Linear(dim, dim, bias=False) for _ in range(4))
        self.gate, self.up = nn.Linear(dim, hidden, bias=False), nn.Linear(dim, hidden, bias=False)
        self.down = nn.Linear(hidden, dim, bias=False)
        self.n1, self.n2 = RMSNorm(dim), RMSNorm(dim)
        cos, sin = _tables(seq, self.depth)
        self.register_buffer("cos", cos)
        self.register_buffer("sin", sin)
        self.register_buffer("mask", torch.full((seq, seq), float("-inf")).triu(1))

    def forward(self, x):  # noqa: ANN001, ANN201
        b, s, _ = x.shape
        h = self.n1(x)
        split = lambda t: t.view(b, s, self.heads, self.depth).transpose(1, 2)  # noqa: E731
        q, k, v = split(self.q(h)), split(self.k(h)), split(self.v(h))
        q = q * self.cos + rotate_half(q) * self.sin
        k = k * self.cos + rotate_half(k) * self.sin
        scores = q @ k.transpose(-1, -2) / self.depth**0.5 + self.mask
        att = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(b, s, -1)
        x = x + self.o(att)
        h = self.n2(x)
        return x + self.down(nn.functional.silu(self.gate(h)) * self.up(h))


CASES = [
    ("LLaMA-7B query rotation, 32x512x128", torch_case(Rotation(512, 128), (1, 32, 512, 128))),
    ("GPT-NeoX partial rotation, 32 of 128 columns",
     torch_case(PartialRotation(512, 128, 32), (1, 32, 512, 128))),
    ("LLaMA-style layer, d 512, 8 heads, 128 tokens",
     torch_case(LlamaLayer(512, 8, 1408, 128), (1, 128, 512))),
    ("LLaMA-style layer, d 1024, 16 heads, 256 tokens",
     torch_case(LlamaLayer(1024, 16, 2816, 256), (1, 256, 1024))),
]  # fmt: skip


def main() -> None:
    torch.manual_seed(0)
    compare(CASES, UNFUSED, FUSED, ("case", "five", "one"))


if __name__ == "__main__":
    main()
