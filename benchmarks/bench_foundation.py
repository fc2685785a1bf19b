"""Cost of the foundation: text IR, xDSL's cse / dce, the reference interpreter, the tools.

Builds a 2,000-op `ge` module (chains of elementwise, matmul and data-movement ops with
their constants, some duplicated for CSE and some dead for DCE), then times: parse, verify,
print; xDSL's `cse` and `dce`; interpreting a 50-op graph; full printing and parsing of a
10M-element f32 weight; and drawing random programs with `ge.testing.strategies`. Prints
seconds and seconds per 1,000 ops; the median of `--repeat` runs.

    .venv/bin/python benchmarks/bench_foundation.py [--ops 2000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from xdsl.context import Context  # noqa: E402
from xdsl.dialects import func  # noqa: E402
from xdsl.dialects.builtin import Builtin, ModuleOp, f32  # noqa: E402
from xdsl.ir import Block, Region  # noqa: E402
from xdsl.parser import Parser  # noqa: E402

from ge.testing import apply_pipeline, print_ir, programs_with_inputs, run  # noqa: E402
from gedialects.ge import GE, ConstantOp, ops  # noqa: E402
from gedialects.ge.types import tensor  # noqa: E402


def build_module(op_count: int, seed: int = 0) -> ModuleOp:
    """`main(x: 8x16, y: 16x16)` with about `op_count` ge ops in mixed repeating blocks."""
    rng = np.random.default_rng(seed)
    block = Block(arg_types=[tensor([8, 16], f32), tensor([16, 16], f32)])
    x, y = block.args
    body: list = []

    def add(op):
        body.append(op)
        return op.results[0]

    value, outputs = x, []
    while len(body) + 12 <= op_count:
        bias = add(ConstantOp(rng.standard_normal(16).astype(np.float32)))
        h = add(ops.MatMulOp(value, y))
        h = add(ops.AddOp(h, bias))
        twin = add(ops.AddOp(h, bias))  # a duplicate for cse
        h = add(ops.ReluOp(h))
        t = add(ops.TransposeOp(h, perm=[1, 0]))
        t = add(ops.ReshapeOp(t, shape=[8, 16]))
        add(ops.SigmoidOp(t))  # dead, for dce
        s = add(ops.SoftmaxOp(add(ops.MulOp(t, twin)), axis=-1))
        value = add(ops.LayerNormOp(s, add(ConstantOp(np.ones(16, np.float32))), axis=-1))
        if len(outputs) < 3 and len(body) > op_count // 2:
            outputs.append(value)
    while len(body) < op_count:
        value = add(ops.ReluOp(value))
    outputs.append(value)
    body.append(func.ReturnOp(*outputs))
    block.add_ops(body)
    fn = func.FuncOp("main", ([x.type, y.type], [v.type for v in outputs]), Region(block))
    module = ModuleOp([fn])
    module.verify()
    return module


def count_ge_ops(module: ModuleOp) -> int:
    return sum(1 for op in module.walk() if op.name.startswith("ge."))


def context() -> Context:
    ctx = Context()
    for dialect in (Builtin, func.Func, GE):
        ctx.load_dialect(dialect)
    return ctx


def timed(fn: Callable[[], object], repeat: int) -> tuple[tuple[float, float], object]:
    """Median (wall, CPU) seconds of `repeat` calls, and the last result.

    CPU time (this process) is reported beside wall time because the machines this runs on
    are often shared: wall time then grows with the load, CPU time much less.
    """
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return (statistics.median(walls), statistics.median(cpus)), result


def report(name: str, seconds: tuple[float, float], ops: int | None = None) -> None:
    wall, cpu = seconds
    per = f"{wall / ops * 1000:8.4f} s / 1k ops {cpu / ops * 1000:8.4f} s / 1k ops" if ops else ""
    print(f"{name:<44} {wall:9.4f} s {cpu:9.4f} s   {per}")


def bench_text_and_passes(op_count: int, repeat: int) -> None:
    module = build_module(op_count)
    n = count_ge_ops(module)
    text = print_ir(module)
    print(f"module: {n} ge ops, {len(text) / 1e3:.0f} kB of text")
    print(f"{'':<44} {'wall':>9}   {'CPU':>9}     {'wall per 1k ops':>17} {'CPU per 1k ops':>17}")
    seconds, parsed = timed(lambda: Parser(context(), text).parse_module(), repeat)
    report("parse", seconds, n)
    report("verify", timed(parsed.verify, repeat)[0], n)
    report("print", timed(lambda: print_ir(parsed), repeat)[0], n)
    for pipeline in ("cse", "dce", "canonicalize"):
        clones = [parsed.clone() for _ in range(repeat)]
        seconds, _ = timed(lambda c=clones: apply_pipeline(pipeline, c.pop()), repeat)
        report(f"xdsl {pipeline}", seconds, n)
    after = parsed.clone()
    apply_pipeline("cse,dce", after)
    print(f"  cse,dce: {n} -> {count_ge_ops(after)} ge ops")


def bench_interpreter(repeat: int) -> None:
    module = build_module(50)
    n = count_ge_ops(module)
    rng = np.random.default_rng(1)
    inputs = [rng.standard_normal((8, 16)).astype(np.float32), rng.standard_normal((16, 16))]
    inputs[1] = inputs[1].astype(np.float32)
    seconds, _ = timed(lambda: run(module, inputs), repeat)
    report(f"interpret a {n}-op graph", seconds, n)


def bench_big_constant(repeat: int) -> None:
    weight = np.random.default_rng(2).standard_normal(10_000_000).astype(np.float32)
    module = ModuleOp([ConstantOp(weight)])
    seconds, text = timed(lambda: print_ir(module), repeat)
    report("print a 10M-element f32 constant in full", seconds)
    seconds, parsed = timed(lambda: Parser(context(), text).parse_module(), repeat)
    report("parse it back", seconds)
    (op,) = parsed.ops
    assert op.to_numpy().tobytes() == weight.tobytes()


def bench_strategies(examples: int = 200) -> None:
    from ge.testing import assert_preserves_semantics

    def run_property(body: Callable, count: int) -> None:
        @settings(
            max_examples=count,
            database=None,
            phases=[Phase.generate],
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(programs_with_inputs(max_ops=10))
        def prop(case) -> None:
            body(case)

        prop()

    seconds, _ = timed(lambda: run_property(lambda case: None, examples), 1)
    report(f"draw a random program + inputs, each (of {examples})", _each(seconds, examples))
    seconds, _ = timed(
        lambda: run_property(lambda c: assert_preserves_semantics("cse,dce", *c), examples), 1
    )
    report("draw + assert_preserves_semantics('cse,dce')", _each(seconds, examples))


def _each(seconds: tuple[float, float], count: int) -> tuple[float, float]:
    return seconds[0] / count, seconds[1] / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    bench_text_and_passes(args.ops, args.repeat)
    bench_interpreter(args.repeat)
    bench_big_constant(max(1, args.repeat // 2))
    bench_strategies()


if __name__ == "__main__":
    main()
