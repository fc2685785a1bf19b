"""Where the npu interpreter's wall time goes: numpy work on tiles vs interpreting the IR.

Runs the hand-written tiled programs of the interpreter tests (a matmul larger than L1, an
elementwise op larger than L2, a conv through img2col) and reports, per program, the wall time
of a run, the number of instructions executed, and the share of the time spent outside the
interpreter's own Python code (numpy, scipy and BLAS), measured with cProfile: the tottime of
functions defined in `runtime/npu_*.py` (not `npu_semantics.py`) is the interpreter's overhead.
cProfile slows Python code more than numpy, so the share is a lower bound.

    .venv/bin/python benchmarks/bench_npu_interpreter.py
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import time
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


def _interpreter_share(stats: pstats.Stats) -> float:
    own, total = 0.0, 0.0
    for (filename, _, _), (_, _, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        total += tottime
        name = Path(filename).name
        if name.startswith("npu_") and name != "npu_semantics.py":
            own += tottime
    return own / total if total else 0.0


def main() -> None:
    print(f"{'program':<58}{'wall s':>8}{'instr':>8}{'numpy share':>13}")
    for title, text, inputs in _cases():
        executable = NpuExecutable(parse(text))
        executable.run(inputs)  # warm up caches
        start = time.perf_counter()
        result = executable.run(inputs)
        wall = time.perf_counter() - start
        profiler = cProfile.Profile()
        profiler.runcall(executable.run, inputs)
        share = 1.0 - _interpreter_share(pstats.Stats(profiler))
        instructions = sum(k.instructions for k in result.profile.kernels)
        print(f"{title:<58}{wall:>8.3f}{instructions:>8}{share:>12.0%}")


if __name__ == "__main__":
    main()
