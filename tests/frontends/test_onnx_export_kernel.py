"""ONNX export of the `kernel` dialect: each kernel a function call that onnxruntime runs."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from hypothesis import given
from onnx_export_helpers import assert_close, assert_exports, build, c, normal, positive, run_onnx
from xdsl.dialects.builtin import DictionaryAttr, FloatAttr, f16, f32, f64

from ge.frontends.onnx_export import EMITTERS, export_onnx
from ge.pipeline import apply_pipeline
from ge.testing import run
from ge.testing.strategies import programs_with_inputs, smooth_ops
from gedialects import kernel as k
from gedialects.ge import ops as g
from gedialects.kernel.builders import merge_elementwise, singleton_elementwise

IMG = normal(1, 4, 6, 6)
SEQ = normal(2, 5, 8)


def _clip(lo: float, hi: float) -> DictionaryAttr:
    return DictionaryAttr({"min": FloatAttr(lo, f64), "max": FloatAttr(hi, f64)})


def _conv(x):
    return k.Conv2DKernelOp(
        x, c(normal(4, 2, 3, 3)), c(normal(4)), c(positive(4)), c(normal(4)), c(normal(1, 4, 6, 6)),
        strides=[1, 1], pads=[1, 1, 1, 1], dilations=[1, 1], groups=2,
        activation="relu", post_activation="clip", post_activation_attrs=_clip(-0.5, 0.5),
        fused_from=["ge.conv2d", "ge.batch_norm", "ge.relu", "ge.add", "ge.clip"],
    )  # fmt: skip


def _elementwise(x, y):
    """(x + y) * x, then broadcast to a larger shape: one kernel of three ops."""
    add = g.AddOp(x, y)
    first = singleton_elementwise(add)
    mul = g.MulOp(first.output, x)
    second = singleton_elementwise(mul)
    return merge_elementwise(first, second)


def _conv_input_activation(x):
    """A conv whose producer's leaky_relu moved into its loads (`split-pointwise-convs`)."""
    return k.Conv2DKernelOp(
        x, c(normal(4, 4, 3, 3)), c(normal(4)),
        strides=[1, 1], pads=[1, 1, 1, 1], dilations=[1, 1], groups=1, activation="relu",
        input_activation="leaky_relu", input_activation_attrs=DictionaryAttr(
            {"alpha": FloatAttr(0.3, f64)}),
        fused_from=["ge.leaky_relu", "ge.conv2d", "ge.relu"],
    )  # fmt: skip


