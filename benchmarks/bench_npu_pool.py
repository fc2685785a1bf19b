"""Modeled cycles of windowed pools, pad and resize lowered to the vector unit, beside their
roofline (ascend910a).

Each case is one kernel-level op lowered by convert-kernel-to-npu and run by the npu
interpreter; the table gives the modeled cycles, the roofline (the larger of compulsory HBM
bytes / bandwidth and vector bytes / the chip's vector rate), their ratio, and the pipes'
busy share per core (busy cycles over the cores' cycles).

    .venv/bin/python benchmarks/bench_npu_pool.py
"""

from __future__ import annotations

import time

import numpy as np
from xdsl.parser import Parser

from ge.registry import make_context
from lowering.convert_kernel_to_npu import lower_module
from runtime.npu_interpreter import NpuExecutable


def _t(shape: tuple[int, ...], dtype: str) -> str:
    return f"tensor<{'x'.join(map(str, shape))}x{dtype}>"


def _pool(kind: str, shape, out, k: int, s: int, p: int, dtype: str, cip: int = 0) -> str:  # noqa: ANN001
    x, y = _t(shape, dtype), _t(out, dtype)
    attrs = (
        f'kind = "{kind}", kernel_shape = array<i64: {k}, {k}>, strides = array<i64: {s}, {s}>, '
        f"pads = array<i64: {p}, {p}, {p}, {p}>, dilations = array<i64: 1, 1>, ceil_mode = 0 : i64,"
        f' count_include_pad = {cip} : i64, fused_from = ["ge.{kind}_pool2d"]'
    )
    return f"""func.func @main(%x: {x}) -> {y} {{
  %y = kernel.pool %x {{{attrs}}} : ({x}) -> {y}
  func.return %y : {y}
}}"""


def _one(name: str, shape, out, attrs: str, dtype: str) -> str:  # noqa: ANN001
    x, y = _t(shape, dtype), _t(out, dtype)
    return f"""func.func @main(%x: {x}) -> {y} {{
  %y = kernel.{name} %x {{{attrs}, fused_from = ["ge.{name}"]}} : ({x}) -> {y}
  func.return %y : {y}
}}"""


STEM = ((1, 64, 112, 112), (1, 64, 56, 56))
INCEPTION = ((1, 192, 35, 35), (1, 192, 35, 35))
UP = 'sizes = array<i64: 1, 256, 40, 40>, mode = "nearest", '
UP += 'coordinate_transformation_mode = "asymmetric", nearest_mode = "floor"'
CASES = {
    "max pool 3x3 s2 p1 1x64x112x112 f32 (ResNet-50 stem)": _pool("max", *STEM, 3, 2, 1, "f32"),
    "max pool 3x3 s2 p1 1x64x112x112 f16 (ResNet-50 stem)": _pool("max", *STEM, 3, 2, 1, "f16"),
    "avg pool 3x3 s1 p1 1x192x35x35 f32 (Inception, no pads counted)": _pool(
        "avg", *INCEPTION, 3, 1, 1, "f32"
    ),
    "avg pool 2x2 s2 1x256x56x56 f16 (DenseNet transition)": _pool(
        "avg", (1, 256, 56, 56), (1, 256, 28, 28), 2, 2, 0, "f16"
    ),
    "pad reflect 3 1x64x256x256 f32 (CycleGAN)": _one(
        "pad", (1, 64, 256, 256), (1, 64, 262, 262),
        'pads = array<i64: 0, 0, 3, 3, 0, 0, 3, 3>, mode = "reflect", value = 0.0 : f64', "f32",
    ),
    "resize nearest x2 1x256x20x20 f16 (YOLOv5 neck)": _one(
        "resize", (1, 256, 20, 20), (1, 256, 40, 40), UP, "f16"
    ),
}  # fmt: skip


def main() -> None:
    print(f"{'kernel':66} {'cycles':>8} {'roofline':>9} {'ratio':>6}  MTE2 / V / MTE3 busy")
    for label, text in CASES.items():
        module = Parser(make_context(), text).parse_module()
        fn = next(op for op in module.walk() if op.name == "func.func")
        arg = fn.function_type.inputs.data[0]
        dtype = np.float16 if "f16" in str(arg) else np.float32
        x = np.random.default_rng(0).standard_normal(arg.get_shape()).astype(dtype)
        start = time.perf_counter()
        result = NpuExecutable(lower_module(module)).run([x])
        wall = time.perf_counter() - start
        k = result.profile.kernels[0]
        total = sum(k.core_cycles) or 1.0
        busy = " / ".join(f"{k.busy[p] / total:.0%}" for p in ("MTE2", "V", "MTE3"))
        ratio = k.roofline_cycles / k.cycles
        print(f"{label:66} {k.cycles:8.0f} {k.roofline_cycles:9.0f} {ratio:6.2f}  {busy}"
              f"  ({wall:.2f} s)")  # fmt: skip


if __name__ == "__main__":
    main()
