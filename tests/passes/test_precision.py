"""Precision modes on random conv / matmul networks (`passes/precision.py`, `ge.pipeline`).

allow_fp32_to_fp16 and force_fp16 keep the outputs of the f32 compile within the fp16
bound (see docs/architecture.md, "Precision modes"): each cube layer rounds its operands
and its result to f16 (unit roundoff u = 2^-11) and accumulates in f32, so a layer adds
at most ~3u of its output's scale (weights here are scaled so layers keep unit scale); a
chain of L layers at most ~3uL. And the structure holds: no cube kernel reads or writes
f32, no lossless cast pair f16 -> f32 -> f16 is left, no weight is cast at run time.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from xdsl.dialects import func
from xdsl.dialects.builtin import Float32Type, ModuleOp, TensorType, f16, f32
from xdsl.ir import Block, Region, SSAValue

from ge.pipeline import PRECISION_MODES, CompileOptions, compile_module
from gedialects.errors import GeError
from gedialects.ge import ops as ge
from gedialects.ge.constant import ConstantOp
from gedialects.ge.types import element_of, shape_of
from gedialects.interpreter import run_reference
from gedialects.kernel import ElementwiseOp, KernelOp
from gedialects.kernel import mirrored as moves
from passes.precision import CUBE_KERNELS

U = 2.0**-11
"""fp16 unit roundoff (11 significant bits)."""

ACTIVATIONS = (ge.ReluOp, ge.TanhOp, ge.SigmoidOp)


def _weight(draw, shape: tuple[int, ...], fan_in: int) -> SSAValue:
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    w = rng.uniform(-1.0, 1.0, shape) * np.sqrt(3.0 / fan_in)  # unit-scale outputs
    return ConstantOp(w.astype(np.float32))


@st.composite
def networks(draw) -> tuple[ModuleOp, np.ndarray, int]:
    """A random MLP or CNN of 1-4 cube layers (bias, activation, residual each optional)."""
    conv = draw(st.booleans())
    if conv:
        shape = (1, draw(st.integers(1, 8)), draw(st.integers(3, 9)), draw(st.integers(3, 9)))
    else:
        shape = (draw(st.integers(1, 9)), draw(st.integers(1, 40)))
    block = Block(arg_types=[TensorType(f32, shape)])
    value: SSAValue = block.args[0]
    layers = draw(st.integers(1, 4))
    for _ in range(layers):
        width = draw(st.integers(1, 16))
        prev = shape_of(value.type)
        if conv:
            k = draw(st.sampled_from((1, 3)))
            w = _weight(draw, (width, prev[1], k, k), prev[1] * k * k)
            p = k // 2
            op = ge.Conv2DOp(value, w.output, pads=(p, p, p, p))
        else:
            w = _weight(draw, (prev[-1], width), prev[-1])
            op = ge.MatMulOp(value, w.output)
        block.add_ops([w, op])
        out = op.output
        if draw(st.booleans()):
            act = draw(st.sampled_from(ACTIVATIONS))(out)
            block.add_op(act)
            out = act.output
        if not conv and draw(st.booleans()):  # a move the widening cast sinks below
            move = ge.TransposeOp(out, perm=(1, 0))
            block.add_op(move)
            out = move.output
        if out.type == value.type and draw(st.booleans()):
            add = ge.AddOp(out, value)
            block.add_op(add)
            out = add.output
        value = out
    block.add_op(func.ReturnOp(value))
    fn = func.FuncOp("net", ([block.args[0].type], [value.type]), Region(block))
    x = np.random.default_rng(layers).standard_normal(shape).astype(np.float32)
    return ModuleOp([fn]), x, layers


def _check_structure(module: ModuleOp, mode: str) -> None:
    for op in module.walk():
        if isinstance(op, CUBE_KERNELS):
            types = [v.type for v in (*op.operands, *op.results)]
            assert not any(isinstance(element_of(t), Float32Type) for t in types), op
        if isinstance(op, ElementwiseOp) and op.fused_names == ["ge.cast"]:
            producer = op.inputs[0].owner
            assert not isinstance(producer, ConstantOp), "a weight cast at run time"
        if isinstance(op, moves.TransposeKernelOp):  # the cast sank below it
            assert element_of(op.operands[0].type) == f16, op
        if mode == "force_fp16" and isinstance(op, KernelOp) and not isinstance(op, ElementwiseOp):
            assert not any(isinstance(element_of(r.type), Float32Type) for r in op.results), op


@pytest.mark.parametrize("mode", ["allow_fp32_to_fp16", "force_fp16"])
@settings(deadline=None)
@given(case=networks())
def test_fp16_modes_stay_within_the_fp16_bound(mode: str, case) -> None:
    module, x, layers = case
    expected = run_reference(compile_module(module).module, [x])[0]
    plan = compile_module(module, CompileOptions(precision_mode=mode))
    _check_structure(plan.module, mode)
    got = run_reference(plan.module, [x])[0]
    assert got.dtype == np.float32 and got.shape == expected.shape
    scale = max(float(np.abs(expected).max()), 1.0)
    bound = 3 * U * (layers + 1) * scale  # + 1: the input's own rounding
    assert float(np.abs(got - expected).max()) <= bound


@settings(deadline=None)
@given(case=networks())
def test_origin_dtype_modes_change_nothing(case) -> None:
    module, x, _ = case
    f32_text = str(compile_module(module).module)
    for mode in ("force_fp32", "must_keep_origin_dtype"):
        assert str(compile_module(module, CompileOptions(precision_mode=mode)).module) == f32_text


def test_an_f16_model_keeps_its_dtypes_in_every_mode_but_force_fp16() -> None:
    block = Block(arg_types=[TensorType(f16, (2, 8))])
    w = ConstantOp(np.ones((8, 4), np.float16))
    mm = ge.MatMulOp(block.args[0], w.output)
    block.add_ops([w, mm, func.ReturnOp(mm.output)])
    fn = func.FuncOp("half", ([block.args[0].type], [mm.output.type]), Region(block))
    module = ModuleOp([fn])
    texts = {mode: str(compile_module(module, CompileOptions(precision_mode=mode)).module)
             for mode in PRECISION_MODES}  # fmt: skip
    assert len(set(texts.values())) == 1
    assert "f32" not in texts["allow_fp32_to_fp16"]


def test_unknown_precision_mode_is_refused() -> None:
    with pytest.raises(GeError, match="unknown precision_mode 'fp8'"):
        CompileOptions(precision_mode="fp8")


def test_without_optimization_the_ge_cube_ops_take_the_casts() -> None:
    block = Block(arg_types=[TensorType(f32, (2, 8))])
    w = ConstantOp(np.full((8, 4), 0.1, np.float32))
    mm = ge.MatMulOp(block.args[0], w.output)
    block.add_ops([w, mm, func.ReturnOp(mm.output)])
    fn = func.FuncOp("mm", ([block.args[0].type], [mm.output.type]), Region(block))
    options = CompileOptions(precision_mode="allow_fp32_to_fp16", optimize=False)
    plan = compile_module(ModuleOp([fn]), options)
    (matmul,) = [op for op in plan.module.walk() if isinstance(op, ge.MatMulOp)]
    assert all(element_of(v.type) == f16 for v in (*matmul.operands, matmul.output))
    x = np.linspace(-1, 1, 16, dtype=np.float32).reshape(2, 8)
    got = run_reference(plan.module, [x])[0]
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, x @ np.full((8, 4), 0.1), atol=3 * U * 2)


ATTENTION = """
func.func @attn(%q: tensor<1x4x8xf32>, %k: tensor<1x8x4xf32>, %v: tensor<1x4x8xf32>,
                %mask: tensor<1x4x4xf32>) -> tensor<1x4x8xf32> {
  %a = kernel.attention %q, %k, %v mask %mask {scale = 0.35 : f64, key_transposed = false,
    fused_from = ["ge.matmul"]} : (tensor<1x4x8xf32>, tensor<1x8x4xf32>, tensor<1x4x8xf32>,
    tensor<1x4x4xf32>) -> tensor<1x4x8xf32>
  func.return %a : tensor<1x4x8xf32>
}
"""


def test_a_fully_masked_row_stays_uniform_not_nan() -> None:
    from xdsl.parser import Parser

    from ge.testing.equivalence import apply_pipeline, default_context

    module = Parser(default_context(), ATTENTION).parse_module()
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal(s).astype(np.float32) for s in ((1, 4, 8), (1, 8, 4), (1, 4, 8)))
    mask = np.zeros((1, 4, 4), np.float32)
    mask[0, 2, :] = np.finfo(np.float32).min  # row 2: every key masked (HF's padding value)
    mask[0, 1, 3] = -1e30
    expected = run_reference(module, [q, k, v, mask])[0]
    apply_pipeline("cast-cube-to-fp16,fold-constants,fuse-elementwise", module)
    got = run_reference(module, [q, k, v, mask])[0]
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, expected, atol=3 * U * 3 * np.abs(expected).max())


HF_MASK = """
func.func @f(%x: tensor<2x4xf32>, %keep: tensor<2x4xf32>, %fill: tensor<2x4xf32>)
    -> (tensor<2x4xf32>, tensor<2x4xf32>) {
  %one = ge.constant dense<1.0> : tensor<f32>
  %low = ge.constant dense<-3.40282347e+38> : tensor<f32>
  %inf = ge.constant dense<"0x000080FF"> : tensor<f32>
  %drop = ge.sub %one, %keep : (tensor<f32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  %bias = ge.mul %drop, %low : (tensor<2x4xf32>, tensor<f32>) -> tensor<2x4xf32>
  %s = ge.add %x, %bias : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  %p = ge.softmax %s {axis = 1 : i64} : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %t = ge.add %x, %fill : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  %q = ge.maximum %t, %inf : (tensor<2x4xf32>, tensor<f32>) -> tensor<2x4xf32>
  %r = ge.softmax %q {axis = 1 : i64} : (tensor<2x4xf32>) -> tensor<2x4xf32>
  func.return %p, %r : tensor<2x4xf32>, tensor<2x4xf32>
}
"""


def test_force_fp16_saturates_an_hf_mask_rather_than_making_nan() -> None:
    """(1 - keep) * finfo(f32).min, HF's attention-mask bias: the constant cast to f16 was
    -inf, and (1 - 1) * -inf is NaN at every kept position: all-NaN outputs. An input filled
    with finfo.min (a padded row) went -inf on entry, and its softmax NaN. Constants and
    inputs now saturate to -65504; an infinity (the -inf constant here) stays one."""
    from xdsl.parser import Parser

    from ge.testing.equivalence import apply_pipeline, default_context

    module = Parser(default_context(), HF_MASK).parse_module()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4)).astype(np.float32)
    keep = np.array([[1, 1, 0, 0], [1, 1, 1, 1]], np.float32)
    fill = np.zeros((2, 4), np.float32)
    fill[1] = np.finfo(np.float32).min  # a row padded out entirely
    expected = run_reference(module, [x, keep, fill])
    apply_pipeline("cast-graph-to-fp16", module)
    f16_constants = [
        op.to_numpy() for op in module.walk() if isinstance(op, ConstantOp)
        if op.to_numpy().dtype == np.float16
    ]  # fmt: skip
    assert any(np.isneginf(c).all() for c in f16_constants)  # the -inf constant stays -inf
    assert any((c == -65504).all() for c in f16_constants)  # finfo(f32).min saturates
    for got, want in zip(run_reference(module, [x, keep, fill]), expected):
        assert np.isfinite(got).all()
        np.testing.assert_allclose(got, want, atol=2e-3)


def test_force_fp16_refuses_an_elided_constant() -> None:
    from xdsl.parser import Parser

    from ge.testing.equivalence import apply_pipeline, default_context

    text = """
    func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
      %w = ge.constant elided<"sha256:00"> : tensor<4xf32>
      %y = ge.add %x, %w : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
      func.return %y : tensor<4xf32>
    }
    """
    module = Parser(default_context(), text).parse_module()
    with pytest.raises(GeError, match="force_fp16: cannot convert an elided ge.constant"):
        apply_pipeline("cast-graph-to-fp16", module)
