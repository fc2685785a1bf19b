"""Op tuning: tile decisions measured on the interpreter (`lowering.tile_tuning`,
`runtime.tile_tuner`).

- Without a decisions table, every tile search answers as it did: a ranked candidate list
  starts with the search's own choice.
- Every candidate the tuner may keep lowers to a program that computes the conv (or GEMM)
  exactly as the reference does: random geometries, every candidate run.
- A table's decision is what a search returns while the table is active, and only then; a
  search inside another one is part of the outer decision.
- Tuning keeps a candidate only when it ran faster; the tuned runner runs at those cycles
  with the same outputs. Tables round-trip through JSON; a bad file is one clear error.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

from ge.api import load_program
from ge.pipeline import CompileOptions, apply_pipeline, pipeline_spec
from gedialects.errors import GeError
from gedialects.interpreter import run_reference
from gedialects.kernel.conv_algorithms import ALGORITHMS
from gedialects.npu.buffers import AllocOp
from lowering import tile_tuning
from lowering.conv_direct_tiling import DirectGeometry, Epilogue, choose_band
from lowering.conv_tiling import ConvShape, ConvTiling, choose_conv_tile
from lowering.convert_kernel_to_npu import lower_module
from lowering.tile_tuning import Decisions
from lowering.tiling import choose_matmul_split, choose_matmul_tile
from lowering.winograd_fused_tiling import FusedShape, choose_fused_tile
from runtime.kernel_runner import KernelRunner
from runtime.npu_interpreter import NpuExecutable
from runtime.tile_tuner import tune_kernels
from tests.lowering.test_conv_im2col_pipeline import TARGET, _conv, _ge_conv


def _sites(module) -> tuple[Decisions, list]:  # noqa: ANN001
    """The tile searches lowering `module` consults (a table that records them)."""
    table = Decisions()
    with tile_tuning.record(table) as seen:
        lower_module(module, TARGET)
    return table, list(seen)


def _outputs_and_cycles(module, inputs, table: Decisions | None = None):  # noqa: ANN001, ANN202
    with tile_tuning.use(table or Decisions()):
        lowered = lower_module(module, TARGET)
    result = NpuExecutable(lowered, TARGET).run(inputs)
    return result.outputs[0], sum(k.cycles for k in result.profile.kernels)


@settings(max_examples=12)
@given(
    st.integers(1, 40),  # input channels
    st.integers(3, 18),  # image side
    st.integers(1, 40),  # output channels
    st.sampled_from([(1, 1, 0), (3, 1, 1), (3, 2, 1), (5, 1, 2), (7, 2, 3)]),
    st.booleans(),  # constant weights (laid out at compile time, row folds) or arguments
)
def test_every_candidate_computes_the_conv(c, h, o, kernel, constant) -> None:  # noqa: ANN001
    k, s, p = kernel
    module, inputs = _ge_conv(c, h, o, k, s, p) if constant else _conv(1, c, h, h, o, k, s, p, 1)
    table, seen = _sites(module)
    assert seen, "an im2col conv's lowering consults its tile search"
    expected = run_reference(module, inputs)[0]
    for site in seen:
        candidates = table.candidates[site](6)
        assert candidates[0] == _untuned(site), "the search's own choice comes first"
        assert len(set(map(repr, candidates))) == len(candidates)
        for candidate in candidates:  # each within its algorithm's rounding, as selection's
            table.chosen[site] = candidate
            got, _ = _outputs_and_cycles(module, inputs, table)
            scale = max(1.0, float(np.abs(expected).max()))
            tolerance = 10 * ALGORITHMS["im2col"].rtol
            np.testing.assert_allclose(got / scale, expected / scale, rtol=0, atol=tolerance)
        del table.chosen[site]


@settings(max_examples=10)
@given(
    st.sampled_from(["direct", "winograd_2x2", "winograd_4x4"]),
    st.integers(1, 3).map(lambda c: 16 * c),  # channels
    st.integers(6, 20),  # image side
    st.booleans(),  # depthwise (the direct conv's common case) or dense
)
def test_every_direct_and_winograd_candidate_computes_the_conv(algorithm, c, h, depthwise) -> None:  # noqa: ANN001
    groups = c if depthwise and algorithm == "direct" else 1
    module, inputs = _conv(1, c, h, h, c, 3, 1, 1, groups)
    apply_pipeline(module, f"select-implementations{{conv-algorithm={algorithm}}}")
    table, seen = _sites(module)
    kinds = {"direct": "direct_conv"}
    assert seen[0][0] == kinds.get(algorithm, "winograd_fused")  # (an unfused one: GEMMs too)
    expected = run_reference(module, inputs)[0]
    for site in seen:
        candidates = table.candidates[site](4)
        with tile_tuning.inner():  # the search as it answers without a table
            assert candidates[0] == _untuned(site)
        for candidate in candidates:  # each within its algorithm's rounding, as selection's
            table.chosen[site] = candidate
            got, _ = _outputs_and_cycles(module, inputs, table)
            scale = max(1.0, float(np.abs(expected).max()))
            tolerance = 10 * ALGORITHMS[algorithm].rtol
            np.testing.assert_allclose(got / scale, expected / scale, rtol=0, atol=tolerance)
        del table.chosen[site]


def _untuned(site):  # noqa: ANN001, ANN202
    """What the site's search answers with no table active (a 1x1 conv is a GEMM)."""
    kind, _, _, args = site
    if kind == "conv":
        return choose_conv_tile(TARGET, ConvShape(*args[0]))
    if kind == "conv_rows":  # the chunk of the site's tile, as the search set it
        return ConvTiling(*args[1]).rows
    if kind == "direct_conv":
        return choose_band(TARGET, DirectGeometry(*args[0]), Epilogue(*args[1]))
    if kind == "winograd_fused":
        return choose_fused_tile(TARGET, FusedShape(*args[0]))
    if kind == "gemm":
        return choose_matmul_tile(TARGET, *args)
    *head, options = args
    return choose_matmul_split(TARGET, *head, **dict(options))


