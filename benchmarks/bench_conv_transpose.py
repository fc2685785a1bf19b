"""Transposed convs on the modeled NPU: the zero-insertion lowering beside the GEMM that the
GEMM + col2im alternative would start with.

For decoder layers (DCGAN, UNet up-convs; batch 1, runtime weights as ONNX has them): the
modeled cycles of each kernel of `lower_conv_transpose` (zero insertion, weight flip, the
im2col conv), the roofline of the im2col conv, and for the alternative the modeled cycles of
its GEMM cols (O kh kw, C) @ X (C, H W) lowered by `kernel.matmul` plus a lower bound of its
col2im (reading the columns and writing the output once at the chip's HBM bandwidth, no
vector time, no strided writes charged). Figures, not a selection: col2im has no lowering.

Run: `.venv/bin/python benchmarks/bench_conv_transpose.py [--dtype f16|f32]`
"""

from __future__ import annotations

import argparse

import numpy as np
from xdsl.parser import Parser

from ge.registry import make_context
from lowering.convert_kernel_to_npu import lower_module
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


def _run(text: str, shapes: list[tuple[int, ...]], dtype: str):
    module = Parser(make_context(), text).parse_module()
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal(s).astype(dtype.replace("f", "float")) for s in shapes]
    return NpuExecutable(lower_module(module)).run(inputs).profile.kernels


def transposed(c: int, h: int, o: int, k: int, s: int, p: int, dtype: str):
    ho = s * (h - 1) + k - 2 * p
    x, w = f"tensor<1x{c}x{h}x{h}x{dtype}>", f"tensor<{c}x{o}x{k}x{k}x{dtype}>"
    y = f"tensor<1x{o}x{ho}x{ho}x{dtype}>"
    attrs = (
        f"strides = array<i64: {s}, {s}>, pads = array<i64: {p}, {p}, {p}, {p}>, "
        "dilations = array<i64: 1, 1>, output_padding = array<i64: 0, 0>, groups = 1 : i64, "
        'fused_from = ["ge.conv_transpose2d"]'
    )
    text = f"""func.func @main(%x: {x}, %w: {w}) -> {y} {{
  %y = kernel.conv_transpose2d %x, %w {{{attrs}}} : ({x}, {w}) -> {y}
  func.return %y : {y}
}}"""
    return _run(text, [(1, c, h, h), (c, o, k, k)], dtype), ho


def gemm(c: int, h: int, o: int, k: int, dtype: str):
    a, b, y = (
        f"tensor<{m}x{n}x{dtype}>" for m, n in ((o * k * k, c), (c, h * h), (o * k * k, h * h))
    )
    attrs = 'fused_from = ["ge.matmul"], transpose_a = false, transpose_b = false, alpha = 1.0'
    text = f"""func.func @main(%a: {a}, %b: {b}) -> {y} {{
  %y = kernel.matmul %a, %b {{{attrs}}} : ({a}, {b}) -> {y}
  func.return %y : {y}
}}"""
    return _run(text, [(o * k * k, c), (c, h * h)], dtype)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", default="f16", choices=["f16", "f32"])
    args = parser.parse_args()
    target, isz = load_target(None), 2 if args.dtype == "f16" else 4
    print(f"{'layer':28s} {'zeros':>7s} {'weights':>7s} {'conv':>7s} {'total':>7s} "
          f"{'conv roof':>9s} | {'gemm':>7s} {'col2im>=':>8s} {'total>=':>8s}")  # fmt: skip
    for name, c, h, o, k, s, p in LAYERS:
        kernels, ho = transposed(c, h, o, k, s, p, args.dtype)
        cycles = {kk.name.rsplit("_", 1)[-1]: kk.cycles for kk in kernels}
        conv = kernels[-1]
        g = gemm(c, h, o, k, args.dtype)[0].cycles
        col2im = (o * k * k * h * h + o * ho * ho) * isz / target.hbm_bandwidth
        total = sum(kk.cycles for kk in kernels)
        print(f"{name:28s} {cycles.get('zeros', 0):7.0f} {cycles.get('weights', 0):7.0f} "
              f"{conv.cycles:7.0f} {total:7.0f} {conv.roofline_cycles:9.0f} | {g:7.0f} "
              f"{col2im:8.0f} {g + col2im:8.0f}")  # fmt: skip


if __name__ == "__main__":
    main()
