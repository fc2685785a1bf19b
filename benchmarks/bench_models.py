"""Whole models beside onnxruntime, measured in the same run (issues 3 and 4).

For each zoo model (plain torch, exported to ONNX with BatchNormalization kept):
- import time of our ONNX frontend / onnxruntime InferenceSession creation (ALL level);
- `ge-optimize` time, and per 1,000 ops;
- kernels after `ge-optimize` beside the nodes of onnxruntime's optimized graph at the
  BASIC and ALL levels (saved with `optimized_model_filepath`); goal: never more than ALL;
- reference-interpreter inference time / onnxruntime run time.

Run: `.venv/bin/python benchmarks/bench_models.py [--small] [--models resnet18,bert_layer]`
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

from ge.frontends.onnx import import_onnx_model
from ge.pipeline import apply_pipeline
from ge.testing import run
from ge.testing.models import MODELS, build, export_onnx
from gedialects.ge.constant import ConstantOp

DEFAULT = ("resnet18", "resnet50", "mobilenet_v2", "bert_layer", "gpt_block", "inception")


def timed(fn, repeats: int = 3) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def ort_session(path: Path, level, save: Path | None = None) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.graph_optimization_level = level
    options.log_severity_level = 3
    # its threads sleep after a run instead of spinning on the 2 cores the reference
    # interpreter's BLAS runs on next (onnxruntime's own run time is the same either way)
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if save is not None:
        options.optimized_model_filepath = str(save)
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def count_ops(module) -> int:
    return sum(
        1 for op in module.walk() if "." in op.name and op.name.split(".")[0] in ("ge", "kernel")
    )


def kernels(module) -> int:
    return sum(
        1
        for op in module.walk()
        if op.name.startswith("kernel.")
        and op.parent_op() is not None
        and op.parent_op().name == "func.func"
    )


def bench(name: str, small: bool, folder: Path) -> dict[str, float]:
    model, example = build(name, small=small)
    path = folder / f"{name}.onnx"
    proto = export_onnx(model, example, path, input_names=MODELS[name].input_names)
    inputs = {n: t.numpy() for n, t in zip(MODELS[name].input_names, example)}

    import_s, module = timed(lambda: import_onnx_model(onnx.load(str(path)), source=name))
    ort_create_s, session = timed(
        lambda: ort_session(path, ort.GraphOptimizationLevel.ORT_ENABLE_ALL)
    )
    ort_nodes = {}
    for label, level in (("basic", ort.GraphOptimizationLevel.ORT_ENABLE_BASIC),
                         ("all", ort.GraphOptimizationLevel.ORT_ENABLE_ALL)):  # fmt: skip
        saved = folder / f"{name}.{label}.onnx"
        ort_session(path, level, saved)
        ort_nodes[label] = len(onnx.load(str(saved), load_external_data=False).graph.node)

    ops = count_ops(module) - sum(1 for op in module.walk() if isinstance(op, ConstantOp))
    optimized = module.clone()
    optimize_s, _ = timed(lambda: apply_pipeline(c := module.clone(), "ge-optimize") or c, 1)
    apply_pipeline(optimized, "ge-optimize")
    ours = kernels(optimized)

    ort_run_s, expected = timed(lambda: session.run(None, inputs))
    ref_s, got = timed(lambda: run(optimized, inputs))  # the median of 3, as onnxruntime's
    err = max(float(np.max(np.abs(a - b))) for a, b in zip(got, expected))
    return {
        "ops": ops,
        "import_s": import_s,
        "ort_create_s": ort_create_s,
        "optimize_s": optimize_s,
        "kernels": ours,
        "ort_basic": ort_nodes["basic"],
        "ort_all": ort_nodes["all"],
        "ref_run_s": ref_s,
        "ort_run_s": ort_run_s,
        "max_err": err,
        "params_mb": sum(p.numel() for p in model.parameters()) * 4 / 1e6,
        "proto_nodes": len(proto.graph.node),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="test-size models (fast)")
    parser.add_argument("--models", default=",".join(DEFAULT))
    args = parser.parse_args()
    head = (
        f"{'model':<13}{'onnx':>6}{'ops':>6}{'import s':>10}{'ort new s':>10}{'ratio':>7}"
        f"{'opt s':>8}{'s/1k op':>8}{'kernels':>8}{'ort B':>7}{'ort ALL':>8}"
        f"{'ref s':>8}{'ort s':>8}{'ratio':>7}{'max err':>10}"
    )
    print(head)
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models.split(","):
            r = bench(name, args.small, Path(tmp))
            print(
                f"{name:<13}{r['proto_nodes']:>6}{r['ops']:>6}{r['import_s']:>10.3f}"
                f"{r['ort_create_s']:>10.3f}{r['import_s'] / r['ort_create_s']:>7.2f}"
                f"{r['optimize_s']:>8.3f}{1000 * r['optimize_s'] / r['ops']:>8.3f}"
                f"{r['kernels']:>8}{r['ort_basic']:>7}{r['ort_all']:>8}"
                f"{r['ref_run_s']:>8.3f}{r['ort_run_s']:>8.3f}"
                f"{r['ref_run_s'] / r['ort_run_s']:>7.1f}{r['max_err']:>10.1e}",
                flush=True,
            )


if __name__ == "__main__":
    main()
