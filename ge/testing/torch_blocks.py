"""The test models' layers in plain `torch.nn` (torchvision does not import beside the CPU
torch here): residual blocks, inverted residuals, an inception block, attention blocks.

This module imports torch; `ge.testing.models` builds models from it lazily.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def conv_bn(cin: int, cout: int, k: int, stride: int = 1, groups: int = 1) -> list[nn.Module]:
    """A bias-free k x k convolution with "same" padding, then batch norm."""
    conv = nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False)
    return [conv, nn.BatchNorm2d(cout)]


class BasicBlock(nn.Module):
    """ResNet-18/34 block: two 3x3 convolutions and an identity (or 1x1) shortcut."""

    expansion = 1

    def __init__(self, cin: int, width: int, stride: int = 1):
        super().__init__()
        cout = width * self.expansion
        self.body = nn.Sequential(
            *conv_bn(cin, width, 3, stride), nn.ReLU(inplace=True), *conv_bn(width, cout, 3)
        )
        needs_projection = stride != 1 or cin != cout
        self.shortcut = nn.Sequential(*conv_bn(cin, cout, 1, stride)) if needs_projection else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.shortcut is None else self.shortcut(x)
        return F.relu(self.body(x) + identity)


class Bottleneck(BasicBlock):
    """ResNet-50 block: 1x1 reduce, 3x3 (strided), 1x1 expand by 4."""

    expansion = 4

    def __init__(self, cin: int, width: int, stride: int = 1):
        super().__init__(cin, width, stride)
        self.body = nn.Sequential(
            *conv_bn(cin, width, 1),
            nn.ReLU(inplace=True),
            *conv_bn(width, width, 3, stride),
            nn.ReLU(inplace=True),
            *conv_bn(width, width * 4, 1),
        )


class ResNet(nn.Module):
    """Stem (7x7/2 conv, 3x3/2 max pool), four stages, global average pool, classifier."""

    def __init__(self, block: type[BasicBlock], layers: list[int], width: int, classes: int):
        super().__init__()
        self.stem = nn.Sequential(
            *conv_bn(3, width, 7, 2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1)
        )
        stages, cin = [], width
        for i, count in enumerate(layers):
            w = width * 2**i
            for j in range(count):
                stages.append(block(cin, w, 2 if i > 0 and j == 0 else 1))
                cin = w * block.expansion
        self.stages = nn.Sequential(*stages)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stages(self.stem(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, (1, 1)), 1))


class InvertedResidual(nn.Module):
    """MobileNetV2 block: 1x1 expand + ReLU6, 3x3 depthwise + ReLU6, 1x1 linear project."""

    def __init__(self, cin: int, cout: int, stride: int, expand: int):
        super().__init__()
        hidden = cin * expand
        layers: list[nn.Module] = []
        if expand != 1:
            layers += [*conv_bn(cin, hidden, 1), nn.ReLU6(inplace=True)]
        layers += [*conv_bn(hidden, hidden, 3, stride, groups=hidden), nn.ReLU6(inplace=True)]
        layers += conv_bn(hidden, cout, 1)
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x) if self.residual else self.body(x)


MOBILENET_V2_STAGES = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1)]
MOBILENET_V2_STAGES += [(6, 160, 3, 2), (6, 320, 1, 1)]
"""(expansion t, channels c, repeats n, first stride s) of each stage, as in the paper."""


def divisible(v: float, by: int = 8) -> int:
    return max(by, int(v + by / 2) // by * by)


class MobileNetV2(nn.Module):
    def __init__(self, width_mult: float, classes: int):
        super().__init__()
        cin = divisible(32 * width_mult)
        layers: list[nn.Module] = [*conv_bn(3, cin, 3, 2), nn.ReLU6(inplace=True)]
        for t, c, n, s in MOBILENET_V2_STAGES:
            cout = divisible(c * width_mult)
            for i in range(n):
                layers.append(InvertedResidual(cin, cout, s if i == 0 else 1, t))
                cin = cout
        last = divisible(1280 * max(1.0, width_mult))
        layers += [*conv_bn(cin, last, 1), nn.ReLU6(inplace=True)]
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(last, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(torch.flatten(x, 1))


class InceptionBlock(nn.Module):
    """Four parallel branches (1x1; 1x1-3x3; 1x1-5x5; 3x3 max pool-1x1) joined on channels."""

    def __init__(self, cin: int, c1: int, c3: tuple[int, int], c5: tuple[int, int], cp: int):
        super().__init__()
        relu = lambda: nn.ReLU(inplace=True)
        self.b1 = nn.Sequential(*conv_bn(cin, c1, 1), relu())
        self.b3 = nn.Sequential(*conv_bn(cin, c3[0], 1), relu(), *conv_bn(c3[0], c3[1], 3), relu())
        self.b5 = nn.Sequential(*conv_bn(cin, c5[0], 1), relu(), *conv_bn(c5[0], c5[1], 5), relu())
        self.bp = nn.Sequential(nn.MaxPool2d(3, 1, 1), *conv_bn(cin, cp, 1), relu())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.b1(x), self.b3(x), self.b5(x), self.bp(x)], 1)


class InceptionNet(nn.Module):
    """A stem, two inception blocks around an average pool, and a classifier."""

    def __init__(self, width: int, classes: int):
        super().__init__()
        w = width
        self.stem = nn.Sequential(*conv_bn(3, w, 3, 2), nn.ReLU(inplace=True))
        self.block1 = InceptionBlock(w, w, (w, 2 * w), (w // 2, w // 2), w // 2)
        self.pool = nn.AvgPool2d(3, 2, 1, count_include_pad=False)
        self.block2 = InceptionBlock(4 * w, 2 * w, (w, 2 * w), (w // 2, w), w)
        self.fc = nn.Linear(6 * w, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.block2(self.pool(self.block1(self.stem(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class BertLayer(nn.Module):
    """A BERT encoder layer: self-attention with an additive mask, erf-GELU FFN, post-LN."""

    def __init__(self, hidden: int, heads: int, intermediate: int, dropout: float = 0.1):
        super().__init__()
        self.heads, self.head_dim = heads, hidden // heads
        self.query, self.key, self.value = (nn.Linear(hidden, hidden) for _ in range(3))
        self.attn_out = nn.Linear(hidden, hidden)
        self.attn_norm = nn.LayerNorm(hidden, eps=1e-12)
        self.ffn_in, self.ffn_out = nn.Linear(hidden, intermediate), nn.Linear(intermediate, hidden)
        self.ffn_norm = nn.LayerNorm(hidden, eps=1e-12)
        self.dropout = nn.Dropout(dropout)

    def split_heads(self, x: torch.Tensor) -> torch.Tensor:
        b, s, _ = x.shape
        return x.view(b, s, self.heads, self.head_dim).permute(0, 2, 1, 3)

    def forward(self, hidden_states: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        b, s, h = hidden_states.shape
        q, k, v = (self.split_heads(f(hidden_states)) for f in (self.query, self.key, self.value))
        additive = (1.0 - attention_mask[:, None, None, :]) * -10000.0
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_dim) + additive
        probs = self.dropout(torch.softmax(scores, dim=-1))
        context = torch.matmul(probs, v).permute(0, 2, 1, 3).reshape(b, s, h)
        x = self.attn_norm(hidden_states + self.dropout(self.attn_out(context)))
        ffn = self.ffn_out(F.gelu(self.ffn_in(x)))
        return self.ffn_norm(x + self.dropout(ffn))


class GptBlock(nn.Module):
    """A GPT-2 decoder block: pre-LN, causal self-attention (masked_fill), tanh-GELU MLP."""

    def __init__(self, hidden: int, heads: int, max_len: int, dropout: float = 0.1):
        super().__init__()
        self.heads, self.head_dim = heads, hidden // heads
        self.ln_1, self.ln_2 = nn.LayerNorm(hidden), nn.LayerNorm(hidden)
        self.c_attn, self.c_proj = nn.Linear(hidden, 3 * hidden), nn.Linear(hidden, hidden)
        self.mlp = nn.Sequential(
            nn.Linear(hidden, 4 * hidden), nn.GELU("tanh"), nn.Linear(4 * hidden, hidden)
        )
        self.dropout = nn.Dropout(dropout)
        causal = torch.tril(torch.ones(max_len, max_len, dtype=torch.bool))
        self.register_buffer("causal", causal.view(1, 1, max_len, max_len), persistent=False)

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        b, t, h = x.shape
        q, k, v = self.c_attn(x).split(h, dim=2)
        q, k, v = (y.view(b, t, self.heads, self.head_dim).transpose(1, 2) for y in (q, k, v))
        scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(self.head_dim))
        scores = scores.masked_fill(~self.causal[:, :, :t, :t], float("-inf"))
        y = self.dropout(F.softmax(scores, dim=-1)) @ v
        return self.dropout(self.c_proj(y.transpose(1, 2).contiguous().view(b, t, h)))

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        x = hidden_states + self.attention(self.ln_1(hidden_states))
        return x + self.dropout(self.mlp(self.ln_2(x)))


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    """HF transformers' rotate_half: (x1, x2) -> (-x2, x1) over the last axis's halves."""
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def repeat_kv(x: torch.Tensor, groups: int) -> torch.Tensor:
    """HF transformers' repeat_kv: (B, Hkv, S, d) -> (B, Hkv * groups, S, d)."""
    b, kv, s, d = x.shape
    return x[:, :, None, :, :].expand(b, kv, groups, s, d).reshape(b, kv * groups, s, d)


