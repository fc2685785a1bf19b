"""Regressions found by running model-zoo-style ONNX graphs through the importer and `ge-run`.

Each case is a small graph with an op or attribute that real exported models carry (old
opsets, unsorted nodes, folded constant subgraphs, ...); the imported program must compute
what onnxruntime computes on the same file.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

import ge
from ge.frontends.onnx import import_onnx_model
from ge.testing import run
from gedialects.errors import FrontendError, GeError, UnsupportedError

RNG = np.random.default_rng(0)
GE_OPT = [str(Path(sys.executable).with_name("ge-opt"))]
GE_RUN = [str(Path(sys.executable).with_name("ge-run"))]


def f32(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def vi(name: str, shape, dtype=TensorProto.FLOAT) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, dtype, shape)


def model_of(nodes, inputs, outputs, initializers=(), opset=17) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 6 if opset < 13 else 8
    return model


def onnxruntime_outputs(model: onnx.ModelProto, feeds: dict) -> list[np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def assert_matches_onnxruntime(model: onnx.ModelProto, feeds: dict, atol: float = 1e-5) -> None:
    module = import_onnx_model(model)
    got = run(module, feeds)
    want = onnxruntime_outputs(model, feeds)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=atol)


@pytest.mark.parametrize(
    ("op", "opset", "mode", "scales"),
    [
        ("Upsample", 9, "linear", [1, 1, 2, 2]),
        ("Upsample", 9, "linear", [1, 1, 2, 1.5]),
        ("Upsample", 9, "nearest", [1, 1, 1.5, 2.5]),
        ("Resize", 10, "nearest", [1, 1, 0.5, 0.7]),
        ("Resize", 10, "nearest", [1, 1, 1.7, 0.5]),
        ("Resize", 10, "linear", [1, 1, 0.5, 0.7]),
    ],
)
def test_legacy_upsample_and_resize_keep_asymmetric_sampling(op, opset, mode, scales):
    """Upsample-9 and Resize-10 sample at x/scale; the opset converter's Resize-11 did not."""
    x = f32(1, 2, 4, 6)
    out = [int(np.floor(d * s)) for d, s in zip(x.shape, scales)]
    node = helper.make_node(op, ["x", "s"], ["y"], mode=mode)
    s = numpy_helper.from_array(np.array(scales, np.float32), "s")
    model = model_of([node], [vi("x", list(x.shape))], [vi("y", out)], [s], opset=opset)
    assert_matches_onnxruntime(model, {"x": x})


def test_upsample_with_scales_attribute_opset7():
    x = f32(1, 2, 3, 3)
    node = helper.make_node("Upsample", ["x"], ["y"], mode="linear", scales=[1.0, 1.0, 2.0, 2.0])
    model = model_of([node], [vi("x", [1, 2, 3, 3])], [vi("y", [1, 2, 6, 6])], opset=7)
    assert_matches_onnxruntime(model, {"x": x})


def test_unsupported_op_on_constants_is_folded_at_import():
    """torch's opset-9 masked_fill: NonZero of a ConstantOfShape feeds the graph."""
    shape = numpy_helper.from_array(np.array([2, 3], np.int64), "shape")
    nodes = [
        helper.make_node(
            "ConstantOfShape",
            ["shape"],
            ["ones"],
            value=helper.make_tensor("one", TensorProto.INT64, [1], [1]),
        ),
        helper.make_node("NonZero", ["ones"], ["where"]),
        helper.make_node("Cast", ["where"], ["wf"], to=TensorProto.FLOAT),
        helper.make_node("ReduceSum", ["wf"], ["total"], keepdims=0),
        helper.make_node("Mul", ["x", "total"], ["y"]),
    ]
    model = model_of(nodes, [vi("x", [4])], [vi("y", [4])], [shape], opset=13)
    assert_matches_onnxruntime(model, {"x": f32(4)})


def test_unsupported_op_on_a_graph_input_names_op_and_node():
    node = helper.make_node("NonZero", ["x"], ["y"], name="nz")
    model = model_of([node], [vi("x", [4])], [vi("y", [1, None], TensorProto.INT64)], opset=13)
    with pytest.raises(UnsupportedError, match="op type 'NonZero' of node 'nz' is not supported"):
        import_onnx_model(model)


def test_random_op_is_never_folded():
    node = helper.make_node("RandomNormalLike", ["c"], ["y"], name="rnd")
    c = numpy_helper.from_array(np.zeros((2,), np.float32), "c")
    model = model_of([node], [], [vi("y", [2])], [c], opset=13)
    with pytest.raises(UnsupportedError, match="RandomNormalLike"):
        import_onnx_model(model)


