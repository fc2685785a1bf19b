"""`ge-opt`: xdsl-opt with every gedialects dialect, pass and frontend registered.

Same flags as xdsl-opt, plus constant elision control and ONNX in/out. Errors in the
input are printed as one located line and exit 1; no traceback reaches the user (a bug in a
pass is one `internal error` line too; `GE_TRACEBACK=1` raises it instead, for pass authors).
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import numpy as np
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass
from xdsl.utils.arg_spec import parse_pipeline
from xdsl.utils.exceptions import ArgSpecParseError, DiagnosticException, ParseError
from xdsl.xdsl_opt_main import xDSLOptMain

from ge.cli.expected_diagnostics import Expectation, expectations, match_error
from ge.diagnostics import LocatingParser, first_line, format_parse_error, verify_located
from gedialects.errors import GeError
from gedialects.ge.constant import DEFAULT_ELIDE_LIMIT, constant_elision
from gedialects.serialization import (
    elided_weights,
    restore_from_sidecar,
    sidecar_path,
    write_weights,
)


class GeOptMain(xDSLOptMain):
    """The opt driver; dialects and passes come from our `xdsl.universe` entry point.

    With `--split-input-file`, an error in one chunk is reported and the next chunk is
    still processed (as mlir-opt does); the exit code is 1 if any chunk failed.
    """

    def __init__(self, description: str, args: Sequence[str] | None = None):
        self.asks_help = bool({"-h", "--help"} & set(sys.argv[1:] if args is None else args))
        self.errors: list[str] = []
        self.chunk_line_offset, self.chunk_failed = 0, False
        self.expected: list[Expectation] = []
        """The current chunk's `expected-error` annotations (`--verify-diagnostics`)."""
        self.pending: _PendingOutput | None = None
        self.weights: dict[str, np.ndarray] = {}
        """The weights of the constants `-o`'s text prints elided, by digest."""
        super().__init__(description, args)

    def parse_chunk(self, chunk: IO[bytes], file_extension: str, start_offset: int = 0):
        self._finish_chunk()
        data = chunk.read()
        self.chunk_line_offset, self.chunk_failed = start_offset, False
        if self.args.verify_diagnostics:
            self.expected = expectations(data.decode(errors="replace"), start_offset + 1)
        try:
            return super().parse_chunk(io.BytesIO(data), file_extension, start_offset)
        except ParseError as error:
            error.span = dataclasses.replace(error.span, line_offset=start_offset)
            self._report(format_parse_error(error), parsing=True)
        except (DiagnosticException, GeError) as error:
            self._report(self._located(first_line(str(error))))
        return None

    def apply_passes(self, prog: ModuleOp) -> None:
        try:
            super().apply_passes(prog)
        except (DiagnosticException, GeError) as error:
            self._report(self._located(first_line(str(error))))
        except Exception as error:
            upstream = _upstream_pass_failure(error)
            if upstream is None or os.environ.get("GE_TRACEBACK"):
                raise
            self._report(self._located(upstream))

    def setup_pipeline(self) -> None:
        """xDSL's pass-option errors (`Provided arguments ["foo"] not found ...`) do not
        say which pass of the pipeline they are about: the message names it."""
        try:
            super().setup_pipeline()
        except ValueError as error:
            for spec in parse_pipeline(self.args.passes):
                factory = self.available_passes.get(spec.name)
                try:
                    if factory is not None:
                        factory().from_pass_spec(spec)
                except ValueError as option_error:
                    message = f"pass '{spec.name}': {first_line(str(option_error))}"
                    raise _Reported(f"ge-opt: error: {message}") from None
            raise error

    def _located(self, message: str) -> str:
        """Messages without a location get the input's name, as `file: error: ...`."""
        name = self.get_input_name()
        if "error:" in message or message.startswith(name):
            return message
        return f"{name}: error: {message}"

    def get_input_stream(self) -> tuple[IO[bytes], str]:
        if self.args.input_file == "-":  # DESIGN.md: `ge-opt [FILE|-]`
            self.args.input_file = None
        return super().get_input_stream()

    def _report(self, message: str, parsing: bool = False) -> None:
        """An error of the current chunk: checked against its `expected-error` annotations
        (`--verify-diagnostics`), printed to stdout where the chunk has none (xDSL's
        `--verify-diagnostics` and `--parsing-diagnostics`), else an error."""
        self.chunk_failed = True
        if self.args.verify_diagnostics and self.expected:
            if match_error(message, self.expected):
                return
            message += " (no expected-error annotation matches it)"
        elif self.args.verify_diagnostics or (parsing and self.args.parsing_diagnostics):
            print(message)
            return
        self._report_plainly(message)

    def _finish_chunk(self) -> None:
        """Each annotation of the chunk just processed was matched by an error."""
        expected, self.expected = self.expected, []
        for expectation in expected:
            if not expectation.matched:
                where = f"{self.get_input_name()}:{expectation.annotated_at}"
                self._report_plainly(f"{where}: error: {expectation.describe()}")

    def _report_plainly(self, message: str) -> None:
        if not self.args.split_input_file:
            raise _Reported(message)
        self.errors.append(message)
        print(message, file=sys.stderr)

    def run(self) -> None:
        super().run()
        self._finish_chunk()

    def commit_output(self) -> None:
        """Write `-o` once the run succeeded (a failed run leaves the file as it was), with
        the weights of the constants printed elided in `FILE.weights.npz` beside it, which
        `ge-run FILE` and `ge-opt FILE` read back: nothing is lost by eliding."""
        if self.pending is None:
            return
        Path(self.args.output_file).write_text(self.pending.getvalue())
        if self.weights:
            with open(sidecar_path(self.args.output_file), "wb") as file:
                write_weights(file, self.weights)

    def register_all_passes(self) -> None:
        """A pass plugin that failed to load is an error naming it (`--help` lists it
        instead); xDSL's universe, which stock xdsl-opt shares, left it out quietly. The
        universe is built once a process: passes registered since (a plugin named later,
        as `ge-opt` run as a library does) are added from our registry."""
        super().register_all_passes()
        if not self.asks_help:
            from ge.registry import all_passes

            for name, factory in all_passes().items():
                self.available_passes.setdefault(name, factory)

    def register_all_frontends(self) -> None:
        super().register_all_frontends()

        def parse_mlir(io: IO[bytes]) -> ModuleOp:
            parser = LocatingParser(self.ctx, io.read(), self.get_input_name())
            module = parser.parse_module(not self.args.no_implicit_module)
            if not self.args.disable_verify:
                verify_located(
                    module, parser.locations, self.get_input_name(), self.chunk_line_offset
                )
            if self.args.input_file:
                restore_from_sidecar(module, self.args.input_file, self.get_input_name())
            return module

        def parse_onnx(io: IO[bytes]) -> ModuleOp:
            from ge.frontends.onnx import import_onnx_bytes

            return import_onnx_bytes(io.read(), source=self.get_input_name())

        self.available_frontends["mlir"] = parse_mlir
        self.available_frontends["onnx"] = parse_onnx

    def register_all_arguments(self, arg_parser: argparse.ArgumentParser) -> None:
        super().register_all_arguments(arg_parser)
        arg_parser.error = _usage_error  # one line, not argparse's usage and exit 2
        if self.asks_help:
            arg_parser.formatter_class = argparse.RawDescriptionHelpFormatter
            arg_parser.epilog = passes_help()
        arg_parser.add_argument(
            "--print-large-constants",
            action="store_true",
            help="print every constant in full (hex), so the output parses back bit-exactly",
        )
        arg_parser.add_argument(
            "--elide-constants-larger-than",
            type=int,
            default=DEFAULT_ELIDE_LIMIT,
            metavar="N",
            help=f"print constants of more than N elements elided (default {DEFAULT_ELIDE_LIMIT})",
        )
        arg_parser.add_argument(
            "--emit",
            choices=["mlir", "onnx"],
            default="mlir",
            help="output format: text IR (default) or an ONNX model (needs -o)",
        )

    def output_resulting_program(self, prog: ModuleOp) -> str:
        if self.args.emit == "onnx":
            from onnx import save as onnx_save

            from ge.frontends.onnx_export import export_onnx

            if not self.args.output_file:
                raise GeError("--emit onnx needs an output file (-o out.onnx)")
            onnx_save(export_onnx(prog), self.args.output_file)
            return ""
        if self.chunk_failed:
            return ""  # its error was reported; half-transformed IR is no output
        limit = None if self.args.print_large_constants else self.args.elide_constants_larger_than
        if self.pending is not None and limit is not None:
            self.weights.update(elided_weights(prog, limit))
        with constant_elision(limit):
            if self.args.target == "mlir":
                return super().output_resulting_program(prog)
            try:
                return super().output_resulting_program(prog)
            except Exception as error:  # xDSL's printers assert on dialects other than theirs
                if os.environ.get("GE_TRACEBACK"):
                    raise
                detail = first_line(str(error))
                readable = 0 < len(detail) < 80 and not isinstance(error, AssertionError)
                cause = type(error).__name__ + (f": {detail}" if readable else "")
                raise GeError(
                    f"-t {self.args.target} cannot print this program "
                    f"({cause}): it prints programs already lowered to "
                    f"xDSL's {self.args.target} dialects; gedialects' own output is -t mlir "
                    "or --emit onnx"
                ) from error

    def prepare_output(self) -> IO[str]:
        if self.args.emit == "onnx":
            return open("/dev/null", "w")  # the model is written by output_resulting_program
        if self.args.output_file:
            self.pending = _PendingOutput()
            return self.pending
        return super().prepare_output()


