"""`ge-run`: runs .mlir and .onnx models, writes named outputs and REPORT.json, fails in a line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from ge.cli.run import main
from ge.report import CORE_KEYS, check_report

VENV_BIN = Path(sys.executable).parent
GE_RUN = [str(VENV_BIN / "ge-run")] if (VENV_BIN / "ge-run").exists() else [
    sys.executable, "-m", "ge.cli.run",
]  # fmt: skip

MLIR = """\
func.func @main(%x: tensor<2x3xf32> {ge.name = "x"}, %i: tensor<2xi64> {ge.name = "idx"})
    -> (tensor<2x3xf32> {ge.name = "relu.out"}, tensor<2x3xf32> {ge.name = "picked"}) {
  %r = ge.relu %x : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %g = ge.gather %x, %i {axis = 0 : i64} : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<2x3xf32>
  func.return %r, %g : tensor<2x3xf32>, tensor<2x3xf32>
}
"""


@pytest.fixture(autouse=True)
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("GE_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def mlir_model(tmp_path: Path) -> Path:
    path = tmp_path / "model.mlir"
    path.write_text(MLIR)
    return path


def onnx_model(path: Path) -> Path:
    """x[1,2,5,5] -> Conv(3x3, pad 1) -> Relu -> y, and its spatial mean m."""
    rng = np.random.default_rng(3)
    w = numpy_helper.from_array(rng.standard_normal((4, 2, 3, 3)).astype(np.float32), "w")
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["y"]),
        helper.make_node("ReduceMean", ["y"], ["m"], axes=[2, 3], keepdims=0),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 5, 5])],
        [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 5, 5]),
            helper.make_tensor_value_info("m", TensorProto.FLOAT, [1, 4]),
        ],
        initializer=[w],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def ge_run(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*GE_RUN, *map(str, args)], capture_output=True, text=True, env=os.environ, timeout=300
    )


def test_mlir_model_outputs_are_named_and_right(mlir_model: Path, tmp_path: Path) -> None:
    x = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    idx = np.array([1, 0], np.int64)
    np.savez(tmp_path / "in.npz", x=x, idx=idx)
    out = tmp_path / "out.npz"
    done = ge_run(mlir_model, "--inputs", tmp_path / "in.npz", "--output", out)
    assert done.returncode == 0, done.stderr
    with np.load(out, allow_pickle=False) as got:
        assert sorted(got.files) == ["picked", "relu.out"]
        np.testing.assert_array_equal(got["relu.out"], np.maximum(x, 0))
        np.testing.assert_array_equal(got["picked"], x[[1, 0]])


def test_onnx_model_outputs_equal_onnxruntime(tmp_path: Path) -> None:
    pytest.importorskip("ge.frontends.onnx.importer", reason="the ONNX importer is not there yet")
    model = onnx_model(tmp_path / "tiny.onnx")
    x = np.random.default_rng(1).standard_normal((1, 2, 5, 5)).astype(np.float32)
    np.savez(tmp_path / "in.npz", x=x)
    out = tmp_path / "out.npz"
    done = ge_run(model, "--inputs", tmp_path / "in.npz", "--output", out)
    assert done.returncode == 0, done.stderr
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    expected = dict(zip(["y", "m"], session.run(None, {"x": x})))
    with np.load(out, allow_pickle=False) as got:
        assert sorted(got.files) == ["m", "y"]
        for name, want in expected.items():
            np.testing.assert_allclose(got[name], want, rtol=1e-4, atol=1e-5)


def test_symbolic_dims_take_the_shapes_of_the_given_inputs(tmp_path: Path) -> None:
    pytest.importorskip("ge.frontends.onnx.importer", reason="the ONNX importer is not there yet")
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])
    graph = helper.make_graph([helper.make_node("Sigmoid", ["x"], ["y"])], "g", [x], [y])
    onnx.save(helper.make_model(graph), tmp_path / "dyn.onnx")
    batch = np.random.default_rng(2).standard_normal((3, 4)).astype(np.float32)
    np.savez(tmp_path / "in.npz", x=batch)
    args = [str(tmp_path / "dyn.onnx"), "--inputs", str(tmp_path / "in.npz")]
    assert main([*args, "--output", str(tmp_path / "out.npz")]) == 0
    with np.load(tmp_path / "out.npz", allow_pickle=False) as got:
        np.testing.assert_allclose(got["y"], 1 / (1 + np.exp(-batch)), rtol=1e-5)


def test_an_input_of_the_wrong_shape_names_the_file_not_input_shapes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The import's check said `input_shapes gives [2, 5] for 'x'`: no user gave that."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y])
    onnx.save(helper.make_model(graph), tmp_path / "dyn.onnx")
    np.savez(tmp_path / "in.npz", x=np.ones((2, 5), np.float32))
    assert main([str(tmp_path / "dyn.onnx"), "--inputs", str(tmp_path / "in.npz")]) == 1
    err = capsys.readouterr().err
    assert f"inputs file '{tmp_path / 'in.npz'}': 'x' has shape [2, 5], and the model" in err
    assert "input 'x' is ['?', 4]" in err and "input_shapes" not in err


@pytest.mark.parametrize(("value", "reason"), [("-5", "-5 is negative"), ("x", "'x' is not")])
def test_a_bad_seed_names_the_flag(
    mlir_model: Path, capsys: pytest.CaptureFixture[str], value: str, reason: str
) -> None:
    """numpy's `expected non-negative integer` did not say which flag."""
    assert main([str(mlir_model), "--seed", value]) == 1
    assert capsys.readouterr().err.startswith(f"ge-run: error: argument --seed: {reason}")


