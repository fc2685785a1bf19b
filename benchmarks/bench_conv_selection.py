"""Does `select-implementations` pick the conv algorithm that is fastest once lowered?

Per distinct conv layer of a ResNet-50-sized model and MobileNetV2 (batch 1): the analytic
choice of `select-implementations`, and every candidate's modeled cycles as the npu interpreter
charges its lowering (autotune's measurement, pruned at 4x the best estimate as autotune does).
Totals over the model's convs: the analytic choices, autotune's choices and im2col everywhere,
each in interpreted cycles (a candidate autotune could not run keeps its estimate, marked *).

    .venv/bin/python benchmarks/bench_conv_selection.py [--small] [--models resnet50,mobilenet_v2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench_conv_algorithms import conv_layers, describe

from ge.frontends.onnx import import_onnx_model
from ge.pipeline import apply_pipeline
from ge.testing.models import build, export_onnx
from gedialects.ge.types import element_of, to_numpy_dtype
from gedialects.kernel.ops import Conv2DKernelOp
from passes.autotune import Autotuner
from passes.select_implementations import conv_geometry
from runtime.targets import load_target


def _ops_by_geometry(name: str, small: bool) -> dict:
    model, example = build(name, small=small)
    module = import_onnx_model(export_onnx(model, example), source=name)
    apply_pipeline(module, "ge-optimize")
    return {conv_geometry(op): op for op in module.walk() if isinstance(op, Conv2DKernelOp)}


def report(name: str, small: bool, tuner: Autotuner) -> None:
    layers = conv_layers(name, small)
    ops = _ops_by_geometry(name, small)
    totals = {"analytic": 0.0, "autotune": 0.0, "im2col": 0.0}
    agree = 0
    print(f"\n{name}: {sum(layers.values())} convs, {len(layers)} distinct (interpreted cycles)")
    for (geometry, chosen, _), count in sorted(layers.items(), key=lambda kv: -kv[0][0].macs):
        start = time.perf_counter()
        op = ops[geometry]
        tuner.measure_conv(geometry, op)
        entry = tuner.entry(geometry, to_numpy_dtype(element_of(op.input.type)))
        cycles, estimated = entry["cycles"], entry["estimated"]
        run = {a: c for a, c in cycles.items() if a not in estimated} or cycles
        best = min(run, key=run.get)
        agree += count * (best == chosen)
        totals["analytic"] += count * cycles[chosen]
        totals["autotune"] += count * run[best]
        totals["im2col"] += count * cycles.get("im2col", cycles[chosen])
        cells = ", ".join(
            f"{a} {c:,.0f}{'*' if a in estimated else ''}" for a, c in sorted(cycles.items())
        )
        print(f"  {describe(geometry):<26} x{count:<2} chosen {chosen:<13} fastest {best:<13} "
              f"[{cells}] ({time.perf_counter() - start:.0f} s)")  # fmt: skip
    n = sum(layers.values())
    print(f"  analytic choice = fastest lowered on {agree}/{n} convs")
    print(f"  total cycles: analytic {totals['analytic']:,.0f}, autotune "
          f"{totals['autotune']:,.0f}, im2col everywhere {totals['im2col']:,.0f}; "
          f"analytic / autotune {totals['analytic'] / totals['autotune']:.2f}, "
          f"autotune / im2col {totals['autotune'] / totals['im2col']:.2f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="64x64 images (quick)")
    parser.add_argument("--models", default="resnet50,mobilenet_v2")
    args = parser.parse_args()
    cache = Path(tempfile.mkdtemp()) / "autotune.json"
    tuner = Autotuner(load_target("ascend910a"), cache)
    for name in args.models.split(","):
        report(name, args.small, tuner)


if __name__ == "__main__":
    main()