def topk_model(shape, k, axis, largest, opset=13):
    out = list(shape)
    out[axis] = k
    if opset < 10:
        node = helper.make_node("TopK", ["x"], ["v", "i"], k=k, axis=axis)
        inits = []
    else:
        node = helper.make_node("TopK", ["x", "k"], ["v", "i"], axis=axis, largest=largest)
        inits = [numpy_helper.from_array(np.array([k], np.int64), "k")]
    outputs = [vi("v", out), vi("i", out, TensorProto.INT64)]
    return model_of([node], [vi("x", list(shape))], outputs, inits, opset=opset)


@settings(max_examples=25)
@given(
    shape=st.lists(st.integers(1, 5), min_size=1, max_size=3),
    data=st.data(),
    largest=st.booleans(),
)
def test_topk_matches_onnxruntime_with_ties(shape, data, largest):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    k = data.draw(st.integers(1, shape[axis]))
    # few distinct values (and infinities), so ties decide the order
    pool = np.array([-np.inf, -1.0, 0.0, 2.0, np.inf], np.float32)
    x = pool[RNG.integers(0, len(pool), shape)]
    assert_matches_onnxruntime(topk_model(shape, k, axis, int(largest)), {"x": x})


def test_topk_opset9_attribute_and_large_k_refused():
    x = f32(3, 5)
    assert_matches_onnxruntime(topk_model((3, 5), 2, -1, 1, opset=9), {"x": x})
    with pytest.raises(UnsupportedError, match=r"node 'v' \(TopK\): K = 200"):
        import_onnx_model(topk_model((2, 300), 200, 1, 1))


@pytest.mark.parametrize("dtype", [TensorProto.FLOAT, TensorProto.INT64])
@pytest.mark.parametrize(("exclusive", "reverse"), [(0, 0), (1, 0), (0, 1), (1, 1)])
@pytest.mark.parametrize("axis", [0, -1])
def test_cumsum_matches_onnxruntime(dtype, exclusive, reverse, axis):
    node = helper.make_node("CumSum", ["x", "a"], ["y"], exclusive=exclusive, reverse=reverse)
    a = numpy_helper.from_array(np.array(axis, np.int64), "a")
    model = model_of([node], [vi("x", [3, 4], dtype)], [vi("y", [3, 4], dtype)], [a], opset=14)
    x = f32(3, 4) if dtype == TensorProto.FLOAT else RNG.integers(-5, 5, (3, 4))
    assert_matches_onnxruntime(model, {"x": x})


@pytest.mark.parametrize(("op", "shape", "axis"), [("CumSum", [3, 4], 2), ("CumProd", [], 0)])
def test_cumulative_axis_out_of_range_names_the_node(op, shape, axis):
    """ONNX fuzzing: a rank-0 input was Python's ZeroDivisionError from `axis % rank`."""
    node = helper.make_node(op, ["x", "a"], ["y"])
    a = numpy_helper.from_array(np.array(axis, np.int64), "a")
    model = model_of([node], [vi("x", shape)], [vi("y", shape)], [a], opset=26)
    message = rf"node 'y' \({op}\): axis {axis} is out of range for an input of rank {len(shape)}"
    with pytest.raises(FrontendError, match=message):
        import_onnx_model(model)


def test_nodes_out_of_topological_order_are_sorted():
    """onnxruntime runs graphs whose nodes are listed out of order; so does the importer."""
    nodes = [
        helper.make_node("Add", ["t", "x"], ["y"], name="last"),
        helper.make_node("Relu", ["s"], ["t"], name="middle"),
        helper.make_node("Mul", ["x", "x"], ["s"], name="first"),
    ]
    model = model_of(nodes, [vi("x", [2, 3])], [vi("y", [2, 3])], opset=13)
    assert_matches_onnxruntime(model, {"x": f32(2, 3)})


def test_a_cycle_is_still_reported_by_the_checker():
    nodes = [
        helper.make_node("Relu", ["b"], ["a"]),
        helper.make_node("Relu", ["a"], ["b"]),
        helper.make_node("Add", ["a", "x"], ["y"]),
    ]
    model = model_of(nodes, [vi("x", [2])], [vi("y", [2])], opset=13)
    with pytest.raises(FrontendError, match="fails onnx.checker"):
        import_onnx_model(model)


def test_a_split_with_more_outputs_than_num_outputs_is_refused_not_aborted():
    """onnx 1.23's shape inference aborts the process on this form (a C++ assertion, no
    Python error; ONNX fuzzing): the importer refuses it first, inside a Loop body too."""
    split = helper.make_node("Split", ["x"], ["a", "b", "c"], axis=1, num_outputs=2)
    model = model_of([split], [vi("x", [2, 8])], [vi(n, None) for n in "abc"], opset=18)
    with pytest.raises(FrontendError, match=r"node 'a' \(Split\): 3 outputs for num_outputs 2"):
        import_onnx_model(model)
    body = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"]), split],
        "body",
        [vi("i", [], TensorProto.INT64), vi("cond", [], TensorProto.BOOL)],
        [vi("cond", [], TensorProto.BOOL), vi("a", None)],
    )
    loop = helper.make_node("Loop", ["n", ""], ["out"], body=body)
    n = numpy_helper.from_array(np.array(2, np.int64), "n")
    with pytest.raises(FrontendError, match="3 outputs for num_outputs 2"):
        import_onnx_model(model_of([loop], [vi("x", [2, 8])], [vi("out", None)], [n], opset=18))


