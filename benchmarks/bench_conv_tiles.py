"""Conv tiles the img2col search considers, forced one by one and run: how good is the choice?

For one conv (C -> O channels, a square H x H image, a k x k kernel, stride, padding; batch
1, f32, a relu epilogue), the `--top` tiles (pixels, channels, order) that
`lowering.conv_tiling` estimates cheapest are forced in turn (by replacing the lowering's
`choose_conv_tile`), lowered and run on the modeled NPU; each line prints the estimate beside
the kernel's modeled cycles and its roofline. The first line is the tile the search chose.
It shows how far the estimate is from the interpreter, and whether a tile it ranks lower
runs faster. The conv module of `bench_gemm_tiles.py`. `--k-split` also prints what the
estimate says of splitting K (input channels) over 2 and 4 groups of cores (one group's
conv on its share of the channels, cores and HBM, plus the init kernel that would write the
output first; not lowered: the img2col lowering has no K split).

    .venv/bin/python benchmarks/bench_conv_tiles.py [C H O k stride pad] [--top 6] [--k-split]

(defaults: DenseNet-121's 128 -> 32 3x3 conv on 56x56, pad 1)
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np
from xdsl.parser import Parser

from ge.registry import make_context
from lowering import conv_im2col, conv_tiling
from lowering.convert_kernel_to_npu import lower_module
from runtime.npu_interpreter import NpuExecutable
from runtime.targets import default_target


def _conv(c: int, h: int, o: int, k: int, stride: int, pad: int) -> tuple[str, list[tuple]]:
    out = (h + 2 * pad - k) // stride + 1
    x, w, y = (f"tensor<{'x'.join(map(str, s))}xf32>" for s in
               ((1, c, h, h), (o, c, k, k), (1, o, out, out)))  # fmt: skip
    attrs = (
        f"strides = array<i64: {stride}, {stride}>, pads = array<i64: {pad}, {pad}, {pad}, "
        f'{pad}>, dilations = array<i64: 1, 1>, groups = 1 : i64, algorithm = "im2col", '
        'activation = "relu", fused_from = ["ge.conv2d", "ge.relu"]'
    )
    text = f"""func.func @main(%x: {x}, %w: {w}) -> {y} {{
  %y = kernel.conv2d %x, %w {{{attrs}}} : {x}, {w} -> {y}
  func.return %y : {y}
}}"""
    return text, [(1, c, h, h), (o, c, k, k)]


def _candidates(target, shape: conv_tiling.ConvShape) -> list[tuple[float, int, int, str]]:  # noqa: ANN001
    """(estimate, tm, tn, order) of every tile the search considers, cheapest first."""
    found = []
    for tm in conv_tiling._pixel_candidates(shape):  # noqa: SLF001 (the search's own lists)
        for tn in conv_tiling._candidates(shape.n):  # noqa: SLF001
            tk = conv_tiling._tk(target, shape, tm, tn)  # noqa: SLF001
            for order in conv_tiling.ORDERS:
                if tk and conv_tiling._fits(target, shape, tm, tn, order):  # noqa: SLF001
                    estimate = conv_tiling._cycles(target, shape, (tm, tn, tk), order)[0]  # noqa: SLF001
                    found.append((estimate, tm, tn, order))
    return sorted(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("conv", nargs="*", type=int, default=[128, 56, 32, 3, 1, 1])
    parser.add_argument("--top", type=int, default=6)
    parser.add_argument("--k-split", action="store_true", help="estimate K splits too")
    args = parser.parse_args()
    (c, h, o, k, stride, pad), top = args.conv, args.top
    text, shapes = _conv(c, h, o, k, stride, pad)
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    target, chosen = default_target(), conv_im2col.choose_conv_tile
    seen: dict = {}

    def run(force: tuple[int, int, str] | None) -> tuple[conv_tiling.ConvTiling, float, float]:
        def forced(t, s):  # noqa: ANN001, ANN202
            tiling = chosen(t, s)
            if tiling is not None:  # the K parts the search chose, for every tile here
                s = dataclasses.replace(s, max_parts=tiling.parts)
            seen["shape"] = s
            if force is None or tiling is None:
                return tiling
            tm, tn, order = force
            tk = conv_tiling._tk(t, s, tm, tn)  # noqa: SLF001
            estimate, blocks, per, split = conv_tiling._cycles(t, s, (tm, tn, tk), order)  # noqa: SLF001
            rows = conv_tiling._chunk_rows(t, s, tm, tn)  # noqa: SLF001
            return dataclasses.replace(
                tiling, tm=tm, tn=tn, tk=tk, rows=rows, blocks=blocks, estimate=estimate,
                order=order, per=per, split=split, fold=False,
            )  # fmt: skip

        conv_im2col.choose_conv_tile = forced
        try:
            module = Parser(make_context(), text).parse_module()
            result = NpuExecutable(lower_module(module)).run(inputs)
        finally:
            conv_im2col.choose_conv_tile = chosen
        kernel = result.profile.kernels[0]
        return forced(target, seen["shape"]), kernel.cycles, kernel.roofline_cycles

    print(f"conv {c} -> {o}, {h}x{h}, {k}x{k}, stride {stride}, pad {pad} (ascend910a, f32)")
    print(f"{'tile (pixels, channels, order, units a core)':<46}{'estimate':>10}{'cycles':>9}"
          f"{'roofline':>10}")  # fmt: skip
    tiling, cycles, roof = run(None)
    rows = [("chosen", tiling, cycles, roof)]
    for _, tm, tn, order in _candidates(target, seen["shape"])[:top]:
        if (tm, tn, order) != (tiling.tm, tiling.tn, tiling.order):
            rows.append(("", *run((tm, tn, order))))
    for label, t, cycles, roof in rows:
        name = f"{label:<7}({t.tm}, {t.tn}, {t.order}, {t.per})"
        print(f"{name:<46}{t.estimate:>10.0f}{cycles:>9.0f}{roof:>10.0f}")
    if args.k_split:
        _k_splits(target, seen["shape"])


def _k_splits(target, shape: conv_tiling.ConvShape) -> None:  # noqa: ANN001
    """The estimate of one group's conv on 1 / s of the channels (cores and HBM bandwidth
    shared as `tiling.choose_matmul_split` shares them) plus the split-K init kernel."""
    from lowering.tiling import SPLIT_INIT_SPEED, _cores_share

    init = 4 * shape.n * shape.m / target.hbm_bandwidth / SPLIT_INIT_SPEED
    for s in (2, 4):
        part = conv_tiling.choose_conv_tile(
            _cores_share(target, s), dataclasses.replace(shape, c=shape.c // s)
        )
        if part is not None:
            print(f"K split over {s} groups: estimate {part.estimate:.0f} + init {init:.0f}"
                  f" = {part.estimate + init:.0f}")  # fmt: skip


if __name__ == "__main__":
    main()