KERNELS = {
    "conv2d-epilogue": ([IMG], _conv),
    "conv2d-input-activation": ([IMG], _conv_input_activation),
    "matmul": (
        [SEQ, normal(2, 3, 8)],
        lambda a, b: k.MatMulKernelOp(
            a,
            b,
            c(normal(3)),
            transpose_b=True,
            alpha=0.5,
            activation="gelu",
            fused_from=["ge.transpose", "ge.matmul", "ge.mul", "ge.add", "ge.gelu"],
        ),
    ),  # fmt: skip
    "matmul-residual": (
        [SEQ, normal(8, 8), SEQ],
        lambda a, b, r: k.MatMulKernelOp(
            a,
            b,
            c(normal(8)),
            r,
            activation="relu",
            fused_from=["ge.matmul", "ge.add", "ge.relu", "ge.add"],
        ),
    ),  # fmt: skip
    "softmax": ([SEQ], lambda x: k.SoftmaxKernelOp(x, axis=1, scale=0.3, fused_from=["ge.mul"])),
    "attention": (
        [SEQ, SEQ, SEQ],
        lambda q, key, v: k.AttentionKernelOp(
            q,
            key,
            v,
            c(np.triu(np.full((5, 5), -1e4, np.float32), 1)),
            scale=0.35,
            key_transposed=True,
            fused_from=["ge.matmul", "ge.softmax", "ge.matmul"],
        ),
    ),  # fmt: skip
    "attention-layouts": (
        [normal(1, 5, 2, 4), normal(1, 2, 4, 5), normal(1, 5, 2, 4)],
        lambda q, key, v: k.AttentionKernelOp(
            q,
            key,
            v,
            scale=0.5,
            query_perm=[0, 2, 1, 3],
            value_perm=[0, 2, 1, 3],
            output_perm=[0, 2, 1, 3],
            fused_from=["ge.transpose", "ge.matmul", "ge.softmax", "ge.matmul", "ge.transpose"],
        ),
    ),
    "pool-max": (
        [IMG],
        lambda x: k.PoolKernelOp(
            x,
            kind="max",
            kernel_shape=[3, 3],
            strides=[2, 2],
            pads=[1, 1, 1, 1],
            dilations=[1, 1],
            ceil_mode=True,
            fused_from=["ge.max_pool2d"],
        ),
    ),  # fmt: skip
    "pool-global": ([IMG], lambda x: k.PoolKernelOp(x, kind="global_avg", fused_from=["x"])),
    "reduce": (
        [SEQ],
        lambda x: k.ReduceKernelOp(x, kind="l2", axes=[1], keepdims=False, fused_from=["x"]),
    ),
    "elementwise": ([SEQ, normal(1, 5, 1)], _elementwise),
    "split": (
        [SEQ],
        lambda x: k.MIRRORED[g.SplitOp](x, axis=2, sizes=[3, 5], fused_from=["ge.split"]).results,
    ),
    "layer_norm": (
        [SEQ],
        lambda x: k.MIRRORED[g.LayerNormOp](
            x, c(normal(8)), c(normal(8)), axis=-1, epsilon=1e-5, fused_from=["ge.layer_norm"]
        ),
    ),
    # cast_to (allow_fp32_to_fp16's casting kernels): computed in f32, stored in cast_to
    "softmax-cast-f16": (
        [SEQ],
        lambda x: k.SoftmaxKernelOp(x, axis=-1, scale=1.0, cast_to=f16, fused_from=["ge.cast"]),
    ),
    "layer_norm-from-f16": (
        [SEQ.astype(np.float16)],
        lambda x: k.MIRRORED[g.LayerNormOp](
            x, c(normal(8)), c(normal(8)), axis=-1, epsilon=1e-5, cast_to=f32, fused_from=["x"]
        ),
    ),
}


@pytest.mark.parametrize("case", sorted(KERNELS))
def test_kernel_exports_as_a_function_onnxruntime_runs(case: str) -> None:
    inputs, body = KERNELS[case]
    model = assert_exports(build(inputs, body), inputs)
    (call,) = [n for n in model.graph.node if n.domain == "gedialects.kernel"]
    (function,) = model.functions
    assert call.op_type == function.name and "fused from" in function.doc_string


def test_every_kernel_has_an_emitter() -> None:
    export_onnx(build([SEQ], g.ReluOp))  # loads every emitter module
    missing = [op.name for op in k.ALL_OPS if op not in EMITTERS and op is not k.YieldOp]
    assert missing == []


def test_optimized_resnet_block_exports_its_fused_kernels() -> None:
    from examples_path import load_example

    module = load_example("main_job").resnet_basic_block(channels=4, size=6)
    x = normal(1, 4, 6, 6)
    expected = run(module, [x])
    apply_pipeline(module, "ge-optimize")
    model = export_onnx(module)
    onnx.checker.check_model(model, full_check=True)
    assert {n.domain for n in model.graph.node} == {"gedialects.kernel"}
    assert_close(run_onnx(model, [x]), expected, "resnet block")


@given(programs_with_inputs(ops=smooth_ops(), max_ops=6))
def test_random_programs_after_optimization_run_the_same_in_onnxruntime(case) -> None:
    module, inputs = case
    optimized = module.clone()  # a failing example prints as drawn
    apply_pipeline(optimized, "ge-optimize")
    model = export_onnx(optimized)
    onnx.checker.check_model(model, full_check=True)
    assert_close(run_onnx(model, inputs), run(module, inputs), str(optimized))