def test_malformed_ceil_pool_and_an_endless_range_name_the_node():
    """ONNX fuzzing: a ceil-mode pool with one stride for two axes was an IndexError in the
    ceil-pool pre-pass (the checker passes it), a Range with delta 0 an OverflowError."""
    pool = helper.make_node(
        "MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[3], pads=[1, 1, 1, 1], ceil_mode=1
    )
    model = model_of([pool], [vi("x", [1, 3, 4, 4])], [vi("y", None)], opset=17)
    with pytest.raises(GeError, match=r"node 'y' \(MaxPool\).*needs 2 strides.*got 1"):
        import_onnx_model(model)
    consts = [numpy_helper.from_array(np.array(v, np.int64), k) for k, v in zip("sld", (0, 4, 0))]
    model = model_of(
        [helper.make_node("Range", ["s", "l", "d"], ["r"])],
        [],
        [vi("r", None, TensorProto.INT64)],
        consts,
        opset=17,
    )
    with pytest.raises(FrontendError, match=r"\(Range\): Range\(0, 4, 0\) has no finite"):
        import_onnx_model(model)


@pytest.mark.parametrize("op", ["IsInf", "IsNaN"])
def test_is_inf_and_is_nan_of_integers_name_the_node(op):
    """ONNX fuzzing: IsInf of an int32 input was an OverflowError (inf as an int32)."""
    node = helper.make_node(op, ["x"], ["y"])
    model = model_of([node], [vi("x", [3], TensorProto.INT32)], [vi("y", [3], TensorProto.BOOL)])
    with pytest.raises(FrontendError, match=rf"node 'y' \({op}\): input of type int32 is not"):
        import_onnx_model(model)


def test_a_constant_gather_index_out_of_range_names_the_node():
    """The importer folds a Gather of constants; an index past the axis is the node's error."""
    consts = [
        numpy_helper.from_array(np.array([1.0, 2.0], np.float32), "c"),
        numpy_helper.from_array(np.array([7], np.int64), "i"),
    ]
    nodes = [
        helper.make_node("Gather", ["c", "i"], ["g"]),
        helper.make_node("Add", ["g", "x"], ["y"]),
    ]
    model = model_of(nodes, [vi("x", [1])], [vi("y", [1])], consts)
    with pytest.raises(FrontendError, match=r"node 'g' \(Gather\): 'ge.gather': index 7 is out"):
        import_onnx_model(model)


def test_graph_output_without_a_shape_and_unnamed_nodes():
    w = f32(4, 6)
    inits = [helper.make_tensor("W", TensorProto.FLOAT, [4, 6], w.reshape(-1).tolist())]
    nodes = [helper.make_node("MatMul", ["x", "W"], ["t"]), helper.make_node("Relu", ["t"], ["y"])]
    output = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    model = model_of(nodes, [vi("x", [2, 4])], [output], inits, opset=13)
    assert_matches_onnxruntime(model, {"x": f32(2, 4)})


def test_shapeless_output_inference_cannot_shape():
    """A graph output declared without a shape, reshaped to a shape computed from the input
    (torch's opset-11 export of a view): ONNX's inference cannot shape it, so the checker,
    which wants a shape on every graph output, sees it as value_info; the importer shapes it.
    Stages cut from such a model (ViT-MAE at opset 11, around its TopK) have such outputs."""
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("ReduceProd", ["s"], ["n"], keepdims=1),
        helper.make_node("Reshape", ["x", "n"], ["flat"]),
        helper.make_node("Relu", ["flat"], ["y"]),
    ]
    output = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    model = model_of(nodes, [vi("x", [2, 3])], [output], [], opset=11)
    assert_matches_onnxruntime(model, {"x": f32(2, 3)})


