"""Where the npu interpreter's wall time goes: numpy work on tiles vs interpreting the IR.

Runs the hand-written tiled programs of the interpreter tests (a matmul larger than L1, an
elementwise op larger than L2, a conv through img2col) and reports, per program, the wall time
of a run, the number of instructions executed, and the share of the time spent outside the
interpreter's own Python code (numpy, scipy and BLAS), measured with cProfile: the tottime of
numpy's and scipy's functions and of `npu_semantics.py` (numpy expressions), the rest being
the interpreter's overhead.
cProfile slows Python code more than numpy, so the share is a lower bound.

With `--models resnet18,bert_layer` it runs zoo models (torch, exported to ONNX) at the npu
level instead (`ge.compile(level="npu")`, every kernel lowered and interpreted) and reports
the first run (lowering and capture included), the second (which merges the captured work
of each wave's blocks: `runtime.npu_batch`), a warm run (wall and CPU seconds, best of
`--repeats`),
onnxruntime's run of the same ONNX model in the same process, their ratio (issue 5's goal is
3x), the numpy share of the warm run, the bytes the npu program writes into all its memory
levels in one run (DMA destinations and compute results: the data the modeled chip moves),
and the time numpy needs just to copy that many bytes on this machine (a floor for any
interpreter that executes the program's data movement).

    .venv/bin/python benchmarks/bench_npu_interpreter.py [--models resnet18,bert_layer]
        [--actions 5]

`--actions N` also times each captured action of one warm run and prints the N kernels
whose replay takes longest, each with its time per numpy function (the bytes of the arrays
the function was handed, read and written, beside it).

`--toggle ENV` (with `--models`) compiles each model twice, with the replay switch ENV set
to 0 (`GE_NPU_UNIFORM`: equal rows done once, `runtime.npu_uniform`; `GE_NPU_BATCH`: waves
merged) and as it is, times their warm runs alternately (best of `--repeats` rounds of 5),
and prints both, whether their outputs agree bit for bit, and the bytes each replay writes
per run (the windows its actions overwrite, `npu_access.accesses`).
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "runtime"))

from npu_programs import add_relu_program, matmul_program, parse  # noqa: E402

from runtime.npu_interpreter import NpuExecutable  # noqa: E402

RNG = np.random.default_rng(0)


def _cases() -> list[tuple[str, str, list[np.ndarray]]]:
    m, n, k = 1024, 1024, 1024
    a = RNG.standard_normal((m, k)).astype(np.float16)
    b = RNG.standard_normal((k, n)).astype(np.float16)
    x, y = (RNG.standard_normal((3000, 3000)).astype(np.float32) for _ in range(2))
    return [
        ("matmul 1024^3 f16, tiles 128, 32 blocks, double-buffered",
         matmul_program(m, n, k, 128, 128, 128, 32, double=True), [a, b]),
        ("add+relu 3000x3000 f32 (36 MB), tiles 16x1000, 32 blocks",
         add_relu_program(3000, 3000, 16, 1000, 32), [x, y]),
        ("add+relu 3000x3000 f32, tiles 8x1000, double-buffered",
         add_relu_program(3000, 3000, 8, 1000, 32, double=True), [x, y]),
    ]  # fmt: skip


def _numpy_share(stats: pstats.Stats) -> float:
    """The tottime share of numpy/scipy (their C functions and Python wrappers) and of
    `npu_semantics.py` (whose own time is numpy expressions); the rest is interpretation."""
    work, total = 0.0, 0.0
    for (filename, _, function), (_, _, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        total += tottime
        numeric = "numpy" in function or "ufunc" in function or "ndarray" in function
        if (
            filename == "~"
            and numeric
            or any(part in filename for part in ("/numpy/", "/scipy/", "npu_semantics.py"))
        ):
            work += tottime
    return work / total if total else 0.0


def _best(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Best wall and best CPU seconds of `repeats` calls (CPU time is steadier on a busy box)."""
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def _zoo(name: str):  # noqa: ANN202
    """(ge module, inputs, ONNX bytes) of zoo model `name` at full size, through its
    ONNX export."""
    import onnx

    from ge.frontends.onnx import import_onnx_model
    from ge.testing.models import MODELS, build, export_onnx

    model, example = build(name, small=False)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}.onnx"
        export_onnx(model, example, path, input_names=MODELS[name].input_names)
        module = import_onnx_model(onnx.load(str(path)), source=name)
        exported = path.read_bytes()
    return module, [t.numpy() for t in example], exported


