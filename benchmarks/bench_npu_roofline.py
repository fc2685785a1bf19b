"""Modeled cycles of lowered kernels beside their roofline, on ascend910a.

Each case is a small ge program, fused into kernels, lowered by convert-kernel-to-npu with the
cost model's tile sizes, and run by the npu interpreter; the table gives, per kernel, the
modeled cycles, the roofline (max of flops / peak, HBM bytes / bandwidth) and their ratio.

    .venv/bin/python benchmarks/bench_npu_roofline.py [--whole-k]

A K-heavy matmul with a bias splits K over groups of cores (`tiling.choose_matmul_split`):
its rows are the init kernel and the split GEMM; `--whole-k` gives the unsplit figures.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from xdsl.parser import Parser
from xdsl.passes import PassPipeline

from ge.registry import all_passes, make_context
from gedialects.ge.types import element_of, shape_of, to_numpy_dtype
from lowering import tiling
from lowering.convert_kernel_to_npu import lower_module
from runtime.npu_interpreter import NpuExecutable


def _t(shape: tuple[int, ...], dtype: str) -> str:
    return f"tensor<{'x'.join(map(str, shape))}x{dtype}>"


def _matmul(m: int, n: int, k: int, dtype: str) -> str:
    a, b, c = _t((m, k), dtype), _t((k, n), dtype), _t((m, n), dtype)
    return f"""func.func @main(%a: {a}, %b: {b}) -> {c} {{
  %y = ge.matmul %a, %b : ({a}, {b}) -> {c}
  func.return %y : {c}
}}"""


def _matmul_bias(m: int, n: int, k: int) -> str:
    """A matmul and its bias (one kernel; a K-heavy one splits K: an init kernel first)."""
    a, b, v, c = _t((m, k), "f32"), _t((k, n), "f32"), _t((n,), "f32"), _t((m, n), "f32")
    return f"""func.func @main(%a: {a}, %b: {b}, %v: {v}) -> {c} {{
  %y = ge.matmul %a, %b : ({a}, {b}) -> {c}
  %z = ge.add %y, %v : ({c}, {v}) -> {c}
  func.return %z : {c}
}}"""


def _add_relu(rows: int, cols: int) -> str:
    t = _t((rows, cols), "f32")
    return f"""func.func @main(%x: {t}, %y: {t}) -> {t} {{
  %s = ge.add %x, %y : ({t}, {t}) -> {t}
  %r = ge.relu %s : ({t}) -> {t}
  func.return %r : {t}
}}"""


def _add(*shape: int) -> str:
    """An add of two same-shaped tensors: one elementwise kernel, tiled over the cores."""
    t = _t(shape, "f32")
    return f"""func.func @main(%x: {t}, %y: {t}) -> {t} {{
  %s = ge.add %x, %y : ({t}, {t}) -> {t}
  func.return %s : {t}
}}"""


def _layer_norm(rows: int, cols: int, dtype: str = "f32") -> str:
    t, v = _t((rows, cols), dtype), _t((cols,), dtype)
    return f"""func.func @main(%x: {t}, %g: {v}, %b: {v}) -> {t} {{
  %y = ge.layer_norm %x, %g, %b {{axis = -1 : i64, epsilon = 1.0e-05 : f64}}\
    : ({t}, {v}, {v}) -> {t}
  func.return %y : {t}
}}"""


CASES = {
    "matmul 1024x1024x1024 f16": _matmul(1024, 1024, 1024, "f16"),
    "matmul 128x3072x768 f16 (BERT FFN up)": _matmul(128, 3072, 768, "f16"),
    "matmul 128x768x768 f32 (BERT projection)": _matmul(128, 768, 768, "f32"),
    "matmul 128x3072x768 f32 (BERT FFN up)": _matmul(128, 3072, 768, "f32"),
    "matmul 128x768x3072 f32 (BERT FFN down)": _matmul(128, 768, 3072, "f32"),
    "matmul+bias 128x768x3072 f32 (FFN down)": _matmul_bias(128, 768, 3072),
    "matmul+bias 256x768x3072 f32": _matmul_bias(256, 768, 3072),
    "matmul+bias 512x768x3072 f32 (K whole)": _matmul_bias(512, 768, 3072),
    "matmul+bias 64x1024x4096 f32": _matmul_bias(64, 1024, 4096),
    "matmul+bias 128x1024x4096 f32": _matmul_bias(128, 1024, 4096),
    "matmul+bias 256x512x4608 f32": _matmul_bias(256, 512, 4608),
    "add+relu 2048x2048 f32": _add_relu(2048, 2048),
    "add 512x49 f32 (few wide rows)": _add(512, 49),
    "add 256x196 f32": _add(256, 196),
    "add 1x64x56x56 f32": _add(1, 64, 56, 56),
    "add 128x768 f32": _add(128, 768),
    "add 4x16x8 f32 (a few cycles)": _add(4, 16, 8),
    "layer norm 128x768 f32": _layer_norm(128, 768),
    "layer norm 128x768 f16 (f32 tiles)": _layer_norm(128, 768, "f16"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--whole-k", action="store_true", help="never split a GEMM's K (the figures before it)"
    )
    if parser.parse_args().whole_k:
        tiling.SPLIT_GAIN = 0.0
    print(f"{'case':<44}{'cycles':>10}{'roofline':>10}{'ratio':>7}{'lower s':>9}{'run s':>8}")
    rng = np.random.default_rng(0)
    for title, text in CASES.items():
        ctx = make_context()
        module = Parser(ctx, text).parse_module()
        spec = "ge-optimize"  # the fusions a compile runs (matmul + bias: one kernel)
        PassPipeline.parse_spec(dict(all_passes()), spec).apply(ctx, module)
        fn = module.body.block.first_op
        inputs = [
            rng.standard_normal(shape_of(t)).astype(to_numpy_dtype(element_of(t)))
            for t in fn.function_type.inputs.data
        ]
        start = time.perf_counter()
        executable = NpuExecutable(lower_module(module))
        lowered = time.perf_counter() - start
        start = time.perf_counter()
        profile = executable.run(inputs).profile
        ran = time.perf_counter() - start
        for kernel in profile.kernels:
            print(
                f"{title:<44}{kernel.cycles:>10.0f}{kernel.roofline_cycles:>10.0f}"
                f"{kernel.roofline_ratio:>7.2f}{lowered:>9.3f}{ran:>8.3f}"
            )


if __name__ == "__main__":
    main()