@pytest.mark.parametrize(
    ("equation", "shapes"),
    [
        ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
        ("bhd,hdk->bhk", [(2, 3, 4), (3, 4, 5)]),  # a batch label in the middle
        ("bij->bj", [(2, 3, 4)]),
        ("bij,bij->bi", [(2, 3, 4), (2, 3, 4)]),
        ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),
        ("...ij,...jk", [(2, 3, 4), (2, 4, 5)]),  # implicit output, ellipsis
        ("i,j->ij", [(3,), (4,)]),
        ("bqhd,bkhd->bhqk", [(2, 3, 2, 4), (2, 5, 2, 4)]),
        ("ij->", [(3, 4)]),
        ("ii->i", [(4, 4)]),  # diagonals: a gather of the flattened pair of axes
        ("ii", [(4, 4)]),  # the trace
        ("bii->bi", [(2, 3, 3)]),
        ("iij,jk->ik", [(3, 3, 4), (4, 2)]),
        ("iii->i", [(3, 3, 3)]),
        ("i...i->...", [(3, 2, 3)]),
    ],
)
def test_einsum_matches_onnxruntime(equation, shapes):
    names = [f"x{i}" for i in range(len(shapes))]
    node = helper.make_node("Einsum", names, ["y"], equation=equation)
    want = np.einsum(equation, *[np.zeros(s, np.float32) for s in shapes]).shape
    inputs = [vi(name, list(s)) for name, s in zip(names, shapes)]
    model = model_of([node], inputs, [vi("y", list(want))], opset=13)
    assert_matches_onnxruntime(model, {name: f32(*s) for name, s in zip(names, shapes)}, 1e-4)


def test_einsum_broadcast_label_is_refused_naming_the_node():
    node = helper.make_node("Einsum", ["a", "b"], ["y"], equation="ij,ij->ij", name="bc")
    model = model_of([node], [vi("a", [3, 1]), vi("b", [3, 4])], [vi("y", [3, 4])], opset=13)
    with pytest.raises(UnsupportedError, match=r"node 'bc' \(Einsum\): label 'j' has sizes"):
        import_onnx_model(model)


@settings(max_examples=25)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3), data=st.data())
def test_gather_elements_matches_onnxruntime(shape, data):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    index_shape = [data.draw(st.integers(1, d)) for d in shape]
    index_shape[axis] = data.draw(st.integers(1, 5))
    size = shape[axis]
    index = RNG.integers(-size, size, index_shape)
    node = helper.make_node("GatherElements", ["x", "i"], ["y"], axis=axis)
    inputs = [vi("x", shape), vi("i", index_shape, TensorProto.INT64)]
    model = model_of([node], inputs, [vi("y", index_shape)], opset=13)
    assert_matches_onnxruntime(model, {"x": f32(*shape), "i": index})


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_one_hot_matches_onnxruntime(axis):
    out = [3, 4]
    out.insert(axis % 3, 5) if axis != -1 else out.append(5)
    node = helper.make_node("OneHot", ["i", "depth", "values"], ["y"], axis=axis)
    inits = [
        numpy_helper.from_array(np.array(5, np.int64), "depth"),
        numpy_helper.from_array(np.array([-1.0, 2.0], np.float32), "values"),
    ]
    model = model_of([node], [vi("i", [3, 4], TensorProto.INT64)], [vi("y", out)], inits, 13)
    assert_matches_onnxruntime(model, {"i": RNG.integers(-5, 7, (3, 4))})


def test_range_takes_one_element_tensors():
    nodes = [
        helper.make_node("Range", ["s", "l", "d"], ["r"]),
        helper.make_node("Add", ["x", "r"], ["y"]),
    ]
    inits = [
        numpy_helper.from_array(np.array([v], np.float32), name)
        for name, v in (("s", 1.0), ("l", 4.0), ("d", 1.0))
    ]
    model = model_of(nodes, [vi("x", [3])], [vi("y", [3])], inits, opset=13)
    x = f32(3)
    (want,) = ReferenceEvaluator(model).run(None, {"x": x})  # onnxruntime refuses them
    (got,) = run(import_onnx_model(model), {"x": x})
    np.testing.assert_allclose(got, want)


@pytest.mark.parametrize("reduction", ["none", "add", "mul", "max", "min"])
def test_scatter_elements_matches_onnxruntime(reduction):
    node = helper.make_node("ScatterElements", ["x", "i", "u"], ["y"], axis=1, reduction=reduction)
    # distinct targets per row when reduction is none (duplicates are undefined there)
    index = np.array([[0, -1], [2, 1], [3, 0]], np.int64)
    inputs = [vi("x", [3, 4]), vi("i", [3, 2], TensorProto.INT64), vi("u", [3, 2])]
    model = model_of([node], inputs, [vi("y", [3, 4])], opset=18)
    assert_matches_onnxruntime(model, {"x": f32(3, 4), "i": index, "u": f32(3, 2)})


def test_scatter_nd_of_a_torch_index_put():
    """torch `x[:, 1] = v` and `x[idx] += u` export ScatterND."""
    nodes = [
        helper.make_node("ScatterND", ["x", "rows", "v"], ["a"]),
        helper.make_node("ScatterND", ["a", "cells", "u"], ["y"], reduction="add"),
    ]
    rows = numpy_helper.from_array(np.array([[1], [-1]], np.int64), "rows")
    cells = numpy_helper.from_array(np.array([[0, 2], [2, 2], [0, 2]], np.int64), "cells")
    inputs = [vi("x", [3, 4, 2]), vi("v", [2, 4, 2]), vi("u", [3, 2])]
    model = model_of(nodes, inputs, [vi("y", [3, 4, 2])], [rows, cells], opset=18)
    assert_matches_onnxruntime(model, {"x": f32(3, 4, 2), "v": f32(2, 4, 2), "u": f32(3, 2)})


