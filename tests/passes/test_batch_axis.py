"""The batch-axis analysis accepts per-sample graphs and names the op that mixes samples."""

import numpy as np
import pytest
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, f32
from xdsl.ir import Block, Region

from gedialects.ge import (
    ConstantOp,
    GlobalAvgPoolOp,
    LayerNormOp,
    MatMulOp,
    ReshapeOp,
    SoftmaxOp,
    TransposeOp,
)
from gedialects.ge.types import tensor
from passes.batch_axis import BatchMixing, check_batch_independent


def _fn(shape, build):
    block = Block(arg_types=[tensor(shape, f32)])
    ops = build(block.args[0])
    block.add_ops([*ops, func.ReturnOp(ops[-1])])
    fn = func.FuncOp("main", ((block.args[0].type,), (ops[-1].results[0].type,)), Region(block))
    ModuleOp([fn]).verify()
    return fn


def test_per_sample_chain_keeps_axis_through_transpose_and_reshape():
    def build(x):
        t = TransposeOp(x, perm=[1, 0, 2])  # batch moves to axis 1
        r = ReshapeOp(t, shape=[3, 2, 2, 2])  # 3 x (2) x 4 -> 3 x 2 x 2 x 2, batch stays at 1
        return [t, r, SoftmaxOp(r, axis=-1)]

    assert check_batch_independent(_fn([2, 3, 4], build)) == [1]


def test_matmul_with_weights_is_per_sample():
    def build(x):
        w = ConstantOp(np.ones((4, 5), np.float32))
        return [w, MatMulOp(x, w)]

    assert check_batch_independent(_fn([2, 4], build)) == [0]


@pytest.mark.parametrize(
    "shape, build, reason",
    [
        ([2, 4], lambda x: [SoftmaxOp(x, axis=0)], "normalizes across the batch"),
        ([2, 4], lambda x: [ReshapeOp(x, shape=[8])], "folds the batch"),
        (
            [2, 4, 3],
            lambda x: [LayerNormOp(x, ConstantOp(np.ones((2, 4, 3), np.float32)), axis=0)],
            "normalizes across the batch",
        ),
    ],
)
def test_mixing_ops_are_named(shape, build, reason):
    with pytest.raises(BatchMixing, match=reason):
        check_batch_independent(_fn(shape, lambda x: _flatten(build(x), x)))


def test_matmul_contracting_the_batch_is_refused():
    def build(x):
        t = TransposeOp(x, perm=[1, 0])
        return [t, MatMulOp(t, x)]

    with pytest.raises(BatchMixing, match="contracts over the batch"):
        check_batch_independent(_fn([2, 4], build))


def test_global_pool_needs_batch_on_axis_zero():
    def build(x):
        t = TransposeOp(x, perm=[1, 0, 2, 3])
        return [t, GlobalAvgPoolOp(t)]

    with pytest.raises(BatchMixing, match="axis 0"):
        check_batch_independent(_fn([2, 3, 4, 4], build))


def _flatten(ops, x):
    out = []
    for op in ops:
        for operand in op.operands:
            owner = getattr(operand, "owner", None)
            if isinstance(owner, ConstantOp) and owner not in out:
                out.append(owner)
        out.append(op)
    return out
