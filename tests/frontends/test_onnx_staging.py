"""Models with host ops (data-dependent shapes, ops without a converter, shapes only a run
knows) run in stages: compiled stages around the node, which runs on the host (GE's AI CPU).

Every model is compared with onnxruntime at the npu level (rtol 1e-4), the profile and
REPORT.json are checked for one timeline, and random inputs that change the data-dependent
shapes (hypothesis) recompile the rest per shape and still equal onnxruntime.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from onnx import TensorProto, helper, numpy_helper
from onnx_export_helpers import assert_close

import ge
from ge.frontends.onnx import import_onnx_model
from ge.frontends.onnx.loading import prepare
from ge.frontends.onnx.staging import StagedProgram, import_program, split
from ge.frontends.onnx_export import export_onnx
from ge.report import check_report
from ge.staged import StagedModel
from ge.testing import run
from ge.testing.strategies import programs_with_inputs, smooth_ops
from gedialects.errors import GeError, UnsupportedError

F = TensorProto.FLOAT


def _model(nodes, inputs, outputs, inits=(), opset: int = 17) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "staged", inputs, outputs, list(inits))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    onnx.checker.check_model(model)
    return model


def _const(name: str, value) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(value), name)


def masked_select() -> onnx.ModelProto:
    """x[x > 0] squared, summed back onto relu(x): NonZero in the middle of the graph."""
    nodes = [
        helper.make_node("Relu", ["x"], ["r"]),
        helper.make_node("Greater", ["x", "zero"], ["mask"]),
        helper.make_node("NonZero", ["mask"], ["nz"]),
        helper.make_node("Transpose", ["nz"], ["nzt"], perm=[1, 0]),
        helper.make_node("GatherND", ["r", "nzt"], ["vals"]),
        helper.make_node("Mul", ["vals", "vals"], ["sq"]),
        helper.make_node("ReduceSum", ["sq"], ["total"], keepdims=1),
        helper.make_node("Add", ["r", "total"], ["y"]),
    ]
    return _model(
        nodes,
        [helper.make_tensor_value_info("x", F, [4, 8])],
        [
            helper.make_tensor_value_info("y", F, [4, 8]),
            helper.make_tensor_value_info("sq", F, ["n"]),
        ],
        [_const("zero", np.float32(0))],
    )


def detector(boxes: int = 256) -> onnx.ModelProto:
    """A conv head, NonMaxSuppression, and the picked boxes and scores gathered after it."""
    rng = np.random.default_rng(0)
    nodes = [
        helper.make_node("Conv", ["x", "W"], ["f"], pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("Slice", ["f", "s0", "s4", "ax"], ["fb"]),
        helper.make_node("Sigmoid", ["fb"], ["fbs"]),
        helper.make_node("Reshape", ["fbs", "box_shape"], ["boxes"]),
        helper.make_node("Slice", ["f", "s4", "s8", "ax"], ["fs"]),
        helper.make_node("Sigmoid", ["fs"], ["fss"]),
        helper.make_node("ReduceMean", ["fss"], ["fsm"], axes=[1], keepdims=0),
        helper.make_node("Reshape", ["fsm", "score_shape"], ["scores"]),
        helper.make_node("NonMaxSuppression", ["boxes", "scores", "most", "iou", "thr"], ["sel"]),
        helper.make_node("Gather", ["sel", "two"], ["idx"], axis=1),
        helper.make_node("Gather", ["boxes", "idx"], ["picked"], axis=1),
        helper.make_node("Mul", ["picked", "scale"], ["out_boxes"]),
        helper.make_node("Gather", ["scores", "idx"], ["out_scores"], axis=2),
    ]
    inits = [
        _const("W", rng.standard_normal((8, 3, 3, 3)).astype(np.float32)),
        _const("box_shape", np.array([1, boxes, 4], np.int64)),
        _const("score_shape", np.array([1, 1, boxes], np.int64)),
        _const("most", np.array([100], np.int64)),
        _const("iou", np.array([0.5], np.float32)),
        _const("thr", np.array([0.6], np.float32)),
        _const("two", np.array(2, np.int64)),
        _const("s0", np.array([0], np.int64)),
        _const("s4", np.array([4], np.int64)),
        _const("s8", np.array([8], np.int64)),
        _const("ax", np.array([1], np.int64)),
        _const("scale", np.float32(32.0)),
    ]
    return _model(
        nodes,
        [helper.make_tensor_value_info("x", F, [1, 3, 32, 32])],
        [
            helper.make_tensor_value_info("out_boxes", F, [1, "k", 4]),
            helper.make_tensor_value_info("out_scores", F, [1, 1, "k"]),
            helper.make_tensor_value_info("f", F, [1, 8, 16, 16]),
        ],
        inits,
    )


def two_host_ops() -> onnx.ModelProto:
    """NonZero reads a graph input directly (an empty first stage), Unique reads its result:
    the rest is staged again."""
    nodes = [
        helper.make_node("NonZero", ["m"], ["nz"]),
        helper.make_node("ReduceSum", ["nz", "zero_axis"], ["rows"], keepdims=0),
        helper.make_node("Unique", ["rows"], ["u", "", "", "counts"], sorted=1),
        helper.make_node("Cast", ["counts"], ["cf"], to=F),
        helper.make_node("Mul", ["cf", "half"], ["y"]),
    ]
    return _model(
        nodes,
        [helper.make_tensor_value_info("m", TensorProto.BOOL, [3, 5])],
        [
            helper.make_tensor_value_info("y", F, ["u"]),
            helper.make_tensor_value_info("u", TensorProto.INT64, ["u"]),
        ],
        [_const("zero_axis", np.array([0], np.int64)), _const("half", np.float32(0.5))],
    )


def computed_reshape() -> onnx.ModelProto:
    """A Reshape to a shape computed from the data: only a run knows it."""
    nodes = [
        helper.make_node("ReduceMax", ["k"], ["kmax"], keepdims=0),
        helper.make_node("Concat", ["minus_one", "kvec"], ["shape"], axis=0),
        helper.make_node("Unsqueeze", ["kmax", "zero_axis"], ["kvec"]),
        helper.make_node("Reshape", ["x", "shape"], ["xr"]),
        helper.make_node("Softmax", ["xr"], ["y"], axis=-1),
    ]
    nodes = [nodes[0], nodes[2], nodes[1], nodes[3], nodes[4]]
    return _model(
        nodes,
        [
            helper.make_tensor_value_info("x", F, [4, 6]),
            helper.make_tensor_value_info("k", TensorProto.INT64, [2]),
        ],
        [helper.make_tensor_value_info("y", F, ["a", "b"])],
        [
            _const("minus_one", np.array([-1], np.int64)),
            _const("zero_axis", np.array([0], np.int64)),
        ],
    )


def run_onnxruntime(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    import onnxruntime

    session = onnxruntime.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    return session.run(None, feeds)


def _compare(model: onnx.ModelProto, feeds: dict[str, np.ndarray], compiled=None) -> StagedModel:
    compiled = compiled or ge.compile(model, level="npu", cache=False)
    assert isinstance(compiled, StagedModel)
    expected = run_onnxruntime(model, feeds)
    got = compiled.run(**feeds)
    assert len(got) == len(expected)
    for want, have in zip(expected, got):
        assert have.shape == want.shape and have.dtype == want.dtype
        np.testing.assert_allclose(have, want, rtol=1e-4, atol=1e-5)
    return compiled


def _x(shape, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def test_nonzero_mid_graph_runs_in_stages_equal_to_onnxruntime() -> None:
    compiled = _compare(masked_select(), {"x": _x((4, 8))})
    profile = compiled.last_profile
    assert profile["stages"] == 2 and not profile["fallbacks"]
    names = [k["name"] for k in profile["kernels"]]
    (host,) = [k for k in profile["kernels"] if k["algorithm"] == "aicpu"]
    assert host["op"] == "onnx.NonZero" and host["name"] == "s1_aicpu_NonZero"
    # the keys every kernel record has, so a report's readers need no special case
    assert host["engine"] == "aicpu" and host["estimated"] and "no converter" in host["reason"]
    assert all({"engine", "estimated", "block_dim"} <= set(k) for k in profile["kernels"])
    before = [k for k in profile["kernels"] if k["name"].startswith("s0_")]
    after = [k for k in profile["kernels"] if k["name"].startswith("s2_")]
    assert before and after and len(names) == len(set(names))
    assert host["start_cycle"] >= max(k["end_cycle"] for k in before)
    assert min(k["start_cycle"] for k in after) >= host["end_cycle"]
    assert profile["makespan_cycles"] >= sum(k["cycles"] for k in [host])


def test_non_max_suppression_detector_recompiles_the_rest_per_shape() -> None:
    model = detector()
    compiled = _compare(model, {"x": _x((1, 3, 32, 32), 0)})
    kept = compiled.run(x=_x((1, 3, 32, 32), 0))[0].shape[1]
    for seed in range(1, 6):  # other inputs keep other numbers of boxes
        _compare(model, {"x": _x((1, 3, 32, 32), seed)}, compiled)
    counts = {compiled.run(x=_x((1, 3, 32, 32), s))[0].shape[1] for s in range(6)}
    assert len(counts) > 1, f"every input kept {kept} boxes: the test shows no reshaping"
    assert compiled.stages == 1 + len(counts)


def test_a_host_op_on_a_graph_input_and_a_second_host_op_after_it() -> None:
    mask = np.random.default_rng(3).random((3, 5)) > 0.5
    compiled = _compare(two_host_ops(), {"m": mask})
    hosts = [k["op"] for k in compiled.last_profile["kernels"] if k["algorithm"] == "aicpu"]
    assert hosts == ["onnx.NonZero", "onnx.Unique"]
    assert compiled.last_profile["stages"] == 3


def test_a_shape_only_a_run_knows_compiles_the_rest_per_value() -> None:
    """The Reshape's computed shape (two elements) is bound as a constant: the Reshape and
    what follows compile per value, on the npu, with no host op."""
    model = computed_reshape()
    with pytest.raises(UnsupportedError, match="Reshape"):
        import_onnx_model(model)  # one graph: still refused, naming the node
    program = import_program(model)
    assert isinstance(program, StagedProgram) and program.host.op_type == "Reshape"
    assert program.specialized == ["shape"]
    compiled = _compare(model, {"x": _x((4, 6)), "k": np.array([2, 3], np.int64)})
    _compare(model, {"x": _x((4, 6), 1), "k": np.array([6, 1], np.int64)}, compiled)
    _compare(model, {"x": _x((4, 6), 2), "k": np.array([1, 3], np.int64)}, compiled)
    assert compiled.stages == 1 + 2  # the first stage, and the rest for shapes [-1, 3], [-1, 6]
    assert all(k["algorithm"] != "aicpu" for k in compiled.last_profile["kernels"])


def test_models_without_host_ops_import_as_one_module() -> None:
    model = _model(
        [helper.make_node("Relu", ["x"], ["y"])],
        [helper.make_tensor_value_info("x", F, [2, 3])],
        [helper.make_tensor_value_info("y", F, [2, 3])],
    )
    assert not isinstance(import_program(model), StagedProgram)


def test_dynamic_mode_and_the_reference_level_run_staged_models_too() -> None:
    feeds = {"x": _x((4, 8))}
    for options in ({"mode": "dynamic", "level": "npu"}, {"level": "reference"}):
        compiled = ge.compile(masked_select(), cache=False, **options)
        _compare(masked_select(), feeds, compiled)


def test_dynamic_batch_refuses_a_staged_model_in_one_line() -> None:
    with pytest.raises(GeError, match="runs in stages: host op NonMaxSuppression"):
        ge.compile(detector(), dynamic_batch=[1, 2], cache=False)


def test_a_host_op_the_reference_cannot_run_is_refused_naming_it() -> None:
    model = _model(
        [helper.make_node("MaxRoiPool", ["x", "rois"], ["y"], pooled_shape=[2, 2])],
        [
            helper.make_tensor_value_info("x", F, [1, 2, 8, 8]),
            helper.make_tensor_value_info("rois", F, [3, 5]),
        ],
        [helper.make_tensor_value_info("y", F, [3, 2, 2, 2])],
    )
    with pytest.raises(UnsupportedError, match="MaxRoiPool"):
        ge.compile(model, cache=False)


def test_ge_run_reports_one_timeline_with_the_host_op(tmp_path: Path) -> None:
    path, report = tmp_path / "det.onnx", tmp_path / "REPORT.json"
    onnx.save(detector(), path)
    done = subprocess.run(
        [sys.executable, "-m", "ge.cli.run", str(path), "--report", str(report), "--no-cache"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("\n") == 1 and "host op NonMaxSuppression" in done.stderr
    data = json.loads(report.read_text())
    check_report(data)
    assert data["stages"] == 2
    kernels = data["kernels"]
    (host,) = [k for k in kernels if k["algorithm"] == "aicpu"]
    assert host["cycles"] > host["roofline_cycles"] > 0 and host["hbm_bytes_read"] > 0
    assert data["makespan_cycles"] >= max(k["end_cycle"] for k in kernels) - 1e-9
    for b in data["memory"]["buffers"]:
        if b["first_kernel"] is not None:
            assert kernels[b["first_kernel"]]["name"][:3] == b["name"][:3]  # same stage


@settings(max_examples=12)
@given(arrays(np.float32, (4, 8), elements=st.floats(-2, 2, width=32)))
def test_random_masks_equal_onnxruntime(x: np.ndarray) -> None:
    _compare(masked_select(), {"x": x}, _shared_masked_select())


_SHARED: list[StagedModel] = []


def _shared_masked_select() -> StagedModel:
    """One compiled model for every example: each new count of positives compiles a rest."""
    if not _SHARED:
        _SHARED.append(ge.compile(masked_select(), level="npu", cache=False))
    return _SHARED[0]


def test_roi_align_without_a_converter_runs_on_the_host() -> None:
    rng = np.random.default_rng(0)
    nodes = [
        helper.make_node("Relu", ["x"], ["r"]),
        helper.make_node(
            "RoiAlign", ["r", "rois", "batch"], ["p"], output_height=3, output_width=3,
            sampling_ratio=2, spatial_scale=0.5,
        ),
        helper.make_node("Flatten", ["p"], ["pf"]),
        helper.make_node("MatMul", ["pf", "W"], ["y"]),
    ]  # fmt: skip
    model = _model(
        nodes,
        [
            helper.make_tensor_value_info("x", F, [1, 4, 16, 16]),
            helper.make_tensor_value_info("rois", F, [5, 4]),
        ],
        [helper.make_tensor_value_info("y", F, [5, 6])],
        [
            _const("batch", np.zeros(5, np.int64)),
            _const("W", rng.standard_normal((36, 6)).astype(np.float32)),
        ],
        opset=16,
    )
    corners = np.abs(rng.standard_normal((5, 4))).astype(np.float32) * 10
    corners[:, 2:] += corners[:, :2]
    compiled = _compare(model, {"x": _x((1, 4, 16, 16)), "rois": corners})
    hosts = [k["op"] for k in compiled.last_profile["kernels"] if k["algorithm"] == "aicpu"]
    assert hosts == ["onnx.RoiAlign"]


def test_if_branches_of_different_shapes_compile_per_condition() -> None:
    x_info = helper.make_tensor_value_info("x", F, [4, 3])

    def branch(name: str, nodes, out: str) -> onnx.GraphProto:
        return helper.make_graph(nodes, name, [], [helper.make_tensor_value_info(out, F, None)])

    then_branch = branch("first_two", [helper.make_node("Slice", ["x", "s0", "s2"], ["t"])], "t")
    else_branch = branch("all", [helper.make_node("Neg", ["x"], ["e"])], "e")
    nodes = [
        helper.make_node("ReduceSum", ["x"], ["total"], keepdims=0),
        helper.make_node("Greater", ["total", "zero"], ["cond"]),
        helper.make_node("If", ["cond"], ["picked"], then_branch=then_branch,
                         else_branch=else_branch),
        helper.make_node("Relu", ["picked"], ["y"]),
    ]  # fmt: skip
    model = _model(
        nodes,
        [x_info],
        [helper.make_tensor_value_info("y", F, ["n", 3])],
        [
            _const("zero", np.float32(0)),
            _const("s0", np.array([0], np.int64)),
            _const("s2", np.array([2], np.int64)),
        ],
    )
    positive = np.abs(_x((4, 3))) + 0.1
    compiled = _compare(model, {"x": positive})
    assert compiled.run(x=positive)[0].shape == (2, 3)
    assert _compare(model, {"x": -positive}, compiled).run(x=-positive)[0].shape == (4, 3)
    assert compiled.program.specialized == ["cond"] and compiled.stages == 1 + 2
    assert all(k["algorithm"] != "aicpu" for k in compiled.last_profile["kernels"])


def merged_decoder_like(condition_from_data: bool = False) -> onnx.ModelProto:
    """An If whose branches give the same type (optimum's merged decoders branch so on a
    `use_cache_branch` input): x @ W1 -> Relu, or x @ W2 -> Sigmoid, then + 1. The condition
    is a graph input, or computed from x (ReduceSum(x) > 0)."""
    rng = np.random.default_rng(1)

    def branch(name: str, weight: str, act: str) -> onnx.GraphProto:
        nodes = [helper.make_node("MatMul", ["x", weight], [f"{name}_m"]),
                 helper.make_node(act, [f"{name}_m"], [f"{name}_y"])]  # fmt: skip
        return helper.make_graph(
            nodes, name, [], [helper.make_tensor_value_info(f"{name}_y", F, [4, 16])]
        )

    nodes = [
        helper.make_node("If", ["cond"], ["picked"], then_branch=branch("with", "W1", "Relu"),
                         else_branch=branch("without", "W2", "Sigmoid")),
        helper.make_node("Add", ["picked", "one"], ["y"]),
    ]  # fmt: skip
    inputs = [helper.make_tensor_value_info("x", F, [4, 16])]
    if condition_from_data:
        nodes[:0] = [helper.make_node("ReduceSum", ["x"], ["total"], keepdims=0),
                     helper.make_node("Greater", ["total", "zero"], ["cond"])]  # fmt: skip
    else:
        inputs.append(helper.make_tensor_value_info("cond", TensorProto.BOOL, [1]))
    weights = [_const(n, rng.standard_normal((16, 16)).astype(np.float32)) for n in ("W1", "W2")]
    constants = [*weights, _const("one", np.float32(1)), _const("zero", np.float32(0))]
    return _model(nodes, inputs, [helper.make_tensor_value_info("y", F, [4, 16])], constants)


@pytest.mark.parametrize("from_data", [False, True], ids=["input", "computed"])
def test_an_if_on_a_run_time_condition_runs_its_taken_branch_on_the_npu(from_data) -> None:
    """Branches of one type would fit one module as an `scf.if`, which runs on the reference
    interpreter; a compile instead compiles the rest per value of the condition (GE compiles
    an If's branches as subgraphs and picks one at run time), so the branch runs on the npu:
    no fallback, the matmul and its epilogue one kernel, each condition compiled once."""
    model = merged_decoder_like(from_data)
    x = _x((4, 16))
    compiled = None
    for sign in (1.0, -1.0, 1.0):
        feeds = {"x": sign * np.abs(x)} if from_data else {"x": x, "cond": np.array([sign > 0])}
        compiled = _compare(model, feeds, compiled)
        profile = compiled.last_profile
        assert profile["fallbacks"] == [] and any("matmul" in k["op"] for k in profile["kernels"])
        assert all(k["engine"] == "npu" for k in profile["kernels"])
    assert compiled.program.specialized == ["cond"] and compiled.stages == 1 + 2


def test_one_module_still_holds_an_if_on_a_run_time_condition_as_scf_if() -> None:
    """`import_onnx_model` (and `ge-opt`) cannot stage: the If stays an `scf.if`."""
    module = import_onnx_model(merged_decoder_like())
    assert any(op.name == "scf.if" for op in module.walk())


@settings(max_examples=40)
@given(programs_with_inputs(ops=smooth_ops(), max_ops=6), st.data())
def test_a_cut_at_any_node_of_a_random_program_changes_no_output(case, data) -> None:
    """The partition itself: whatever node is the host node, the first stage carries what
    the rest and the outputs need, and the staged run equals the program's."""
    module, inputs = case
    prepared, inferred, shapes = prepare(export_onnx(module), None, "<random>")
    index = data.draw(st.integers(0, len(prepared.graph.node) - 1), label="cut at node")
    program = split(prepared, inferred, index, shapes, "<random>", "a forced cut")
    compiled = ge.compile(program, level="reference", cache=False)
    assert isinstance(compiled, StagedModel)
    cut = prepared.graph.node[index].op_type
    assert_close(compiled.run(*inputs), run(module, inputs), f"cut at {cut}:\n{module}")


def test_a_host_node_ge_converts_runs_by_ge_semantics_not_onnx_reference() -> None:
    """onnx.reference's GlobalMaxPool reduces the channels of a 3-D input too; a host node
    ge has a converter for runs by ge's semantics (the shrunk example of the test above)."""
    model = _model(
        [helper.make_node("GlobalMaxPool", ["x"], ["y"])],
        [helper.make_tensor_value_info("x", F, [1, 3, 5])],
        [helper.make_tensor_value_info("y", F, [1, 3, 1])],
    )
    prepared, inferred, shapes = prepare(model, None, "<test>")
    program = split(prepared, inferred, 0, shapes, "<test>", "a forced cut")
    compiled = ge.compile(program, level="npu", cache=False)
    x = _x((1, 3, 5))
    (y,) = compiled.run(x)
    np.testing.assert_array_equal(y, x.max(axis=2, keepdims=True))


def test_a_loop_whose_body_holds_a_host_op_runs_whole_on_the_host() -> None:
    """TF detection exports run NonMaxSuppression inside a Loop over the batch: the node
    cannot be cut out of the body, so the top-level Loop is the host node."""
    body = helper.make_graph(
        [
            helper.make_node("Gather", ["x", "i"], ["row"], axis=0),
            helper.make_node("Greater", ["row", "zero"], ["m"]),
            helper.make_node("NonZero", ["m"], ["nz"]),
            helper.make_node("Squeeze", ["nz", "axis0"], ["idx"]),
            helper.make_node("Gather", ["row", "idx"], ["pos"], axis=0),
            helper.make_node("ReduceSum", ["pos"], ["s"], keepdims=0),
            helper.make_node("Identity", ["c_in"], ["c_out"]),
        ],
        "body",
        [
            helper.make_tensor_value_info("i", TensorProto.INT64, []),
            helper.make_tensor_value_info("c_in", TensorProto.BOOL, []),
        ],
        [
            helper.make_tensor_value_info("c_out", TensorProto.BOOL, []),
            helper.make_tensor_value_info("s", F, []),
        ],
    )
    model = _model(
        [
            helper.make_node("Relu", ["x0"], ["x"]),
            helper.make_node("Loop", ["trip", "cond"], ["sums"], body=body),
            helper.make_node("Mul", ["sums", "two"], ["y"]),
        ],
        [helper.make_tensor_value_info("x0", F, [4, 6])],
        [helper.make_tensor_value_info("y", F, [4])],
        [
            _const("trip", np.array(4, np.int64)),
            _const("cond", np.array(True)),
            _const("zero", np.float32(0.3)),
            _const("axis0", np.array([0], np.int64)),
            _const("two", np.float32(2)),
        ],
    )
    compiled = _compare(model, {"x0": _x((4, 6))})
    hosts = [k["op"] for k in compiled.last_profile["kernels"] if k["algorithm"] == "aicpu"]
    assert hosts == ["onnx.Loop"]


def test_classic_ml_ops_run_on_the_host() -> None:
    """A scikit-learn conversion (ai.onnx.ml Scaler and LinearClassifier around a float op):
    the ML ops run on the host by ONNX's reference, the rest on the npu."""
    rng = np.random.default_rng(4)
    ml = "ai.onnx.ml"
    nodes = [
        helper.make_node("Scaler", ["x"], ["scaled"], domain=ml, offset=[0.1, -0.2, 0.3],
                         scale=[2.0, 0.5, 1.5]),
        helper.make_node("Tanh", ["scaled"], ["t"]),
        helper.make_node("LinearClassifier", ["t"], ["label", "scores"], domain=ml,
                         classlabels_ints=[0, 1, 2, 3],
                         coefficients=rng.standard_normal(12).astype(float).tolist(),
                         intercepts=[0.1, 0.0, -0.1, 0.2], post_transform="SOFTMAX"),
        helper.make_node("Mul", ["scores", "two"], ["y"]),
    ]  # fmt: skip
    graph = helper.make_graph(
        nodes,
        "sklearn",
        [helper.make_tensor_value_info("x", F, [5, 3])],
        [
            helper.make_tensor_value_info("label", TensorProto.INT64, [5]),
            helper.make_tensor_value_info("y", F, [5, 4]),
        ],
        [_const("two", np.float32(2))],
    )
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid(ml, 1)]
    model = helper.make_model(graph, opset_imports=opsets)
    onnx.checker.check_model(model)
    compiled = _compare(model, {"x": _x((5, 3))})
    hosts = [k["op"] for k in compiled.last_profile["kernels"] if k["algorithm"] == "aicpu"]
    assert hosts == ["ai.onnx.ml.Scaler", "ai.onnx.ml.LinearClassifier"]


