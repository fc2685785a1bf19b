"""ONNX export: every `ge` op exports to a valid model that onnxruntime runs to our results."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import pytest
from hypothesis import given
from onnx_export_helpers import (
    RNG,
    assert_close,
    assert_exports,
    build,
    c,
    normal,
    positive,
    run_onnx,
)
from xdsl.dialects import arith
from xdsl.dialects.builtin import (
    DenseArrayBase,
    f64,
    i32,
)

from ge.frontends.onnx_export import EMITTERS, export_onnx
from ge.testing import run
from ge.testing.strategies import programs_with_inputs, smooth_ops
from gedialects.errors import UnsupportedError
from gedialects.ge import ALL_OPS
from gedialects.ge import ops as g
from gedialects.ge.constant import print_constants_in_full

X = normal(2, 3, 4)
P = positive(2, 3, 4)
IMG = normal(1, 4, 7, 7)
INTS = RNG.integers(-9, 9, (3, 4)).astype(np.int32)
NONZERO = np.where(INTS == 0, 3, INTS).astype(np.int32)
BOOLS = RNG.random((3, 4)) > 0.5

SCALES = DenseArrayBase.from_list(f64, [1.5, 1.0, 1.5])

UNARY_MIXED = [g.ReluOp, g.SigmoidOp, g.TanhOp, g.ErfOp, g.ExpOp, g.NegOp, g.AbsOp, g.SignOp]
UNARY_MIXED += [g.FloorOp, g.CeilOp, g.RoundOp, g.SinOp, g.CosOp, g.SoftplusOp, g.HardSwishOp]
UNARY_MIXED += [g.SiluOp]
UNARY_POSITIVE = [g.LogOp, g.SqrtOp, g.ReciprocalOp]
BINARY = [g.AddOp, g.SubOp, g.MulOp, g.DivOp, g.MaximumOp, g.MinimumOp, g.ModOp]
COMPARE = [g.EqualOp, g.LessOp, g.LessEqualOp, g.GreaterOp, g.GreaterEqualOp]
LOGICAL = [g.LogicalAndOp, g.LogicalOrOp, g.LogicalXorOp]

CASES: dict[str, tuple[list[np.ndarray], Callable[..., object]]] = {
    **{f"{op.name}": ([X], op) for op in UNARY_MIXED},
    **{f"{op.name}": ([P], op) for op in UNARY_POSITIVE},
    **{f"{op.name}": ([X, P[0]], op) for op in BINARY},
    **{f"{op.name}-i32": ([INTS, NONZERO], op) for op in BINARY},
    **{f"{op.name}": ([INTS, NONZERO[:1]], op) for op in COMPARE},
    **{f"{op.name}": ([BOOLS, BOOLS[::-1]], op) for op in LOGICAL},
    "ge.logical_not": ([BOOLS], g.LogicalNotOp),
    "ge.relu-i64": ([INTS.astype(np.int64)], g.ReluOp),
    "ge.pow": ([P, X], g.PowOp),
    "ge.prelu": ([X], lambda x: g.PReluOp(x, c(positive(4)))),
    "ge.prelu-two-way": ([X[:, :, :1], positive(4)], g.PReluOp),
    "ge.gelu": ([X], g.GeluOp),
    "ge.gelu-tanh": ([X], lambda x: g.GeluOp(x, approximate="tanh")),
    "ge.leaky_relu": ([X], lambda x: g.LeakyReluOp(x, alpha=0.2)),
    "ge.elu": ([X], lambda x: g.EluOp(x, alpha=0.7)),
    "ge.hard_sigmoid": ([X], lambda x: g.HardSigmoidOp(x, alpha=0.3, beta=0.4)),
    "ge.clip": ([X], lambda x: g.ClipOp(x, min=-0.5, max=0.5)),
    "ge.clip-max-only": ([INTS], lambda x: g.ClipOp(x, max=2.0)),
    "ge.cast": ([X * 5], lambda x: g.CastOp(x, to=i32)),
    "ge.where": ([BOOLS, INTS, NONZERO[:1]], g.WhereOp),
    "ge.matmul": ([normal(2, 1, 3, 4), normal(5, 4, 2)], g.MatMulOp),
    "ge.matmul-vector": ([normal(4), normal(3, 4, 2)], g.MatMulOp),
    "ge.conv2d": (
        [IMG],
        lambda x: g.Conv2DOp(
            x,
            c(normal(6, 2, 3, 3)),
            c(normal(6)),
            strides=[2, 1],
            pads=[1, 0, 1, 2],
            dilations=[1, 2],
            groups=2,
        ),
    ),  # fmt: skip
    "ge.conv_transpose2d": (
        [IMG],
        lambda x: g.ConvTranspose2DOp(
            x,
            c(normal(4, 3, 3, 2)),
            c(normal(6)),
            strides=[2, 1],
            pads=[1, 0, 0, 1],
            output_padding=[1, 0],
            groups=2,
        ),
    ),  # fmt: skip
    "ge.batch_norm": (
        [IMG],
        lambda x: g.BatchNormOp(x, c(normal(4)), c(normal(4)), c(normal(4)), c(positive(4))),
    ),
    "ge.instance_norm": ([IMG], lambda x: g.InstanceNormOp(x, c(normal(4)), c(normal(4)))),
    "ge.group_norm": (
        [normal(2, 4, 3, 5)],
        lambda x: g.GroupNormOp(x, c(normal(4)), c(normal(4)), num_groups=2, epsilon=1e-3),
    ),
    "ge.group_norm-3d": ([X], lambda x: g.GroupNormOp(x, c(normal(3)), c(normal(3)), num_groups=3)),
    "ge.rope": ([normal(2, 3, 8), normal(3, 8), normal(8)], g.RopeOp),
    "ge.rope-one-value": ([normal(1, 2, 4, 6), normal(4, 1), normal(1, 1, 4, 6)], g.RopeOp),
    "ge.rope-partial": (
        [normal(2, 3, 8), normal(3, 4), normal(4)],
        lambda x, cos, sin: g.RopeOp(x, cos, sin, rotary_dim=4),
    ),
    "ge.layer_norm": ([X], lambda x: g.LayerNormOp(x, c(normal(4)), c(normal(4)), axis=-1)),
    "ge.layer_norm-broadcast-scale": ([X], lambda x: g.LayerNormOp(x, c(normal(4)), axis=1)),
    "ge.rms_norm": ([X], lambda x: g.RMSNormOp(x, c(normal(4)), axis=-1, epsilon=1e-3)),
    "ge.rms_norm-two-axes": ([X], lambda x: g.RMSNormOp(x, c(normal(3, 4)), axis=1)),
    "ge.softmax": ([X], lambda x: g.SoftmaxOp(x, axis=1)),
    "ge.log_softmax": ([X], lambda x: g.LogSoftmaxOp(x, axis=-1)),
    "ge.lrn": ([IMG], lambda x: g.LRNOp(x, size=3)),
    "ge.lrn-3d": ([X], lambda x: g.LRNOp(x, size=3)),
    "ge.lrn-even": ([IMG], lambda x: g.LRNOp(x, size=2, alpha=0.5)),
    "ge.dropout": ([X], lambda x: g.DropoutOp(x, ratio=0.3)),
    "ge.dropout-training": ([X], lambda x: g.DropoutOp(x, ratio=0.3, is_training=True, seed=7)),
    "ge.max_pool2d": (
        [IMG],
        lambda x: g.MaxPool2DOp(
            x, kernel_shape=[3, 2], strides=[2, 2], pads=[1, 0, 1, 1], ceil_mode=True
        ),
    ),  # fmt: skip
    "ge.avg_pool2d": (
        [IMG],
        lambda x: g.AvgPool2DOp(
            x, kernel_shape=[3, 3], strides=[2, 1], pads=[1, 1, 0, 1], count_include_pad=True
        ),
    ),  # fmt: skip
    "ge.avg_pool2d-ceil": (
        [IMG],
        lambda x: g.AvgPool2DOp(
            x,
            kernel_shape=[2, 3],
            strides=[2, 2],
            pads=[1, 0, 0, 1],
            ceil_mode=True,
            count_include_pad=True,
        ),
    ),  # fmt: skip
    "ge.max_pool2d-pad-as-wide-as-window": (
        [IMG],
        lambda x: g.MaxPool2DOp(
            x,
            kernel_shape=[2, 1],
            strides=[2, 1],
            pads=[1, 0, 2, 1],
            dilations=[2, 1],
            ceil_mode=True,
        ),
    ),  # fmt: skip
    "ge.avg_pool2d-pad-as-wide-as-window": (
        [IMG],
        lambda x: g.AvgPool2DOp(
            x,
            kernel_shape=[2, 2],
            strides=[2, 3],
            pads=[2, 1, 1, 2],
            ceil_mode=True,
            count_include_pad=True,
        ),
    ),  # fmt: skip
    "ge.avg_pool2d-dilated": (
        [IMG],
        lambda x: g.AvgPool2DOp(x, kernel_shape=[2, 2], dilations=[2, 1], pads=[1, 1, 1, 1]),
    ),
    "ge.global_avg_pool": ([IMG], g.GlobalAvgPoolOp),
    "ge.global_max_pool": ([IMG], g.GlobalMaxPoolOp),
    "ge.reduce_sum": ([INTS], lambda x: g.ReduceSumOp(x, axes=[-1], keepdims=False)),
    "ge.reduce_mean": ([X], lambda x: g.ReduceMeanOp(x, axes=[0, 2])),
    "ge.reduce_max": ([X], lambda x: g.ReduceMaxOp(x, keepdims=False)),
    "ge.reduce_min": ([X], lambda x: g.ReduceMinOp(x, axes=[1])),
    "ge.reduce_prod": ([P], lambda x: g.ReduceProdOp(x, axes=[2])),
    "ge.reduce_l2": ([X], lambda x: g.ReduceL2Op(x, axes=[1, 2], keepdims=False)),
    "ge.argmax": ([X.round(0)], lambda x: g.ArgMaxOp(x, axis=1, select_last_index=True)),
    "ge.argmin": ([X], lambda x: g.ArgMinOp(x, axis=-1, keepdims=False)),
    "ge.transpose": ([X], lambda x: g.TransposeOp(x, perm=[2, 0, 1])),
    "ge.reshape": ([X], lambda x: g.ReshapeOp(x, shape=[4, 6])),
    "ge.expand": ([X[:, :1]], lambda x: g.ExpandOp(x, shape=[3, 2, 5, 4])),
    "ge.concat": ([X, P], lambda x, y: g.ConcatOp(x, y, x, axis=1)),
    "ge.slice": (
        [X],
        lambda x: g.SliceOp(x, starts=[-1, 0], ends=[-100, 4], axes=[2, 1], steps=[-2, 2]),
    ),
    "ge.gather": (
        [X, np.array([[1, -1], [0, 2]], np.int64)],
        lambda x, i: g.GatherOp(x, i, axis=2),
    ),
    "ge.scatter": (
        [X, np.array([[1, -1], [0, 1]], np.int64), np.ones((2, 2, 2, 4), np.float32)],
        lambda x, i, u: g.ScatterOp(x, i, u, axis=1, reduction="add"),
    ),
    "ge.scatter-last-wins": (
        [X, np.array([1, 0, -1], np.int32), np.arange(36, dtype=np.float32).reshape(3, 3, 4)],
        lambda x, i, u: g.ScatterOp(x, i, u),
    ),
    "ge.split": ([X], lambda x: g.SplitOp(x, axis=2, sizes=[1, 3]).results),
    "ge.pad": ([X], lambda x: g.PadOp(x, pads=[0, 1, -1, 1, 0, 2], value=1.5)),
    **{
        f"ge.pad-{mode}": ([X], lambda x, mode=mode: g.PadOp(x, pads=[0, 1, 1, 0, 2, 0], mode=mode))
        for mode in ("reflect", "edge", "wrap")
    },
    "ge.resize-nearest": ([IMG], lambda x: g.ResizeOp(x, sizes=[1, 4, 14, 10])),
    "ge.resize-nearest-i64": (
        [INTS.astype(np.int64)],
        lambda x: g.ResizeOp(x, sizes=[5, 9], nearest_mode="floor"),
    ),
    "ge.resize-nearest-bool": ([BOOLS], lambda x: g.ResizeOp(x, sizes=[2, 7])),
    "ge.resize-linear-1d": ([X[0, 0]], lambda x: g.ResizeOp(x, sizes=[7], mode="linear")),
    "ge.resize-linear-3d": (
        [X],
        lambda x: g.ResizeOp(
            x,
            sizes=[3, 3, 6],
            scales=SCALES,
            mode="linear",
            coordinate_transformation_mode="asymmetric",
        ),
    ),  # fmt: skip
    "ge.silu-alpha": ([X], lambda x: g.SiluOp(x, alpha=1.702)),  # QuickGELU
    "ge.resize-linear": (
        [IMG],
        lambda x: g.ResizeOp(
            x, sizes=[1, 4, 5, 12], mode="linear", coordinate_transformation_mode="align_corners"
        ),
    ),  # fmt: skip
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_op_exports_and_runs_in_onnxruntime(case: str) -> None:
    inputs, body = CASES[case]
    arrays = [a for a in inputs if isinstance(a, np.ndarray)]
    assert_exports(build(arrays, body), arrays)


@pytest.mark.parametrize("case", ["ge.group_norm", "ge.group_norm-3d"])
def test_group_norm_below_opset_21_is_written_out(case: str, monkeypatch) -> None:
    """Opset 18's GroupNormalization takes per-group scales, so below 21 the op is written
    as torch.onnx.export writes GroupNorm (InstanceNormalization between Reshapes)."""
    monkeypatch.setattr("ge.frontends.onnx_export.ge_nn.GROUP_NORM_OPSET", 22)
    inputs, body = CASES[case]
    model = export_onnx(build(inputs, body))
    kinds = {node.op_type for node in model.graph.node}
    assert "InstanceNormalization" in kinds and "GroupNormalization" not in kinds
    assert_exports(build(inputs, body), inputs)


def test_every_ge_op_has_an_emitter_and_a_case() -> None:
    export_onnx(build([X], g.ReluOp))  # loads the ge emitters
    missing = [op.name for op in ALL_OPS if op not in EMITTERS]
    assert missing == []
    untested = {op.name for op in ALL_OPS} - {k.split("-")[0] for k in CASES} - {"ge.constant"}
    assert untested == set()


def test_names_come_from_ge_name_attributes() -> None:
    def body(x, y):
        s = g.AddOp(x, y)
        return [s, x, s, c(np.ones(2, np.float32))]

    module = build(
        [normal(2), normal(2)], body, ["in.a", "in_b"], ["sum", "echo", "sum_again", "one"]
    )
    model = assert_exports(module, [normal(2), normal(2)])
    assert [i.name for i in model.graph.input] == ["in.a", "in_b"]
    assert [o.name for o in model.graph.output] == ["sum", "echo", "sum_again", "one"]


def test_resize_whose_sizes_onnx_cannot_state_is_refused() -> None:
    module = build([X], lambda x: g.ResizeOp(x, sizes=[3, 3, 7], scales=SCALES, mode="linear"))
    with pytest.raises(UnsupportedError, match="'ge.resize' to sizes \\[3, 3, 7\\]"):
        export_onnx(module)


def test_large_constants_are_raw_initializers() -> None:
    weight = normal(64, 64)
    x = normal(3, 64)
    model = assert_exports(build([x], lambda x: g.MatMulOp(x, c(weight))), [x])
    (init,) = model.graph.initializer
    assert init.raw_data == weight.tobytes() and list(init.dims) == [64, 64]


def test_unknown_op_names_itself() -> None:
    module = build([normal(2)], lambda x: arith.AddfOp(x, x))
    with pytest.raises(UnsupportedError, match="'arith.addf' has no ONNX form"):
        export_onnx(module)


def test_round_trip_through_the_importer_keeps_onnxruntime_outputs() -> None:
    reason = "the ONNX importer (ge.frontends.onnx.import_onnx_model) is not there yet"
    onnx_frontend = pytest.importorskip("ge.frontends.onnx", reason=reason)
    if not hasattr(onnx_frontend, "import_onnx_model"):
        pytest.skip(reason)
    for case in sorted(CASES):
        inputs, body = CASES[case]
        arrays = [a for a in inputs if isinstance(a, np.ndarray)]
        first = export_onnx(build(arrays, body))
        again = export_onnx(onnx_frontend.import_onnx_model(first))
        onnx.checker.check_model(again, full_check=True)
        for a, e in zip(run_onnx(again, arrays), run_onnx(first, arrays)):
            np.testing.assert_allclose(a, e, rtol=1e-5, atol=1e-6, err_msg=case)


@given(programs_with_inputs(ops=smooth_ops(), max_ops=6, dtypes=("f32", "i64", "i1")))
def test_random_programs_run_the_same_in_onnxruntime(case) -> None:
    module, inputs = case
    model = export_onnx(module)
    onnx.checker.check_model(model, full_check=True)
    assert_close(run_onnx(model, inputs), run(module, inputs), str(module))


@given(programs_with_inputs(max_ops=6, dtypes=("f32", "i64", "i1")))
def test_random_programs_survive_export_then_import(case) -> None:
    from ge.frontends.onnx import import_onnx_model

    module, inputs = case
    again = import_onnx_model(export_onnx(module))
    assert_close(run(again, inputs), run(module, inputs), str(module))


def test_ge_opt_emit_onnx_writes_a_model_onnxruntime_runs(tmp_path) -> None:
    weight = normal(6, 4, 3, 3)  # 216 elements: printed in full below, elided by default
    module = build([IMG], lambda x: g.ReluOp(g.Conv2DOp(x, c(weight), pads=[1, 1, 1, 1])))
    with print_constants_in_full():
        (tmp_path / "in.mlir").write_text(str(module))
    out = tmp_path / "out.onnx"
    ge_opt = Path(sys.executable).parent / "ge-opt"
    done = subprocess.run(
        [str(ge_opt), str(tmp_path / "in.mlir"), "--emit", "onnx", "-o", str(out)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    model = onnx.load(out)
    onnx.checker.check_model(model, full_check=True)
    assert_close(run_onnx(model, [IMG]), run(module, [IMG]), "ge-opt --emit onnx")


def test_calls_of_the_modules_functions_are_inlined_into_the_graph() -> None:
    """`'func.call' has no ONNX form yet`: the exporter now inlines them, on a copy."""
    from xdsl.dialects import func
    from xdsl.parser import Parser

    from ge.registry import make_context

    text = (
        "func.func private @helper(%x: tensor<2xf32>) -> tensor<2xf32> {\n"
        "  %0 = ge.relu %x : (tensor<2xf32>) -> tensor<2xf32>\n"
        "  func.return %0 : tensor<2xf32>\n}\n"
        "func.func @main(%x: tensor<2xf32>) -> tensor<2xf32> {\n"
        "  %0 = func.call @helper(%x) : (tensor<2xf32>) -> tensor<2xf32>\n"
        "  %1 = func.call @helper(%0) : (tensor<2xf32>) -> tensor<2xf32>\n"
        "  func.return %1 : tensor<2xf32>\n}\n"
    )
    module = Parser(make_context(), text).parse_module()
    model = assert_exports(module, [np.array([-1, 2], np.float32)])
    assert [n.op_type for n in model.graph.node] == ["Relu", "Relu"]
    assert sum(isinstance(op, func.CallOp) for op in module.walk()) == 2  # left as it was