class _PendingOutput(io.StringIO):
    """`-o`'s text, kept until the run succeeds (`GeOptMain.commit_output`)."""

    def close(self) -> None:
        """xDSL closes the output stream after the last chunk; the text is still needed."""


def passes_help() -> str:
    """gedialects' passes with the one-line docstring of each (shown by `ge-opt --help`)."""
    from passes.plugins import load_plugins, plugin_failures
    from passes.registry import PASSES

    load_plugins(strict=False)
    lines = ["gedialects passes (-p NAME{option=value ...}):"]
    for name in sorted(PASSES):
        try:
            doc = (PASSES[name]().__doc__ or "").strip().splitlines()[0]
        except Exception as error:  # a broken plugin must not break --help
            doc = f"(cannot be loaded: {first_line(str(error))})"
        lines.append(f"  {name:<28} {doc}")
    for plugin, error in plugin_failures().items():
        lines.append(f"  ({plugin} failed to load: {error})")
    return "\n".join(lines)


def _upstream_pass_failure(error: Exception) -> str | None:
    """One line for a plain Python error raised inside one of xDSL's own passes (`apply-pdl`
    asserts that its file exists): the pass and the failed source line, not an internal
    error of ours. None when the failing pass is not xDSL's."""
    failing = None
    trace = error.__traceback__
    while trace is not None:
        candidate = trace.tb_frame.f_locals.get("self")
        if isinstance(candidate, ModulePass):
            failing = candidate
        trace = trace.tb_next
    if failing is None or not type(failing).__module__.startswith("xdsl."):
        return None
    frame = traceback.extract_tb(error.__traceback__)[-1]
    where = f"{frame.filename.rsplit('site-packages/', 1)[-1]}:{frame.lineno}"
    what = frame.line or type(error).__name__
    detail = first_line(str(error)) if str(error).strip() else type(error).__name__
    return f"xDSL's pass '{failing.name}' failed: {detail} at `{what}` ({where})"


