"""Transposed convs on the modeled NPU: both lowerings of `lower_conv_transpose` side by side.

For decoder layers (DCGAN, UNet up-convs, an FCN 3x3; batch 1, constant weights as a model
file has them): the modeled cycles of the zero-insertion route (zero insertion kernel + the
im2col conv) and of the GEMM + col2im route (GEMM + col2im kernel), each route's estimate
(`route_costs`, what the lowering chooses by), and the route it chooses.

Run: `.venv/bin/python benchmarks/bench_conv_transpose.py [--dtype f16|f32]`
"""

from __future__ import annotations

import argparse
import os

import numpy as np
from xdsl.parser import Parser

from ge.registry import make_context
from gedialects.ge.constant import ConstantOp, print_constants_in_full
from lowering.convert_kernel_to_npu import lower_module
from lowering.lower_conv_transpose import ROUTE_ENV, route_costs
from runtime.npu_interpreter import NpuExecutable
from runtime.targets import load_target

LAYERS = [  # (name, C, H, O, k, stride, pad)
    ("dcgan 512->256 4x4", 512, 4, 256, 4, 2, 1),
    ("dcgan 256->128 8x8", 256, 8, 128, 4, 2, 1),
    ("dcgan 128->64 16x16", 128, 16, 64, 4, 2, 1),
    ("unet up 128->64 32x32 k2", 128, 32, 64, 2, 2, 0),
    ("unet up 64->32 64x64 k2", 64, 64, 32, 2, 2, 0),
    ("fcn 3x3 s2 64->64 28x28", 64, 28, 64, 3, 2, 1),
]


def module(c: int, h: int, o: int, k: int, s: int, p: int, dtype: str):
    ho = s * (h - 1) + k - 2 * p
    x, w = f"tensor<1x{c}x{h}x{h}x{dtype}>", f"tensor<{c}x{o}x{k}x{k}x{dtype}>"
    y = f"tensor<1x{o}x{ho}x{ho}x{dtype}>"
    weights = (
        np.random.default_rng(1).standard_normal((c, o, k, k)).astype(dtype[0] + "loat" + dtype[1:])
    )
    with print_constants_in_full():
        const = str(ConstantOp.from_array(weights)).replace("%0", "%w", 1)
    attrs = (
        f"strides = array<i64: {s}, {s}>, pads = array<i64: {p}, {p}, {p}, {p}>, "
        "dilations = array<i64: 1, 1>, output_padding = array<i64: 0, 0>, groups = 1 : i64, "
        'fused_from = ["ge.conv_transpose2d"]'
    )
    text = f"""func.func @main(%x: {x}) -> {y} {{
  {const}
  %y = kernel.conv_transpose2d %x, %w {{{attrs}}} : ({x}, {w}) -> {y}
  func.return %y : {y}
}}"""
    return Parser(make_context(), text).parse_module()


def cycles(c: int, h: int, route: str, text_args: tuple, dtype: str) -> float:
    os.environ[ROUTE_ENV] = route
    try:
        lowered = lower_module(module(*text_args, dtype))
    finally:
        del os.environ[ROUTE_ENV]
    x = (
        np.random.default_rng(0)
        .standard_normal((1, c, h, h))
        .astype(np.dtype(dtype.replace("f", "float")))
    )
    return sum(k.cycles for k in NpuExecutable(lowered).run([x]).profile.kernels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", default="f16", choices=["f16", "f32"])
    args = parser.parse_args()
    target = load_target(None)
    head = f"{'zeros':>7s} {'col2im':>7s} | {'est zeros':>9s} {'est col2im':>10s} | chosen"
    print(f"{'layer':26s} {head}")
    for name, c, h, o, k, s, p in LAYERS:
        text_args = (c, h, o, k, s, p)
        op = next(
            op
            for op in module(*text_args, args.dtype).walk()
            if op.name == "kernel.conv_transpose2d"
        )
        costs = route_costs(op, target)
        got = {route: cycles(c, h, route, text_args, args.dtype) for route in ("zeros", "col2im")}
        chosen = min(costs, key=costs.get)
        print(f"{name:26s} {got['zeros']:7.0f} {got['col2im']:7.0f} | {costs['zeros']:9.0f} "
              f"{costs['col2im']:10.0f} | {chosen}")  # fmt: skip


if __name__ == "__main__":
    main()
