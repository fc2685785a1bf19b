"""A transposed matmul result computed as Wᵀ Aᵀ vs a GEMM and a transpose kernel, on
ascend910a.

Stable Diffusion's VAE attention projects its output on (HW, C) rows and transposes it
back to an NCHW image for the skip connection (SDXL's transformer blocks view the rows as
(b, H, W, C) and permute); an MLP-Mixer's token-mixing MLP works on
the transposed activation and transposes its output back. `fuse-matmul-transpose` makes
such a product Wᵀ (a constant) times the rows read transposed (the GEMM's MTE1 loads
transpose them), so no transpose kernel runs and the skip connection becomes the GEMM's
residual. Each case, a plain `torch.nn` model exported at opset 17, is compiled by
`ge-optimize` with and without the pass, lowered and run on the npu interpreter; the table
gives the kernels' summed modeled cycles and HBM bytes, their ratio, the kernels run and
the fused output's distance from onnxruntime's.

    .venv/bin/python benchmarks/bench_transposed_product.py
"""

from __future__ import annotations

import torch
from pipeline_ab import compare, torch_case
from torch import nn

from passes.pipelines import GE_OPTIMIZE

FUSED = ",".join(GE_OPTIMIZE)
UNFUSED = FUSED.replace("fuse-matmul-transpose,", "")


class VaeAttention(nn.Module):
    """The VAE mid-block's one-head attention over the latent's pixels (diffusers' Attention
    with linear projections): GroupNorm, q/k/v, SDPA, out, viewed back, + x."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = nn.GroupNorm(32, channels)
        self.q, self.k, self.v, self.o = (nn.Linear(channels, channels) for _ in range(4))

    def forward(self, x):  # noqa: ANN001, ANN201
        b, c, h, w = x.shape
        rows = self.norm(x).view(b, c, h * w).transpose(1, 2)
        q, k, v = (f(rows)[:, None] for f in (self.q, self.k, self.v))
        o = nn.functional.scaled_dot_product_attention(q, k, v)[:, 0]
        return self.o(o).transpose(1, 2).reshape(b, c, h, w) + x


class LinearProjections(nn.Module):
    """SDXL's transformer wrapper with linear proj_in / proj_out: NCHW -> (b, HW, C) rows,
    proj_in, GELU (standing for the blocks), proj_out, viewed as (b, H, W, C), permuted
    back to NCHW, + x."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.proj_in, self.proj_out = nn.Linear(channels, channels), nn.Linear(channels, channels)

    def forward(self, x):  # noqa: ANN001, ANN201
        b, c, h, w = x.shape
        rows = x.permute(0, 2, 3, 1).reshape(b, h * w, c)
        rows = self.proj_out(nn.functional.gelu(self.proj_in(rows)))
        return rows.reshape(b, h, w, c).permute(0, 3, 1, 2) + x


class MixerBlock(nn.Module):
    """MLP-Mixer: token mixing on the transposed activation, then channel mixing."""

    def __init__(self, tokens: int, channels: int, token_hidden: int, channel_hidden: int):
        super().__init__()
        self.n1, self.n2 = nn.LayerNorm(channels), nn.LayerNorm(channels)
        self.tokens = nn.Sequential(
            nn.Linear(tokens, token_hidden), nn.GELU(), nn.Linear(token_hidden, tokens)
        )
        self.channels = nn.Sequential(
            nn.Linear(channels, channel_hidden), nn.GELU(), nn.Linear(channel_hidden, channels)
        )

    def forward(self, x):  # noqa: ANN001, ANN201
        x = x + self.tokens(self.n1(x).transpose(1, 2)).transpose(1, 2)
        return x + self.channels(self.n2(x))


torch.manual_seed(0)
CASES = [
    ("SD VAE attention, 512 channels at 32x32", torch_case(VaeAttention(512), (1, 512, 32, 32))),
    ("SDXL proj_in / proj_out, 640 channels at 32x32",
     torch_case(LinearProjections(640), (1, 640, 32, 32))),
    ("MLP-Mixer S/16 block, 196 tokens x 512", torch_case(MixerBlock(196, 512, 256, 2048),
                                                          (1, 196, 512))),
]  # fmt: skip


def main() -> None:
    compare(CASES, UNFUSED, FUSED, ("case", "transpose", "swapped"))


if __name__ == "__main__":
    main()
