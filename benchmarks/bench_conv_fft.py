"""FFT convolution on the modeled NPU: lowered cycles vs im2col's and vs the analytic estimate.

For "same" convs (stride 1, padding k // 2) of kernels 3, 7, 15, 31 on 64x64 images with 8 and
32 channels (f32, batch 1, weights constant as in a model): the modeled cycles of the fft
lowering (sum of its kernels, which run one after another) and of each of its steps, of the
im2col lowering, and `runtime.conv_cost`'s estimates for both. The last columns support the
choice of the vector unit for the per-bin channel sum: the lowered mix kernel's cycles beside
an estimate of the cube alternative (a batched GEMM over the bins, its MTE1 load of each bin's
(2C x 2O) weight block bounding it, without the two transposes it would also need).

Run: `.venv/bin/python benchmarks/bench_conv_fft.py [--small] [--target ascend910a]`
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

import numpy as np
from xdsl.parser import Parser

from ge.registry import make_context
from gedialects.errors import UnsupportedError
from gedialects.ge.constant import ConstantOp
from gedialects.interpreter import run_reference
from gedialects.kernel.conv_algorithms import ConvGeometry
from lowering.convert_kernel_to_npu import lower_module
from lowering.dft import half
from runtime.conv_cost import cost_fft, cost_im2col
from runtime.cost_model import mmad_cycles
from runtime.npu_interpreter import NpuExecutable
from runtime.targets import load_target


def conv_module(c: int, hw: int, o: int, k: int, algorithm: str, weights: np.ndarray):
    p = k // 2
    x, w, y = (f"tensor<{'x'.join(map(str, s))}xf32>" for s in
               ((1, c, hw, hw), (o, c, k, k), (1, o, hw, hw)))  # fmt: skip
    attrs = (
        f"strides = array<i64: 1, 1>, pads = array<i64: {p}, {p}, {p}, {p}>, "
        f'dilations = array<i64: 1, 1>, groups = 1 : i64, algorithm = "{algorithm}"'
    )
    text = f"""func.func @main(%x: {x}, %w: {w}) -> {y} {{
  %y = kernel.conv2d %x, %w {{{attrs}, fused_from = ["ge.conv2d"]}} : {x}, {w} -> {y}
  func.return %y : {y}
}}"""
    module = Parser(make_context(), text).parse_module()
    block = next(iter(module.ops)).body.block
    const = ConstantOp(weights)
    block.insert_op_before(const, block.first_op)
    block.args[1].replace_all_uses_with(const.output)
    return module


def modeled(module, inputs, target):  # noqa: ANN001, ANN201
    result = NpuExecutable(lower_module(module, target)).run(inputs)
    steps: dict[str, float] = defaultdict(float)
    for kernel in result.profile.kernels:
        steps[kernel.name.removeprefix("conv2d_0").lstrip("_") or "inv_cols"] += kernel.cycles
    return result.outputs[0], sum(steps.values()), steps


def cube_mix_bound(g: ConvGeometry, target) -> float:  # noqa: ANN001
    """The cube alternative of the channel sum: per bin one (N x 2C) @ (2C x 2O) f32 GEMM."""
    p, q = g.h + g.pads[0] + g.pads[2], g.w + g.pads[1] + g.pads[3]
    bins = p * half(q)
    cube = bins * mmad_cycles(target, g.n, 2 * g.o, 2 * g.c, np.dtype(np.float32))
    mte1 = bins * 2 * g.c * 2 * g.o * 4 / target.rate("l1", "l0b")
    return max(cube, mte1) / target.ai_cores


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true", help="8 channels only")
    parser.add_argument("--target", default="ascend910a")
    args = parser.parse_args()
    target = load_target(args.target)
    rng = np.random.default_rng(0)
    hw = 64
    print(f"target {target.name}, 1xCx{hw}x{hw} f32, 'same' padding, modeled cycles")
    head = f"{'C=O':>4}{'k':>4}{'fft':>10}{'est fft':>10}{'im2col':>10}{'est i2c':>10}"
    print(head + f"{'fwd dft':>10}{'mix':>10}{'inverse':>10}{'cube mix':>10}{'wall s':>8}")
    for ch in (8,) if args.small else (8, 32):
        for k in (3, 7, 15, 31):
            start = time.perf_counter()
            x = rng.standard_normal((1, ch, hw, hw)).astype(np.float32)
            w = (rng.standard_normal((ch, ch, k, k)) / k).astype(np.float32)
            g = ConvGeometry(1, ch, hw, hw, ch, k, k, pads=(k // 2,) * 4)
            fft_mod = conv_module(ch, hw, ch, k, "fft", w)
            got, fft, steps = modeled(fft_mod, [x, w], target)
            want = run_reference(fft_mod, [x, w])[0]
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())
            try:
                _, i2c, _ = modeled(conv_module(ch, hw, ch, k, "im2col", w), [x, w], target)
            except UnsupportedError:  # its weight columns (C1 * k * k * 16, tn) overflow L1
                i2c = float("nan")
            est_fft = cost_fft(g, target, np.dtype(np.float32)).cycles
            est_i2c = cost_im2col(g, target, np.dtype(np.float32)).cycles
            fwd = steps["x_cols"] + steps["x_rows"]
            inv = steps["inv_rows"] + steps["inv_cols"]
            wall = time.perf_counter() - start
            print(
                f"{ch:>4}{k:>4}{fft:>10,.0f}{est_fft:>10,.0f}{i2c:>10,.0f}{est_i2c:>10,.0f}"
                f"{fwd:>10,.0f}{steps['mix']:>10,.0f}{inv:>10,.0f}"
                f"{cube_mix_bound(g, target):>10,.0f}{wall:>8.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
