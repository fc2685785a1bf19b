"""Rotary position embeddings from torch, at the npu level, against onnxruntime: a LLaMA
attention block (HF transformers' rotate_half form) exported by torch.onnx.export, whose
query and key rotations must each run as one `kernel.rope`, with no transpose kernel left
for the head split."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

import ge
from ge.frontends.onnx import import_onnx_model

torch = pytest.importorskip("torch")
from ge.testing.models import export_onnx  # noqa: E402

nn = torch.nn


def rotate_half(x):  # noqa: ANN001, ANN201
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class LlamaAttention(nn.Module):
    """LLaMA's self-attention with its rotary embedding (cos and sin of shape (1, 1, S, D),
    gathered from a cache by position, as `LlamaRotaryEmbedding` gives them)."""

    def __init__(self, dim: int = 64, heads: int = 4, seq: int = 12) -> None:
        super().__init__()
        self.heads, self.depth = heads, dim // heads
        self.q, self.k, self.v, self.o = (nn.Linear(dim, dim, bias=False) for _ in range(4))
        inv = 1.0 / (10000 ** (torch.arange(0, self.depth, 2).float() / self.depth))
        angles = torch.outer(torch.arange(seq).float(), inv)
        table = torch.cat((angles, angles), dim=-1)
        self.register_buffer("cos", table.cos()[None, None])
        self.register_buffer("sin", table.sin()[None, None])

    def forward(self, x):  # noqa: ANN001, ANN201
        b, s, _ = x.shape
        split = lambda t: t.view(b, s, self.heads, self.depth).transpose(1, 2)  # noqa: E731
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        cos, sin = self.cos[:, :, :s], self.sin[:, :, :s]
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        scores = torch.softmax(q @ k.transpose(-1, -2) / self.depth**0.5, dim=-1)
        return self.o((scores @ v).transpose(1, 2).reshape(b, s, -1))


def _two_ropes_and_no_copies(model: nn.Module, opset: int) -> None:
    """`model` on (2, 12, 64) at the npu level equals onnxruntime, with one `kernel.rope` on
    the npu for q and one for k, and neither copies for rotate_half (or a partial
    rotation's slices and concat) nor the head-split transposes (the ropes moved above them,
    and the attention reads the (B, S, H, d) layout: fuse-attention-layout)."""
    torch.manual_seed(0)
    x = torch.randn(2, 12, 64)
    proto = export_onnx(model.eval(), [x], opset=opset, input_names=["x"])
    feeds = {"x": x.numpy()}
    want = ort.InferenceSession(proto.SerializeToString()).run(None, feeds)
    compiled = ge.compile(import_onnx_model(proto), level="npu", cache=False)
    got = compiled.run(**feeds)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-4, atol=1e-5)
    kernels = compiled.last_profile["kernels"]
    ropes = [k for k in kernels if k["op"] == "kernel.rope"]
    assert len(ropes) == 2 and all(k["engine"] == "npu" for k in ropes), kernels
    moves = ("kernel.concat", "kernel.slice", "kernel.transpose")
    assert not [k for k in kernels if k["op"] in moves], kernels


@pytest.mark.parametrize("opset", [14, 17])
def test_llama_attention_rotations_are_one_kernel_each(opset: int) -> None:
    torch.manual_seed(0)
    _two_ropes_and_no_copies(LlamaAttention(), opset)


class PartialRotaryAttention(LlamaAttention):
    """Phi-2 / GPT-NeoX (rotary_pct): only the first `rotary` columns of each head rotate,
    the rest of q and k pass through, concatenated back after the rotation."""

    def __init__(self, dim: int = 64, heads: int = 4, seq: int = 12, rotary: int = 8) -> None:
        super().__init__(dim, heads, seq)
        self.rotary = rotary
        inv = 1.0 / (10000 ** (torch.arange(0, rotary, 2).float() / rotary))
        angles = torch.outer(torch.arange(seq).float(), inv)
        table = torch.cat((angles, angles), dim=-1)
        self.cos, self.sin = table.cos()[None, None], table.sin()[None, None]

    def forward(self, x):  # noqa: ANN001, ANN201
        b, s, _ = x.shape
        split = lambda t: t.view(b, s, self.heads, self.depth).transpose(1, 2)  # noqa: E731
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        cos, sin = self.cos[:, :, :s], self.sin[:, :, :s]
        r = self.rotary
        q = torch.cat((q[..., :r] * cos + rotate_half(q[..., :r]) * sin, q[..., r:]), dim=-1)
        k = torch.cat((k[..., :r] * cos + rotate_half(k[..., :r]) * sin, k[..., r:]), dim=-1)
        scores = torch.softmax(q @ k.transpose(-1, -2) / self.depth**0.5, dim=-1)
        return self.o((scores @ v).transpose(1, 2).reshape(b, s, -1))


@pytest.mark.parametrize("opset", [14, 17])
def test_partial_rotary_is_one_kernel_each(opset: int) -> None:
    """The rotated part's slice, the pass-through slice and the concat join the rope: one
    `kernel.rope` (rotary_dim 8 of 16) each for q and k, and the head split transposes
    become the attention's layouts as with a whole rotation."""
    torch.manual_seed(0)
    _two_ropes_and_no_copies(PartialRotaryAttention(), opset)
