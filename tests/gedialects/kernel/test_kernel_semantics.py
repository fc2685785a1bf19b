"""Each kernel's reference meaning equals the `ge` ops it stands for."""

import numpy as np
import pytest
from xdsl.dialects.builtin import DictionaryAttr, FloatAttr, f32, f64
from xdsl.ir import Block, Region

from gedialects.ge import ops as ge
from gedialects.ge import semantics as ges
from gedialects.ge.constant import ConstantOp
from gedialects.ge.types import tensor
from gedialects.kernel import ops as k
from gedialects.kernel import semantics as ks
from gedialects.kernel.elementwise import ElementwiseOp, YieldOp
from gedialects.kernel.mirrored import MIRRORED

RNG = np.random.default_rng(0)


def arr(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def value(array: np.ndarray):
    return ConstantOp(array).output


def test_conv_epilogue_equals_ge_chain():
    x, w, b, s, t, r = arr(1, 4, 6, 6), arr(4, 4, 3, 3), arr(4), arr(4), arr(4), arr(1, 4, 6, 6)
    props = {"pads": (1, 1, 1, 1)}
    conv = ge.Conv2DOp(value(x), value(w), value(b), **props)
    want = ges.evaluate(conv, x, w, b)[0] * s.reshape(1, -1, 1, 1) + t.reshape(1, -1, 1, 1)
    want = np.clip(want, 0, 6) + r
    want = np.maximum(want, 0)
    kernel = k.Conv2DKernelOp(
        value(x), value(w), value(b), value(s), value(t), value(r),
        fused_from=["ge.conv2d", "ge.batch_norm", "ge.clip", "ge.add", "ge.relu"],
        activation="clip",
        activation_attrs=DictionaryAttr({"min": FloatAttr(0.0, f64), "max": FloatAttr(6.0, f64)}),
        post_activation="relu",
        **props,
    )  # fmt: skip
    got = ks.evaluate(kernel, x, w, b, s, t, r)[0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_matmul_transposes_scale_bias_gelu():
    a, b, bias = arr(2, 5, 3), arr(2, 4, 3), arr(4)
    kernel = k.MatMulKernelOp(
        value(a), value(b), value(bias), fused_from=["ge.matmul"], transpose_b=True,
        alpha=0.5, activation="gelu",
    )  # fmt: skip
    y = 0.5 * np.matmul(a, np.swapaxes(b, -1, -2)) + bias
    gelu = ge.GeluOp(value(y))
    np.testing.assert_allclose(
        ks.evaluate(kernel, a, b, bias)[0], ges.evaluate(gelu, y)[0], rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no-bias"])
def test_matmul_residual_is_added_after_the_activation(bias):
    """relu(A @ B [+ b]) + r: the residual after the activation, as conv's."""
    a, b, c, r = arr(3, 5), arr(5, 4), arr(4), arr(3, 4)
    kernel = k.MatMulKernelOp(
        value(a), value(b), value(c) if bias else None, value(r),
        fused_from=["ge.matmul", "ge.relu", "ge.add"], activation="relu",
    )  # fmt: skip
    want = np.maximum(a @ b + (c if bias else 0), 0) + r
    given = [a, b, c, r] if bias else [a, b, r]
    np.testing.assert_allclose(ks.evaluate(kernel, *given)[0], want, rtol=1e-5, atol=1e-6)


def test_attention_layouts_are_transposes_around_it():
    """query_perm / value_perm transpose the operands, output_perm the result."""
    q, key, v = arr(1, 6, 2, 8), arr(1, 2, 8, 6), arr(1, 6, 2, 8)
    perm = [0, 2, 1, 3]
    kernel = k.AttentionKernelOp(
        value(q), value(key), value(v), fused_from=["ge.matmul"], scale=0.35,
        query_perm=perm, value_perm=perm, output_perm=perm,
    )  # fmt: skip
    scores = np.matmul(q.transpose(perm), key) * np.float32(0.35)
    e = np.exp(scores - scores.max(-1, keepdims=True))
    want = np.matmul(e / e.sum(-1, keepdims=True), v.transpose(perm)).transpose(perm)
    assert kernel.output.type == value(want).type
    np.testing.assert_allclose(ks.evaluate(kernel, q, key, v)[0], want, rtol=1e-5, atol=1e-6)


def test_attention_equals_unfused():
    q, key, v, mask = arr(2, 6, 8), arr(2, 6, 8), arr(2, 6, 8), arr(1, 6)
    kernel = k.AttentionKernelOp(
        value(q), value(key), value(v), value(mask), fused_from=["ge.matmul"],
        scale=0.35, key_transposed=True,
    )  # fmt: skip
    scores = np.matmul(q, np.swapaxes(key, -1, -2)) * np.float32(0.35) + mask
    e = np.exp(scores - scores.max(-1, keepdims=True))
    want = np.matmul(e / e.sum(-1, keepdims=True), v)
    np.testing.assert_allclose(ks.evaluate(kernel, q, key, v, mask)[0], want, rtol=1e-5, atol=1e-6)


def test_elementwise_body_runs_on_whole_arrays():
    a, c = arr(2, 3), arr(3)
    block = Block(arg_types=[tensor([], f32), tensor([], f32)])
    add = ge.AddOp(block.args[0], block.args[1])
    half = ConstantOp(np.array(0.5, np.float32))
    mul = ge.MulOp(add, half)
    relu = ge.ReluOp(mul)
    block.add_ops([add, half, mul, relu, YieldOp(relu)])
    op = ElementwiseOp([value(a), value(c)], tensor([4, 2, 3], f32), Region(block), ["ge.add"])
    op.verify()
    got = ks.evaluate(op, a, c)[0]
    np.testing.assert_array_equal(got, np.broadcast_to(np.maximum((a + c) * 0.5, 0), (4, 2, 3)))


@pytest.mark.parametrize("kind", sorted(k.REDUCE_KINDS))
def test_reduce_kinds(kind):
    x = np.abs(arr(2, 3, 4))
    kernel = k.ReduceKernelOp(value(x), fused_from=["ge.x"], kind=kind, axes=(1,), keepdims=False)
    ge_op = k.REDUCE_KINDS[kind](value(x), axes=(1,), keepdims=False)
    np.testing.assert_array_equal(ks.evaluate(kernel, x)[0], ges.evaluate(ge_op, x)[0])


def test_every_mirror_has_semantics_and_the_ge_type_rule():
    for ge_cls, kernel_cls in MIRRORED.items():
        assert kernel_cls in ks.KERNEL_REFERENCE, kernel_cls.name
        assert kernel_cls.name == ge_cls.name.replace("ge.", "kernel.")
    x = value(arr(2, 3))
    with pytest.raises(Exception, match="'kernel.transpose': perm"):
        MIRRORED[ge.TransposeOp](x, fused_from=["ge.transpose"], perm=(0, 0))
