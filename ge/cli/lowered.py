"""`ge-run` on a program already lowered to the `npu` dialect.

`ge-opt model.mlir -p 'ge-optimize,plan-memory,convert-kernel-to-npu' > low.mlir` prints a
program of `npu.kernel` launches on device buffers; `ge-run low.mlir` runs it as it is on the
modeled NPU (`runtime.npu_interpreter.NpuExecutable`: the verifier first, then every kernel),
with what ge-run gives for a model it compiles itself: the outputs, `--profile`'s table,
`--report` (its kernels and makespan; no memory section, as the plan is the program's own
offsets) and `--trace`. There is nothing left to compile, so `--level reference`, which
would need the graph the program was lowered from, is refused.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from xdsl.dialects.builtin import ModuleOp

from ge import profiler
from ge.cli.inputs import bind_named, load_npz, random_inputs, show_outputs
from ge.report import build_report, write_report
from gedialects.errors import FrontendError
from gedialects.interpreter import entry_function, output_names
from gedialects.npu.attrs import BufferType
from gedialects.npu.launch import KernelOp
from runtime.npu_interpreter import NpuExecutable
from runtime.targets import load_target
from runtime.trace import write_trace


def is_lowered(module: ModuleOp) -> bool:
    """Whether `module` is at the npu level: kernel launches, or device buffers as inputs."""
    fn = entry_function(module)
    if any(isinstance(t, BufferType) for t in fn.function_type.inputs.data):
        return True
    return any(isinstance(op, KernelOp) for op in module.walk())


def run_lowered(module: ModuleOp, args: argparse.Namespace, target_name: str) -> int:
    """Run the npu-level `module` as `ge-run` runs a model (see the module docstring)."""
    if args.level != "npu":
        raise FrontendError(
            f"'{args.model}' is already lowered to the npu dialect: it runs on the npu level "
            "only (--level npu)"
        )
    fn = entry_function(module)
    if args.inputs:  # checked against the buffers' dims and dtypes, as a model's inputs
        inputs = list(bind_named(load_npz(Path(args.inputs)), fn, Path(args.inputs)).values())
    else:
        inputs = list(random_inputs(fn, args.seed).values())
    target = load_target(args.target)
    start = time.perf_counter()
    executable = NpuExecutable(module, target)  # verifies the program for the target
    compile_seconds = time.perf_counter() - start
    start = time.perf_counter()
    result = executable.run(inputs, trace=bool(args.trace))
    run_seconds = time.perf_counter() - start
    names = output_names(fn)
    show_outputs(names, result.outputs, Path(args.output) if args.output else None)
    kernels = []
    for kernel in result.profile.kernels:
        entry = kernel.as_dict()
        entry["seconds"] = kernel.cycles / (target.clock_mhz * 1e6)
        kernels.append(entry)
    if args.profile:
        with profiler.profile() as prof:
            profiler.record_kernels(kernels)
        print(f"modeled per-kernel time on {target_name}")
        print(prof.key_averages().table())
    if args.trace:
        write_trace(args.trace, result.profile, target)
    if args.report:
        sections = {"kernels": kernels, "makespan_cycles": result.profile.makespan_cycles}
        report = build_report(
            target=target_name,
            mode="static",
            cache="miss",
            compile_seconds=compile_seconds,
            run_seconds=run_seconds,
            outputs=names,
            sections=sections,
        )
        write_report(report, args.report)
    return 0