def toggled(names: list[str], env: str, repeats: int) -> None:
    """Each model with replay switch `env` off (0) and as it is (see the module docstring)."""
    import os

    import ge

    print(f"{'model':<14}{env + '=0 s':>18}{'as is s':>10}{'ratio':>7}{'same':>6}"
          f"{'written MB off':>16}{'as is':>8}")  # fmt: skip
    for name in names:
        module, inputs, _ = _zoo(name)
        runs, outputs, written = {}, {}, {}
        for flag in ("0", None):
            saved = os.environ.pop(env, None)
            if flag is not None:
                os.environ[env] = flag
            try:  # the switches are read when a replay merges its waves: runs 2 and 3
                compiled = ge.compile(module, level="npu", cache=False)
                for _ in range(3):
                    outputs[flag] = compiled.run(*inputs)
            finally:
                os.environ.pop(env, None)
                if saved is not None:
                    os.environ[env] = saved
            runs[flag], written[flag] = compiled, _replay_bytes(compiled)
        best = {flag: float("inf") for flag in runs}
        for _ in range(repeats):
            for flag, compiled in runs.items():
                best[flag] = min(best[flag], _best(lambda c=compiled: c.run(*inputs), 5)[0])
        same = all(
            np.array_equal(a, b, equal_nan=True)
            for a, b in zip(outputs["0"], outputs[None], strict=True)
        )
        print(f"{name:<14}{best['0']:>18.4f}{best[None]:>10.4f}{best[None] / best['0']:>7.2f}"
              f"{'yes' if same else 'NO':>6}{written['0'] / 1e6:>16.0f}"
              f"{written[None] / 1e6:>8.0f}", flush=True)  # fmt: skip


def _replay_bytes(compiled) -> int:  # noqa: ANN001
    """Bytes the captured replays of `compiled`'s kernels write per run."""
    from runtime.npu_access import accesses

    executables = compiled.plan().stats["npu_program"].runner.executables.values()
    replays = {id(r): r for e in executables for r in e.replays.values()}.values()
    return sum(
        a.nbytes for r in replays for fn, args in r.actions for a in accesses(fn, args)[1]
    )


def models(names: list[str], repeats: int, actions: int = 0) -> None:
    import onnxruntime as ort

    import ge

    bandwidth = _copy_bandwidth()
    print(f"{'model':<12}{'first s':>9}{'second s':>10}{'warm s':>9}{'cpu s':>8}{'ort ms':>9}"
          f"{'ratio':>8}{'numpy share':>13}{'written GB':>12}{'copy floor s':>14}")  # fmt: skip
    for name in names:
        module, inputs, exported = _zoo(name)
        session = ort.InferenceSession(exported, providers=["CPUExecutionProvider"])
        feed = dict(zip([i.name for i in session.get_inputs()], inputs))
        compiled = ge.compile(module, level="npu", cache=False)
        first = time.perf_counter()
        compiled.run(*inputs)
        first = time.perf_counter() - first
        kernels = compiled.last_profile.get("kernels", [])
        written = sum(sum(k.get("bytes_written", {}).values()) for k in kernels)
        second = time.perf_counter()
        compiled.run(*inputs)  # merges each wave's blocks in the captured work
        second = time.perf_counter() - second
        wall, cpu = _best(lambda: compiled.run(*inputs), repeats)
        session.run(None, feed)
        ort_wall, _ = _best(lambda: session.run(None, feed), 10)
        profiler = cProfile.Profile()
        profiler.runcall(compiled.run, *inputs)
        share = _numpy_share(pstats.Stats(profiler))
        print(f"{name:<12}{first:>9.2f}{second:>10.2f}{wall:>9.2f}{cpu:>8.2f}{ort_wall * 1e3:>9.1f}"
              f"{wall / ort_wall:>7.0f}x{share:>12.0%}{written / 1e9:>12.2f}"
              f"{written / bandwidth:>14.3f}", flush=True)  # fmt: skip
        if actions:
            _print_actions(lambda: compiled.run(*inputs), actions)