def cubic_model(coord: str, a: float = -0.75, exclude: int = 0) -> onnx.ModelProto:
    node = helper.make_node(
        "Resize",
        ["x", "", "", "sizes"],
        ["y"],
        mode="cubic",
        coordinate_transformation_mode=coord,
        cubic_coeff_a=a,
        exclude_outside=exclude,
    )
    sizes = numpy_helper.from_array(np.array([1, 2, 7, 3], np.int64), "sizes")
    return model_of([node], [vi("x", [1, 2, 4, 6])], [vi("y", [1, 2, 7, 3])], [sizes], opset=13)


@pytest.mark.parametrize(
    ("coord", "a", "exclude"),
    [("half_pixel", -0.75, 0), ("align_corners", -0.75, 0), ("asymmetric", -0.5, 1)],
)
def test_cubic_resize_matches_onnxruntime(coord, a, exclude):
    """torch's bicubic interpolate exports Resize mode=cubic (it was refused)."""
    assert_matches_onnxruntime(cubic_model(coord, a, exclude), {"x": f32(1, 2, 4, 6)})


@pytest.mark.parametrize("coord", ["align_corners", "tf_crop_and_resize"])
@pytest.mark.parametrize("mode", ["linear", "cubic", "nearest"])
@pytest.mark.parametrize("scales", [(1.5, 1.3), (0.6, 0.7)])
def test_corner_maps_with_fractional_output_lengths_match_onnxruntime(coord, mode, scales):
    """torch's Upsample(scale_factor=1.5, align_corners=True) exports Resize with scales
    whose output length 7 x 1.5 = 10.5 is cut to 10: the corners map over the output's
    length (the spec's length_resized; onnxruntime, torch, TF), not 10.5 as ONNX's
    reference evaluator does (ge took that before: up to 2.9 off torch's output)."""
    roi = numpy_helper.from_array(np.array([0, 0, 0.1, 0.2, 1, 1, 0.9, 0.8], np.float32), "roi")
    s = numpy_helper.from_array(np.array([1, 1, *scales], np.float32), "s")
    inputs = ["x", "roi" if coord == "tf_crop_and_resize" else "", "s"]
    node = helper.make_node(
        "Resize", inputs, ["y"], mode=mode, coordinate_transformation_mode=coord
    )
    model = model_of([node], [vi("x", [1, 2, 7, 9])], [vi("y", None)], [roi, s], opset=13)
    assert_matches_onnxruntime(model, {"x": f32(1, 2, 7, 9)})


def test_cubic_resize_through_the_commands(tmp_path):
    """ge-opt prints the cubic props and parses them back; ge-run runs the .mlir and the
    .onnx (npu level: the resize falls back to its reference, the run still matches)."""
    model = cubic_model("half_pixel")
    onnx.save(model, tmp_path / "m.onnx")
    x = f32(1, 2, 4, 6)
    np.savez(tmp_path / "in.npz", x=x)
    (want,) = onnxruntime_outputs(model, {"x": x})
    mlir = tmp_path / "m.mlir"
    subprocess.run([*GE_OPT, str(tmp_path / "m.onnx"), "-o", str(mlir)], check=True)
    assert "cubic_coeff_a = -7.500000e-01" in mlir.read_text()
    for model_file, level in ((mlir, "reference"), (tmp_path / "m.onnx", "npu")):
        out = tmp_path / f"out_{level}.npz"
        command = [*GE_RUN, str(model_file), "--inputs", str(tmp_path / "in.npz")]
        subprocess.run([*command, "--output", str(out), "--level", level, "--no-cache"], check=True)
        np.testing.assert_allclose(np.load(out)["y"], want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("op", ["Add", "Mul"])
def test_opset6_broadcast_with_axis_aligns_like_numpy(op):
    """Old model-zoo files add a [C] bias to NCHW with broadcast=1, axis=1 (the opset
    converter refused it); onnxruntime no longer runs opset 6 Add, so numpy is the oracle."""
    node = helper.make_node(op, ["x", "b"], ["y"], broadcast=1, axis=1)
    b = f32(3)
    inputs = [vi("x", [2, 3, 4, 5])]
    bias = numpy_helper.from_array(b, "b")
    model = model_of([node], inputs, [vi("y", [2, 3, 4, 5])], [bias], opset=6)
    x = f32(2, 3, 4, 5)
    (got,) = run(import_onnx_model(model), {"x": x})
    want = x + b[:, None, None] if op == "Add" else x * b[:, None, None]
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_upsample7_bilinear_is_linear():
    old = helper.make_node("Upsample", ["x"], ["y"], mode="bilinear", scales=[1.0, 1.0, 2.0, 1.5])
    new = helper.make_node("Upsample", ["x", "s"], ["y"], mode="linear")
    s = numpy_helper.from_array(np.array([1, 1, 2, 1.5], np.float32), "s")
    io = ([vi("x", [1, 2, 3, 4])], [vi("y", [1, 2, 6, 6])])
    x = f32(1, 2, 3, 4)
    (want,) = onnxruntime_outputs(model_of([new], *io, [s], opset=9), {"x": x})
    (got,) = run(import_onnx_model(model_of([old], *io, opset=7)), {"x": x})
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_model_local_functions_are_inlined():
    """A call of a function defined in the model (torch's dynamo exporter emits them), with
    opset imports of domains no node uses."""
    body = [helper.make_node("Relu", ["X"], ["r"]), helper.make_node("Mul", ["r", "S"], ["Y"])]
    fn = helper.make_function(
        "custom.lib", "ScaledRelu", ["X", "S"], ["Y"], body, [helper.make_opsetid("", 17)]
    )
    call = helper.make_node("ScaledRelu", ["x", "s"], ["y"], domain="custom.lib", name="call")
    s = numpy_helper.from_array(np.float32(2.0), "s")
    graph = helper.make_graph([call], "g", [vi("x", [2, 3])], [vi("y", [2, 3])], [s])
    imports = [("", 17), ("custom.lib", 1), ("ai.onnx.ml", 3), ("com.microsoft", 1)]
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid(d, v) for d, v in imports], functions=[fn]
    )
    assert_matches_onnxruntime(model, {"x": f32(2, 3)})


