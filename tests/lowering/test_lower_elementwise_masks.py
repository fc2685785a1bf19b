"""Elementwise bodies with masks, integers and scratch tiles on the modeled NPU equal the
reference: compares, logical ops, where, casts of every kind, mod, softplus, prelu, elu."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from npu_diff import check, kernels_of, t

from gedialects.npu.mask import VecCmpOp, VecSelectOp
from lowering.convert_kernel_to_npu import lower_module

NP = {"f32": np.float32, "f16": np.float16, "i32": np.int32, "i64": np.int64, "i1": np.bool_}
NP |= {"ui8": np.uint8}


def _data(shape, dtype: str, rng, positive: bool = False) -> np.ndarray:  # noqa: ANN001
    if dtype == "i1":
        return rng.random(shape) < 0.5
    if dtype[0] in "iu":
        low = 1 if positive else (0 if dtype[0] == "u" else -20)
        return rng.integers(low, 20, shape).astype(NP[dtype])
    x = rng.standard_normal(shape) * 4
    return (np.abs(x) + 0.5 if positive else x).astype(NP[dtype])


def _binary(op: str, shapes, dtypes, out: str, attrs: str = "") -> str:  # noqa: ANN001
    a, b = t(shapes[0], dtypes[0]), t(shapes[1], dtypes[1])
    y = t(np.broadcast_shapes(*shapes), out)
    return f"""func.func @main(%a: {a}, %b: {b}) -> {y} {{
  %y = {op} %a, %b {attrs}: ({a}, {b}) -> {y}
  func.return %y : {y}
}}"""


def _run(text: str, shapes, dtypes, positive_last: bool = False, rng=None):  # noqa: ANN001, ANN202
    rng = rng or np.random.default_rng(0)
    n = len(shapes)
    inputs = [_data(s, d, rng, positive_last and i == n - 1) for i, (s, d) in
              enumerate(zip(shapes, dtypes))]  # fmt: skip
    return check(kernels_of(text), inputs, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("op", ["equal", "less", "less_equal", "greater", "greater_equal"])
def test_compares(op: str) -> None:
    shapes = [(3, 40, 33), (40, 1)]
    _run(_binary(f"ge.{op}", shapes, ["f32", "f32"], "i1"), shapes, ["f32", "f32"])
    _run(_binary(f"ge.{op}", shapes, ["i32", "i32"], "i1"), shapes, ["i32", "i32"])


@pytest.mark.parametrize("op", ["logical_and", "logical_or", "logical_xor"])
def test_logical(op: str) -> None:
    shapes = [(7, 65), (1, 65)]
    _run(_binary(f"ge.{op}", shapes, ["i1", "i1"], "i1"), shapes, ["i1", "i1"])


def test_where_after_a_compare_fused_in_one_body() -> None:
    """GPT's causal mask: where(mask, scores, -inf-ish) with the mask broadcast over rows."""
    s, m = t((2, 4, 16, 16)), t((1, 1, 16, 16), "i1")
    text = f"""func.func @main(%x: {s}, %m: {m}, %c: {t((), "f32")}) -> {s} {{
  %y = ge.where %m, %x, %c : ({m}, {s}, {t((), "f32")}) -> {s}
  %z = ge.relu %y : ({s}) -> {s}
  func.return %z : {s}
}}"""
    result = _run(text, [(2, 4, 16, 16), (1, 1, 16, 16), ()], ["f32", "i1", "f32"])
    assert result.profile.kernels[0].cycles > 0


def test_integer_arithmetic_and_mod() -> None:
    shapes = [(5, 300), (5, 300)]
    for op in ("add", "sub", "mul", "div", "mod", "maximum"):
        for dt in ("i32", "i64"):
            _run(_binary(f"ge.{op}", shapes, [dt, dt], dt), shapes, [dt, dt], positive_last=True)
    _run(_binary("ge.mod", shapes, ["f32", "f32"], "f32"), shapes, ["f32", "f32"], True)


@pytest.mark.parametrize(
    "src,dst", [("f32", "i32"), ("f32", "i64"), ("i32", "f32"), ("f32", "i1"), ("i1", "f32"),
                ("i64", "i32"), ("f16", "i32"), ("ui8", "f32"), ("f32", "f16")],
)  # fmt: skip
def test_casts(src: str, dst: str) -> None:
    a, y = t((9, 70), src), t((9, 70), dst)
    text = f"""func.func @main(%a: {a}) -> {y} {{
  %y = ge.cast %a {{to = {dst}}} : ({a}) -> {y}
  func.return %y : {y}
}}"""
    _run(text, [(9, 70)], [src])


def _unary(body: str, shape, dtype: str = "f32") -> str:  # noqa: ANN001
    a = t(shape, dtype)
    return f"""func.func @main(%a: {a}) -> {a} {{
  %y = {body} : ({a}) -> {a}
  func.return %y : {a}
}}"""


def test_softplus_stable_for_large_inputs() -> None:
    text = _unary("ge.softplus %a", (4, 50))
    x = np.linspace(-120, 120, 200, dtype=np.float32).reshape(4, 50)
    check(kernels_of(text), [x], rtol=1e-5, atol=1e-5)


def test_logical_not_elu_and_prelu() -> None:
    _run(_unary("ge.logical_not %a", (3, 17), "i1"), [(3, 17)], ["i1"])
    _run(_unary("ge.elu %a {alpha = 2.5 : f64}", (3, 170)), [(3, 170)], ["f32"])
    shapes = [(2, 8, 30), (8, 1)]
    _run(_binary("ge.prelu", shapes, ["f32", "f32"], "f32"), shapes, ["f32", "f32"])


def test_larger_than_ub_where() -> None:
    shapes = [(600, 300), (600, 300), (600, 300)]
    c, x = t(shapes[0], "i1"), t(shapes[0])
    text = f"""func.func @main(%c: {c}, %a: {x}, %b: {x}) -> {x} {{
  %y = ge.where %c, %a, %b : ({c}, {x}, {x}) -> {x}
  func.return %y : {x}
}}"""
    _run(text, shapes, ["i1", "f32", "f32"])


def test_lowered_structure_uses_mask_ops() -> None:
    shapes = [(4, 8), (4, 8)]
    lowered = lower_module(kernels_of(_binary("ge.less", shapes, ["f32", "f32"], "i1")))
    assert any(isinstance(op, VecCmpOp) for op in lowered.walk())
    assert not any(isinstance(op, VecSelectOp) for op in lowered.walk())


@settings(max_examples=15)
@given(st.data())
def test_random_compare_select(data: st.DataObject) -> None:
    rank = data.draw(st.integers(1, 3))
    shape = tuple(data.draw(st.lists(st.integers(1, 40), min_size=rank, max_size=rank)))
    other = tuple(d if data.draw(st.booleans()) else 1 for d in shape)
    dtype = data.draw(st.sampled_from(["f32", "i32", "f16"]))
    pred = data.draw(st.sampled_from(["less", "greater_equal", "equal"]))
    x, o, m = t(shape, dtype), t(other, dtype), t(shape, "i1")
    text = f"""func.func @main(%a: {x}, %b: {o}) -> {x} {{
  %m = ge.{pred} %a, %b : ({x}, {o}) -> {m}
  %y = ge.where %m, %a, %b : ({m}, {x}, {o}) -> {x}
  func.return %y : {x}
}}"""
    _run(text, [shape, other], [dtype, dtype], rng=np.random.default_rng(len(shape)))
