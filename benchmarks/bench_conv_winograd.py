"""Winograd convs on the modeled NPU: lowered F(2x2,3x3) and F(4x4,3x3) against im2col.

For ResNet-50's 3x3 stride-1 convs (batch 1, pad 1, f16, constant weights, as a compiled
model has them): the modeled cycles of each lowering (the sum of its kernels, which run one
after another), per kernel for Winograd (input transform, GEMM, output transform; the
weight transform is done at compile time), beside `runtime/conv_cost.py`'s analytic
estimate for the same algorithm. The estimates are reported, not used: the lead calibrates
conv_cost from these figures.

Run: `.venv/bin/python benchmarks/bench_conv_winograd.py [--small] [--target ascend910a]`
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from xdsl.parser import Parser

from ge.registry import make_context
from gedialects.ge.constant import ConstantOp, print_constants_in_full
from gedialects.kernel.conv_algorithms import ConvGeometry
from lowering.convert_kernel_to_npu import lower_module
from runtime.conv_cost import candidate_costs
from runtime.npu_interpreter import NpuExecutable
from runtime.targets import load_target

LAYERS = [(64, 56), (128, 28), (256, 14), (512, 7)]
ALGORITHMS = ["im2col", "winograd_2x2", "winograd_4x4"]


def conv_module(c: int, hw: int, algorithm: str, weights: np.ndarray):
    t = f"tensor<1x{c}x{hw}x{hw}xf16>"
    wt = f"tensor<{c}x{c}x3x3xf16>"
    with print_constants_in_full():
        const = str(ConstantOp.from_array(weights)).replace("%0", "%w", 1)
    attrs = (
        "strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>,"
        f' groups = 1 : i64, algorithm = "{algorithm}", activation = "relu",'
        ' fused_from = ["ge.conv2d"]'
    )
    text = f"""func.func @main(%x: {t}) -> {t} {{
  {const}
  %y = kernel.conv2d %x, %w {{{attrs}}} : {t}, {wt} -> {t}
  func.return %y : {t}
}}"""
    return Parser(make_context(), text).parse_module()


def measure(c: int, hw: int, algorithm: str, target_name: str) -> dict:
    rng = np.random.default_rng(0)
    weights = (rng.standard_normal((c, c, 3, 3)) / (3 * np.sqrt(c))).astype(np.float16)
    x = rng.standard_normal((1, c, hw, hw)).astype(np.float16)
    start = time.perf_counter()
    lowered = lower_module(conv_module(c, hw, algorithm, weights), target_name)
    lowered_s = time.perf_counter() - start
    result = NpuExecutable(lowered, load_target(target_name)).run([x])
    kernels = result.profile.kernels
    return {
        "cycles": sum(k.cycles for k in kernels),
        "roofline": sum(k.roofline_cycles for k in kernels),
        "parts": [round(k.cycles) for k in kernels],
        "lower_s": lowered_s,
        "run_s": time.perf_counter() - start - lowered_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="only the two smaller layers")
    parser.add_argument("--target", default="ascend910a")
    args = parser.parse_args()
    target = load_target(args.target)
    layers = LAYERS[2:] if args.small else LAYERS
    print(f"target {args.target}; modeled cycles (sum of the conv's kernels), f16, batch 1")
    head = f"{'layer':<14}{'algorithm':<14}{'modeled':>10}{'vs im2col':>10}{'conv_cost':>11}"
    print(f"{head}{'roofline':>10}   kernels (input, gemm, output)   lower/run s")
    for c, hw in layers:
        g = ConvGeometry(1, c, hw, hw, c, 3, 3, pads=(1, 1, 1, 1))
        estimate = {e.algorithm: e.cycles for e in candidate_costs(g, target, np.float16)}
        base = None
        for algorithm in ALGORITHMS:
            r = measure(c, hw, algorithm, args.target)
            base = base or r["cycles"]
            print(
                f"{f'{c}ch {hw}x{hw}':<14}{algorithm:<14}{r['cycles']:>10,.0f}"
                f"{r['cycles'] / base:>10.2f}{estimate[algorithm]:>11,.0f}"
                f"{r['roofline']:>10,.0f}   {str(r['parts']):<32}"
                f"{r['lower_s']:.1f}/{r['run_s']:.1f}"
            )


if __name__ == "__main__":
    main()
