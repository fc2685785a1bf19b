"""Direct convs on the modeled NPU: MobileNetV2's depthwise layers lowered to the vector unit.

For each depthwise 3x3 layer of MobileNetV2 (224x224, batch 1, pad 1, with the bias and relu6
a folded batch norm leaves): the modeled cycles of the `algorithm = "direct"` lowering, the
roofline the profile reports for it, and `runtime/conv_cost.py`'s analytic estimate for
direct (and im2col, which the selection compares it with). The estimates are reported, not
used: the lead calibrates conv_cost from these figures.

Run: `.venv/bin/python benchmarks/bench_conv_lowerings.py [--small] [--dtype f16|f32]
[--target ascend910a]`
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from xdsl.parser import Parser

from ge.registry import make_context
from gedialects.kernel.conv_algorithms import ConvGeometry
from lowering.convert_kernel_to_npu import lower_module
from runtime.conv_cost import cost_direct, cost_im2col
from runtime.npu_interpreter import NpuExecutable
from runtime.targets import load_target

MOBILENET_V2_DEPTHWISE = [  # (channels, input size, stride)
    (32, 112, 1), (96, 112, 2), (144, 56, 1), (144, 56, 2), (192, 28, 1), (192, 28, 2),
    (384, 14, 1), (576, 14, 1), (576, 14, 2), (960, 7, 1),
]  # fmt: skip


def depthwise_module(c: int, hw: int, stride: int, dtype: str):
    out = (hw + 2 - 3) // stride + 1
    x, w = f"tensor<1x{c}x{hw}x{hw}x{dtype}>", f"tensor<{c}x1x3x3x{dtype}>"
    b, y = f"tensor<{c}x{dtype}>", f"tensor<1x{c}x{out}x{out}x{dtype}>"
    attrs = (
        f"strides = array<i64: {stride}, {stride}>, pads = array<i64: 1, 1, 1, 1>, "
        f'dilations = array<i64: 1, 1>, groups = {c} : i64, algorithm = "direct", '
        'activation = "clip", activation_attrs = {min = 0.0 : f64, max = 6.0 : f64}, '
        'fused_from = ["ge.conv2d", "ge.batch_norm", "ge.clip"]'
    )
    text = f"""func.func @main(%x: {x}, %w: {w}, %b: {b}) -> {y} {{
  %y = kernel.conv2d %x, %w bias %b : {b} {{{attrs}}} : {x}, {w} -> {y}
  func.return %y : {y}
}}"""
    return Parser(make_context(), text).parse_module()


def measure(c: int, hw: int, stride: int, dtype: str, target_name: str) -> dict:
    target = load_target(target_name)
    np_dtype = np.float16 if dtype == "f16" else np.float32
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal(s).astype(np_dtype) for s in ((1, c, hw, hw), (c, 1, 3, 3), (c,))]
    start = time.perf_counter()
    lowered = lower_module(depthwise_module(c, hw, stride, dtype), target_name)
    lower_s = time.perf_counter() - start
    start = time.perf_counter()
    kernel = NpuExecutable(lowered, target).run(inputs).profile.kernels[0]
    run_s = time.perf_counter() - start
    g = ConvGeometry(1, c, hw, hw, c, 3, 3, (stride, stride), (1, 1, 1, 1), (1, 1), c)
    return {
        "cycles": kernel.cycles,
        "roofline": kernel.roofline_cycles,
        "direct_estimate": cost_direct(g, target, np.dtype(np_dtype)).cycles,
        "im2col_estimate": cost_im2col(g, target, np.dtype(np_dtype)).cycles,
        "cores": kernel.cores,
        "busy_v": kernel.busy.get("V", 0.0) / max(kernel.cores, 1),
        "lower_s": lower_s,
        "run_s": run_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="the first three layers only")
    parser.add_argument("--dtype", default="f32", choices=["f16", "f32"])
    parser.add_argument("--target", default="ascend910a")
    args = parser.parse_args()
    layers = MOBILENET_V2_DEPTHWISE[:3] if args.small else MOBILENET_V2_DEPTHWISE
    print(f"MobileNetV2 depthwise 3x3 layers, {args.dtype}, {args.target}, direct lowering")
    head = f"{'layer':<18}{'cycles':>9}{'roofline':>10}{'ratio':>7}{'V/core':>9}"
    print(head + f"{'est direct':>12}{'meas/est':>10}{'est im2col':>12}{'cores':>7}{'run s':>7}")
    totals = np.zeros(3)
    for c, hw, stride in layers:
        m = measure(c, hw, stride, args.dtype, args.target)
        totals += (m["cycles"], m["roofline"], m["direct_estimate"])
        print(
            f"{f'{c}ch {hw}x{hw}/{stride}':<18}{m['cycles']:>9,.0f}{m['roofline']:>10,.0f}"
            f"{m['roofline'] / m['cycles']:>7.2f}{m['busy_v']:>9,.0f}"
            f"{m['direct_estimate']:>12,.0f}{m['cycles'] / m['direct_estimate']:>10.2f}"
            f"{m['im2col_estimate']:>12,.0f}{m['cores']:>7}{m['run_s']:>7.2f}",
            flush=True,
        )
    cycles, roofline, estimate = totals
    print(
        f"{'total':<18}{cycles:>9,.0f}{roofline:>10,.0f}{roofline / cycles:>7.2f}{'':>9}"
        f"{estimate:>12,.0f}{cycles / estimate:>10.2f}"
    )


if __name__ == "__main__":
    main()
