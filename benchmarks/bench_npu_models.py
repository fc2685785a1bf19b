"""Whole models on the modeled NPU: per conv/matmul kernel, modeled cycles beside the roofline.

Issue 5's measures, on ascend910a, for a ResNet-50-sized CNN and a BERT-base layer built in
`ge` (`benchmarks/ge_models.py`, batch 1):
- modeled cycles / roofline cycles of each conv and matmul kernel (the table shows the
  roofline ratio, roofline / modeled, so 1.0 is the bound), their geometric mean and that of
  the large ones (>= 1 GFLOP... here: kernels whose roofline is at least 2,000 cycles); the
  roofline counts f32 mmads at the cube's f32-mode rate, and the "fp16-peak ratio" column
  shows the ratio to a roofline that counts them at the fp16 peak, for comparison;
- HBM bytes moved with `ge-optimize` (fusion) vs without it, as a ratio;
- lowering time per model, and the interpreter's wall time beside onnxruntime's run of the
  same model exported to ONNX, in the same process.

    .venv/bin/python benchmarks/bench_npu_models.py [--models resnet50,bert,gpt,inception]
        [--per-layer]

`--tune N` also prints the model tuned (`runtime.tile_tuner`: each tile search's best N
candidates run, the fastest kept) beside the estimate's tiles. `--timeline KERNELS` prints
only, for each named kernel (e.g. conv2d_9), its slowest core's busy cycles per pipe and what
each pipe ran when (`KernelRunner.run(trace=True)`): where it waits.

`--precision-mode MODE` (e.g. allow_fp32_to_fp16) adds, per model, the npu level's modeled
makespan (stream timeline) and HBM bytes in that mode beside force_fp32, as ratios;
`--precision-only` prints only those lines. `--ratios-in MODE` prints the roofline report of
the model compiled in that mode too (allow_fp32_to_fp16, GE's default on the 910: the cube
kernels on fp16 operands, whose roofline is the fp16 peak and half the bytes, so fewer
kernels count as large).
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from ge.pipeline import CompileOptions, apply_pipeline, pipeline_spec
from gedialects.ge.types import element_of, shape_of, to_numpy_dtype
from lowering import tile_tuning
from lowering.tile_tuning import Decisions
from runtime.cost_model import roofline_terms
from runtime.kernel_runner import KernelRunner
from runtime.profile import KernelProfile, describe_bound
from runtime.targets import default_target
from runtime.tile_tuner import tune_kernels

LARGE = 2_000
"""Roofline cycles from which a kernel counts as large (issue 5's >= 0.8 goal is for those)."""


def _models() -> dict:
    import ge_models

    return {
        "resnet50": lambda: ge_models.resnet((3, 4, 6, 3), bottleneck=True),
        "bert": lambda: ge_models.bert_layer(),
        "gpt": lambda: ge_models.gpt_block(),
        "inception": lambda: ge_models.inception_block(),
    }


def _inputs(module) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    fn = module.body.block.first_op
    return [
        rng.standard_normal(shape_of(t)).astype(to_numpy_dtype(element_of(t)))
        for t in fn.function_type.inputs.data
    ]


def _prepare(module, optimize: bool = True, mode: str = "force_fp32"):  # noqa: ANN001, ANN202
    """`module` through the passes ge.compile runs for `mode` (with or without ge-optimize),
    then the npu level's own, in place."""
    high = pipeline_spec(CompileOptions(precision_mode=mode, optimize=optimize))
    if optimize:
        apply_pipeline(module, f"{high},select-implementations,split-pointwise-convs")
    else:
        apply_pipeline(module, ",".join(p for p in (high, "convert-ge-to-kernel") if p))
    return module


def _run(module, optimize: bool, mode: str = "force_fp32", tune: int = 0):
    """(warm run, lowering s, warm wall s, inputs, tuning report or None)."""
    _prepare(module, optimize, mode)
    start = time.perf_counter()
    runner = KernelRunner(module)
    lowering = time.perf_counter() - start
    tuning = None
    if tune:  # each tile search's best `tune` candidates measured, the fastest kept
        decisions = Decisions()
        tuning = tune_kernels(runner, decisions, tune)
        with tile_tuning.use(decisions):
            runner = KernelRunner(module)
    inputs = _inputs(module)
    runner.run(inputs)  # the first run captures each kernel's work (`runtime.npu_replay`)
    runner.run(inputs)  # the second merges each wave's blocks
    start = time.perf_counter()
    run = runner.run(inputs)
    wall = time.perf_counter() - start
    for kernel in run.profile.kernels:  # the runner names a kernel's launches <kind>_<index>
        op = list(runner.fn.body.block.ops)[int(kernel.name.split("_")[-1])]
        algorithm = getattr(op, "algorithm", None)
        kernel.algorithm = kernel.algorithm or (algorithm.data if algorithm else None)
    return run, lowering, wall, inputs, tuning


def _onnxruntime_seconds(module, inputs) -> float:
    import onnxruntime as ort

    from ge.frontends.onnx_export import export_onnx

    session = ort.InferenceSession(
        export_onnx(module).SerializeToString(), providers=["CPUExecutionProvider"]
    )
    names = [i.name for i in session.get_inputs()]
    feed = dict(zip(names, inputs))
    session.run(None, feed)
    start = time.perf_counter()
    session.run(None, feed)
    return time.perf_counter() - start


def _fp16_peak_roofline(kernel: KernelProfile) -> float:
    """The roofline with every mmad counted at the fp16 peak, as before f32 mmads were
    counted at the f32 mode's rate (`cost_model.roofline_terms`): for comparison."""
    terms = roofline_terms(
        default_target(), kernel.cube_flops, kernel.vector_bytes, kernel.hbm_compulsory_bytes, False
    )
    return max(terms.values())


def _geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


def report(name: str, build, per_layer: bool, mode: str = "force_fp32", tune: int = 0) -> None:
    ort_seconds = _onnxruntime_seconds(build(), _inputs(build()))
    run, lowering, wall, _, _ = _run(build(), optimize=True, mode=mode)
    if tune:
        _report_tuned(name, build, run, mode, tune)
    plain, _, _, _, _ = _run(build(), optimize=False, mode=mode)
    rows = [k for k in run.profile.kernels if k.kind in ("conv2d", "matmul") and k.cycles]
    ratios = [k.roofline_cycles / k.cycles for k in rows]
    at_fp16 = [_fp16_peak_roofline(k) / k.cycles for k in rows]
    large = _large_ratios(run)
    if per_layer:
        print(f"{'kernel':<22}{'algorithm':<14}{'cycles':>10}{'roofline':>10}{'ratio':>7}"
              f"{'fp16-peak ratio':>17}  busiest pipe / roofline bound")  # fmt: skip
        for k, r, r16 in zip(rows, ratios, at_fp16):
            limit = describe_bound(k.bound())
            print(f"{k.name:<22}{k.algorithm or '-':<14}{k.cycles:>10.0f}"
                  f"{k.roofline_cycles:>10.0f}{r:>7.2f}{r16:>17.2f}  {limit}")  # fmt: skip
    hbm = sum(k.hbm_bytes_read + k.hbm_bytes_written for k in run.profile.kernels)
    hbm_plain = sum(k.hbm_bytes_read + k.hbm_bytes_written for k in plain.profile.kernels)
    print(f"== {name}: {len(rows)} conv/matmul kernels on the npu, "
          f"{len(run.fallbacks)} kernels fell back to reference")  # fmt: skip
    big = f"geomean {_geomean(large):.2f}, min {min(large):.2f}" if large else "none"
    print(f"   roofline ratio geomean {_geomean(ratios):.2f}; large kernels ({len(large)}): {big}")
    # a split-K GEMM's init kernel (an elementwise launch under the same name) counted in
    inits = {k.name: k.cycles for k in run.profile.kernels if k.kind == "elementwise"}
    whole = [k.roofline_cycles / (k.cycles + inits.get(k.name, 0.0)) for k in rows
             if k.roofline_cycles >= LARGE]  # fmt: skip
    if any(k.name in inits for k in rows):
        print(f"   the same counting split-K init kernels: large kernels geomean "
              f"{_geomean(whole):.2f}, min {min(whole):.2f}")  # fmt: skip
    print(f"   the same at the fp16 peak (as if f32 mmads ran at the fp16 rate): geomean "
          f"{_geomean(at_fp16):.2f}")  # fmt: skip
    print(f"   HBM bytes fused / unfused: {hbm / 2**20:.1f} / {hbm_plain / 2**20:.1f} MiB "
          f"= {hbm / hbm_plain:.2f}")  # fmt: skip
    print(f"   lowering {lowering:.2f} s; interpreter (warm run) {wall:.2f} s vs onnxruntime "
          f"{ort_seconds * 1e3:.1f} ms = {wall / ort_seconds:.0f}x")  # fmt: skip
    print(f"   modeled makespan {sum(k.cycles for k in run.profile.kernels):,.0f} cycles "
          f"over {len(run.profile.kernels)} kernels")  # fmt: skip


def _report_tuned(name: str, build, untuned, mode: str, tune: int) -> None:  # noqa: ANN001
    """The tuned compile's conv/matmul kernels beside the estimate's (`runtime.tile_tuner`)."""
    run, _, _, _, tuning = _run(build(), optimize=True, mode=mode, tune=tune)
    before = {k.name: k.cycles for k in untuned.profile.kernels}
    for k in run.profile.kernels:
        if k.kind in ("conv2d", "matmul") and k.cycles != before.get(k.name):
            print(f"   tuned {k.name:<16}{before.get(k.name, 0):>9.0f} -> {k.cycles:>7.0f} cycles "
                  f"(roofline {k.roofline_cycles:.0f})")  # fmt: skip
    large = _large_ratios(run)
    print(f"== {name} tuned (the best {tune} candidates of each tile search run, the fastest "
          f"kept; {len(tuning.sites)} searches, {len(tuning.improved)} changed, "
          f"{tuning.seconds:.0f} s):")  # fmt: skip
    print(f"   large kernels ({len(large)}): geomean {_geomean(large):.4f}, min {min(large):.2f};"
          f" the estimate's tiles: {_geomean(_large_ratios(untuned)):.4f}")  # fmt: skip
    print(f"   modeled makespan {sum(k.cycles for k in run.profile.kernels):,.0f} cycles "
          f"(the estimate's tiles: {sum(k.cycles for k in untuned.profile.kernels):,.0f})")


def _large_ratios(run) -> list[float]:  # noqa: ANN001
    rows = [k for k in run.profile.kernels if k.kind in ("conv2d", "matmul") and k.cycles]
    return [k.roofline_cycles / k.cycles for k in rows if k.roofline_cycles >= LARGE]


def report_timelines(build, names: list[str], events: int) -> None:  # noqa: ANN001
    """Per named kernel: its cycles, each pipe's busy cycles on its slowest core and what
    that core's pipes ran when (the first `events` instructions, `pipe:start+cycles`):
    where a kernel waits, read off the interpreter's trace."""
    from collections import Counter

    module = _prepare(build())
    run = KernelRunner(module).run(_inputs(module), trace=True)
    for kernel in run.profile.kernels:
        if kernel.name not in names or not kernel.events:
            continue
        ends: Counter = Counter()
        for core, _, start, cycles, _ in kernel.events:
            ends[core] = max(ends[core], start + cycles)
        slowest = max(ends, key=ends.__getitem__)
        mine = sorted((start, pipe, cycles, what) for core, pipe, start, cycles, what
                      in kernel.events if core == slowest)  # fmt: skip
        busy: Counter = Counter()
        for _, pipe, cycles, _ in mine:
            busy[pipe] += cycles
        print(f"== {kernel.name} ({kernel.kind}): {kernel.cycles:,.0f} cycles, roofline "
              f"{kernel.roofline_cycles:,.0f}, {len(ends)} cores; core {slowest}'s busy cycles: "
              + ", ".join(f"{p} {c:,.0f}" for p, c in busy.most_common()))  # fmt: skip
        shown = [f"{pipe}:{start:.0f}+{cycles:.0f}" for start, pipe, cycles, _ in mine[:events]
                 if pipe != "S"]  # fmt: skip
        print("   " + "  ".join(shown))


def _npu_figures(module, mode: str) -> tuple[float, int, np.ndarray]:
    """Makespan, HBM bytes and the output of one `ge.compile(level="npu")` run in `mode`."""
    import ge

    compiled = ge.compile(module, level="npu", cache=False, precision_mode=mode)
    out = compiled.run(*_inputs(module))[0]
    profile = compiled.last_profile
    hbm = sum(k["hbm_bytes_read"] + k["hbm_bytes_written"] for k in profile["kernels"])
    return profile["makespan_cycles"], hbm, out


def report_precision(name: str, build, mode: str) -> None:
    """`mode` beside force_fp32: modeled makespan and HBM bytes, and the outputs' distance."""
    span, hbm, exact = _npu_figures(build(), "force_fp32")
    span_m, hbm_m, out = _npu_figures(build(), mode)
    err = float(np.abs(out.astype(np.float64) - exact).max() / np.abs(exact).max())
    print(f"== {name}: {mode} vs force_fp32 (npu level, makespan on the stream timeline)")
    print(f"   makespan {span_m:,.0f} / {span:,.0f} cycles = {span_m / span:.2f}; HBM bytes "
          f"{hbm_m / 2**20:.1f} / {hbm / 2**20:.1f} MiB = {hbm_m / hbm:.2f}; "
          f"max|diff| / max|f32| {err:.1e}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="resnet50,bert")
    parser.add_argument("--per-layer", action="store_true")
    parser.add_argument("--precision-mode", help="compare this precision_mode with force_fp32")
    parser.add_argument("--precision-only", action="store_true")
    parser.add_argument("--ratios-in", metavar="MODE", help="the roofline report in MODE too")
    parser.add_argument("--timeline", default="", metavar="KERNELS",
                        help="e.g. conv2d_9,conv2d_90: each one's slowest core, traced")
    parser.add_argument("--events", type=int, default=120, help="instructions --timeline shows")
    parser.add_argument("--tune", type=int, default=0, metavar="N",
                        help="also tuned: each tile search's best N candidates run")  # fmt: skip
    args = parser.parse_args()
    models = _models()
    if args.timeline:
        for name in args.models.split(","):
            report_timelines(models[name], args.timeline.split(","), args.events)
        return
    for name in args.models.split(","):
        if not args.precision_only:
            report(name, models[name], args.per_layer, tune=args.tune)
        if args.precision_mode:
            report_precision(name, models[name], args.precision_mode)
        if args.ratios_in:
            report(f"{name} in {args.ratios_in}", models[name], args.per_layer, args.ratios_in)


if __name__ == "__main__":
    main()