class GroupedAttention(nn.Module):
    """LLaMA-2-70B / LLaMA-3 / Mistral / Qwen2 self-attention: `heads` query heads and
    `kv_heads` key and value heads (repeated by `repeat_kv`), the rotary embedding on q and
    k, a causal mask (eager, or SDPA's is_causal); with `past_k` / `past_v`, one decoding
    step over that KV cache, its rotation at the cache's length."""

    REPEATS = {
        "repeat_kv": repeat_kv,
        "interleave": lambda x, g: torch.repeat_interleave(x, g, dim=1),  # as repeat_kv
        "tile": lambda x, g: x.repeat(1, g, 1, 1),  # head h reads KV head h % Hkv
    }
    """How K and V are repeated to the query heads (the last two export as ONNX Tile)."""

    def __init__(  # noqa: PLR0913
        self, dim: int, heads: int, kv_heads: int, positions: int, sdpa: bool = False,
        bias: bool = False, base: float = 10000.0, repeat: str = "repeat_kv",
    ) -> None:  # fmt: skip
        super().__init__()
        self.repeat = self.REPEATS[repeat]
        self.heads, self.kv_heads, self.depth, self.sdpa = heads, kv_heads, dim // heads, sdpa
        self.q, self.o = nn.Linear(dim, dim, bias=False), nn.Linear(dim, dim, bias=False)
        self.k, self.v = (nn.Linear(dim, kv_heads * self.depth, bias=bias) for _ in range(2))
        inv = 1.0 / (base ** (torch.arange(0, self.depth, 2).float() / self.depth))
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
        k, v = self.repeat(k, groups), self.repeat(v, groups)
        if self.sdpa:
            o = F.scaled_dot_product_attention(q, k, v, is_causal=past_k is None)
        else:
            scores = q @ k.transpose(-1, -2) / math.sqrt(self.depth)
            if past_k is None:
                scores = scores + torch.full((s, s), float("-inf")).triu(1)
            o = torch.softmax(scores, dim=-1) @ v
        return self.o(o.transpose(1, 2).reshape(b, s, -1))