class _Reported(Exception):
    """An error already formatted as one line."""


def _spec_error(text: str) -> str:
    """xDSL's pipeline-spec error (a header, `pass-pipeline:1:COL`, the spec, a caret and
    the reason on lines of their own) as one line."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) >= 4 and lines[1].startswith("pass-pipeline:"):
        column, reason = lines[1].rsplit(":", 1)[-1], lines[-1]
        if reason == "Unknown token":  # an unquoted path or other punctuation in a value
            reason += ' (quote such values: target="/path/x.toml")'
        return f"malformed pass pipeline '{lines[2]}' at column {column}: {reason}"
    return f"malformed pass pipeline: {' '.join(lines)}"


def _usage_error(message: str) -> None:
    raise _Reported(f"ge-opt: error: {message} (ge-opt --help lists the options)")


def main(argv: Sequence[str] | None = None) -> int:
    try:
        tool = GeOptMain(description="gedialects modular optimizer driver", args=argv)
        tool.run()
        if tool.errors:
            return 1
        tool.commit_output()
        return 0
    except _Reported as error:
        print(str(error), file=sys.stderr)
        return 1
    except ParseError as error:
        print(format_parse_error(error), file=sys.stderr)
        return 1
    except ArgSpecParseError as error:  # a BaseException in xDSL: a malformed -p or -t spec
        print(f"ge-opt: error: {_spec_error(str(error))}", file=sys.stderr)
        return 1
    except (DiagnosticException, GeError) as error:
        print(f"ge-opt: {first_line(str(error))}", file=sys.stderr)
        return 1
    except OSError as error:  # `cannot read 'in.mlir': No such file or directory`
        what = f"'{error.filename}': " if error.filename else ""
        print(f"ge-opt: error: {what}{error.strerror or error}", file=sys.stderr)
        return 1
    except ValueError as error:
        print(f"ge-opt: error: {first_line(str(error))}", file=sys.stderr)
        return 1
    except Exception as error:  # the command boundary: a bug in a pass still prints one line
        if os.environ.get("GE_TRACEBACK"):
            raise
        message = f"internal error ({type(error).__name__}): {first_line(str(error))}"
        print(f"ge-opt: {message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
