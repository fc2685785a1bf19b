"""GroupNorm + SiLU as one kernel vs as the instance norm and elementwise kernels the exported
graph spells, on ascend910a.

`torch.onnx.export` writes `nn.GroupNorm` as Reshape, InstanceNormalization, Reshape, Mul,
Add (any opset), and a SiLU after it as Sigmoid and Mul. Without `recognize-group-norm` and
`fuse-norm-activation` that is an instance norm kernel and an elementwise kernel (the affine
and the SiLU), so the normalized tensor goes to HBM and back; with them it is one
`kernel.group_norm` that applies the affine and the SiLU to each tile before its store.
Each case, a plain `torch.nn` model of a diffusion net's layers exported at opset 17, is
compiled by `ge-optimize` with and without the two passes, lowered and run on the npu
interpreter; the table gives the kernels' summed modeled cycles and HBM bytes, their ratio,
the kernels run and the fused output's distance from onnxruntime's.

    .venv/bin/python benchmarks/bench_group_norm.py
"""

from __future__ import annotations

import numpy as np
import torch
from pipeline_ab import compare
from torch import nn

from ge.testing.models import export_onnx
from passes.pipelines import GE_OPTIMIZE

FUSED = ",".join(GE_OPTIMIZE)
UNFUSED = FUSED.replace("recognize-group-norm,", "").replace("fuse-norm-activation,", "")


class NormSilu(nn.Module):
    def __init__(self, channels: int, groups: int = 32) -> None:
        super().__init__()
        self.norm = nn.GroupNorm(groups, channels)

    def forward(self, x):  # noqa: ANN001, ANN201
        return nn.functional.silu(self.norm(x))


class ResnetBlock(nn.Module):
    """Stable Diffusion's ResnetBlock2D (VAE decoder and UNet) without the time embedding."""

    def __init__(self, channels: int, groups: int = 32) -> None:
        super().__init__()
        self.a, self.b = NormSilu(channels, groups), NormSilu(channels, groups)
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x):  # noqa: ANN001, ANN201
        return x + self.conv2(self.b(self.conv1(self.a(x))))


def _case(model: nn.Module, shape: tuple[int, ...]):  # noqa: ANN202
    def build():  # noqa: ANN202
        torch.manual_seed(0)
        for norm in (m for m in model.modules() if isinstance(m, nn.GroupNorm)):
            with torch.no_grad():
                norm.weight.uniform_(0.5, 1.5)
                norm.bias.uniform_(-0.5, 0.5)
        x = torch.randn(shape)
        proto = export_onnx(model.eval(), [x], input_names=["x"])
        return proto, x.numpy()

    return build


CASES = [
    ("SD VAE GroupNorm+SiLU 512ch at 64^2", _case(NormSilu(512), (1, 512, 64, 64))),
    ("SD VAE GroupNorm+SiLU 128ch at 256^2", _case(NormSilu(128), (1, 128, 256, 256))),
    ("SD UNet GroupNorm+SiLU 320ch at 32^2, batch 2", _case(NormSilu(320), (2, 320, 32, 32))),
    ("SD VAE ResnetBlock 512ch at 32^2", _case(ResnetBlock(512), (1, 512, 32, 32))),
    ("SD UNet ResnetBlock 640ch at 16^2", _case(ResnetBlock(640), (1, 640, 16, 16))),
]


def main() -> None:
    np.set_printoptions(precision=3)
    compare(CASES, UNFUSED, FUSED, ("case", "two", "one"))


if __name__ == "__main__":
    main()
