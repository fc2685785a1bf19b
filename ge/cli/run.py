"""`ge-run MODEL`: compile a model (.onnx or .mlir) and run it; outputs to .npz, figures to JSON.

A thin command over `ge.compile` (`ge.api`): the same loading, compile pipeline, compile
cache, modes (static: one compiled plan; dynamic: eager, op by op) and levels
(`ge.pipeline.EXECUTORS`: `npu`, the modeled chip and ge-run's default, and `reference`;
`ge.compile`'s default is `reference`).
`--profile` prints the `ge.profiler` table of the run (host wall times, so labeled, at the
reference level; modeled kernel times at the npu level), then the planned memory's peak
beside its lower bound and the streams' makespan where the level plans them. `--trace` and
REPORT.json's `kernels`, `memory`, ... sections appear only when the level produces them:
otherwise a note goes to stderr and the run still exits 0. Any error prints one line on
stderr and exits 1, never a traceback.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
import warnings
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from xdsl.utils.exceptions import DiagnosticException, ParseError

from ge.cli.inputs import bind_named, check_given_shapes, load_npz, random_inputs, show_outputs
from ge.cli.lowered import is_lowered, run_lowered
from ge.diagnostics import first_line, format_parse_error
from ge.frontends.onnx.staging import StagedProgram
from ge.pipeline import PRECISION_MODES
from ge.report import build_report, sections_from_profile, write_report
from gedialects.errors import FrontendError, GeError
from gedialects.interpreter import entry_function

LEVELS: tuple[str, ...] = ("reference", "npu")
HOST_NOTE = "per-op host wall time of the reference interpreter (numpy; not modeled NPU cycles)"


class _UsageError(Exception):
    """A command-line mistake, reported as one line (argparse would print usage, exit 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # noqa: ANN201 (argparse's signature)
        raise _UsageError(message)


def _count(text: str) -> int:
    """A non-negative integer (numpy's seeds are; its own error names no flag)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative; it counts from 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="ge-run", description="Compile a model (.onnx or .mlir) and run it.")
    p.add_argument("model", help="the model: an .onnx file or .mlir text IR")
    p.add_argument("--inputs", metavar="IN.npz", help="inputs by name (default: random)")
    p.add_argument("--output", metavar="OUT.npz", help="write the outputs, named as the model's")
    p.add_argument("--mode", choices=("static", "dynamic"), default="static")
    p.add_argument("--profile", action="store_true", help="print the per-op profile")
    p.add_argument("--trace", metavar="TRACE.json", help="write a Chrome/Perfetto trace")
    p.add_argument("--report", metavar="REPORT.json", help="write the figures as JSON")
    p.add_argument("--target", default="ascend910a", help="preset name or target TOML file")
    p.add_argument("--seed", type=_count, default=0, help="seed of the random inputs")
    p.add_argument("--level", choices=LEVELS, default="npu", help="where to run (default npu)")
    p.add_argument("--no-cache", action="store_true", help="compile without the compile cache")
    p.add_argument(
        "--precision-mode",
        choices=PRECISION_MODES,
        default="force_fp32",
        help="GE's precision_mode (allow_fp32_to_fp16: the cube on fp16 operands)",
    )
    p.add_argument(
        "--memory-plot", metavar="FILE.png", help="plot live bytes over the schedule (npu level)"
    )
    p.add_argument(
        "--tune",
        type=int,
        default=0,
        metavar="N",
        help="op tuning (npu level): run each conv/matmul tile search's best N candidates on "
        "the interpreter and keep the fastest",
    )
    p.add_argument(
        "--tune-db",
        metavar="FILE.json",
        help="tile decisions to lower with; --tune writes what it measured into it",
    )
    return p


def _note(message: str) -> None:
    print(f"ge-run: note: {message}", file=sys.stderr)


def _check_request(args: argparse.Namespace) -> str:
    """The target's name; refuses a missing model or a level this build lacks."""
    from ge.pipeline import EXECUTORS, _load_levels
    from runtime.targets import load_target

    target = load_target(args.target).name
    _load_levels()  # levels beyond the reference one register on import
    if args.level not in EXECUTORS:
        raise GeError(
            f"--level {args.level} is not available yet (its lowering has not landed); "
            f"use --level {' or '.join(EXECUTORS)}"
        )
    model = Path(args.model)
    if not model.is_file():
        raise FrontendError(f"model file '{model}' does not exist")
    if model.suffix.lower() not in (".onnx", ".mlir"):
        raise FrontendError(f"'{model}' is neither an .onnx model nor .mlir text IR")
    _check_output_paths(args)
    return target


def _check_output_paths(args: argparse.Namespace) -> None:
    """Files the run writes go where they can, checked before a compile and run that may take
    minutes (a missing folder was an OSError after them, losing the run)."""
    for flag in ("output", "report", "trace", "memory_plot", "tune_db"):
        value = getattr(args, flag)
        if not value:
            continue
        option = "--" + flag.replace("_", "-")
        path = Path(value)
        if path.is_dir():
            raise GeError(f"{option} {value} is a folder; it takes a file name")
        if not path.parent.is_dir():
            raise GeError(f"{option} {value}: folder '{path.parent}' does not exist")


def run(args: argparse.Namespace) -> int:
    """The whole command, once the arguments are parsed; raises on any error."""
    import ge.api
    from ge import profiler

    target = _check_request(args)
    given = load_npz(Path(args.inputs)) if args.inputs else None
    # An ONNX model's symbolic dims take the shapes of the given inputs.
    shapes = {k: list(v.shape) for k, v in given.items()} if given is not None else None
    start = time.perf_counter()
    is_onnx = Path(args.model).suffix.lower() == ".onnx"
    model: object = args.model
    if is_onnx and shapes is not None:
        from ge.frontends.onnx.importer import read_onnx_file

        model = read_onnx_file(args.model)
        check_given_shapes(model, given, Path(args.inputs))
        names = {info.name for info in model.graph.input}
        # an array the model does not take is bind_named's error below, naming the file
        shapes = {k: v for k, v in shapes.items() if k in names}
    module = ge.api.load_program(
        model, input_shapes=shapes if is_onnx else None, source=str(args.model)
    )
    gc.collect()  # ops the import erased hold whole weights in reference cycles
    staged = isinstance(module, StagedProgram)
    if not staged and is_lowered(module):  # `ge-opt ... convert-kernel-to-npu`'s output
        return run_lowered(module, args, target)
    if staged:
        _note(f"runs in stages: {module.describe()}")
    fn = entry_function(module.first if staged else module)
    # Given inputs are checked before the compile, which can take a while.
    inputs = bind_named(given, fn, Path(args.inputs)) if given is not None else None
    compiled = ge.api.compile(
        module,
        target=args.target,
        mode=args.mode,
        level=args.level,
        cache=not args.no_cache,
        precision_mode=args.precision_mode,
        tune=args.tune,
        tune_db=args.tune_db,
    )
    if (args.tune or args.tune_db) and args.level != "npu":
        _note(f"--tune and --tune-db choose npu tiles; --level {args.level} has none")
    compile_seconds = time.perf_counter() - start  # import and compile, as DESIGN.md counts
    inputs = inputs if inputs is not None else random_inputs(fn, args.seed)
    cache_state = compiled.last_cache
    tuning = _tuning(compiled)
    start = time.perf_counter()
    with profiler.profile(pipes=bool(args.trace)) as prof:  # DESIGN.md: streams and pipes
        outputs = compiled.run(**inputs)
    run_seconds = time.perf_counter() - start
    names = compiled.output_names
    show_outputs(names, outputs, Path(args.output) if args.output else None)
    host = any(e.clock == "host" for e in prof.events)
    if args.profile:
        print(HOST_NOTE if host else f"modeled per-kernel time on {target}")
        print(prof.key_averages().table())
        print("\n".join(_plan_figures(compiled.last_profile, args.level)))
    if args.trace:
        if prof.events and not host:
            prof.export_chrome_trace(args.trace)
        elif host:
            _note(f"--trace needs modeled streams, which --level {args.level} lacks; none written")
        else:
            _note("--trace: the run launched no kernel on the modeled NPU; none written")
    if args.memory_plot:
        _memory_plot(compiled, args)
    if args.report:
        report = build_report(
            target=target,
            mode=args.mode,
            cache=cache_state,
            compile_seconds=compile_seconds,
            run_seconds=run_seconds,
            outputs=names,
            sections={
                **sections_from_profile(compiled.last_profile),
                "precision_mode": args.precision_mode,
                "stages": compiled.last_profile.get("stages"),  # staged models only
                "launches": compiled.last_profile.get("launches"),  # dynamic mode only
                "compiles": compiled.last_profile.get("compiles"),
                "tuning": tuning,  # with --tune only
            },
        )
        write_report(report, args.report)
    return 0


def _plan_figures(profile: Mapping[str, Any], level: str) -> list[str]:
    """`--profile`'s memory figures (DESIGN.md) and the streams' timeline, as REPORT.json
    has them, for a person: the planned peak beside its lower bound and no reuse."""
    memory = profile.get("memory")
    if not memory:
        return [f"memory: no planned arena at --level {level}"]
    peak, bound = memory["peak_bytes"], memory["lower_bound_bytes"]
    ratio = f"{peak / bound:.2f}x" if bound else "-"
    lines = [
        f"memory: peak {_mib(peak)} ({memory['planner']}), {ratio} the lower bound "
        f"{_mib(bound)}; {_mib(memory['no_reuse_bytes'])} without reuse; "
        f"{len(memory['buffers'])} buffers"
    ]
    if "makespan_cycles" in profile:
        lines.append(
            f"timeline: makespan {profile['makespan_cycles']:,.0f} cycles, critical path "
            f"{profile['critical_path_cycles']:,.0f} cycles, {profile['streams']} streams"
        )
    return lines


def _mib(nbytes: float) -> str:
    return f"{nbytes / 2**20:.2f} MiB"


def _tuning(compiled) -> dict | None:  # noqa: ANN001
    """What op tuning did in the static npu plan's compile (None without it), as one note
    and a REPORT.json section."""
    static = getattr(compiled, "mode", None) == "static"  # (a staged model has stages)
    program = compiled.plan().stats.get("npu_program") if static else None
    report = getattr(program, "tuning", None)
    if report is None:
        return None
    changed = report.improved
    _note(f"tuned {len(report.sites)} tile searches in {report.seconds:.1f} s; {len(changed)} "
          "kept a candidate faster than the estimate's choice")  # fmt: skip
    return {
        "searches": len(report.sites),
        "changed": len(changed),
        "seconds": round(report.seconds, 3),
        "kernels": [
            {"kernel": s.kernel, "cycles_before": s.before, "cycles_after": s.after}
            for s in changed
        ],
    }


def _memory_plot(compiled, args: argparse.Namespace) -> None:  # noqa: ANN001
    """Live bytes and the arena layout of the static plan, as a PNG (matplotlib)."""
    program = compiled.plan().stats.get("npu_program") if compiled.mode == "static" else None
    if program is None:
        _note("--memory-plot needs the planned memory of a static npu plan; none written")
        return
    from passes.memory.plot import plot_memory

    plot_memory(program.memory_plan, args.memory_plot, title=Path(args.model).name)


def main(argv: Sequence[str] | None = None) -> int:
    with warnings.catch_warnings():  # restores the caller's handler
        warnings.showwarning = _one_line_warning
        return _main(argv)


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
    """A warning (a kernel that fell back to the reference interpreter on an internal error)
    as one line of the command's own, not Python's `file:line: UserWarning` and source line."""
    print(f"ge-run: warning: {first_line(str(message))}", file=sys.stderr)


def _main(argv: Sequence[str] | None) -> int:
    try:
        return run(build_parser().parse_args(argv))
    except _UsageError as error:
        message = f"error: {error}"
    except ParseError as error:
        print(format_parse_error(error), file=sys.stderr)
        return 1
    except (GeError, DiagnosticException) as error:
        message = first_line(str(error))
        if ": error: " in message:  # already located (file:line:col: error: ...)
            print(message, file=sys.stderr)
            return 1
        message = f"error: {message}"
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        message = f"error: {first_line(str(error)) or type(error).__name__}"
    except Exception as error:  # the command boundary: a bug still prints one line
        if os.environ.get("GE_TRACEBACK"):
            raise
        message = f"internal error ({type(error).__name__}): {first_line(str(error))}"
    print(f"ge-run: {message}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