def test_random_inputs_are_seeded(mlir_model: Path, tmp_path: Path) -> None:
    results = []
    for seed, name in ((5, "a"), (5, "b"), (6, "c")):
        assert main([str(mlir_model), "--seed", str(seed), "--output", str(tmp_path / name)]) == 0
        with np.load(tmp_path / name, allow_pickle=False) as got:
            results.append(got["relu.out"])
    np.testing.assert_array_equal(results[0], results[1])
    assert not np.array_equal(results[0], results[2])


def test_report_has_exactly_the_core_keys(mlir_model: Path, tmp_path: Path) -> None:
    report_path = tmp_path / "REPORT.json"
    for expected_cache in ("miss", "hit"):
        done = ge_run(
            mlir_model, "--level", "reference", "--report", report_path, "--target", "ascend910b1"
        )
        assert done.returncode == 0, done.stderr
        report = json.loads(report_path.read_text())
        # The reference level has no modeled kernels, memory plan or streams: absent.
        assert list(report) == [*CORE_KEYS, "precision_mode"]
        assert report["precision_mode"] == "force_fp32"
        assert report["target"] == "ascend910b1" and report["mode"] == "static"
        assert report["cache"] == expected_cache
        assert report["outputs"] == ["relu.out", "picked"]
        for key in ("compile_seconds", "run_seconds"):
            assert isinstance(report[key], float) and report[key] >= 0


def test_npu_level_reports_modeled_kernels_and_writes_a_trace(
    mlir_model: Path, tmp_path: Path
) -> None:
    from ge.pipeline import EXECUTORS, _load_levels

    _load_levels()
    if "npu" not in EXECUTORS:
        pytest.skip("this build has no npu level")
    report_path, trace = tmp_path / "REPORT.json", tmp_path / "trace.json"
    done = ge_run(mlir_model, "--level", "npu", "--report", report_path, "--trace", trace)
    assert done.returncode == 0, done.stderr
    report = json.loads(report_path.read_text())
    check_report(report)  # every section present has the contract's form
    assert list(report)[: len(CORE_KEYS)] == list(CORE_KEYS)
    assert {"kernels", "memory", "makespan_cycles"} <= set(report)
    assert [k["op"] for k in report["kernels"]] and report["makespan_cycles"] > 0
    events = json.loads(trace.read_text())["traceEvents"]  # DESIGN.md: streams and pipes
    kernels = {e["name"] for e in events if e["ph"] == "X" and e["pid"] == 0}
    assert kernels == {k["name"] for k in report["kernels"]}
    instructions = [e for e in events if e["ph"] == "X" and e["pid"] > 0]
    assert {"npu.dma"} <= {e["name"] for e in instructions}
    assert {e["cat"] for e in instructions} <= kernels


