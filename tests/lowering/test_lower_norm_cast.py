"""Casting kernels on the modeled NPU: layer norm, softmax, reduce and pools with `cast_to`
(f32 in / f16 out, f16 in / f32 out, f16 in / f16 out computed in f32) equal the reference
semantics (`gedialects.kernel.casting`), and the verifier admits exactly those casts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from xdsl.parser import Parser

from ge.registry import make_context
from gedialects.errors import GeVerifyError
from gedialects.interpreter import run_reference
from lowering.convert_kernel_to_npu import lower_module
from runtime.npu_interpreter import NpuExecutable

PAIRS = [("f32", "f16"), ("f16", "f32"), ("f16", "f16")]
"""(input, result) element types of a kernel with a folded cast."""


def _t(shape: tuple[int, ...], dtype: str) -> str:
    return f"tensor<{'x'.join(map(str, shape))}x{dtype}>"


def _module(op: str, attrs: str, shapes: tuple, types: tuple[str, str], params: int = 0, axis=-1):  # noqa: ANN001, ANN202, E501
    (xs, ys), (src, dst) = shapes, types
    x, y = _t(xs, src), _t(ys, dst)
    ps = [_t(xs[axis:], "f32")] * params
    args = "".join(f", %p{i}: {p}" for i, p in enumerate(ps))
    operands = ", ".join(["%x"] + [f"%p{i}" for i in range(params)])
    text = f"""func.func @main(%x: {x}{args}) -> {y} {{
  %y = kernel.{op} {operands} {{{attrs}, cast_to = {dst}, fused_from = ["ge.{op}", "ge.cast"]}} : ({", ".join([x, *ps])}) -> {y}
  func.return %y : {y}
}}"""  # noqa: E501
    return Parser(make_context(), text).parse_module()


def _check(module, shape: tuple[int, ...], src: str, params: int = 0, seed: int = 0, axis=-1):  # noqa: ANN001, ANN202, E501
    """The lowered kernel's output equals the reference's: the same f32 computation rounded
    once, so within an f16 ulp where the result is f16 (the vector unit's order of sums)."""
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 3 + 1).astype(np.float16 if src == "f16" else np.float32)
    inputs = [x] + [rng.standard_normal(shape[axis:]).astype(np.float32) for _ in range(params)]
    want = run_reference(module, inputs)[0]
    result = NpuExecutable(lower_module(module)).run(inputs)  # flags, races, capacities
    got = result.outputs[0]
    assert got.dtype == want.dtype
    tol = 2e-3 if want.dtype == np.float16 else 1e-5
    scale = float(np.abs(want.astype(np.float32)).max()) or 1.0
    np.testing.assert_allclose(got.astype(np.float32), want.astype(np.float32), atol=tol * scale)
    return result


LAYER_NORM = "axis = {axis} : i64, epsilon = 1.0e-05 : f64"
SOFTMAX = "axis = {axis} : i64, scale = 0.5 : f64"
REDUCE = 'kind = "{kind}", axes = array<i64: {axes}>, keepdims = true'


@pytest.mark.parametrize("types", PAIRS)
def test_layer_norm_bert_rows_with_a_cast(types: tuple[str, str]) -> None:
    """128 x 768 (BERT's rows), scale and bias f32: the pipelined layer norm's staging tiles."""
    attrs = LAYER_NORM.format(axis=1)
    result = _check(_module("layer_norm", attrs, ((128, 768),) * 2, types, 2), (128, 768),
                    types[0], 2)  # fmt: skip
    kernel = result.profile.kernels[0]
    assert 0 < kernel.roofline_cycles <= kernel.cycles


def test_layer_norm_larger_than_ub_and_over_two_axes() -> None:
    """4 x 300 x 200 f32 -> f16 (940 KB, larger than UB); a norm over two axes, through views."""
    shape = (4, 300, 200)
    _check(_module("layer_norm", LAYER_NORM.format(axis=2), (shape,) * 2, PAIRS[0], 2), shape,
           "f32", 2)  # fmt: skip
    shape = (2, 3, 4, 16)
    module = _module("layer_norm", LAYER_NORM.format(axis=2), (shape,) * 2, PAIRS[1], 2, axis=2)
    _check(module, shape, "f16", 2, axis=2)


