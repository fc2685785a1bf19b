"""split-resize: N-d resizes as resizes of the last two axes of views, with the same values.

The property test draws resizes of rank 2-5 (any axes, up- and down-scaling, every mode and
coordinate transform ge.resize takes, given scales or sizes) and interprets them before and
after the pass; separability makes them equal up to float rounding of the reordered sums.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mlir_cases import filecheck_cases, parse_case
from xdsl.dialects import func
from xdsl.dialects.builtin import DenseArrayBase, ModuleOp, f32, f64
from xdsl.ir import Block, Region

from ge.testing.equivalence import apply_pipeline, assert_preserves_semantics
from gedialects.ge import ops
from gedialects.ge.types import shape_of, tensor
from passes.split_resize import _resized_axes

EXAMPLES = max(200, settings.default.max_examples)
TOLERANCE = {"rtol": 1e-5, "atol": 1e-5}
COORDINATES = ("half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
               "half_pixel_symmetric")  # fmt: skip


@st.composite
def resizes(draw: st.DrawFn) -> ModuleOp:
    rank = draw(st.integers(2, 5))
    shape = [draw(st.integers(1, 5)) for _ in range(rank)]
    scales = [draw(st.sampled_from([1.0, 1.0, 0.5, 1.5, 2.0, 3.0])) for _ in range(rank)]
    sizes = [max(1, int(np.floor(d * s))) for d, s in zip(shape, scales)]
    mode = draw(st.sampled_from(["nearest", "linear", "cubic"]))
    props = {
        "mode": mode,
        "coordinate_transformation_mode": draw(st.sampled_from(COORDINATES)),
        "nearest_mode": draw(st.sampled_from(["round_prefer_floor", "floor", "ceil"])),
    }
    if mode == "cubic":
        props |= {"cubic_coeff_a": -0.75, "exclude_outside": draw(st.integers(0, 1))}
    given_scales = draw(st.booleans())
    block = Block(arg_types=[tensor(shape, f32)])
    op = ops.ResizeOp(
        block.args[0],
        sizes=sizes,
        scales=DenseArrayBase.from_list(f64, scales) if given_scales else None,
        **props,
    )
    block.add_ops([op, func.ReturnOp(op.output)])
    fn = func.FuncOp("main", ([block.args[0].type], [op.output.type]), Region(block))
    return ModuleOp([fn])


@settings(max_examples=EXAMPLES, deadline=None)
@given(resizes())
def test_split_resize_preserves_semantics(module):
    after = assert_preserves_semantics("split-resize", module, **TOLERANCE)
    for op in after.walk():
        if isinstance(op, ops.ResizeOp):
            rank = len(shape_of(op.input.type))
            assert all(a >= rank - 2 for a in _resized_axes(op)), op


@pytest.mark.parametrize(("name", "source"), filecheck_cases("split-resize"))
def test_filecheck_case_preserves_semantics(name, source):
    assert_preserves_semantics("split-resize", parse_case(source), **TOLERANCE)


def test_two_axis_resizes_are_left_alone():
    block = Block(arg_types=[tensor([1, 3, 4, 4], f32)])
    op = ops.ResizeOp(block.args[0], sizes=[1, 3, 8, 8], mode="linear")
    block.add_ops([op, func.ReturnOp(op.output)])
    module = ModuleOp([func.FuncOp("main", ([op.input.type], [op.output.type]), Region(block))])
    apply_pipeline("split-resize", module)
    assert sum(isinstance(o, ops.ResizeOp) for o in module.walk()) == 1


@pytest.mark.parametrize(
    ("mode", "coordinates", "scales", "shape"),
    [
        ("linear", "half_pixel", [1, 1, 2, 2, 2], [1, 4, 4, 6, 6]),  # a 3-D U-Net's upsampling
        ("linear", "align_corners", [1, 1, 2, 2, 2], [2, 3, 3, 5, 4]),
        ("nearest", "asymmetric", [1, 1, 2, 2, 2], [1, 2, 3, 4, 4]),
        ("cubic", "half_pixel", [1, 1, 2, 1.5, 2], [1, 2, 4, 4, 4]),
        ("linear", "half_pixel", [1, 1, 0.5, 0.5, 0.5], [1, 2, 8, 8, 8]),
    ],
)
def test_5d_resizes_lower_to_the_npu_and_equal_onnxruntime(mode, coordinates, scales, shape):
    """No kernel of these runs by reference any more (5-D resizes did before the split);
    onnxruntime is the oracle, ONNX's reference for tricubic (onnxruntime refuses it)."""
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    import ge

    node = helper.make_node(
        "Resize", ["x", "", "s"], ["y"], mode=mode, coordinate_transformation_mode=coordinates
    )
    graph = helper.make_graph(
        [node],
        "resize5d",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.array(scales, np.float32), "s")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    if mode == "cubic":  # onnxruntime's cubic takes 2-D and 4-D inputs only
        from onnx.reference import ReferenceEvaluator

        (want,) = ReferenceEvaluator(model).run(None, {"x": x})
    else:
        session = ort.InferenceSession(
            model.SerializeToString(), providers=["CPUExecutionProvider"]
        )
        (want,) = session.run(None, {"x": x})
    compiled = ge.compile(model, level="npu", cache=False)
    got = compiled(x)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    assert not compiled.last_profile.get("fallbacks"), compiled.last_profile.get("fallbacks")
