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

    .venv/bin/python benchmarks/bench_group_norm.py [--kernels]

`--kernels` prints instead one group norm or instance norm kernel per line (a GroupNorm +
SiLU, GroupNorm(1, C), few-channel instance norms, an f16 group), lowered and run alone:
its modeled cycles beside its roofline and the kernels it took (two when its groups are
split over the cores), and its distance from the reference.
"""

from __future__ import annotations

import argparse

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


KERNELS = [
    ("group_norm", (2, 512, 64, 64), 32, "silu", "f32"),
    ("group_norm", (1, 320, 32, 32), 32, "silu", "f32"),
    ("group_norm", (1, 256, 32, 32), 1, "silu", "f32"),
    ("group_norm", (1, 128, 128, 128), 1, None, "f32"),
    ("group_norm", (1, 512, 64, 64), 32, "silu", "f16"),
    ("instance_norm", (1, 3, 224, 224), 3, None, "f32"),
    ("instance_norm", (1, 32, 256, 256), 32, None, "f32"),
    ("instance_norm", (1, 64, 56, 56), 64, None, "f32"),
]
"""(kind, shape, groups, activation, dtype) of `--kernels`."""


def _kernel_module(kind: str, shape: tuple, groups: int, activation: str | None, dtype: str):  # noqa: ANN202
    from xdsl.parser import Parser

    from ge.registry import make_context

    x = f"tensor<{'x'.join(map(str, shape))}x{dtype}>"
    v = f"tensor<{shape[1]}x{dtype}>"
    props = "epsilon = 1.0e-05 : f64"
    if kind == "group_norm":
        props += f", num_groups = {groups} : i64"
        props += f', activation = "{activation}"' if activation else ""
    fused = ", ".join(f'"ge.{n}"' for n in (kind, activation) if n)
    text = f"""func.func @main(%x: {x}, %s: {v}, %b: {v}) -> {x} {{
  %y = kernel.{kind} %x, %s, %b {{{props}, fused_from = [{fused}]}} : ({x}, {v}, {v}) -> {x}
  func.return %y : {x}
}}"""
    return Parser(make_context(), text).parse_module()


def kernels() -> None:
    from gedialects.interpreter import run_reference
    from lowering.convert_kernel_to_npu import lower_module
    from runtime.npu_interpreter import NpuExecutable

    print(f"{'kernel':<44} {'cycles':>9} {'roofline':>9} {'ratio':>6} kernels  error")
    for kind, shape, groups, activation, dtype in KERNELS:
        module = _kernel_module(kind, shape, groups, activation, dtype)
        rng = np.random.default_rng(0)
        np_type = np.float16 if dtype == "f16" else np.float32
        x = (rng.standard_normal(shape) * 2 + 1).astype(np_type)
        scale, bias = (rng.standard_normal(shape[1]).astype(np_type) for _ in range(2))
        want = run_reference(module, [x, scale, bias])[0].astype(np.float64)
        result = NpuExecutable(lower_module(module)).run([x, scale, bias])
        profiles = result.profile.kernels
        cycles = sum(k.cycles for k in profiles)
        roof = sum(k.roofline_cycles for k in profiles)  # each kernel's own bound
        err = float(np.abs(result.outputs[0] - want).max() / np.abs(want).max())
        label = f"{kind} {'x'.join(map(str, shape))} G{groups} {activation or ''} {dtype}"
        print(f"{label:<44} {cycles:>9,.0f} {roof:>9,.0f} {roof / cycles:>6.2f} "
              f"{len(profiles):>7}  {err:.1e}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kernels", action="store_true", help="norm kernels alone")
    if parser.parse_args().kernels:
        kernels()
        return
    np.set_printoptions(precision=3)
    compare(CASES, UNFUSED, FUSED, ("case", "two", "one"))


if __name__ == "__main__":
    main()
