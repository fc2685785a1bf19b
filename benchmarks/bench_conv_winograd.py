"""Winograd convs on the modeled NPU: fused and unfused F(2x2,3x3) / F(4x4,3x3) against im2col.

For ResNet-50's 3x3 stride-1 convs (batch 1, pad 1, relu, constant weights, as a compiled
model has them), in f16 and f32: the modeled cycles of im2col, of Winograd's fused kernel and
of its three-kernel form (each forced), which form the lowering picks, the kernels' roofline,
and `runtime/conv_cost.py`'s analytic estimate for the algorithm (reported, not used: the lead
calibrates conv_cost from these figures). The conv's roofline (cube flops of the direct
convolution over the chip's peak vs. its compulsory HBM bytes) is the last column.

Run: `.venv/bin/python benchmarks/bench_conv_winograd.py [--small] [--dtype f16|f32|both]`
"""

from __future__ import annotations

import argparse
import time
from unittest import mock

import numpy as np
from xdsl.parser import Parser

import lowering.lower_conv_winograd as winograd
from ge.registry import make_context
from gedialects.ge.constant import ConstantOp, print_constants_in_full
from gedialects.kernel.conv_algorithms import ConvGeometry
from lowering.convert_kernel_to_npu import lower_module
from runtime.conv_cost import candidate_costs
from runtime.npu_interpreter import NpuExecutable
from runtime.targets import Target, load_target

LAYERS = [(64, 56), (128, 28), (256, 14), (512, 7)]
FORMS = ["im2col", "winograd_2x2", "winograd_4x4"]


def conv_module(c: int, hw: int, algorithm: str, weights: np.ndarray, dtype: str = "f16"):
    t = f"tensor<1x{c}x{hw}x{hw}x{dtype}>"
    wt = f"tensor<{c}x{c}x3x3x{dtype}>"
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


def measure(c: int, hw: int, algorithm: str, target_name: str, dtype=np.float16, form=None):
    """Modeled cycles of one layer; `form` forces Winograd's "fused" or "unfused" form."""
    rng = np.random.default_rng(0)
    weights = (rng.standard_normal((c, c, 3, 3)) / (3 * np.sqrt(c))).astype(dtype)
    x = rng.standard_normal((1, c, hw, hw)).astype(dtype)
    name = "f16" if dtype == np.float16 else "f32"
    patches = {"fused": ("FUSED_SLACK", 0.0), "unfused": ("choose_fused_tile", lambda t, s: None)}
    start = time.perf_counter()
    with mock.patch.object(winograd, *patches[form]) if form else _nothing():
        lowered = lower_module(conv_module(c, hw, algorithm, weights, name), target_name)
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


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *args) -> None:  # noqa: ANN002
        return None


def conv_roofline(target: Target, c: int, hw: int, itemsize: int) -> float:
    flops = 2 * c * c * 9 * hw * hw
    peak = target.peak_flops_per_cycle / (2 if itemsize == 4 else 1)
    hbm = (2 * c * hw * hw + 9 * c * c) * itemsize
    return max(flops / peak, hbm / target.hbm_bandwidth)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="only the two deeper layers")
    parser.add_argument("--dtype", default="both", choices=["f16", "f32", "both"])
    parser.add_argument("--target", default="ascend910a")
    args = parser.parse_args()
    target = load_target(args.target)
    layers = LAYERS[2:] if args.small else LAYERS
    dtypes = {"f16": [np.float16], "f32": [np.float32], "both": [np.float16, np.float32]}
    print(f"target {args.target}; modeled cycles, batch 1, pad 1, relu, constant weights")
    print(
        f"{'layer':<18}{'im2col':>8}{'F2 fused':>10}{'F2 unf':>8}{'F2 pick':>9}"
        f"{'F4 fused':>10}{'F4 unf':>8}{'F4 pick':>9}{'cc F2':>8}{'cc F4':>8}{'roofline':>10}"
    )
    for dtype in dtypes[args.dtype]:
        for c, hw in layers:
            g = ConvGeometry(1, c, hw, hw, c, 3, 3, pads=(1, 1, 1, 1))
            estimate = {e.algorithm: e.cycles for e in candidate_costs(g, target, dtype)}
            row = [measure(c, hw, "im2col", args.target, dtype)["cycles"]]
            for algorithm in FORMS[1:]:
                fused = measure(c, hw, algorithm, args.target, dtype, "fused")["cycles"]
                unfused = measure(c, hw, algorithm, args.target, dtype, "unfused")["cycles"]
                picked = measure(c, hw, algorithm, args.target, dtype)["cycles"]
                row += [fused, unfused, picked]
            name = f"f{np.dtype(dtype).itemsize * 8} {c}ch {hw}x{hw}"
            cells = "".join(f"{v:>{w},.0f}" for v, w in zip(row, (8, 10, 8, 9, 10, 8, 9)))
            cc = f"{estimate['winograd_2x2']:>8,.0f}{estimate['winograd_4x4']:>8,.0f}"
            roof = conv_roofline(target, c, hw, np.dtype(dtype).itemsize)
            print(f"{name:<18}{cells}{cc}{roof:>10,.0f}", flush=True)


if __name__ == "__main__":
    main()
