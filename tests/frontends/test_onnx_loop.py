"""ONNX Loop against onnxruntime, in each of its three forms (unrolled, scf.for, scf.while)."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

import ge
from ge.frontends.onnx import NonConstantInputError, import_onnx_model
from ge.frontends.onnx.convert_loop import UNROLL_NODES
from ge.testing import run
from gedialects.errors import UnsupportedError


def vi(name: str, shape, dtype=TensorProto.FLOAT) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, dtype, shape)


def const(name: str, array) -> onnx.NodeProto:
    value = numpy_helper.from_array(np.asarray(array))
    return helper.make_node("Constant", [], [name], value=value)


def slicing_body() -> onnx.GraphProto:
    """ONNX's loop11 body: y += x[i : i + 1], and y is also a scan output."""
    nodes = [
        helper.make_node("Identity", ["cond_in"], ["cond_out"]),
        const("x", np.arange(1, 6, dtype=np.float32)),
        const("one", np.array(1, np.int64)),
        helper.make_node("Add", ["i", "one"], ["end"]),
        const("axes", np.array([0], np.int64)),
        helper.make_node("Unsqueeze", ["i", "axes"], ["start1"]),
        helper.make_node("Unsqueeze", ["end", "axes"], ["end1"]),
        helper.make_node("Slice", ["x", "start1", "end1"], ["piece"]),
        helper.make_node("Add", ["y_in", "piece"], ["y_out"]),
        helper.make_node("Identity", ["y_out"], ["scan"]),
    ]
    return helper.make_graph(
        nodes,
        "body",
        [vi("i", [], TensorProto.INT64), vi("cond_in", [], TensorProto.BOOL), vi("y_in", [1])],
        [vi("cond_out", [], TensorProto.BOOL), vi("y_out", [1]), vi("scan", [1])],
    )


def accumulating_body(until: float | None = None, scan: bool = True) -> onnx.GraphProto:
    """acc = acc * 0.5 + x * i (also a scan output when `scan`); the condition is passed
    through, or `acc.sum() < until`."""
    nodes = [
        helper.make_node("Cast", ["i"], ["fi"], to=TensorProto.FLOAT),
        const("half", np.array(0.5, np.float32)),
        helper.make_node("Mul", ["acc_in", "half"], ["scaled"]),
        helper.make_node("Mul", ["x", "fi"], ["term"]),
        helper.make_node("Add", ["scaled", "term"], ["acc_out"]),
    ]
    if scan:
        nodes.append(helper.make_node("Identity", ["acc_out"], ["scan"]))
    if until is None:
        nodes.append(helper.make_node("Identity", ["cond_in"], ["cond_out"]))
    else:
        nodes += [
            helper.make_node("ReduceSum", ["acc_out"], ["total"], keepdims=0),
            const("limit", np.array(until, np.float32)),
            helper.make_node("Less", ["total", "limit"], ["cond_out"]),
        ]
    return helper.make_graph(
        nodes,
        "body",
        [vi("i", [], TensorProto.INT64), vi("cond_in", [], TensorProto.BOOL), vi("acc_in", [2, 3])],
        [vi("cond_out", [], TensorProto.BOOL), vi("acc_out", [2, 3])]
        + ([vi("scan", [2, 3])] if scan else []),
    )


