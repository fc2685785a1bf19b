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


def test_a_pass_option_error_names_the_pass(
    crashing: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """xDSL's message (`Provided arguments ["foo"] not found in expected arguments []`) did
    not say which pass of the pipeline it was about."""
    assert opt.main([str(crashing), "-p", "cse,dce{foo=1}"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ge-opt: error: pass 'dce': Provided arguments") and err.count("\n") == 1


def test_an_upstream_pass_that_asserts_is_named_with_its_check(
    crashing: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """apply-pdl asserts that its file exists: the line was `internal error
    (AssertionError): error`."""
    missing = tmp_path / "none.mlir"
    assert opt.main([str(crashing), "-p", f'apply-pdl{{pdl_file="{missing}"}}']) == 1
    err = capsys.readouterr().err
    assert "xDSL's pass 'apply-pdl' failed: AssertionError at `assert os.path.exists" in err
    assert "xdsl/transforms/apply_pdl.py:" in err and err.count("\n") == 1


DYNAMIC = """func.func @main(%x: tensor<?x3xf32>) -> tensor<?x3xf32> {
  %0 = ge.relu %x : (tensor<?x3xf32>) -> tensor<?x3xf32>
  func.return %0 : tensor<?x3xf32>
}
"""


@pytest.mark.parametrize("flags", [["-p", "ge-optimize"], ["--emit", "onnx", "-o", "d.onnx"]])
def test_a_dynamic_dimension_is_refused_where_it_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str]
) -> None:
    """`?` parsed and verified, then became a dimension of -2**63 inside the passes and in
    the ONNX model written (exit 0)."""
    path = tmp_path / "dynamic.mlir"
    path.write_text(DYNAMIC)
    flags = [str(tmp_path / f) if f.endswith(".onnx") else f for f in flags]
    assert opt.main([str(path), *flags]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{path}:1:1: error: 'func.func': tensor<?x3xf32> has a dynamic shape")
    assert not (tmp_path / "d.onnx").exists()


def test_a_failed_run_leaves_the_output_file_as_it_was(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`-o` was opened (emptied) before the input was parsed."""
    bad, out = tmp_path / "bad.mlir", tmp_path / "out.mlir"
    bad.write_text(DYNAMIC)
    out.write_text("earlier work\n")
    assert opt.main([str(bad), "-o", str(out)]) == 1
    assert out.read_text() == "earlier work\n"
    assert "dynamic shape" in capsys.readouterr().err


def test_the_output_file_keeps_elided_weights_beside_it(tmp_path: Path) -> None:
    """Constants print elided above 64 elements; `-o` wrote them so, and the file could not
    run. Their weights now go to `FILE.weights.npz`, which ge-opt and ge-run read back."""
    import numpy as np

    import ge
    from gedialects.ge.constant import dense_from_numpy

    weights = np.arange(16 * 8, dtype=np.float32).reshape(16, 8) / 100
    source = tmp_path / "mm.mlir"
    source.write_text(
        "func.func @main(%x: tensor<2x16xf32>) -> tensor<2x8xf32> {\n"
        f"  %w = ge.constant {dense_from_numpy(weights)}\n"
        "  %y = ge.matmul %x, %w : (tensor<2x16xf32>, tensor<16x8xf32>) -> tensor<2x8xf32>\n"
        "  func.return %y : tensor<2x8xf32>\n}\n"
    )
    first, second = tmp_path / "a.mlir", tmp_path / "b.mlir"
    assert opt.main([str(source), "-p", "cse", "-o", str(first)]) == 0
    assert "elided<" in first.read_text() and Path(f"{first}.weights.npz").is_file()
    assert opt.main([str(first), "-p", "fold-constants", "-o", str(second)]) == 0
    x = np.ones((2, 16), np.float32)
    got = ge.compile(str(second), cache=False)(x)
    np.testing.assert_allclose(np.asarray(got), x @ weights, rtol=1e-5)


def test_an_npu_level_output_elides_its_hbm_constants_and_runs_from_its_side_car(
    tmp_path: Path,
) -> None:
    """`npu.hbm_constant`s printed every weight in full (73 KB lines for a small CNN); they
    now print elided as `ge.constant`s do, their data in the side-car, and the file runs."""
    import numpy as np

    from ge.cli import run as ge_run
    from gedialects.ge.constant import dense_from_numpy

    weights = np.arange(16 * 8, dtype=np.float32).reshape(16, 8) / 100
    source, low = tmp_path / "mm.mlir", tmp_path / "low.mlir"
    source.write_text(
        "func.func @main(%x: tensor<2x16xf32>) -> tensor<2x8xf32> {\n"
        f"  %w = ge.constant {dense_from_numpy(weights)}\n"
        "  %y = ge.matmul %x, %w : (tensor<2x16xf32>, tensor<16x8xf32>) -> tensor<2x8xf32>\n"
        "  func.return %y : tensor<2x8xf32>\n}\n"
    )
    spec = "ge-optimize,plan-memory,convert-kernel-to-npu"
    assert opt.main([str(source), "-p", spec, "-o", str(low)]) == 0
    text = low.read_text()
    assert "npu.hbm_constant elided<" in text and "npu.kernel" in text
    assert Path(f"{low}.weights.npz").is_file()
    x = np.ones((2, 16), np.float32)
    inputs, outputs = tmp_path / "in.npz", tmp_path / "out.npz"
    np.savez(inputs, arg0=x)  # a text program's inputs are named by position
    assert ge_run.main([str(low), "--inputs", str(inputs), "--output", str(outputs)]) == 0
    np.testing.assert_allclose(np.load(outputs)["result0"], x @ weights, rtol=1e-5)


def test_help_lists_a_broken_plugin_and_a_run_names_it_every_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plugin that raised on import broke `--help`; and it was marked loaded before it
    was imported, so a second lookup in the same process skipped it silently."""
    from ge.registry import all_passes
    from gedialects.errors import GeError

    plugin = tmp_path / "broken_plugin.py"
    plugin.write_text('raise RuntimeError("boom in my plugin")\n')
    monkeypatch.setenv("GE_PASS_PLUGINS", str(plugin))
    with pytest.raises(SystemExit) as done:  # argparse exits after printing the help
        opt.main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert f"(pass plugin '{plugin}' failed to load: boom in my plugin)" in out
    assert "fuse-conv-bn-relu" in out
    source = tmp_path / "in.mlir"
    source.write_text(PROGRAM)
    for _ in range(2):
        assert opt.main([str(source), "-p", "cse"]) == 1
        assert "boom in my plugin" in capsys.readouterr().err
        with pytest.raises(GeError, match="failed to load: boom in my plugin"):
            all_passes()


def test_a_missing_input_or_output_folder_is_one_plain_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It was Python's `[Errno 2] No such file or directory: '...'`."""
    source = tmp_path / "in.mlir"
    source.write_text(PROGRAM)
    assert opt.main([str(tmp_path / "missing.mlir")]) == 1
    assert capsys.readouterr().err == (
        f"ge-opt: error: '{tmp_path / 'missing.mlir'}': No such file or directory\n"
    )
    assert opt.main([str(source), "-o", str(tmp_path / "no" / "out.mlir")]) == 1
    assert capsys.readouterr().err == (
        f"ge-opt: error: '{tmp_path / 'no' / 'out.mlir'}': No such file or directory\n"
    )
