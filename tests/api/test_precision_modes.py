"""precision_mode through `ge.compile`, the compile cache, `ge-run` and REPORT.json.

The mode decides the program (a cache hit must never hand back another mode's program),
and the npu level's figures follow it: fp16 mmads count at the fp16 peak in the roofline,
f32 ones at the f32 rate, and f16 activations halve the HBM bytes.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, TensorType, f32
from xdsl.ir import Block, Region

import ge
from ge.cli.run import main
from gedialects.ge import ops
from gedialects.ge.constant import ConstantOp
from gedialects.serialization import save_module
from runtime.compile_cache import CompileCache
from runtime.targets import load_target

M = K = N = 1024
"""Large enough to be compute-bound in fp16 on ascend910a (and HBM-bound in f32)."""


def _matmul_model(m: int = 64, k: int = 64, n: int = 64) -> ModuleOp:
    block = Block(arg_types=[TensorType(f32, (m, k))])
    w = ConstantOp(np.random.default_rng(0).uniform(-1, 1, (k, n)).astype(np.float32) / 8)
    mm = ops.MatMulOp(block.args[0], w.output)
    block.add_ops([w, mm, func.ReturnOp(mm.output)])
    fn = func.FuncOp("mm", ([block.args[0].type], [mm.output.type]), Region(block))
    return ModuleOp([fn])


def _x(m: int = 64, k: int = 64) -> np.ndarray:
    return np.random.default_rng(1).uniform(-1, 1, (m, k)).astype(np.float32)


def test_the_cache_keeps_one_program_per_mode(tmp_path: Path) -> None:
    cache = CompileCache(tmp_path)
    f32_run = ge.compile(_matmul_model(), cache=cache)
    half = ge.compile(_matmul_model(), cache=cache, precision_mode="allow_fp32_to_fp16")
    assert half.last_cache == "miss"  # not the f32 program
    assert "f16" in str(half.plan().module) and "f16" not in str(f32_run.plan().module)
    again = ge.compile(_matmul_model(), cache=cache, precision_mode="allow_fp32_to_fp16")
    assert again.last_cache == "hit"
    assert str(again.plan().module) == str(half.plan().module)
    np.testing.assert_array_equal(again.run(_x())[0], half.run(_x())[0])


def test_npu_figures_follow_the_mode() -> None:
    target = load_target("ascend910a")
    runs = {}
    for mode in ("force_fp32", "allow_fp32_to_fp16"):
        model = _matmul_model(M, K, N)
        compiled = ge.compile(model, level="npu", cache=False, precision_mode=mode)
        out = compiled.run(_x(M, K))[0]
        (mm,) = [k for k in compiled.last_profile["kernels"] if k["op"] == "kernel.matmul"]
        runs[mode] = (out, mm)
    (exact, f32_mm), (half, f16_mm) = runs["force_fp32"], runs["allow_fp32_to_fp16"]
    # fp16 operands, f32 accumulation: within the one-layer bound, but not bit-equal
    err = np.abs(half - exact).max()
    assert 0 < err <= 3 * 2.0**-11 * 2 * np.abs(exact).max()
    flops = 2 * M * K * N
    assert f16_mm["flops"] == f32_mm["flops"] == flops
    fp16_bound = flops / target.peak_flops_per_cycle
    f32_bound = fp16_bound * target.cube_f32_cycles_per_fractal
    assert f32_mm["roofline_cycles"] >= f32_bound  # f32 mmads at the f32 rate
    assert fp16_bound <= f16_mm["roofline_cycles"] < f32_bound  # fp16 mmads at the fp16 peak
    assert f16_mm["hbm_bytes_read"] < 0.6 * f32_mm["hbm_bytes_read"]  # f16 A and B
    assert f16_mm["cycles"] < f32_mm["cycles"]


def test_ge_run_takes_the_mode_and_reports_it(tmp_path: Path) -> None:
    model = tmp_path / "mm.mlir"
    save_module(_matmul_model(), model)
    report = tmp_path / "REPORT.json"
    args = [str(model), "--level", "reference", "--no-cache", "--report", str(report)]
    outputs = {}
    for mode in ("force_fp32", "allow_fp32_to_fp16"):
        out = tmp_path / f"{mode}.npz"
        assert main([*args, "--precision-mode", mode, "--output", str(out)]) == 0
        assert json.loads(report.read_text())["precision_mode"] == mode
        with np.load(out) as got:
            outputs[mode] = next(iter(got.values()))
    assert not np.array_equal(outputs["force_fp32"], outputs["allow_fp32_to_fp16"])
    np.testing.assert_allclose(outputs["allow_fp32_to_fp16"], outputs["force_fp32"], atol=0.05)
    assert main([*args]) == 0
    assert json.loads(report.read_text())["precision_mode"] == "force_fp32"  # the default


def test_ge_run_refuses_an_unknown_mode(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    model = tmp_path / "mm.mlir"
    save_module(_matmul_model(), model)
    assert main([str(model), "--precision-mode", "fp8"]) == 1
    assert "invalid choice: 'fp8'" in capsys.readouterr().err


def test_dynamic_mode_runs_each_op_in_the_mode() -> None:
    mode = "allow_fp32_to_fp16"
    static = ge.compile(_matmul_model(), cache=False, precision_mode=mode).run(_x())[0]
    eager = ge.compile(_matmul_model(), mode="dynamic", cache=False, precision_mode=mode)
    exact = ge.compile(_matmul_model(), cache=False).run(_x())[0]
    got = eager.run(_x())[0]
    np.testing.assert_array_equal(got, static)  # the same roundings, op by op
    assert not np.array_equal(got, exact)