def loop_model(
    body: onnx.GraphProto,
    trip: int | None,
    cond: bool | None,
    scans: int,
    runtime: tuple[str, ...] = (),
    carried_shape=(2, 3),
) -> onnx.ModelProto:
    """A Loop over `body` carrying one tensor; trip count / condition are initializers, or
    graph inputs when named in `runtime`, or omitted when None."""
    inputs, inits = [vi("acc0", list(carried_shape))], []
    if not any("x" in n.output for n in body.node):  # the body reads the outer graph's x
        inputs.append(vi("x", [2, 3]))
    names = []
    for name, value, dtype in (("M", trip, np.int64), ("cond", cond, np.bool_)):
        if value is None and name not in runtime:
            names.append("")
        elif name in runtime:
            inputs.append(vi(name, [], TensorProto.INT64 if name == "M" else TensorProto.BOOL))
            names.append(name)
        else:
            inits.append(numpy_helper.from_array(np.array(value, dtype), name))
            names.append(name)
    outputs = ["acc", *[f"scan{k}" for k in range(scans)]]
    body_scans = len(body.output) - 2
    outputs += [""] * (body_scans - scans)  # scan outputs the node leaves unused
    node = helper.make_node("Loop", [*names, "acc0"], outputs, body=body, name="the_loop")
    out_info = [vi("acc", list(carried_shape))] + [
        helper.make_tensor_value_info(f"scan{k}", TensorProto.FLOAT, None) for k in range(scans)
    ]
    graph = helper.make_graph([node], "g", inputs, out_info, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def onnxruntime_outputs(model: onnx.ModelProto, feeds: dict) -> list[np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def check(model: onnx.ModelProto, feeds: dict) -> str:
    """Outputs equal onnxruntime's; returns the imported module's text."""
    module = import_onnx_model(model)
    got, want = run(module, feeds), onnxruntime_outputs(model, feeds)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
    return str(module)


RNG = np.random.default_rng(0)
X = RNG.standard_normal((2, 3)).astype(np.float32)
ACC0 = RNG.standard_normal((2, 3)).astype(np.float32)


def test_known_trip_count_unrolls_so_slices_by_the_iteration_fold():
    """ONNX's loop11 with the trip count known: the Slice by `i` needs constants."""
    model = loop_model(slicing_body(), trip=5, cond=True, scans=1, carried_shape=(1,))
    text = check(model, {"acc0": np.array([0.0], np.float32)})
    assert "scf." not in text


def test_long_loop_with_scan_outputs_is_one_scf_for():
    trip = UNROLL_NODES // 6 + 20
    model = loop_model(accumulating_body(), trip=trip, cond=True, scans=1)
    text = check(model, {"acc0": ACC0, "x": X})
    assert text.count("scf.for") == 1 and "ge.insert_step" in text


@pytest.mark.parametrize("trip", [0, 1, 4])
def test_run_time_trip_count_is_a_while_loop(trip):
    model = loop_model(accumulating_body(scan=False), trip=None, cond=True, scans=0, runtime=("M",))
    text = check(model, {"acc0": ACC0, "x": X, "M": np.array(trip, np.int64)})
    assert "scf.while" in text


def test_an_unused_scan_output_needs_no_static_length():
    """The body makes a scan output the node leaves unnamed: a while loop still works."""
    feeds = {"acc0": ACC0, "x": X, "M": np.array(3, np.int64)}
    unused = loop_model(accumulating_body(), trip=None, cond=True, scans=0, runtime=("M",))
    plain = loop_model(accumulating_body(scan=False), None, True, scans=0, runtime=("M",))
    (got,) = run(import_onnx_model(unused), feeds)
    np.testing.assert_allclose(got, onnxruntime_outputs(plain, feeds)[0], rtol=1e-5)


@settings(deadline=None)
@given(
    until=st.floats(-3.0, 6.0, width=32),
    trip=st.sampled_from([None, 2, 7, UNROLL_NODES]),
    cond=st.booleans(),
)
def test_condition_computed_by_the_body_matches_onnxruntime(until, trip, cond):
    """A data-dependent condition: unrolled while it is known, then a while loop (or a while
    loop from the start when the initial condition is a run-time input)."""
    body = accumulating_body(until, scan=False)
    model = loop_model(body, trip=trip, cond=cond, scans=0)
    check(model, {"acc0": ACC0, "x": X})
    runtime = loop_model(body, trip=trip, cond=None, scans=0, runtime=("cond",))
    check(runtime, {"acc0": ACC0, "x": X, "cond": np.array(cond)})


def test_known_false_condition_runs_no_iteration():
    model = loop_model(accumulating_body(scan=False), trip=3, cond=False, scans=0)
    text = check(model, {"acc0": ACC0, "x": X})
    assert "scf." not in text


def test_scan_outputs_of_a_run_time_trip_count_are_refused_naming_node_and_input():
    """Refused with NonConstantInputError (an UnsupportedError), so the ONNX backend binds the
    trip count as a constant and imports again, as it does for Reshape's shape."""
    model = loop_model(accumulating_body(), trip=None, cond=True, scans=1, runtime=("M",))
    with pytest.raises(NonConstantInputError, match="the_loop.*'M'.*scan outputs' length"):
        import_onnx_model(model)


def test_scan_outputs_with_a_computed_condition_are_refused():
    model = loop_model(accumulating_body(until=1.0), trip=4, cond=True, scans=1)
    with pytest.raises(UnsupportedError, match="the_loop.*scan outputs"):
        import_onnx_model(model)


def test_while_loop_runs_at_the_npu_level_by_reference():
    model = loop_model(accumulating_body(2.0, scan=False), None, None, scans=0, runtime=("M",))
    feeds = {"acc0": ACC0, "x": X, "M": np.array(5, np.int64)}
    compiled = ge.compile(import_onnx_model(model), level="npu", cache=False)
    (got,) = compiled.run(**feeds)
    np.testing.assert_allclose(got, onnxruntime_outputs(model, feeds)[0], rtol=1e-5)
    kinds = {k["op"]: k["engine"] for k in compiled.last_profile["kernels"]}
    assert kinds.get("scf.while") == "reference"
