"""`ge` builders infer result types; misuse raises an error naming the op and the mismatch."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from xdsl.dialects.builtin import IndexType, f16, f32, i1, i32, i64
from xdsl.ir import Attribute, Block, SSAValue
from xdsl.utils.exceptions import VerifyException

from gedialects.errors import GeVerifyError
from gedialects.ge import ALL_OPS, GeOp, ops
from gedialects.ge.constant import ConstantOp
from gedialects.ge.types import format_type, tensor


def v(*shape: int, dtype: Attribute = f32) -> SSAValue:
    """A value of type tensor<shape x dtype> (a block argument)."""
    return Block(arg_types=[tensor(shape, dtype)]).args[0]


def t(op) -> list[str]:
    return [format_type(r.type) for r in op.results]


GOOD: list[tuple[str, Callable, list[str]]] = [
    ("broadcast", lambda: ops.AddOp(v(2, 1, 3), v(4, 1)), ["tensor<2x4x3xf32>"]),
    ("compare-is-i1", lambda: ops.LessOp(v(3, dtype=i64), v(2, 1, dtype=i64)), ["tensor<2x3xi1>"]),
    ("logical", lambda: ops.LogicalXorOp(v(2, dtype=i1), v(dtype=i1)), ["tensor<2xi1>"]),
    ("where", lambda: ops.WhereOp(v(2, 1, dtype=i1), v(3), v(1)), ["tensor<2x3xf32>"]),
    ("cast", lambda: ops.CastOp(v(2, 3), to=i32), ["tensor<2x3xi32>"]),
    ("gelu-default", lambda: ops.GeluOp(v(4, dtype=f16)), ["tensor<4xf16>"]),
    ("matmul-batch", lambda: ops.MatMulOp(v(2, 1, 3, 4), v(5, 4, 6)), ["tensor<2x5x3x6xf32>"]),
    ("matmul-vectors", lambda: ops.MatMulOp(v(4), v(4)), ["tensor<f32>"]),
    (
        "conv",
        lambda: ops.Conv2DOp(
            v(1, 4, 9, 9), v(8, 2, 3, 3), v(8), strides=[2, 2], pads=[1, 1, 1, 1], groups=2
        ),
        ["tensor<1x8x5x5xf32>"],
    ),
    (
        "conv-dilated",
        lambda: ops.Conv2DOp(v(1, 1, 7, 7), v(1, 1, 3, 3), dilations=[2, 3]),
        ["tensor<1x1x3x1xf32>"],
    ),
    (
        "conv-transpose",
        lambda: ops.ConvTranspose2DOp(
            v(1, 4, 3, 3), v(4, 2, 3, 3), strides=[2, 2], output_padding=[1, 0], groups=2
        ),
        ["tensor<1x4x8x7xf32>"],
    ),
    (
        "batch-norm",
        lambda: ops.BatchNormOp(v(2, 3, 4), v(3), v(3), v(3), v(3)),
        ["tensor<2x3x4xf32>"],
    ),
    ("layer-norm", lambda: ops.LayerNormOp(v(2, 3, 4), v(4), axis=-1), ["tensor<2x3x4xf32>"]),
    ("rms-norm", lambda: ops.RMSNormOp(v(2, 3, 4), v(3, 4), axis=1), ["tensor<2x3x4xf32>"]),
    ("softmax", lambda: ops.SoftmaxOp(v(2, 5), axis=0), ["tensor<2x5xf32>"]),
    ("dropout", lambda: ops.DropoutOp(v(3), ratio=0.2, is_training=True), ["tensor<3xf32>"]),
    (
        "max-pool-ceil",
        lambda: ops.MaxPool2DOp(v(1, 2, 5, 5), kernel_shape=[2, 2], strides=[2, 2], ceil_mode=True),
        ["tensor<1x2x3x3xf32>"],
    ),
    (
        "avg-pool-floor",
        lambda: ops.AvgPool2DOp(v(1, 2, 5, 5), kernel_shape=[2, 2], strides=[2, 2]),
        ["tensor<1x2x2x2xf32>"],
    ),
    ("global-pool", lambda: ops.GlobalAvgPoolOp(v(2, 3, 4, 5)), ["tensor<2x3x1x1xf32>"]),
    ("reduce-keep", lambda: ops.ReduceSumOp(v(2, 3, 4), axes=[0, -1]), ["tensor<1x3x1xf32>"]),
    (
        "reduce-drop",
        lambda: ops.ReduceMaxOp(v(2, 3, 4), axes=[1], keepdims=False),
        ["tensor<2x4xf32>"],
    ),
    ("reduce-all", lambda: ops.ReduceMeanOp(v(2, 3), keepdims=False), ["tensor<f32>"]),
    ("argmax", lambda: ops.ArgMaxOp(v(2, 3), axis=1, keepdims=False), ["tensor<2xi64>"]),
    ("transpose", lambda: ops.TransposeOp(v(2, 3, 4), perm=[2, 0, 1]), ["tensor<4x2x3xf32>"]),
    ("reshape", lambda: ops.ReshapeOp(v(2, 3, 4), shape=[6, 4]), ["tensor<6x4xf32>"]),
    ("expand", lambda: ops.ExpandOp(v(3, 1), shape=[2, 1, 4]), ["tensor<2x3x4xf32>"]),
    ("concat", lambda: ops.ConcatOp(v(2, 1), v(2, 3), axis=-1), ["tensor<2x4xf32>"]),
    (
        "slice",
        lambda: ops.SliceOp(v(10, 4), starts=[-1], ends=[-100], axes=[0], steps=[-3]),
        ["tensor<4x4xf32>"],
    ),
    ("gather", lambda: ops.GatherOp(v(5, 4), v(2, 3, dtype=i32), axis=1), ["tensor<5x2x3xf32>"]),
    (
        "scatter",
        lambda: ops.ScatterOp(v(5, 4), v(2, dtype=i32), v(5, 2), axis=1, reduction="add"),
        ["tensor<5x4xf32>"],
    ),
    (
        "split",
        lambda: ops.SplitOp(v(2, 6), axis=1, sizes=[1, 2, 3]),
        ["tensor<2x1xf32>", "tensor<2x2xf32>", "tensor<2x3xf32>"],
    ),
    ("pad", lambda: ops.PadOp(v(2, 3), pads=[1, -1, 0, 2]), ["tensor<3x4xf32>"]),
    ("resize", lambda: ops.ResizeOp(v(1, 1, 2, 2), sizes=[1, 1, 4, 3]), ["tensor<1x1x4x3xf32>"]),
]


@pytest.mark.parametrize("name, build, types", GOOD, ids=[g[0] for g in GOOD])
def test_builders_infer_result_types(name, build, types):
    op = build()
    assert t(op) == types
    op.verify()


BAD: list[tuple[str, Callable, str]] = [
    ("ge.add", lambda: ops.AddOp(v(2), v(2, dtype=i64)), "operands must share one element type"),
    ("ge.add", lambda: ops.AddOp(v(2, 3), v(4)), "shapes 2x3 and 4 do not broadcast"),
    ("ge.sub", lambda: ops.SubOp(v(2, dtype=i1), v(2, dtype=i1)), "operands must be numeric"),
    ("ge.exp", lambda: ops.ExpOp(v(2, dtype=i64)), "input must have a float element type"),
    ("ge.relu", lambda: ops.ReluOp(v(2, dtype=i1)), "input must be numeric"),
    ("ge.logical_and", lambda: ops.LogicalAndOp(v(2), v(2)), "must have element type i1"),
    ("ge.logical_not", lambda: ops.LogicalNotOp(v(2)), "must have element type i1"),
    ("ge.less", lambda: ops.LessOp(v(2), v(2, dtype=i64)), "operands must share one element type"),
    ("ge.cast", lambda: ops.CastOp(v(2), to=IndexType()), "cannot cast to index"),
    (
        "ge.cast",
        lambda: ops.CastOp(Block(arg_types=[f32]).args[0], to=i64),
        "input must be a ranked tensor, got f32",
    ),
    ("ge.where", lambda: ops.WhereOp(v(2), v(2), v(2)), "condition must have element type i1"),
    ("ge.gelu", lambda: ops.GeluOp(v(2), approximate="fast"), 'approximate must be "none"'),
    ("ge.matmul", lambda: ops.MatMulOp(v(2, 3), v(4, 5)), "contraction dims differ"),
    ("ge.matmul", lambda: ops.MatMulOp(v(), v(3)), "operands must have rank >= 1"),
    ("ge.matmul", lambda: ops.MatMulOp(v(2, 2, 3), v(3, 3, 4)), "do not broadcast"),
    (
        "ge.conv2d",
        lambda: ops.Conv2DOp(v(1, 3, 8, 8), v(4, 2, 3, 3)),
        "weight has 2 input channels per group, input gives 3 / 1 = 3",
    ),
    (
        "ge.conv2d",
        lambda: ops.Conv2DOp(v(1, 4, 8, 8), v(6, 2, 3, 3), groups=3),
        "groups=3 must divide input channels 4",
    ),
    ("ge.conv2d", lambda: ops.Conv2DOp(v(1, 1, 2, 2), v(1, 1, 3, 3)), "does not fit"),
    (
        "ge.conv2d",
        lambda: ops.Conv2DOp(v(1, 1, 4, 4), v(2, 1, 3, 3), v(3)),
        "bias must have shape 2",
    ),
    (
        "ge.conv2d",
        lambda: ops.Conv2DOp(v(1, 1, 4, 4), v(1, 1, 1, 1), pads=[0, 0]),
        "needs 2 strides, 2 dilations and 4 pads",
    ),
    (
        "ge.conv2d",
        lambda: ops.Conv2DOp(v(1, 1, 4, 4), v(1, 1, 1, 1), strides=[0, 1]),
        "strides and dilations must be >= 1",
    ),
    ("ge.conv2d", lambda: ops.Conv2DOp(v(1, 4, 4), v(1, 1, 1, 1)), "input must have rank 4"),
    (
        "ge.conv2d",
        lambda: ops.Conv2DOp(v(1, 1, 4, 4, dtype=i64), v(1, 1, 1, 1, dtype=i64)),
        "input must have a float element type",
    ),
    (
        "ge.conv_transpose2d",
        lambda: ops.ConvTranspose2DOp(v(1, 3, 4, 4), v(2, 1, 3, 3)),
        "weight has 2 input channels, input has 3",
    ),
    (
        "ge.batch_norm",
        lambda: ops.BatchNormOp(v(2, 4), v(3), v(4), v(4), v(4)),
        "scale must have shape 4",
    ),
    ("ge.batch_norm", lambda: ops.BatchNormOp(v(4), v(4), v(4), v(4), v(4)), "rank >= 2"),
    ("ge.instance_norm", lambda: ops.InstanceNormOp(v(2, 4), v(4), v(4)), "rank >= 3"),
    ("ge.rope", lambda: ops.RopeOp(v(2, 5), v(5), v(5)), "the last axis of input"),
    ("ge.rope", lambda: ops.RopeOp(v(2, 4), v(3, 2, 4), v(4)), "without growing it"),
    ("ge.rope", lambda: ops.RopeOp(v(2, 4), v(2, 4), v(2, 2)), "do not broadcast"),
    (
        "ge.group_norm",
        lambda: ops.GroupNormOp(v(1, 6, 4), v(6), v(6), num_groups=4),
        "num_groups 4 does not divide the 6 channels",
    ),
    (
        "ge.group_norm",
        lambda: ops.GroupNormOp(v(1, 6, 4), v(2), v(6), num_groups=2),
        "scale must have shape 6",
    ),
    (
        "ge.layer_norm",
        lambda: ops.LayerNormOp(v(2, 3), v(3), axis=2),
        "axis 2 is out of range for rank 2",
    ),
    ("ge.layer_norm", lambda: ops.LayerNormOp(v(2, 3), v(4)), "do not broadcast"),
    ("ge.rms_norm", lambda: ops.RMSNormOp(v(2, 3), v(4)), "do not broadcast"),
    ("ge.rms_norm", lambda: ops.RMSNormOp(v(2, 3), v(2, 3), axis=1), "more dims than normalized"),
    ("ge.softmax", lambda: ops.SoftmaxOp(v(2, 3), axis=-3), "axis -3 is out of range"),
    ("ge.dropout", lambda: ops.DropoutOp(v(2), ratio=1.0), "ratio must be in [0, 1)"),
    (
        "ge.max_pool2d",
        lambda: ops.MaxPool2DOp(v(1, 2, 4), kernel_shape=[2, 2]),
        "input must have rank 4",
    ),
    (
        "ge.avg_pool2d",
        lambda: ops.AvgPool2DOp(v(1, 1, 2, 2), kernel_shape=[3, 3]),
        "window of extent 3 does not fit input extent 2",
    ),
    ("ge.global_max_pool", lambda: ops.GlobalMaxPoolOp(v(2, 3)), "rank >= 3"),
    ("ge.reduce_sum", lambda: ops.ReduceSumOp(v(2, 3), axes=[1, -1]), "repeat an axis"),
    ("ge.reduce_mean", lambda: ops.ReduceMeanOp(v(2, dtype=i64)), "float element type"),
    ("ge.reduce_max", lambda: ops.ReduceMaxOp(v(2, 3), axes=[2]), "axis 2 is out of range"),
    ("ge.argmin", lambda: ops.ArgMinOp(v(2, 3), axis=5), "axis 5 is out of range"),
    ("ge.transpose", lambda: ops.TransposeOp(v(2, 3), perm=[0, 0]), "is not a permutation"),
    ("ge.reshape", lambda: ops.ReshapeOp(v(2, 3), shape=[4, 2]), "(6 elements) to [4, 2]"),
    ("ge.expand", lambda: ops.ExpandOp(v(3), shape=[2, 4]), "do not broadcast"),
    ("ge.concat", lambda: ops.ConcatOp(v(2, 3), v(3, 3), axis=1), "inputs differ outside axis 1"),
    ("ge.concat", lambda: ops.ConcatOp(v(2), v(2, dtype=i64), axis=0), "share one element type"),
    (
        "ge.slice",
        lambda: ops.SliceOp(v(4), starts=[0], ends=[4], axes=[0], steps=[0]),
        "steps must be non-zero",
    ),
    (
        "ge.slice",
        lambda: ops.SliceOp(v(4), starts=[0, 1], ends=[4], axes=[0], steps=[1]),
        "must have the same length",
    ),
    ("ge.gather", lambda: ops.GatherOp(v(4), v(2)), "indices must be i32 or i64"),
    (
        "ge.scatter",
        lambda: ops.ScatterOp(v(5, 4), v(3, dtype=i64), v(3, 5)),
        "updates must have shape [3, 4]",
    ),
    (
        "ge.scatter",
        lambda: ops.ScatterOp(v(5), v(3, dtype=i64), v(3), reduction="mean"),
        'unknown reduction "mean"',
    ),
    ("ge.split", lambda: ops.SplitOp(v(5), axis=0, sizes=[2, 2]), "do not add up to dim 5"),
    ("ge.pad", lambda: ops.PadOp(v(2, 3), pads=[1, 1]), "needs 4 pads for rank 2, got 2"),
    ("ge.pad", lambda: ops.PadOp(v(2), pads=[1, 1], mode="mirror"), 'unknown mode "mirror"'),
    ("ge.pad", lambda: ops.PadOp(v(2), pads=[-2, -1]), "leave a negative extent"),
    ("ge.resize", lambda: ops.ResizeOp(v(2, 2), sizes=[4]), "do not fit"),
    (
        "ge.resize",  # mutation soak: a zero batch reached a ZeroDivisionError in the reference
        lambda: ops.ResizeOp(v(0, 1, 4, 4), sizes=[1, 1, 3, 3]),
        "axis 0 has no elements to resize to 1",
    ),
    (
        "ge.resize",
        lambda: ops.ResizeOp(v(2), sizes=[4], mode="area"),
        'mode "area" is not supported',
    ),
]


@pytest.mark.parametrize(
    "name, build, message", BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)]
)
def test_misuse_names_the_op_and_the_mismatch(name, build, message):
    with pytest.raises(GeVerifyError) as caught:
        build()
    text = str(caught.value)
    assert text.startswith(f"'{name}': "), text
    assert message in text


def family(cls: type) -> type:
    """The abstract base an op shares its type rule with (itself if it has its own)."""
    for base in cls.__mro__[1:]:
        if base is GeOp:
            return cls
        if "name" not in base.__dict__ and base.__module__.startswith(f"{ops.__name__}."):
            return base
    return cls


def test_every_op_family_has_a_bad_case():
    by_name = {cls.name: cls for cls in ALL_OPS}
    tested = {family(by_name[name]) for name, _, _ in BAD}
    missing = {family(cls).__name__ for cls in ALL_OPS if cls is not ConstantOp} - {
        f.__name__ for f in tested
    }
    assert not missing, f"families without a verifier error case: {sorted(missing)}"


def test_verifier_rechecks_result_types():
    a, b = v(2, 3), v(2, 3)
    op = ops.AddOp.create(operands=[a, b], result_types=[tensor([2, 4], f32)])
    with pytest.raises(
        VerifyException,
        match="'ge.add': result type tensor<2x4xf32> does not match the inferred tensor<2x3xf32>",
    ):
        op.verify()


def test_constant_verifier_checks_its_type():
    good = ConstantOp.from_array(__import__("numpy").zeros((2, 2), "float32"))
    bad = ConstantOp.create(properties={"value": good.value}, result_types=[tensor([4], f32)])
    with pytest.raises(
        VerifyException,
        match="'ge.constant': value type tensor<2x2xf32> does not match result type tensor<4xf32>",
    ):
        bad.verify()


def test_roundtrip_file_covers_every_op():
    """tests/filecheck/dialects/ge/ops.mlir has a parse/print case for every ge op."""
    from pathlib import Path

    text = (Path(__file__).parents[1] / "filecheck/dialects/ge/ops.mlir").read_text()
    missing = [cls.name for cls in ALL_OPS if f"= {cls.name} " not in text]
    assert not missing, f"ops without a round-trip case in ops.mlir: {missing}"