@pytest.mark.parametrize(
    ("mode", "padding", "align"),
    [("bilinear", "zeros", 0), ("bilinear", "border", 1), ("nearest", "zeros", 1)],
)
def test_grid_sample_matches_onnxruntime(mode, padding, align):
    node = helper.make_node(
        "GridSample", ["x", "g"], ["y"], mode=mode, padding_mode=padding, align_corners=align
    )
    inputs = [vi("x", [2, 3, 4, 5]), vi("g", [2, 3, 6, 2])]
    model = model_of([node], inputs, [vi("y", [2, 3, 3, 6])], opset=16)
    grid = RNG.uniform(-1.3, 1.3, (2, 3, 6, 2)).astype(np.float32)  # some samples outside
    assert_matches_onnxruntime(model, {"x": f32(2, 3, 4, 5), "g": grid})


def test_upsample9_from_torch_constant_scales_followed_by_a_node():
    """torch's opset-9 bilinear interpolate: the converter renames the Resize's output here,
    so the legacy sampling is restored by node order, not by output name."""
    scales = helper.make_tensor("s", TensorProto.FLOAT, [4], [1, 1, 2, 2])
    nodes = [
        helper.make_node("Constant", [], ["scales"], value=scales),
        helper.make_node("Upsample", ["x", "scales"], ["u"], mode="linear"),
        helper.make_node("Relu", ["u"], ["y"]),
    ]
    model = model_of(nodes, [vi("x", [1, 2, 3, 4])], [vi("y", [1, 2, 6, 8])], opset=9)
    assert_matches_onnxruntime(model, {"x": f32(1, 2, 3, 4)})


def _scatter_nd_model(shape, index: np.ndarray, reduction: str) -> onnx.ModelProto:
    update_shape = [*index.shape[:-1], *shape[index.shape[-1] :]]
    node = helper.make_node("ScatterND", ["x", "i", "u"], ["y"], reduction=reduction)
    inits = [numpy_helper.from_array(index.astype(np.int64), "i")]
    return model_of([node], [vi("x", shape), vi("u", update_shape)], [vi("y", shape)], inits, 18)


@settings(max_examples=40, deadline=None)
@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=4), data=st.data())
def test_scatter_nd_into_a_constant_box_is_a_pad_and_a_select(shape, data):
    """torch's `y[..., 0:2] = v` (YOLO heads) exports ScatterND with constant indices naming
    each cell of a box in order: a pad and a where (or a binary op), not per-row stores."""
    k = data.draw(st.integers(1, len(shape)))
    starts = [data.draw(st.integers(0, d - 1)) for d in shape[:k]]
    ends = [data.draw(st.integers(a + 1, d)) for a, d in zip(starts, shape)]
    grid = np.meshgrid(*[np.arange(a, b) for a, b in zip(starts, ends)], indexing="ij")
    index = np.stack(grid, axis=-1)
    if data.draw(st.booleans()):  # some written from the end
        index = np.where(RNG.random(index.shape) < 0.5, index - np.asarray(shape[:k]), index)
    reduction = data.draw(st.sampled_from(["none", "add", "mul", "max", "min"]))
    model = _scatter_nd_model(shape, index, reduction)
    module = import_onnx_model(model)
    assert not [op for op in module.walk() if op.name == "ge.scatter"]
    update_shape = [*index.shape[:-1], *shape[k:]]
    assert_matches_onnxruntime(model, {"x": f32(*shape), "u": f32(*update_shape)})


