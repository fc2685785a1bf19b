"""`ge-opt`: xdsl-opt with every gedialects dialect, pass and frontend registered.

Same flags as xdsl-opt, plus constant elision control and ONNX in/out. Errors in the
input are printed as one located line and exit 1; no traceback reaches the user (a bug in a
pass is one `internal error` line too; `GE_TRACEBACK=1` raises it instead, for pass authors).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Sequence
from typing import IO

from xdsl.dialects.builtin import ModuleOp
from xdsl.utils.exceptions import ArgSpecParseError, DiagnosticException, ParseError
from xdsl.xdsl_opt_main import xDSLOptMain

from ge.diagnostics import LocatingParser, first_line, format_parse_error, verify_located
from gedialects.errors import GeError
from gedialects.ge.constant import DEFAULT_ELIDE_LIMIT, constant_elision


class GeOptMain(xDSLOptMain):
    """The opt driver; dialects and passes come from our `xdsl.universe` entry point.

    With `--split-input-file`, an error in one chunk is reported and the next chunk is
    still processed (as mlir-opt does); the exit code is 1 if any chunk failed.
    """

    errors: list[str]
    chunk_line_offset: int = 0

    def parse_chunk(self, chunk: IO[bytes], file_extension: str, start_offset: int = 0):
        self.chunk_line_offset = start_offset
        try:
            return super().parse_chunk(chunk, file_extension, start_offset)
        except ParseError as error:
            error.span = dataclasses.replace(error.span, line_offset=start_offset)
            self._report(format_parse_error(error))
        except (DiagnosticException, GeError) as error:
            self._report(self._located(first_line(str(error))))
        return None

    def apply_passes(self, prog: ModuleOp) -> None:
        try:
            super().apply_passes(prog)
        except (DiagnosticException, GeError) as error:
            self._report(self._located(first_line(str(error))))

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

    def _report(self, message: str) -> None:
        if not self.args.split_input_file:
            raise _Reported(message)
        self.errors.append(message)
        print(message, file=sys.stderr)

    def register_all_frontends(self) -> None:
        super().register_all_frontends()

        def parse_mlir(io: IO[bytes]) -> ModuleOp:
            parser = LocatingParser(self.ctx, io.read(), self.get_input_name())
            module = parser.parse_module(not self.args.no_implicit_module)
            if not self.args.disable_verify:
                verify_located(
                    module, parser.locations, self.get_input_name(), self.chunk_line_offset
                )
            return module

        def parse_onnx(io: IO[bytes]) -> ModuleOp:
            from ge.frontends.onnx import import_onnx_bytes

            return import_onnx_bytes(io.read(), source=self.get_input_name())

        self.available_frontends["mlir"] = parse_mlir
        self.available_frontends["onnx"] = parse_onnx

    def register_all_arguments(self, arg_parser: argparse.ArgumentParser) -> None:
        super().register_all_arguments(arg_parser)
        arg_parser.error = _usage_error  # one line, not argparse's usage and exit 2
        if {"-h", "--help"} & set(sys.argv[1:]):
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
        limit = None if self.args.print_large_constants else self.args.elide_constants_larger_than
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
        return super().prepare_output()


def passes_help() -> str:
    """gedialects' passes with the one-line docstring of each (shown by `ge-opt --help`)."""
    from passes.registry import PASSES

    lines = ["gedialects passes (-p NAME{option=value ...}):"]
    for name in sorted(PASSES):
        try:
            doc = (PASSES[name]().__doc__ or "").strip().splitlines()[0]
        except Exception as error:  # a broken plugin must not break --help
            doc = f"(cannot be loaded: {first_line(str(error))})"
        lines.append(f"  {name:<28} {doc}")
    return "\n".join(lines)


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
        tool.errors = []
        tool.run()
        return 1 if tool.errors else 0
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
    except (OSError, ValueError) as error:
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