def test_a_target_file_names_the_target(mlir_model: Path, tmp_path: Path) -> None:
    import runtime.targets

    preset = Path(runtime.targets.__file__).parent / "target_presets" / "ascend910a.toml"
    mine = tmp_path / "mine.toml"
    mine.write_text(preset.read_text().replace('name = "ascend910a"', 'name = "my-chip"'))
    report_path = tmp_path / "r.json"
    assert main([str(mlir_model), "--target", str(mine), "--report", str(report_path)]) == 0
    assert json.loads(report_path.read_text())["target"] == "my-chip"


def test_no_cache_and_dynamic_mode_are_reported(mlir_model: Path, tmp_path: Path) -> None:
    report_path = tmp_path / "r.json"
    for _ in range(2):
        args = [str(mlir_model), "--no-cache", "--mode", "dynamic", "--report", str(report_path)]
        assert main(args) == 0
    report = json.loads(report_path.read_text())
    assert report["cache"] == "miss" and report["mode"] == "dynamic"


def test_profile_is_labeled_and_trace_is_a_note(
    mlir_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    trace = tmp_path / "trace.json"
    assert main([str(mlir_model), "--level", "reference", "--profile", "--trace", str(trace)]) == 0
    out, err = capsys.readouterr()
    assert "host wall time of the reference interpreter" in out
    assert "relu" in out and "gather" in out  # ge ops, or kernels once optimized
    assert "ge-run: note: --trace" in err and not trace.exists()
    assert "memory: no planned arena at --level reference" in out


BAD_ADD = """\
func.func @main(%x: tensor<2x3xf32>) -> tensor<2x4xf32> {
  %0 = ge.add %x, %x : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x4xf32>
  func.return %0 : tensor<2x4xf32>
}
"""


def _bad_inputs(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"{kind}.npz"
    x = np.zeros((2, 3), np.float32)
    idx = np.zeros(2, np.int64)
    if kind == "garbage":
        path.write_bytes(b"not a zip at all")
    elif kind == "npy":
        np.save(path.with_suffix(".npy"), x)
        path.with_suffix(".npy").rename(path)
    elif kind == "extra":
        np.savez(path, x=x, idx=idx, z=x)
    elif kind == "missing":
        np.savez(path, x=x)
    elif kind == "shape":
        np.savez(path, x=np.zeros((3, 2), np.float32), idx=idx)
    elif kind == "object":
        np.savez(path, x=np.array([{"a": 1}], dtype=object), idx=idx)
    return path


def _onnx_inputs(tmp_path: Path, **extra: np.ndarray) -> Path:
    path = tmp_path / "onnx_in.npz"
    np.savez(path, x=np.zeros((1, 2, 5, 5), np.float32), **extra)
    return path


ERROR_CASES = {
    "missing model": (lambda m, t: ["nothere.mlir"], "does not exist"),
    "not a model": (lambda m, t: [m.with_suffix(".txt")], "neither an .onnx"),
    "bad flag": (lambda m, t: [m, "--bogus"], "unrecognized arguments"),
    "unknown target": (lambda m, t: [m, "--target", "ascend999"], "unknown target"),
    "garbage npz": (lambda m, t: [m, "--inputs", _bad_inputs(t, "garbage")], "not a readable"),
    "npy for npz": (lambda m, t: [m, "--inputs", _bad_inputs(t, "npy")], "not an .npz"),
    "extra input": (lambda m, t: [m, "--inputs", _bad_inputs(t, "extra")], "'z'"),
    "extra onnx input": (  # it said "input_shapes names unknown inputs", an API's words
        lambda m, t: [onnx_model(t / "m.onnx"), "--inputs", _onnx_inputs(t, z=np.zeros(2))],
        "inputs file '",
    ),
    "missing input": (lambda m, t: [m, "--inputs", _bad_inputs(t, "missing")], "idx"),
    "shape mismatch": (lambda m, t: [m, "--inputs", _bad_inputs(t, "shape")], "shape (3, 2)"),
    "pickled input": (lambda m, t: [m, "--inputs", _bad_inputs(t, "object")], "pickle"),
    "missing inputs file": (lambda m, t: [m, "--inputs", t / "none.npz"], "does not exist"),
    "malformed IR": (lambda m, t: [_write(t / "bad.mlir", MLIR[:-40])], "bad.mlir:"),
    "wrong types": (lambda m, t: [_write(t / "typed.mlir", BAD_ADD)], "'ge.add'"),
    "negative tune": (lambda m, t: [onnx_model(t / "m.onnx"), "--tune", "-2"], "tune must be"),
    # checked before the compile and run: they were an OSError once the run had finished
    "output in a missing folder": (
        lambda m, t: [m, "--output", t / "nowhere" / "y.npz"],
        "nowhere' does not exist",
    ),
    "report into a folder": (lambda m, t: [m, "--report", t], "is a folder"),
    "trace in a missing folder": (
        lambda m, t: [m, "--trace", t / "nowhere" / "t.json"],
        "nowhere' does not exist",
    ),
    "bad tune db": (
        lambda m, t: [onnx_model(t / "m.onnx"), "--tune-db", _write(t / "db.json", "{")],
        "tile decisions '",
    ),
}


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize("case", sorted(ERROR_CASES))
def test_errors_are_one_line_and_exit_1(
    case: str, mlir_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    make_args, expected = ERROR_CASES[case]
    mlir_model.with_suffix(".txt").write_text("hello")
    assert main([str(a) for a in make_args(mlir_model, tmp_path)]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert expected in err and "Traceback" not in err


def test_unsupported_onnx_op_and_unavailable_level_fail_in_one_line(
    mlir_model: Path, tmp_path: Path
) -> None:
    from ge.pipeline import EXECUTORS, _load_levels

    _load_levels()  # levels register on first use: a test run alone must load them too
    if "npu" not in EXECUTORS:
        done = ge_run(mlir_model, "--level", "npu")
        assert done.returncode == 1 and "--level npu is not available" in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
    pytest.importorskip("ge.frontends.onnx.importer", reason="the ONNX importer is not there yet")
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])
    node = helper.make_node("Frobnicate", ["x"], ["y"], domain="com.example")
    graph = helper.make_graph([node], "custom", [x], [y])
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.example", 1)]
    onnx.save(helper.make_model(graph, opset_imports=opsets), tmp_path / "custom.onnx")
    done = ge_run(tmp_path / "custom.onnx")
    assert done.returncode == 1, done.stdout
    assert "Frobnicate" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_memory_plot_is_a_png_of_the_npu_plan(mlir_model, tmp_path):
    plot = tmp_path / "memory.png"
    assert main([str(mlir_model), "--memory-plot", str(plot)]) == 0
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bare = tmp_path / "memory"  # matplotlib wrote such a name as memory.png
    assert main([str(mlir_model), "--memory-plot", str(bare)]) == 0
    assert bare.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_profile_and_report_show_each_conv_algorithm_and_why(tmp_path: Path) -> None:
    """`--profile` names the chosen conv algorithm beside the other candidates' modeled cycles
    (relative to it); REPORT.json keeps every candidate's cycles under `algorithm_costs`."""
    model, report_path = onnx_model(tmp_path / "tiny.onnx"), tmp_path / "REPORT.json"
    done = ge_run(model, "--level", "npu", "--profile", "--report", report_path)
    assert done.returncode == 0, done.stderr
    (conv,) = [
        k for k in json.loads(report_path.read_text())["kernels"] if k["op"] == "kernel.conv2d"
    ]
    costs = conv["algorithm_costs"]
    assert conv["algorithm"] in costs and {"direct", "im2col"} <= set(costs)
    assert costs[conv["algorithm"]] == min(costs.values())
    (line,) = [ln for ln in done.stdout.splitlines() if "kernel.conv2d" in ln]
    assert conv["algorithm"] in line and all(f"{a} " in line for a in costs)
    # what limits it: the busiest pipe's share of its time, and the roofline's term
    bound = conv["bound"]
    assert bound["pipe"] and 0 < bound["busy_share"] <= 1 and bound["roofline"] in ("cube", "hbm")
    assert f"{bound['pipe']} {bound['busy_share']:.0%} / {bound['roofline']}" in line
    assert f"{conv['roofline_cycles'] / conv['cycles']:.2f}" in line
    # DESIGN.md: "--profile prints the per-op table and memory figures", as REPORT.json's
    memory = json.loads(report_path.read_text())["memory"]
    assert f"memory: peak {memory['peak_bytes'] / 2**20:.2f} MiB ({memory['planner']})" in (
        done.stdout
    )
    assert "timeline: makespan" in done.stdout


@pytest.mark.parametrize("options", [[], ["--level", "reference"], ["--mode", "dynamic"]])
def test_nan_from_a_fully_masked_softmax_row_writes_no_warnings(tmp_path: Path, options) -> None:
    """A softmax over a row masked to -inf is NaN by definition (onnxruntime's too): the
    command prints its outputs' summary and no numpy RuntimeWarning, at every level and mode."""
    graph = helper.make_graph(
        [
            helper.make_node("Add", ["x", "mask"], ["s"]),
            helper.make_node("Softmax", ["s"], ["y"], axis=-1),
        ],
        "masked",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [2, 4]) for n in ("x", "mask")],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, tmp_path / "m.onnx")
    mask = np.array([[0, 0, -np.inf, -np.inf], [-np.inf] * 4], np.float32)
    feeds = {"x": np.zeros((2, 4), np.float32), "mask": mask}
    np.savez(tmp_path / "in.npz", **feeds)
    out = tmp_path / "out.npz"
    argv = [str(tmp_path / "m.onnx"), "--inputs", str(tmp_path / "in.npz"), "--output", str(out)]
    done = subprocess.run([*GE_RUN, *argv, *options], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr and "Warning" not in done.stdout
    (want,) = ort.InferenceSession(model.SerializeToString()).run(None, feeds)
    np.testing.assert_allclose(np.load(out)["y"], want, equal_nan=True)
    assert np.isnan(want[1]).all()


def test_dynamic_mode_reports_each_launch_s_kernels_on_one_timeline(
    mlir_model: Path, tmp_path: Path
) -> None:
    """Eager mode launches one op at a time on one stream: REPORT.json lists every launch's
    modeled kernels (named by launch) one after another, the makespan their sum; no memory
    section (each launch plans one op's buffers, not what lives between launches)."""
    report_path = tmp_path / "r.json"
    args = [str(mlir_model), "--no-cache", "--mode", "dynamic", "--report", str(report_path)]
    assert main([*args, "--level", "npu"]) == 0
    report = json.loads(report_path.read_text())
    check_report(report)
    kernels = report["kernels"]
    assert [k["name"].split("_")[0] for k in kernels] == ["l0", "l1"]  # relu, then gather
    assert kernels[0]["start_cycle"] == 0
    for before, after in zip(kernels, kernels[1:]):
        assert after["start_cycle"] == pytest.approx(before["start_cycle"] + before["cycles"])
    total = sum(k["cycles"] for k in kernels)
    assert report["makespan_cycles"] == pytest.approx(total) and total > 0
    assert report["streams"] == 1 and "memory" not in report
    assert report["launches"] == 2 and report["compiles"] == 2  # one program per op


def test_a_bug_is_one_internal_error_line_and_ge_traceback_raises_it(
    mlir_model: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    import ge.cli.run as command

    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("a bug")

    monkeypatch.setattr(command, "build_report", broken)
    monkeypatch.delenv("GE_TRACEBACK", raising=False)
    args = [str(mlir_model), "--level", "reference", "--report", str(mlir_model) + ".json"]
    assert main(args) == 1
    assert capsys.readouterr().err == "ge-run: internal error (KeyError): 'a bug'\n"
    monkeypatch.setenv("GE_TRACEBACK", "1")
    with pytest.raises(KeyError, match="a bug"):
        main(args)


@pytest.mark.parametrize("options", [["--level", "reference"], [], ["--mode", "dynamic"]])
def test_an_index_out_of_range_is_the_inputs_one_line_error(
    tmp_path: Path, options: list[str], capsys: pytest.CaptureFixture
) -> None:
    """A Gather index past its axis (ONNX fuzzing: an NLL loss whose input lost its class
    axis) was an IndexError from numpy, an `internal error`; at the npu level the npu
    interpreter's own refusal became a warning and a fallback first. It is the data's fault:
    one line naming the index, as onnxruntime refuses it, at every level and mode."""
    node = helper.make_node("Gather", ["x", "i"], ["y"], axis=0)
    graph = helper.make_graph(
        [node],
        "g",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [5, 4]),
            helper.make_tensor_value_info("i", TensorProto.INT64, [3]),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 4])],
    )
    model = tmp_path / "gather.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), model)
    feeds = tmp_path / "in.npz"
    np.savez(feeds, x=np.ones((5, 4), np.float32), i=np.array([1, 7, -9], np.int64))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback warning before the error
        assert main([str(model), "--inputs", str(feeds), "--no-cache", *options]) == 1
    err = capsys.readouterr().err
    assert err == "ge-run: error: 'kernel.gather': index 7 is out of range for axis 0 of size 5\n"