@settings(max_examples=20)
@given(st.integers(1, 300), st.integers(1, 300), st.integers(16, 2048).map(lambda k: k // 16 * 16))
def test_ranked_gemm_candidates_start_with_the_searches_choice(m, n, k) -> None:  # noqa: ANN001
    table = Decisions()
    with tile_tuning.record(table) as seen:
        split = choose_matmul_split(TARGET, m, n, k, 4, 4 * m * n, exact=True)
        tile = choose_matmul_tile(TARGET, m, n, k, 4, exact=True)
    assert [site[0] for site in seen] == ["gemm_split", "gemm"]  # the split's own: inner
    with tile_tuning.use(Decisions()):
        assert choose_matmul_split(TARGET, m, n, k, 4, 4 * m * n, exact=True) == split
    ranked_split, ranked_tile = (table.candidates[site](5) for site in seen)
    assert ranked_split[0] == split and ranked_tile[0] == tile
    assert all(parts > 1 for parts, _ in ranked_split) or ranked_split == [split]
    assert len(set(ranked_tile)) == len(ranked_tile)
    assert [t.estimate for t in ranked_tile[1:]] == sorted(t.estimate for t in ranked_tile[1:])


def test_a_decision_answers_its_site_only_while_its_table_is_active() -> None:
    table = Decisions()
    with tile_tuning.record(table) as seen:
        chosen = choose_matmul_tile(TARGET, 128, 768, 768, 4, exact=True)
    site = seen[0]
    other = table.candidates[site](3)[1]
    table.chosen[site] = other
    with tile_tuning.use(table):
        assert choose_matmul_tile(TARGET, 128, 768, 768, 4, exact=True) == other
        assert choose_matmul_tile(TARGET, 128, 768, 512, 4, exact=True) != other  # not its site
        with tile_tuning.inner():  # part of an enclosing search: the estimate's choice
            assert choose_matmul_tile(TARGET, 128, 768, 768, 4, exact=True) == chosen
    assert choose_matmul_tile(TARGET, 128, 768, 768, 4, exact=True) == chosen
    smaller = dataclasses.replace(TARGET, ai_cores=16)  # another chip of the same name
    assert tile_tuning.target_digest(smaller) != tile_tuning.target_digest(TARGET)
    table.chosen[site[:2] + (tile_tuning.target_digest(smaller),) + site[3:]] = chosen
    with tile_tuning.use(table):  # its own site: the decision recorded for it
        assert choose_matmul_tile(smaller, 128, 768, 768, 4, exact=True) == chosen
        assert choose_matmul_tile(TARGET, 128, 768, 768, 4, exact=True) == other


def _model(path: Path) -> Path:
    """A 3x3 conv + relu, a 1x1 conv and a matmul with a bias: every tile search kind."""
    rng = np.random.default_rng(3)

    def init(name: str, *shape: int):  # noqa: ANN202
        return numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32) * 0.1, name)

    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["a"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["a"], ["r"]),
        helper.make_node("Conv", ["r", "w2", "b2"], ["y"]),
        helper.make_node("MatMul", ["t", "m"], ["u"]),
        helper.make_node("Add", ["u", "bias"], ["v"]),
    ]
    graph = helper.make_graph(
        nodes,
        "tunable",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 32, 28, 28]),
            helper.make_tensor_value_info("t", TensorProto.FLOAT, [64, 1024]),
        ],
        [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 64, 28, 28]),
            helper.make_tensor_value_info("v", TensorProto.FLOAT, [64, 256]),
        ],
        [init("w1", 48, 32, 3, 3), init("w2", 64, 48, 1, 1), init("b2", 64),
         init("m", 1024, 256), init("bias", 256)],  # fmt: skip
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path.write_bytes(model.SerializeToString())
    return path