@given(
    rows=st.integers(1, 40), cols=st.integers(1, 300), types=st.sampled_from(PAIRS),
    kind=st.sampled_from(["softmax", "layer_norm", "sum", "mean", "max", "l2"]),
)  # fmt: skip
def test_row_kernels_with_a_cast_equal_the_reference(rows, cols, types, kind) -> None:  # noqa: ANN001
    shape = (rows, cols)
    if kind == "softmax":
        module = _module("softmax", SOFTMAX.format(axis=-1), (shape,) * 2, types)
    elif kind == "layer_norm":
        module = _module("layer_norm", LAYER_NORM.format(axis=1), (shape,) * 2, types, 2)
    else:
        module = _module("reduce", REDUCE.format(kind=kind, axes=1), (shape, (rows, 1)), types)
    _check(module, shape, types[0], 2 if kind == "layer_norm" else 0, seed=rows * cols)


def test_softmax_and_reduce_over_other_axes() -> None:
    """Softmax along axis 0 (transposed in and out), a reduce over a leading axis."""
    shape = (6, 5, 7)
    _check(_module("softmax", SOFTMAX.format(axis=0), (shape,) * 2, PAIRS[0]), shape, "f32")
    _check(_module("softmax", SOFTMAX.format(axis=0), (shape,) * 2, PAIRS[1]), shape, "f16")
    module = _module("reduce", REDUCE.format(kind="mean", axes=0), (shape, (1, 5, 7)), PAIRS[2])
    _check(module, shape, "f16")


def _pool(kind: str, shapes: tuple, types: tuple[str, str], window: int = 3):  # noqa: ANN202
    if kind.startswith("global"):
        return _module("pool", f'kind = "{kind}"', shapes, types)
    pads = ", ".join(["1"] * 4)
    attrs = (
        f'kind = "{kind}", kernel_shape = array<i64: {window}, {window}>, strides = array<i64: 2,'
        f" 2>, pads = array<i64: {pads}>, dilations = array<i64: 1, 1>, ceil_mode = false,"
        " count_include_pad = false"
    )
    return _module("pool", attrs, shapes, types)


@pytest.mark.parametrize("types", PAIRS)
def test_global_avg_pool_with_a_cast(types: tuple[str, str]) -> None:
    """ResNet-50's head at test size: 1 x 256 x 7 x 7 -> 1 x 256 x 1 x 1."""
    shape = (1, 256, 7, 7)
    _check(_pool("global_avg", (shape, (1, 256, 1, 1)), types), shape, types[0])


def test_refusals_name_the_op() -> None:
    """cast_to f32 on an f32 input (no cast), an f16 scale, an integer input: verifier errors."""
    with pytest.raises(GeVerifyError, match="kernel.softmax.*cast_to"):
        _module("softmax", SOFTMAX.format(axis=-1), ((4, 8),) * 2, ("f32", "f32")).verify()
    with pytest.raises(GeVerifyError, match="kernel.reduce.*cast_to"):
        _module(
            "reduce", REDUCE.format(kind="sum", axes=1), ((4, 8), (4, 1)), ("i32", "f16")
        ).verify()
    with pytest.raises(GeVerifyError, match="kernel.layer_norm"):  # scale must be f32
        text = """func.func @main(%x: tensor<4x8xf32>, %s: tensor<8xf16>) -> tensor<4x8xf16> {
  %y = kernel.layer_norm %x, %s {axis = 1 : i64, epsilon = 1.0e-05 : f64, cast_to = f16, fused_from = ["ge.layer_norm"]} : (tensor<4x8xf32>, tensor<8xf16>) -> tensor<4x8xf16>
  func.return %y : tensor<4x8xf16>
}"""  # noqa: E501
        Parser(make_context(), text).parse_module().verify()


@given(
    hw=st.integers(3, 20), channels=st.integers(1, 40), window=st.integers(2, 3),
    types=st.sampled_from(PAIRS), kind=st.sampled_from(["avg", "max", "global_avg"]),
)  # fmt: skip
def test_pools_with_a_cast_equal_the_reference(hw, channels, window, types, kind) -> None:  # noqa: ANN001
    """Window pools (pads 1, stride 2, borders with fewer taps) and global pools."""
    shape = (2, channels, hw, hw)
    out = (
        (2, channels, 1, 1)
        if kind.startswith("global")
        else (2, channels, *[(hw + 2 - window) // 2 + 1] * 2)
    )  # noqa: E501
    _check(_pool(kind, (shape, out), types, window), shape, types[0], seed=hw * channels)


def test_window_pool_larger_than_ub() -> None:
    """1 x 64 x 112 x 112 f16 avg pool to f32 (1.6 MB in, larger than UB), in many tiles."""
    shape, out = (1, 64, 112, 112), (1, 64, 56, 56)
    _check(_pool("avg", (shape, out), PAIRS[1]), shape, "f16")
