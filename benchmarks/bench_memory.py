"""Memory planning benchmark: arena peak / lower bound, ours beside the peers' strategies.

For each model the function's buffers are analyzed once (views shared, in-place reuse
decided), and every strategy runs on those same lifetimes: our hybrid planner; no reuse;
onnxruntime's reuse of an equal-sized freed buffer; TFLite's greedy by size; GE-style
size-class free lists. The lower bound is the most bytes ever live at once. The column
"ours, no in-place" plans the lifetimes without in-place sharing, over the same bound.

    .venv/bin/python benchmarks/bench_memory.py [--source zoo|ge|auto] [--level kernel|ge]
        [--json OUT.json] [--plots DIR] [--models resnet18 ...]

Models come from `ge.testing.models` through the ONNX importer when torch and the zoo are
available (`--source zoo`), else from `benchmarks/ge_models.py` (`--source ge`). They are
planned as fused kernels (`--level kernel`, the default: the fusion passes and
convert-ge-to-kernel) or as `ge` graphs with one kernel per op (`--level ge`).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from ge_models import BUILDERS  # noqa: E402
from xdsl.dialects.builtin import ModuleOp  # noqa: E402

from gedialects.interpreter import entry_function  # noqa: E402
from passes.memory.assign import plan_function  # noqa: E402
from passes.memory.liveness import analyze  # noqa: E402
from passes.memory.peers import PEERS  # noqa: E402
from passes.memory.planners import (  # noqa: E402
    Lifetime,
    clique_bound,
    greedy_by_conflicts,
    greedy_by_size,
    hybrid,
    lower_bound,
)
from passes.memory.verify import check_plan  # noqa: E402
from passes.schedule_streams import modeled_timeline, record_streams, schedule  # noqa: E402
from passes.stream_timeline import CORES, block_dim, bounds, roofline_cycles  # noqa: E402

MODELS = ("resnet18", "resnet50", "mobilenet_v2", "inception", "bert_layer", "gpt_block")
FUSION = (
    "fold-batch-norm,fuse-conv-bn-relu,fuse-conv-bias-activation,fuse-conv-residual-add,"
    "fuse-matmul-add-gelu,fuse-matmul-scale,fuse-softmax-dropout,fuse-attention,"
    "recognize-layer-norm,fuse-elementwise,convert-ge-to-kernel"
)
"""The passes that take a `ge` graph to fused kernels when `ge-optimize` is not registered."""


def to_kernels(module: ModuleOp) -> None:
    """Fuse and convert to the `kernel` dialect (the schedule the npu would run)."""
    from ge.pipeline import apply_pipeline, available_passes

    passes = available_passes()
    names = [n for n in FUSION.split(",") if n in passes]
    apply_pipeline(module, "ge-optimize" if "ge-optimize" in passes else ",".join(names))


def zoo_available() -> bool:
    try:
        import torch  # noqa: F401

        import ge.frontends.onnx  # noqa: F401
        import ge.testing.models  # noqa: F401
    except ImportError:
        return False
    return True


def load(name: str, source: str) -> ModuleOp:
    """The model as a `ge` module, through the real frontend or the direct builders."""
    if source == "ge":
        return BUILDERS[name]()
    from ge.frontends.onnx import import_onnx_model
    from ge.testing.models import MODELS as ZOO
    from ge.testing.models import build, export_onnx

    model, inputs = build(name, small=False)
    return import_onnx_model(export_onnx(model, inputs, input_names=ZOO[name].input_names))


def measure(name: str, module: ModuleOp) -> dict:
    fn = entry_function(module)
    start = time.perf_counter()
    memory_plan = plan_function(fn)  # analysis, hybrid planner, verifier
    seconds = time.perf_counter() - start
    lifetimes = memory_plan.liveness.lifetimes()
    bound = lower_bound(lifetimes)
    row = {
        "model": name,
        "kernels": len(memory_plan.liveness.kernels),
        "buffers": len(lifetimes),
        "inplace": len(memory_plan.liveness.inplace),
        "lower_bound_bytes": bound,
        "ours": memory_plan.arena_bytes / bound,
        "planner": memory_plan.plan.planner,
        "plan_seconds": seconds,
    }
    for peer, strategy in PEERS.items():
        plan = strategy(lifetimes)
        check_plan(lifetimes, plan.offsets, plan.peak)
        row[peer] = plan.peak / bound
    separate = analyze(fn, reuse_inplace=False).lifetimes()
    row["ours, no in-place"] = hybrid(separate).peak / bound
    row.update(measure_streams(module))
    return row, memory_plan


def measure_streams(module: ModuleOp) -> dict:
    """Modeled makespan on one stream and on several, the critical path, and the arena
    the streams need (concurrent kernels' buffers kept apart) with its bound: the heavier
    of the live-bytes bound and a clique of buffers that may be live together."""
    module = module.clone()
    fn = entry_function(module)
    kernels, preds, streams = schedule(fn)
    record_streams(fn, kernels, streams)
    concurrent = plan_function(fn)
    lifetimes = concurrent.liveness.lifetimes()
    bound = max(lower_bound(lifetimes), clique_bound(lifetimes, concurrent.conflicts or []))
    work = [roofline_cycles(op) * CORES for op in kernels]
    critical, total = bounds(preds, work, [block_dim(op) for op in kernels])
    return {
        "streams": len(set(streams.streams)),
        "events": sum(map(len, streams.waits)),
        "one_stream_cycles": modeled_timeline(kernels, None).makespan,
        "streams_cycles": modeled_timeline(kernels, streams).makespan,
        "critical_path_cycles": max(critical, total),
        "streams_peak_bytes": concurrent.arena_bytes,
        "streams_bound_bytes": bound,
    }


COLUMNS = ["ours", *PEERS, "ours, no in-place"]


def table(rows: list[dict]) -> str:
    head = ["model", "kernels", "buffers", "bound MiB", *COLUMNS, "plan s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["model"], str(r["kernels"]), str(r["buffers"])]
        cells.append(f"{r['lower_bound_bytes'] / 2**20:.2f}")
        cells += [f"{r[c]:.3f}" for c in COLUMNS] + [f"{r['plan_seconds']:.3f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def stream_table(rows: list[dict]) -> str:
    head = ["model", "streams", "events", "1 stream (cycles)", "streams (cycles)"]
    head += ["bound (critical path, work)", "streams / bound"]
    head += ["arena / its bound", "arena / 1-stream arena"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["model"], str(r["streams"]), str(r["events"])]
        cells += [f"{r[k]:.0f}" for k in ("one_stream_cycles", "streams_cycles")]
        cells.append(f"{r['critical_path_cycles']:.0f}")
        cells.append(f"{r['streams_cycles'] / r['critical_path_cycles']:.3f}")
        cells.append(f"{r['streams_peak_bytes'] / r['streams_bound_bytes']:.3f}")
        cells.append(f"{r['streams_peak_bytes'] / (r['ours'] * r['lower_bound_bytes']):.3f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def random_lifetimes_table(sets: int, buffers: int = 40, seed: int = 0) -> str:
    """Harder instances than the models: random sets of `buffers` lifetimes (sizes 512 B to
    1 MiB log-uniform, lengths exponential), peak / bound mean, worst and hits of 1.000."""
    rng = random.Random(seed)
    strategies = {"ours (hybrid)": hybrid, "greedy-by-size": greedy_by_size}
    strategies |= {"greedy-by-conflicts": greedy_by_conflicts, **PEERS}
    ratios: dict[str, list[float]] = {name: [] for name in strategies}
    for _ in range(sets):
        lifetimes = []
        for _ in range(buffers):
            start = rng.randint(0, 60)
            size = 512 * int(2 ** rng.uniform(0, 11))
            lifetimes.append(Lifetime(size, start, start + int(rng.expovariate(1 / 6))))
        bound = lower_bound(lifetimes)
        for name, strategy in strategies.items():
            ratios[name].append(strategy(lifetimes).peak / bound)
    lines = ["| strategy | mean | worst | at the bound |", "|---|---|---|---|"]
    for name, values in ratios.items():
        hits = sum(v == 1.0 for v in values)
        lines.append(f"| {name} | {np.mean(values):.4f} | {max(values):.4f} | {hits}/{sets} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", choices=("auto", "zoo", "ge"), default="auto")
    parser.add_argument("--models", nargs="*", default=list(MODELS))
    parser.add_argument(
        "--level", choices=("ge", "kernel"), default="kernel",
        help="plan the ge graph (one kernel per op) or the fused kernels",
    )  # fmt: skip
    parser.add_argument("--json", type=Path, help="write the rows as JSON")
    parser.add_argument("--plots", type=Path, help="write a live-bytes plot per model here")
    parser.add_argument("--random", type=int, default=100, help="random lifetime sets to add")
    args = parser.parse_args(argv)
    source = args.source if args.source != "auto" else ("zoo" if zoo_available() else "ge")
    rows = []
    for name in args.models:
        module = load(name, source)
        if args.level == "kernel":
            to_kernels(module)
        row, memory_plan = measure(name, module)
        row["source"], row["level"] = source, args.level
        rows.append(row)
        if args.plots:
            from passes.memory.plot import plot_memory

            args.plots.mkdir(parents=True, exist_ok=True)
            plot_memory(memory_plan, args.plots / f"{name}.png", f"{name}: live bytes")
        print(f"{name}: peak/bound {row['ours']:.3f} ({row['planner']})", file=sys.stderr)
    print(f"models from {source}, planned at the {args.level} level")
    print("ratios are arena peak / lower bound (1.000 is optimal)")
    print(table(rows))
    print("\nschedule-streams: modeled cycles, streams sharing the 32 AI cores")
    print(stream_table(rows))
    if args.random:
        print(f"\n{args.random} random sets of 40 lifetimes: peak / lower bound")
        print(random_lifetimes_table(args.random))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