@settings(max_examples=30, deadline=None)
@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=4), data=st.data())
def test_gather_nd_of_a_constant_box_is_a_slice(shape, data):
    """tf.gather_nd with constant indices naming each cell of a box in order is a slice."""
    k = data.draw(st.integers(1, len(shape)))
    starts = [data.draw(st.integers(0, d - 1)) for d in shape[:k]]
    ends = [data.draw(st.integers(a + 1, d)) for a, d in zip(starts, shape)]
    grid = np.meshgrid(*[np.arange(a, b) for a, b in zip(starts, ends)], indexing="ij")
    index = np.stack(grid, axis=-1).astype(np.int64)
    node = helper.make_node("GatherND", ["x", "i"], ["y"])
    inits = [numpy_helper.from_array(index, "i")]
    out = [*index.shape[:-1], *shape[k:]]
    model = model_of([node], [vi("x", shape)], [vi("y", out)], inits, 13)
    names = [op.name for op in import_onnx_model(model).walk()]
    assert "ge.gather" not in names and "ge.slice" in names
    assert_matches_onnxruntime(model, {"x": f32(*shape)})


def test_scatter_nd_of_constant_indices_out_of_box_order_stays_a_scatter():
    index = np.array([[[0, 1]], [[0, 0]]])  # a box, but not in row-major order
    model = _scatter_nd_model([2, 3], index, "none")
    assert [op for op in import_onnx_model(model).walk() if op.name == "ge.scatter"]
    assert_matches_onnxruntime(model, {"x": f32(2, 3), "u": f32(2, 1)})


INDEX_OPS = {
    "GatherElements": ([3, 4], [3, 2], None, {"axis": 1}),
    "ScatterElements": ([3, 4], [3, 2], [3, 2], {"axis": 1}),
    "GatherND": ([3, 4], [2, 2], None, {}),
    "ScatterND": ([3, 4], [2, 2], [2], {}),
}


@pytest.mark.parametrize("level", ["reference", "npu"])
@pytest.mark.parametrize("op", sorted(INDEX_OPS))
def test_an_index_past_its_axis_is_refused_as_onnxruntime_refuses_it(op: str, level: str):
    """Index 4 on an axis of 4 whose linear position (row 1 * 4 + 4) is still inside the data:
    these ops read or wrote element (2, 0) instead of failing as onnxruntime does."""
    shape, index_shape, update_shape, attrs = INDEX_OPS[op]
    inputs = [vi("x", shape), vi("i", index_shape, TensorProto.INT64)]
    feeds = {"x": f32(*shape), "i": np.array([[1, 4], [0, 1]] + [[0, 0]] * (index_shape[0] - 2))}
    if update_shape:
        inputs.append(vi("u", update_shape))
        feeds["u"] = f32(*update_shape)
    node = helper.make_node(op, [v.name for v in inputs], ["y"], **attrs)
    model = model_of([node], inputs, [helper.make_tensor_value_info("y", 1, None)], opset=18)
    with pytest.raises(Exception, match="(?i)out of range|invalid"):
        onnxruntime_outputs(model, feeds)
    compiled = ge.compile(model, level=level)
    with pytest.raises(GeError, match="index 4 is out of range for axis 0 of size 4"):
        compiled(*feeds.values())
    feeds["i"] = np.where(feeds["i"] == 4, -4, feeds["i"])  # -4 is in range: counted from the end
    np.testing.assert_allclose(compiled(*feeds.values()), onnxruntime_outputs(model, feeds)[0])


def test_scatter_with_duplicate_targets_takes_the_last_update():
    """torch `x.scatter(1, i, v)` with repeated indices in a row (the ONNX spec leaves it
    open; onnxruntime writes in order, so the last update wins; ge summed them before)."""
    node = helper.make_node("ScatterElements", ["x", "i", "u"], ["y"], axis=1)
    index = np.array([[1, 1, 3], [0, 2, 0], [2, 2, 2]], np.int64)
    inputs = [vi("x", [3, 4]), vi("i", [3, 3], TensorProto.INT64), vi("u", [3, 3])]
    model = model_of([node], inputs, [vi("y", [3, 4])], opset=13)
    assert_matches_onnxruntime(model, {"x": f32(3, 4), "i": index, "u": f32(3, 3)})