def _kernel_module(path: Path):  # noqa: ANN202
    module = load_program(str(path))
    high = pipeline_spec(CompileOptions())
    apply_pipeline(module, f"{high},select-implementations,split-pointwise-convs")
    return module


def test_tuning_keeps_only_faster_candidates_and_the_outputs(tmp_path: Path) -> None:
    module = _kernel_module(_model(tmp_path / "m.onnx"))
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal((1, 32, 28, 28)).astype(np.float32),
              rng.standard_normal((64, 1024)).astype(np.float32)]  # fmt: skip
    plain = KernelRunner(module, TARGET)
    before = plain.run(inputs)
    table = Decisions()
    report = tune_kernels(plain, table, top=6)
    kinds = {s.site[0] for s in report.sites}
    assert {"conv", "conv_rows", "gemm"} <= kinds, kinds
    assert all(s.after <= s.before for s in report.sites)
    assert len(table) == len(report.sites)
    with tile_tuning.use(table):
        tuned = KernelRunner(module, TARGET)
    after = tuned.run(inputs)
    for got, want in zip(after.outputs, before.outputs, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    by_kernel = {}
    for k in after.profile.kernels:
        by_kernel[k.name] = by_kernel.get(k.name, 0.0) + k.cycles
    last = {s.kernel: s.after for s in report.sites}  # a kernel's last search ends at its cycles
    for name, cycles in last.items():
        assert by_kernel[name] == cycles
    total = sum(k.cycles for k in after.profile.kernels)
    assert total <= sum(k.cycles for k in before.profile.kernels)


def test_a_conv_decides_its_staging_chunk_after_its_tile() -> None:
    """The chunk is a site of its own, keyed by the tile (tuned after it, `tune_kernels`):
    the search's chunk first, then fewer rows; a chosen chunk is what the lowering stages."""
    module, inputs = _ge_conv(16, 20, 16, 3, 1, 1)
    table, seen = _sites(module)
    assert [site[0] for site in seen] == ["conv", "conv_rows"]
    tile = choose_conv_tile(TARGET, ConvShape(*seen[0][3][0]))
    assert seen[1][3][1] == dataclasses.astuple(tile)
    rows = table.candidates[seen[1]](8)
    assert rows[0] == tile.rows and len(rows) > 2, rows
    assert rows[1:] == sorted(set(rows[1:]), reverse=True) and rows[1] < rows[0]
    staged = []
    for chunk in rows[:3]:
        table.chosen[seen[1]] = chunk
        with tile_tuning.use(table):
            lowered = lower_module(module, TARGET)
        # the NCHW staging buffers in UB hold one chunk of image rows: (1, lanes, rows, W)
        ub = [op.buffer.type for op in lowered.walk() if isinstance(op, AllocOp)]
        staged.append({t.dims[2] for t in ub if t.space.data == "ub" and len(t.dims) == 4
                       and t.dims[3] == 20})  # fmt: skip
        got = NpuExecutable(lowered, TARGET).run(inputs).outputs[0]
        np.testing.assert_allclose(got, run_reference(module, inputs)[0], rtol=1e-4, atol=1e-4)
    assert staged == [{r} for r in rows[:3]], staged


def test_a_table_round_trips_through_json(tmp_path: Path) -> None:
    module, _ = _ge_conv(24, 14, 40, 3, 1, 1)
    table, seen = _sites(module)
    table.chosen[seen[0]] = table.candidates[seen[0]](3)[-1]
    with tile_tuning.record(Decisions()):
        matmul = choose_matmul_split(TARGET, 64, 256, 2048, 4, 4 * 64 * 256, exact=True)
    table.chosen[("gemm_split", "t", "d", (1, 2))] = matmul
    table.save(tmp_path / "db.json")
    back = Decisions.load(tmp_path / "db.json")
    assert back.chosen == table.chosen
    data = json.loads((tmp_path / "db.json").read_text())
    assert data["format"] == "gedialects-tile-decisions" and len(data["entries"]) == 2


def test_a_table_loads_in_a_process_that_lowered_nothing(tmp_path: Path) -> None:
    """The decision types are registered by the modules that define them; loading a saved
    table must not depend on a lowering having imported them first."""
    module, _ = _ge_conv(24, 14, 40, 3, 1, 1)
    table, seen = _sites(module)
    table.chosen[seen[0]] = table.candidates[seen[0]](2)[-1]
    path = tmp_path / "t.json"
    table.save(path)
    script = (
        "import sys; from lowering.tile_tuning import Decisions; "
        "t = Decisions.load(sys.argv[1]); print(type(next(iter(t.chosen.values()))).__name__)"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True,
                          text=True, cwd=root, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ConvTiling"
    lowering = root / "lowering"
    deciding = {f"lowering.{f.stem}" for f in lowering.glob("*.py")
                if "@tile_tuning.decision_type" in f.read_text()}  # fmt: skip
    assert deciding == set(tile_tuning.DECISION_MODULES)


@pytest.mark.parametrize(
    "text",
    ["not json", '{"format": "other", "version": 1, "entries": []}',
     '{"format": "gedialects-tile-decisions", "version": 1, "entries": [{"site": 1}]}',
     '{"format": "gedialects-tile-decisions", "version": 1, "entries": '
     '[{"site": ["conv"], "decision": {"type": "Pickle", "fields": {}}}]}'],
)  # fmt: skip
def test_a_file_that_is_no_table_is_one_error_naming_it(tmp_path: Path, text: str) -> None:
    path = tmp_path / "db.json"
    path.write_text(text)
    with pytest.raises(GeError, match="tile decisions '.*db.json'"):
        Decisions.load(path)


def test_tuning_needs_a_candidate(tmp_path: Path) -> None:
    module, _ = _ge_conv(8, 8, 8, 3, 1, 1)
    with pytest.raises(GeError, match="at least one candidate"):
        tune_kernels(KernelRunner(module, TARGET), Decisions(), top=0)
    with pytest.raises(GeError, match="tune must be"):
        CompileOptions(tune=-1)


def test_a_table_that_cannot_be_written_is_one_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(GeError, match="tile decisions '.*db.json' cannot be written"):
        Decisions().save(tmp_path / "missing" / "db.json")
    assert not list(tmp_path.iterdir())  # no partial file left
