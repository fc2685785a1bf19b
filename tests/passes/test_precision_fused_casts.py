"""Casts folded into vector kernels (`passes/precision_casts.py`, inside `cast-cube-to-fp16`).

The folds are exact: on random chains of casts, moves and casting kernels (layer norm,
softmax, reduce, pools) the reference outputs before and after are bit for bit equal, and
no fold leaves a cast that a casting kernel could have taken; a cast whose value another op
also reads stays.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, TensorType, f16, f32
from xdsl.ir import Block, Region, SSAValue

from gedialects.ge import ops as ge
from gedialects.ge.types import element_of
from gedialects.interpreter import run_reference
from gedialects.kernel import mirrored as moves
from gedialects.kernel.casting import CastingKernelOp
from gedialects.kernel.mirrored import LayerNormKernelOp
from gedialects.kernel.ops import SoftmaxKernelOp
from gedialects.kernel.reductions import PoolKernelOp, ReduceKernelOp
from passes.epilogues import rewrite_module
from passes.precision import EXACT_MOVES
from passes.precision_casts import FoldInputCast, FoldResultCast, HoistCast

SHAPE = (2, 4, 6, 6)


def _kernel(kind: str, x: SSAValue, block: Block):  # noqa: ANN202
    fused = [f"ge.{kind}"]
    if kind == "layer_norm":
        scale = block.insert_arg(TensorType(f32, [6]), len(block.args))
        return LayerNormKernelOp(x, scale, None, fused_from=fused, axis=3, epsilon=1e-5)
    if kind == "softmax":
        return SoftmaxKernelOp(x, fused_from=fused, axis=1, scale=0.5)
    if kind == "reduce":
        return ReduceKernelOp(x, fused_from=fused, kind="mean", axes=[2, 3], keepdims=True)
    if kind == "global_avg":
        return PoolKernelOp(x, fused_from=fused, kind="global_avg")
    return PoolKernelOp(
        x, fused_from=fused, kind="avg", kernel_shape=[3, 3], strides=[2, 2],
        pads=[1, 1, 1, 1], dilations=[1, 1], ceil_mode=False, count_include_pad=False,
    )  # fmt: skip


@st.composite
def chains(draw) -> tuple[ModuleOp, list[np.ndarray]]:  # noqa: ANN001
    """x -> [cast to f32] -> kernel -> [transpose / reshape] -> [cast to f16], each step
    drawn; sometimes the kernel's f32 result is also returned (a second reader)."""
    src = draw(st.sampled_from([f16, f32]))
    block = Block(arg_types=[TensorType(src, SHAPE)])
    ops, value = [], block.args[0]
    if src == f16:
        ops.append(ge.CastOp(value, to=f32))
        value = ops[-1].output
    kind = draw(st.sampled_from(["layer_norm", "softmax", "reduce", "global_avg", "avg"]))
    ops.append(_kernel(kind, value, block))
    value = kernel_out = ops[-1].results[0]
    if draw(st.booleans()):
        ops.append(moves.TransposeKernelOp(value, fused_from=["ge.transpose"], perm=[0, 2, 3, 1]))
        value = ops[-1].results[0]
    if draw(st.booleans()):
        ops.append(ge.CastOp(value, to=f16))
        value = ops[-1].output
    outputs = [value] + ([kernel_out] if draw(st.booleans()) and value is not kernel_out else [])
    ops.append(func.ReturnOp(*outputs))
    block.add_ops(ops)
    fn = func.FuncOp("main", ([a.type for a in block.args], [v.type for v in outputs]))
    fn.body.detach_block(0)
    fn.body.add_block(block)
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    inputs = [(rng.standard_normal(SHAPE) * 3).astype(np.float16 if src == f16 else np.float32)]
    inputs += [rng.standard_normal(a.type.get_shape()).astype(np.float32) for a in block.args[1:]]
    return ModuleOp(Region([Block([fn])])), inputs


def _fold(module: ModuleOp) -> None:
    rewrite_module(module, HoistCast(EXACT_MOVES), FoldResultCast(), FoldInputCast())


@given(chains())
def test_folds_are_exact_and_leave_no_foldable_cast(case) -> None:  # noqa: ANN001
    module, inputs = case
    want = run_reference(module, inputs)
    _fold(module)
    module.verify()
    got = run_reference(module, inputs)
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype
        np.testing.assert_array_equal(g, w)
    for op in module.walk():
        if isinstance(op, ge.CastOp) and isinstance(op.input.owner, CastingKernelOp):
            assert op.to == f16 and len({u.operation for u in op.input.uses}) > 1
        if isinstance(op, CastingKernelOp):
            assert not isinstance(op.operands[0].owner, ge.CastOp)


def test_a_shared_result_keeps_its_cast_and_the_kernel_its_f32_result() -> None:
    """softmax(x) returned and cast to f16: the cast stays, the softmax writes f32."""
    block = Block(arg_types=[TensorType(f32, SHAPE)])
    soft = SoftmaxKernelOp(block.args[0], fused_from=["ge.softmax"], axis=-1, scale=1.0)
    cast = ge.CastOp(soft.output, to=f16)
    block.add_ops([soft, cast, func.ReturnOp(cast.output, soft.output)])
    fn = func.FuncOp("main", ([TensorType(f32, SHAPE)], [cast.output.type, soft.output.type]))
    fn.body.detach_block(0)
    fn.body.add_block(block)
    module = ModuleOp(Region([Block([fn])]))
    _fold(module)
    kernels = [op for op in module.walk() if isinstance(op, SoftmaxKernelOp)]
    assert kernels[0].cast_to is None and element_of(kernels[0].output.type) == f32
    assert any(isinstance(op, ge.CastOp) for op in module.walk())