def _print_actions(run: Callable[[], object], top: int) -> None:
    """Time every captured action of one warm `run`; print the `top` kernels by replay time
    with their time per numpy function (and the bytes of the arrays it was handed), then
    each function's time and calls over all kernels."""
    from collections import defaultdict

    from runtime import npu_replay

    spent: dict[str, dict[str, list[float]]] = defaultdict(
        lambda: defaultdict(lambda: [0, 0, 0])
    )
    replay_run = npu_replay.Replay.run

    def timed_run(replay: npu_replay.Replay):  # noqa: ANN202
        if replay.starts is not None:  # not merged yet: no warm run
            return replay_run(replay)
        kernel = spent[replay.profile.name]
        for fn, args in replay.actions:
            start = time.perf_counter()
            fn(*args)
            row = kernel[getattr(fn, "__name__", "?")]
            row[0] += time.perf_counter() - start
            row[1] += sum(a.nbytes for a in args if isinstance(a, np.ndarray))
            row[2] += 1
        return copy.copy(replay.profile)

    npu_replay.Replay.run = timed_run  # type: ignore[method-assign]
    try:
        run()
    finally:
        npu_replay.Replay.run = replay_run  # type: ignore[method-assign]
    totals = {k: sum(row[0] for row in fns.values()) for k, fns in spent.items()}
    for kernel in sorted(totals, key=totals.__getitem__, reverse=True)[:top]:
        parts = sorted(spent[kernel].items(), key=lambda kv: -kv[1][0])
        shown = ", ".join(f"{f} {t * 1e3:.1f} ms ({b / 1e6:.0f} MB)" for f, (t, b, _) in parts)
        print(f"  {kernel:<16}{totals[kernel] * 1e3:>7.1f} ms: {shown}")
    by_function: dict[str, list[float]] = defaultdict(lambda: [0, 0])
    for fns in spent.values():
        for name, (seconds, _, calls) in fns.items():
            by_function[name][0] += seconds
            by_function[name][1] += calls
    ranked = sorted(by_function.items(), key=lambda kv: -kv[1][0])
    print("  all kernels: " + ", ".join(
        f"{f} {t * 1e3:.1f} ms ({n:.0f} calls)" for f, (t, n) in ranked
    ))  # fmt: skip


def _copy_bandwidth() -> float:
    """Bytes per second numpy copies on this machine (64 MiB, best of 5): with the bytes the
    npu program writes into every level, a floor on any interpreter that moves its data."""
    src, dst = np.ones(2**24, np.float32), np.empty(2**24, np.float32)
    best = min(_best(lambda: np.copyto(dst, src), 5))
    return src.nbytes / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="", help="e.g. resnet18,bert_layer")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--actions", type=int, default=0, help="kernels to break down")
    parser.add_argument("--toggle", default="", help="a replay switch: GE_NPU_UNIFORM")
    args = parser.parse_args()
    if args.models and args.toggle:
        toggled(args.models.split(","), args.toggle, args.repeats)
        return
    if args.models:
        models(args.models.split(","), args.repeats, args.actions)
        return
    print(f"{'program':<58}{'wall s':>8}{'instr':>8}{'numpy share':>13}")
    for title, text, inputs in _cases():
        executable = NpuExecutable(parse(text))
        executable.run(inputs)  # captures each kernel's work
        executable.run(inputs)  # merges each wave's blocks
        start = time.perf_counter()
        result = executable.run(inputs)
        wall = time.perf_counter() - start
        profiler = cProfile.Profile()
        profiler.runcall(executable.run, inputs)
        share = _numpy_share(pstats.Stats(profiler))
        instructions = sum(k.instructions for k in result.profile.kernels)
        print(f"{title:<58}{wall:>8.3f}{instructions:>8}{share:>12.0%}")


if __name__ == "__main__":
    main()