@pytest.mark.parametrize("to", [TensorProto.FLOAT8E5M2, TensorProto.BFLOAT16])
def test_narrow_outputs_write_an_npz_that_numpy_reads_back(tmp_path: Path, to: int) -> None:
    """ml_dtypes' float8 e5m2 wrote '<f1' headers, which `np.load` refuses (mutation soak:
    a CastLike to e5m2); narrow outputs are raw records of the type's bytes."""
    import ml_dtypes

    graph = helper.make_graph(
        [helper.make_node("Cast", ["x"], ["y"], to=to)],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
        [helper.make_tensor_value_info("y", to, [4])],
    )
    model = tmp_path / "cast.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)]), model)
    x = np.array([1.5, -2.0, 0.25, 3.0], np.float32)
    np.savez(tmp_path / "in.npz", x=x)
    out = tmp_path / "out.npz"
    args = [str(model), "--inputs", str(tmp_path / "in.npz"), "--output", str(out), "--no-cache"]
    assert main([*args, "--level", "reference"]) == 0
    dtype = ml_dtypes.float8_e5m2 if to == TensorProto.FLOAT8E5M2 else ml_dtypes.bfloat16
    y = np.load(out)["y"]
    assert y.dtype.kind == "V"
    np.testing.assert_array_equal(
        y.view(dtype).astype(np.float32), x.astype(dtype).astype(np.float32)
    )