def test_shape_gears_refuse_an_if_on_a_run_time_condition_in_one_line() -> None:
    """Gears need one static graph, whose batch is padded and sliced; a model cut at an If
    is not one (as an `scf.if` it was refused too: its condition mixes samples)."""
    with pytest.raises(GeError, match="dynamic_batch needs one static graph.*If"):
        ge.compile(merged_decoder_like(), dynamic_batch=[4], cache=False)


def test_a_node_specialized_on_several_inputs_is_named_once_in_errors() -> None:
    """A Slice whose starts, ends, axes and steps are all run-time values stages once per
    input; an error in its last stage said '(from Slice)' four times (ONNX fuzzing)."""
    vi = helper.make_tensor_value_info
    ints = [vi(n, TensorProto.INT64, [k]) for n, k in (("s", 1), ("e", 1), ("a", 2), ("t", 1))]
    model = _model(
        [helper.make_node("Slice", ["x", "s", "e", "a", "t"], ["y"])],
        [vi("x", TensorProto.FLOAT, [4, 6]), *ints],
        [vi("y", TensorProto.FLOAT, ["r", "c"])],
    )
    compiled = ge.compile(model, cache=False, level="reference")
    one = np.array([1], np.int64)
    with pytest.raises(GeError) as caught:
        compiled.run(x=_x((4, 6)), s=one, e=one + 2, a=np.array([0, 1], np.int64), t=one)
    assert str(caught.value).count("(from Slice)") == 1, str(caught.value)
    assert "starts, ends, axes and steps must have the same length" in str(caught.value)


