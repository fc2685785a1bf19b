"""ge-opt's command boundary: a bug in a pass (here one registered to crash) is one
`internal error` line and exit 1, like ge-run's; GE_TRACEBACK=1 raises it for pass authors."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from ge.cli import opt

PROGRAM = """func.func @main(%x: tensor<2xf32>) -> tensor<2xf32> {
  %0 = ge.relu %x : (tensor<2xf32>) -> tensor<2xf32>
  func.return %0 : tensor<2xf32>
}
"""


@dataclass(frozen=True)
class CrashingPass(ModulePass):
    name = "crash-for-test"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        raise KeyError("a pass author's bug")


@pytest.fixture
def crashing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    original = opt.GeOptMain.register_all_passes

    def register_all_passes(self: opt.GeOptMain) -> None:
        original(self)
        self.register_pass(CrashingPass.name, lambda: CrashingPass)

    monkeypatch.setattr(opt.GeOptMain, "register_all_passes", register_all_passes)
    path = tmp_path / "in.mlir"
    path.write_text(PROGRAM)
    return path


def test_a_crashing_pass_is_one_internal_error_line(
    crashing: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GE_TRACEBACK", raising=False)
    assert opt.main([str(crashing), "-p", "cse,crash-for-test"]) == 1
    err = capsys.readouterr().err
    assert err == 'ge-opt: internal error (KeyError): "a pass author\'s bug"\n'


def test_ge_traceback_raises_the_error(crashing: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GE_TRACEBACK", "1")
    with pytest.raises(KeyError, match="pass author"):
        opt.main([str(crashing), "-p", "crash-for-test"])


def test_the_same_input_without_the_crash_passes(
    crashing: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert opt.main([str(crashing), "-p", "cse"]) == 0
    assert "ge.relu" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("pipeline", "reason"),
    [
        ("cse{", "'cse{' at column 5: Expected argument name here"),
        ("a,,b", "'a,,b' at column 3: Expected pass name here"),
        ("plan-memory{planner=/x}", 'Unknown token (quote such values: target="/path/x.toml")'),
    ],
)
def test_a_malformed_pipeline_is_one_line(
    crashing: Path, capsys: pytest.CaptureFixture[str], pipeline: str, reason: str
) -> None:
    """xDSL's spec error is a BaseException with the spec and a caret on lines of their own:
    it printed a traceback."""
    assert opt.main([str(crashing), "-p", pipeline]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("ge-opt: error: malformed pass pipeline")
    assert reason in err


def test_a_command_line_mistake_is_one_line(
    crashing: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """argparse printed its usage over ten lines and exited 2."""
    assert opt.main([str(crashing), "--no-such-flag"]) == 1
    err = capsys.readouterr().err
    wanted = "ge-opt: error: unrecognized arguments: --no-such-flag (ge-opt --help lists"
    assert err.startswith(wanted) and err.count("\n") == 1


@pytest.mark.parametrize(
    ("pipeline", "message"),
    [
        ("plan-memory{planner=nosuch}", "unknown memory planner 'nosuch': one of exact, "),
        ("schedule-streams{max_streams=0}", "max_streams must be at least 1, got 0"),
        ("fold-constants{size_limit=-1}", "size_limit must be at least 0, got -1"),
        (
            "select-implementations{conv-algorithm=nosuch}",
            "unknown conv-algorithm 'nosuch': one of",
        ),
    ],
)
def test_a_bad_pass_option_value_names_the_option(
    crashing: Path, capsys: pytest.CaptureFixture[str], pipeline: str, message: str
) -> None:
    """They were `internal error (KeyError): 'nosuch'`, `min() arg is an empty sequence` and,
    on a program without convs, nothing at all."""
    assert opt.main([str(crashing), "-p", f"convert-ge-to-kernel,{pipeline}"]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


@pytest.mark.parametrize("target", ["x86-asm", "riscv-asm", "arm-asm"])
def test_an_upstream_printer_target_refuses_our_dialects_in_one_line(
    crashing: Path, capsys: pytest.CaptureFixture[str], target: str
) -> None:
    """xDSL's assembly printers assert on ops of other dialects: the line was
    `internal error (AssertionError): FuncOp(`, cut at the start of the op's repr."""
    assert opt.main([str(crashing), "-t", target]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"ge-opt: -t {target} cannot print this program (AssertionError)")
    assert "-t mlir" in err and err.count("\n") == 1