T8, T3, T5 = "tensor<1x8x16xf32>", "tensor<1x3x16xf32>", "tensor<1x5x16xf32>"
NPU_SOURCE = f"""
func.func @main(%x: {T8}) -> {T8} {{
  %r = ge.relu %x : ({T8}) -> {T8}
  %a, %b = ge.split %r {{axis = 1 : i64, sizes = array<i64: 3, 5>}} : ({T8}) -> ({T3}, {T5})
  %e = ge.exp %a : ({T3}) -> {T3}
  %n = ge.neg %b : ({T5}) -> {T5}
  %c = ge.concat %n, %e {{axis = 1 : i64}} : ({T5}, {T3}) -> {T8}
  func.return %c : {T8}
}}
"""


def test_an_npu_level_program_runs_as_it_is(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    """`ge-opt ... -p 'ge-optimize,plan-memory,convert-kernel-to-npu'`'s output runs on the
    modeled NPU as printed: the outputs, the profile table, REPORT.json's kernels (one per
    launch: the split and the concat launch nothing) and a trace; --level reference is
    refused in one line."""
    from xdsl.parser import Parser

    from ge.pipeline import apply_pipeline
    from ge.registry import make_context
    from ge.testing import run
    from lowering.convert_kernel_to_npu import lower_module

    module = Parser(make_context(), NPU_SOURCE).parse_module()
    x = np.random.default_rng(3).standard_normal((1, 8, 16)).astype(np.float32)
    (want,) = run(module, [x])
    apply_pipeline(module, "ge-optimize,plan-memory")
    lowered = tmp_path / "low.mlir"
    lowered.write_text(str(lower_module(module)))
    np.savez(tmp_path / "in.npz", arg0=x)  # text IR without names: arg0.., result0..
    report, out, trace = tmp_path / "r.json", tmp_path / "out.npz", tmp_path / "t.json"
    argv = [str(lowered), "--inputs", str(tmp_path / "in.npz"), "--output", str(out)]
    assert main([*argv, "--profile", "--report", str(report), "--trace", str(trace)]) == 0
    np.testing.assert_allclose(np.load(out)["result0"], want, rtol=1e-6, atol=1e-6)
    kernels = json.loads(report.read_text())["kernels"]
    check_report(json.loads(report.read_text()))
    assert [k["name"] for k in kernels] == ["elementwise_0", "elementwise_1", "elementwise_2"]
    assert all(k["bound"]["pipe"] for k in kernels)
    assert "elementwise_2" in capsys.readouterr().out
    assert json.loads(trace.read_text())["traceEvents"]
    assert main([*argv, "--level", "reference"]) == 1
    assert "already lowered to the npu dialect" in capsys.readouterr().err
    np.savez(tmp_path / "in.npz", arg0=x[:, :4])  # checked as a model's inputs are
    assert main(argv) == 1
    assert "'arg0' has shape (1, 4, 16), the model wants !npu.buffer" in capsys.readouterr().err


def test_a_printed_max_pool_runs_from_its_text(tmp_path: Path) -> None:
    """A padded max pool lowers with -inf fills, which print as their bits: the printed
    npu-level program parses back (it stopped at 'Expected float literal') and runs."""
    from xdsl.parser import Parser

    from ge.registry import make_context
    from gedialects.interpreter import run_reference
    from lowering.convert_kernel_to_npu import lower_module

    x_t, y_t = "tensor<1x16x12x12xf32>", "tensor<1x16x6x6xf32>"
    text = f"""func.func @main(%x: {x_t}) -> {y_t} {{
  %y = kernel.pool %x {{kind = "max", kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, ceil_mode = 0 : i64, count_include_pad = 0 : i64, fused_from = ["ge.max_pool2d"]}} : ({x_t}) -> {y_t}
  func.return %y : {y_t}
}}"""  # noqa: E501
    module = Parser(make_context(), text).parse_module()
    x = -np.abs(np.random.default_rng(5).standard_normal((1, 16, 12, 12))).astype(np.float32)
    (want,) = run_reference(module, [x])
    lowered = tmp_path / "pool.mlir"
    lowered.write_text(str(lower_module(module)))
    assert "0xfff0000000000000" in lowered.read_text()
    np.savez(tmp_path / "in.npz", arg0=x)
    out = tmp_path / "out.npz"
    assert main([str(lowered), "--inputs", str(tmp_path / "in.npz"), "--output", str(out)]) == 0
    np.testing.assert_array_equal(np.load(out)["result0"], want)


def test_tuning_writes_its_decisions_and_a_report_section(tmp_path: Path) -> None:
    """`--tune N` measures the conv's tile candidates and keeps what it measured in the
    `--tune-db` table, which a later run lowers with (the same modeled cycles)."""
    model, db = onnx_model(tmp_path / "tiny.onnx"), tmp_path / "db.json"
    report = tmp_path / "tuned.json"
    done = ge_run(model, "--tune", 3, "--tune-db", db, "--report", report, "--no-cache")
    assert done.returncode == 0, done.stderr
    assert "tuned " in done.stderr and "tile searches" in done.stderr
    tuned = json.loads(report.read_text())
    check_report(tuned)
    assert tuned["tuning"]["searches"] >= 1
    assert len(json.loads(db.read_text())["entries"]) == tuned["tuning"]["searches"]
    again = ge_run(model, "--tune-db", db, "--report", tmp_path / "again.json", "--no-cache")
    assert again.returncode == 0, again.stderr
    replayed = json.loads((tmp_path / "again.json").read_text())
    assert "tuning" not in replayed  # nothing measured: the table's decisions taken
    assert replayed["makespan_cycles"] == tuned["makespan_cycles"]


def test_tuned_kernels_are_named_as_the_report_names_them(tmp_path: Path) -> None:
    """The tuner named kernels by their place among all ops (constants counted), the report
    by their place among kernels: REPORT.json's tuning named conv2d_13 beside conv2d_0..6."""
    import ge

    compiled = ge.compile(str(onnx_model(tmp_path / "tiny.onnx")), level="npu", tune=2, cache=False)
    x = np.ones(compiled.plan().module.body.block.first_op.function_type.inputs.data[0].get_shape(),
                np.float32)  # fmt: skip
    compiled(x)
    names = {k["name"] for k in compiled.last_profile["kernels"]}
    sites = compiled.plan().stats["npu_program"].tuning.sites
    assert sites and {site.kernel for site in sites} <= names


def test_a_kernel_falling_back_on_a_lowering_bug_is_one_warning_line(
    mlir_model: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """The model still runs (by reference) and exits 0; Python's warning format was two
    lines (`.../npu_level.py:121: UserWarning: ...` and the source line of the call)."""
    from runtime.kernel_runner import STRICT_ENV, KernelRunner

    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("a lowering bug")

    monkeypatch.setattr(KernelRunner, "_lower", broken)
    monkeypatch.delenv(STRICT_ENV, raising=False)
    assert main([str(mlir_model), "--no-cache"]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert warnings and all(
        line.startswith("ge-run: warning: ") and "(KeyError: 'a lowering bug')" in line
        for line in warnings
    )


def test_the_ge_compile_pipeline_is_what_ge_run_executes(tmp_path: Path) -> None:
    """`ge-opt MODEL -p ge-compile -o low.mlir` (DESIGN.md's named whole-compile pipeline)
    writes the npu program ge-run runs for MODEL: run as it is, the same kernels, streams,
    cycles and outputs."""
    from ge.cli import opt

    model, low = onnx_model(tmp_path / "tiny.onnx"), tmp_path / "low.mlir"
    assert opt.main([str(model), "-p", "ge-compile", "-o", str(low)]) == 0
    runs = {}
    for name, source in (("model", model), ("lowered", low)):
        report, outputs = tmp_path / f"{name}.json", tmp_path / f"{name}.npz"
        assert main([str(source), "--report", str(report), "--output", str(outputs)]) == 0
        runs[name] = json.loads(report.read_text()), np.load(outputs)
    (direct, want), (lowered, got) = runs["model"], runs["lowered"]
    assert lowered["makespan_cycles"] == direct["makespan_cycles"]
    keys = ("name", "stream", "algorithm", "cycles", "hbm_bytes_read")
    assert [[k[key] for key in keys] for k in lowered["kernels"]] == [
        [k[key] for key in keys] for k in direct["kernels"]
    ]
    for a, b in zip(want.files, got.files):
        np.testing.assert_array_equal(want[a], got[b])


def test_trace_of_a_model_without_kernels_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """A model of views only (a Reshape) launches nothing; the note said the npu level had
    no modeled streams, which it has."""
    graph = helper.make_graph(
        [helper.make_node("Reshape", ["x", "shape"], ["y"])],
        "views",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 12])],
        initializer=[numpy_helper.from_array(np.array([2, 12], np.int64), "shape")],
    )
    model = tmp_path / "views.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), model)
    trace = tmp_path / "t.json"
    assert main([str(model), "--trace", str(trace)]) == 0
    assert "launched no kernel on the modeled NPU" in capsys.readouterr().err
    assert not trace.exists()


def test_a_dynamic_mode_trace_has_the_pipes_too(tmp_path: Path) -> None:
    """DESIGN.md's trace shows streams and pipes; in dynamic mode (op by op) it had only
    the kernels' slices."""
    model, trace = onnx_model(tmp_path / "tiny.onnx"), tmp_path / "t.json"
    assert main([str(model), "--mode", "dynamic", "--no-cache", "--trace", str(trace)]) == 0
    events = [e for e in json.loads(trace.read_text())["traceEvents"] if e["ph"] == "X"]
    kernels = {e["name"] for e in events if e["pid"] == 0}
    instructions = [e for e in events if e["pid"] > 0]
    assert {"npu.dma"} <= {e["name"] for e in instructions}
    assert {e["cat"] for e in instructions} <= kernels