def test_a_host_op_failing_on_a_bare_assert_says_the_reference_refused(monkeypatch) -> None:  # noqa: ANN001
    """ONNX's reference implementations check inputs with bare asserts (ONNX fuzzing: an
    Attention with swapped inputs): the error said only 'AssertionError:'."""
    import ge.staged

    def refuse(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError

    monkeypatch.setattr(ge.staged, "evaluate_host_node", refuse)
    compiled = ge.compile(masked_select(), cache=False, level="reference")
    with pytest.raises(GeError, match="host op NonZero failed: AssertionError: ONNX's reference"):
        compiled.run(x=_x((4, 8)))


def test_a_host_loop_stacks_its_scan_outputs_as_the_spec_does() -> None:
    """A Loop run on the host by onnx.reference came back (N, 1) for scalar steps and
    (2N, 3) for (2, 3) steps (it concatenates the steps); the spec stacks them."""
    from ge.frontends.onnx.fold_node import evaluate_node

    body = helper.make_graph(
        [
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
            helper.make_node("Cast", ["i"], ["fi"], to=TensorProto.FLOAT),
            helper.make_node("Add", ["acc_in", "fi"], ["acc_out"]),
            helper.make_node("Mul", ["x", "fi"], ["step"]),
        ],
        "body",
        [
            helper.make_tensor_value_info("i", TensorProto.INT64, []),
            helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
            helper.make_tensor_value_info("acc_in", TensorProto.FLOAT, []),
        ],
        [
            helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
            helper.make_tensor_value_info("acc_out", TensorProto.FLOAT, []),
            helper.make_tensor_value_info("fi", TensorProto.FLOAT, []),
            helper.make_tensor_value_info("step", TensorProto.FLOAT, [2, 3]),
        ],
    )
    loop = helper.make_node("Loop", ["M", "c", "a"], ["acc", "scalars", "steps"], body=body)
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    acc, scalars, steps = evaluate_node(
        loop, {"": 17}, [np.array(4), np.array(True), np.array(0, np.float32)], {"x": x}
    )
    assert acc == 6
    np.testing.assert_array_equal(scalars, [0, 1, 2, 3])
    np.testing.assert_array_equal(steps, np.stack([x * i for i in range(4)]))


def test_a_host_if_names_the_op_inside_it_that_has_no_converter() -> None:
    """The note said the If itself had no converter, when the NonZero in its branch has."""
    then = helper.make_graph(
        [helper.make_node("NonZero", ["x"], ["nz"])],
        "then",
        [],
        [helper.make_tensor_value_info("nz", TensorProto.INT64, None)],
    )
    other = helper.make_graph(
        [
            helper.make_node("Shape", ["x"], ["s2"]),
            helper.make_node("Unsqueeze", ["s2", "a"], ["s"]),
        ],
        "else",
        [],
        [helper.make_tensor_value_info("s", TensorProto.INT64, None)],
    )
    graph = helper.make_graph(
        [helper.make_node("If", ["c"], ["y"], then_branch=then, else_branch=other)],
        "host_if",
        [
            helper.make_tensor_value_info("c", TensorProto.BOOL, []),
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [4]),
        ],
        [helper.make_tensor_value_info("y", TensorProto.INT64, None)],
        initializer=[numpy_helper.from_array(np.array([0], np.int64), "a")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    program = import_program(model)
    assert isinstance(program, StagedProgram)
    assert program.reason == "ge has no converter for the NonZero inside it"
