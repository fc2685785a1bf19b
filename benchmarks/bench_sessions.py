"""Sessions (issue 8): compile vs cached runs, eager vs static, and shape-gear overhead.

1. `ge-run` on ResNet-18 (ONNX, 224x224) twice with a fresh compile cache: the first run
   compiles (cache "miss"), the second reads the plan back ("hit"); wall time of each.
2. Eager (dynamic) vs static mode on the seed's ResNet block and attention block at the
   npu level: modeled cycles (sum of per-op launches vs the static plan's makespan), HBM
   bytes, launches and host wall time.
3. Gears 1, 8, 32, 64 for a batch sweep 1..64 of a per-sample MLP: padding waste (padded
   samples / computed samples) and modeled cycles with gears vs a plan compiled for the
   exact batch.

Run: `.venv/bin/python benchmarks/bench_sessions.py`
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, f32
from xdsl.ir import Block, Region

import ge
from ge.gears import choose_gear, respecialize_batch
from gedialects.ge import AddOp, ConstantOp, MatMulOp, ReluOp
from gedialects.ge.types import tensor
from gedialects.interpreter import entry_function

ROOT = Path(__file__).resolve().parent.parent


def main_job():
    spec = importlib.util.spec_from_file_location("main_job", ROOT / "examples" / "main_job.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cache_runs() -> None:
    from ge.testing.models import build, export_onnx

    print("1. ge-run ResNet-18 (224x224), fresh cache: compile, then cached")
    with tempfile.TemporaryDirectory() as tmp:
        model, example = build("resnet18", small=False)
        path = Path(tmp) / "resnet18.onnx"
        export_onnx(model, example, path)
        env = {"GE_CACHE_DIR": str(Path(tmp) / "cache"), "PATH": str(Path(sys.executable).parent)}
        for attempt in ("first", "second"):
            report = Path(tmp) / f"{attempt}.json"
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "ge.cli.run", str(path), "--report", str(report)],
                check=True,
                env=env,
                capture_output=True,
            )
            wall = time.perf_counter() - start
            data = json.loads(report.read_text())
            print(
                f"   {attempt:<7} cache {data['cache']:<5} wall {wall:6.2f} s  "
                f"compile {data['compile_seconds']:6.2f} s  run {data['run_seconds']:6.2f} s"
            )


def eager_vs_static() -> None:
    print("\n2. eager vs static at the npu level (modeled cycles on ascend910a)")
    job = main_job()
    rng = np.random.default_rng(0)
    cases = {
        "resnet block 64x56x56": (job.resnet_basic_block(), [rng.standard_normal((1, 64, 56, 56))]),
        "attention seq128 d64": (
            job.attention_block(),
            [rng.standard_normal((1, 128, 64)), np.zeros((1, 128, 128))],
        ),
    }
    print(f"   {'model':<24}{'mode':<9}{'launches':>9}{'cycles':>12}{'HBM MB':>9}{'wall s':>8}")
    for name, (module, inputs) in cases.items():
        inputs = [x.astype(np.float32) for x in inputs]
        for mode in ("static", "dynamic"):
            compiled = ge.compile(module, level="npu", mode=mode, cache=False)
            compiled.run(*inputs)  # compile everything first
            start = time.perf_counter()
            with ge.profile() as prof:
                compiled.run(*inputs)
            wall = time.perf_counter() - start
            cycles = sum(e.seconds for e in prof.events) * 1e9  # 1 GHz cube clock
            if mode == "static":
                cycles = compiled.last_profile["makespan_cycles"]
            hbm = sum(e.hbm_bytes for e in prof.events) / 1e6
            launches = len(prof.events)
            print(f"   {name:<24}{mode:<9}{launches:>9}{cycles:>12,.0f}{hbm:>9.2f}{wall:>8.2f}")


def mlp(batch: int) -> ModuleOp:
    rng = np.random.default_rng(0)
    block = Block(arg_types=[tensor([batch, 256], f32)])
    ops, x = [], block.args[0]
    for width in (512, 512, 10):
        w = ConstantOp(
            (rng.standard_normal((x.type.get_shape()[-1], width)) * 0.05).astype(np.float32)
        )
        b = ConstantOp(np.zeros(width, np.float32))
        mm, add = MatMulOp(x, w), None
        add = AddOp(mm, b)
        relu = ReluOp(add)
        ops += [w, b, mm, add, relu]
        x = relu.output
    ops.append(func.ReturnOp(x))
    block.add_ops(ops)
    return ModuleOp([func.FuncOp("main", ([block.args[0].type], [x.type]), Region(block))])


def gear_sweep() -> None:
    gears = [1, 8, 32, 64]
    print(f"\n3. gears {gears} over batches 1..64 (MLP 256-512-512-10, npu level)")
    base = mlp(1)
    geared = ge.compile(base, level="npu", dynamic_batch=gears, cache=False)
    gear_cycles = {}
    for g in gears:
        geared.run(np.zeros((g, 256), np.float32))
        gear_cycles[g] = geared.last_profile["makespan_cycles"]
    head = f"{'batch':>5}{'gear':>6}{'padding':>9}{'gear cycles':>13}{'exact cycles':>14}"
    print(f"   {head}{'ratio':>7}")
    padded = computed = 0
    for n in (1, 2, 3, 5, 8, 9, 16, 24, 32, 33, 48, 64):
        gear = choose_gear(gears, n)
        exact_module = respecialize_batch(base, entry_function(base), n)
        exact = ge.compile(exact_module, level="npu", cache=False)
        exact.run(np.zeros((n, 256), np.float32))
        exact_cycles = exact.last_profile["makespan_cycles"]
        padded += gear - n
        computed += gear
        print(
            f"   {n:>5}{gear:>6}{(gear - n) / gear:>9.0%}{gear_cycles[gear]:>13,.0f}"
            f"{exact_cycles:>14,.0f}{gear_cycles[gear] / exact_cycles:>7.2f}"
        )
    print(f"   padding waste over the sweep: {padded / computed:.1%} of computed samples")


if __name__ == "__main__":
    cache_runs()
    eager_vs_static()
    gear_sweep()