@settings(max_examples=40, deadline=None)
@given(
    batch=st.integers(1, 3),
    heads=st.integers(1, 3),
    length=st.integers(1, 8),
    data=st.data(),
)
def test_tensor_scatter_kv_cache_writes_equal_onnxruntime(batch, heads, length, data):
    """TensorScatter (opset 24): prefill and decode writes into a fixed-length KV cache at
    per-row positions, linear or circular (wrapping past the cache's end), any axis."""
    steps = data.draw(st.integers(1, length))
    circular = data.draw(st.booleans())
    axis = data.draw(st.sampled_from([1, 2, -2]))
    cache_shape = [batch, heads, length, 4] if axis != 1 else [batch, length, heads, 4]
    update_shape = list(cache_shape)
    update_shape[axis] = steps
    high = length if circular else length - steps + 1  # linear writes stay inside
    starts = data.draw(st.lists(st.integers(0, high - 1), min_size=batch, max_size=batch))
    attrs = {"axis": axis, "mode": "circular" if circular else "linear"}
    node = helper.make_node("TensorScatter", ["c", "u", "w"], ["y"], **attrs)
    inputs = [vi("c", cache_shape), vi("u", update_shape),
              helper.make_tensor_value_info("w", TensorProto.INT64, [batch])]  # fmt: skip
    model = model_of([node], inputs, [vi("y", cache_shape)], opset=24)
    feeds = {"c": f32(*cache_shape), "u": f32(*update_shape), "w": np.array(starts, np.int64)}
    assert_matches_onnxruntime(model, feeds)


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_deform_conv_equals_onnxruntime(data):
    """DeformConv (DCN v1/v2 of detection and segmentation models): random geometry,
    groups, offset groups, offsets reaching past the image, with and without mask and bias."""
    group = data.draw(st.sampled_from([1, 2]))
    offset_groups = data.draw(st.sampled_from([1, 2]))
    channels = 2 * group * offset_groups
    out_channels = group * data.draw(st.integers(1, 3))
    kh, kw = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    height, width = data.draw(st.integers(3, 7)), data.draw(st.integers(3, 7))
    pads = data.draw(st.lists(st.integers(0, 1), min_size=4, max_size=4))
    strides = data.draw(st.lists(st.integers(1, 2), min_size=2, max_size=2))
    dilations = data.draw(st.lists(st.integers(1, 2), min_size=2, max_size=2))
    oh = (height + pads[0] + pads[2] - ((kh - 1) * dilations[0] + 1)) // strides[0] + 1
    ow = (width + pads[1] + pads[3] - ((kw - 1) * dilations[1] + 1)) // strides[1] + 1
    if oh < 1 or ow < 1:
        return
    with_mask, with_bias = data.draw(st.booleans()), data.draw(st.booleans())
    names = ["x", "w", "offset", "b" if with_bias else "", "mask" if with_mask else ""]
    while names[-1] == "":
        names.pop()
    node = helper.make_node("DeformConv", names, ["y"], kernel_shape=[kh, kw], pads=pads,
                            strides=strides, dilations=dilations, group=group,
                            offset_group=offset_groups)  # fmt: skip
    shapes = {
        "x": [1, channels, height, width],
        "w": [out_channels, channels // group, kh, kw],
        "offset": [1, offset_groups * kh * kw * 2, oh, ow],
        "b": [out_channels],
        "mask": [1, offset_groups * kh * kw, oh, ow],
    }
    used = [name for name in names if name]
    model = model_of([node], [vi(name, shapes[name]) for name in used], [vi("y", None)], opset=19)
    feeds = {name: f32(*shapes[name]) for name in used}
    feeds["offset"] = feeds["offset"] * 1.5  # past the border too
    assert_matches_onnxruntime(model, feeds, atol=1e-4)


@pytest.mark.parametrize("level", ["reference", "npu"])
@pytest.mark.parametrize(
    ("mode", "roi", "axes"),
    [
        ("linear", [0, 0, 0.2, 0.1, 1, 1, 0.9, 0.7], None),
        ("linear", [-0.2, 0.3, 0.8, 1.3], [2, 3]),  # past the image: the extrapolation value
        ("nearest", [0, 0, 0.25, 0.0, 1, 1, 0.75, 1.0], None),
    ],
)
def test_tf_crop_and_resize_equals_onnxruntime(level, mode, roi, axes):
    """TF's crop_and_resize as tf2onnx writes it (a constant roi); at the npu level the
    crop runs by reference (the constant it reads outside the image is no weight matrix)."""
    attrs = {"mode": mode, "coordinate_transformation_mode": "tf_crop_and_resize",
             "extrapolation_value": -7.0}  # fmt: skip
    if axes is not None:
        attrs["axes"] = axes
    sizes = [1, 2, 5, 6] if axes is None else [5, 6]
    inits = [
        numpy_helper.from_array(np.array(roi, np.float32), "roi"),
        numpy_helper.from_array(np.array(sizes, np.int64), "sizes"),
    ]
    node = helper.make_node("Resize", ["x", "roi", "", "sizes"], ["y"], **attrs)
    model = model_of([node], [vi("x", [1, 2, 8, 9])], [vi("y", [1, 2, 5, 6])], inits, opset=19)
    x = f32(1, 2, 8, 9)
    (want,) = onnxruntime_outputs(model, {"x": x})
    got = ge.compile(model, level=level, cache=False)(x)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
