"""A gated linear unit's product in the matmul's epilogue vs as an elementwise kernel, on
ascend910a.

LLaMA, Mistral, Qwen and Gemma MLPs compute down(act(x Wg) * (x Wu)) (SwiGLU, GeGLU); the
gate's matmul takes its activation as an epilogue, but the product of the two projections
was a `kernel.elementwise` that read both from HBM and wrote the gated one.
`fuse-matmul-multiply` makes the product the second matmul's epilogue (its `multiplier`).
diffusers' GEGLU chunks one projection into the two halves, which the pass first makes two
matmuls by the weight's columns (the chunk's slices were copy kernels). A layer scale
(ConvNeXt's, CaiT's gamma * (x W + b) before the skip connection) is the broadcast case.
Each case, a plain `torch.nn` model exported at opset 17, is compiled by `ge-optimize` with
and without the fusion (the pass left out and its pattern taken out of `fuse-elementwise`,
which also runs it), lowered and run on the npu interpreter; the table gives the kernels'
summed modeled cycles and HBM bytes, their ratio, the kernels run and the fused output's
distance from onnxruntime's.

    .venv/bin/python benchmarks/bench_gated_mlp.py
"""

from __future__ import annotations

import contextlib

import torch
from pipeline_ab import compare, torch_case
from torch import nn

import passes.fuse_elementwise as fuse_elementwise
from passes.fuse_matmul_multiply import MatMulMultiplier
from passes.pipelines import GE_OPTIMIZE

FUSED = ",".join(GE_OPTIMIZE)
UNFUSED = FUSED.replace("fuse-matmul-multiply,", "")


class GatedMlp(nn.Module):
    """down(act(x Wg) * (x Wu)): SwiGLU with silu, GeGLU with gelu (T5 v1.1: tanh form)."""

    def __init__(self, dim: int, hidden: int, act: nn.Module) -> None:
        super().__init__()
        self.gate = nn.Linear(dim, hidden, bias=False)
        self.up = nn.Linear(dim, hidden, bias=False)
        self.down = nn.Linear(hidden, dim, bias=False)
        self.act = act

    def forward(self, x):  # noqa: ANN001, ANN201
        return x + self.down(self.act(self.gate(x)) * self.up(x))


class Geglu(nn.Module):
    """diffusers' GEGLU feed-forward (every Stable Diffusion transformer block): one
    projection to twice the width, chunked: out(h * gelu(gate)) + x."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.proj, self.out = nn.Linear(dim, 2 * hidden), nn.Linear(hidden, dim)

    def forward(self, x):  # noqa: ANN001, ANN201
        h, gate = self.proj(x).chunk(2, dim=-1)
        return x + self.out(h * nn.functional.gelu(gate))


class LayerScaleMlp(nn.Module):
    """ConvNeXt's channels-last MLP: x + gamma * (gelu(x W1 + b1) W2 + b2)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(dim, 4 * dim), nn.Linear(4 * dim, dim)
        self.gamma = nn.Parameter(torch.rand(dim) * 0.1)

    def forward(self, x):  # noqa: ANN001, ANN201
        return x + self.gamma * self.fc2(nn.functional.gelu(self.fc1(x)))


torch.manual_seed(0)
CASES = [
    ("SwiGLU d 1024 -> 2816, 256 tokens",
     torch_case(GatedMlp(1024, 2816, nn.SiLU()), (1, 256, 1024))),
    ("SwiGLU d 2048 -> 5632 (TinyLlama), 128 tokens",
     torch_case(GatedMlp(2048, 5632, nn.SiLU()), (1, 128, 2048))),
    ("SwiGLU d 2048 -> 5632, one decoding token",
     torch_case(GatedMlp(2048, 5632, nn.SiLU()), (1, 1, 2048))),
    ("GeGLU (tanh) d 512 -> 1024 (T5 v1.1 small), 512 tokens",
     torch_case(GatedMlp(512, 1024, nn.GELU("tanh")), (1, 512, 512))),
    ("SD 1.5 GEGLU, d 320 -> 1280, 32x32 latent", torch_case(Geglu(320, 1280), (1, 1024, 320))),
    ("ConvNeXt-T layer scale, 96 channels at 56x56",
     torch_case(LayerScaleMlp(96), (1, 56 * 56, 96))),
]  # fmt: skip


@contextlib.contextmanager
def without_the_pattern():
    """`fuse-elementwise` without MatMulMultiplier: the unfused column's pipeline."""
    saved = fuse_elementwise.EPILOGUE_PATTERNS
    fuse_elementwise.EPILOGUE_PATTERNS = tuple(p for p in saved if p is not MatMulMultiplier)
    try:
        yield
    finally:
        fuse_elementwise.EPILOGUE_PATTERNS = saved


def main() -> None:
    compare(CASES, UNFUSED, FUSED, ("case", "mul", "epilogue"), before_context=without_the_pattern)


if __name__ == "__main__":
    main()
