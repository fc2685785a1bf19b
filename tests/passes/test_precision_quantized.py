"""Precision modes leave quantized ops' integer arithmetic alone (`passes.integer_values`).

QLinearMatMul, QLinearConv and MatMulInteger are imported as float matmuls and convs of
centred integers. The fp16 modes used to narrow those too: an int32-sized sum has no exact
f16 (a dynamically quantized BERT gave NaN everywhere, QLinearMatMul was 102 steps off).
A graph of quantized ops from quantized inputs to quantized outputs is integer arithmetic
end to end, so every precision mode must give force_fp32's outputs bit for bit, at both
levels.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

import ge
from ge.frontends.onnx.importer import import_onnx_model
from ge.pipeline import CompileOptions, compile_module
from gedialects.interpreter import run_reference
from passes.integer_values import IntegerValues, quantized_arithmetic

U8, I8 = np.dtype(np.uint8), np.dtype(np.int8)
FP16_MODES = ("allow_fp32_to_fp16", "force_fp16")


def _tensor_type(dtype: np.dtype) -> int:
    return helper.np_dtype_to_tensor_dtype(dtype)


@st.composite
def quantized_chains(draw):
    """1-3 QLinearMatMul / QLinearConv / MatMulInteger layers on a quantized input, with
    full-range 8-bit weights and sums far past f16's exact integers (2,048)."""
    seed = draw(st.integers(0, 2**31))
    rng = np.random.default_rng(seed)
    conv = draw(st.booleans())
    xt = draw(st.sampled_from([U8, I8]))
    shape = (1, draw(st.integers(1, 8)), 5, 5) if conv else (draw(st.integers(1, 6)), 8)
    nodes, inits = [], []
    value, width = "x", shape[1]
    for i in range(draw(st.integers(1, 3))):
        out = draw(st.integers(1, 24)) if conv else draw(st.integers(16, 96))
        info = np.iinfo(xt)

        def const(name: str, array) -> str:
            inits.append(numpy_helper.from_array(np.asarray(array), f"{name}{i}"))
            return f"{name}{i}"

        x_zero = const("xz", xt.type(rng.integers(info.min, info.max + 1)))
        y_zero = const("yz", xt.type(rng.integers(info.min, info.max + 1)))
        if conv:
            w = rng.integers(-128, 128, (out, width, 3, 3)).astype(np.int8)
        else:
            w = rng.integers(-128, 128, (width, out)).astype(np.int8)
        x_scale, w_scale = const("xs", np.float32(0.02)), const("ws", np.float32(0.01))
        y_scale = const("ys", np.float32(rng.uniform(0.5, 4.0)))
        args = [value, x_scale, x_zero, const("w", w), w_scale, const("wz", np.int8(0))]
        result = f"q{i}"
        if conv:
            qconv = helper.make_node("QLinearConv", [*args, y_scale, y_zero], [result], pads=[1]*4)
            nodes.append(qconv)
        elif draw(st.booleans()):
            nodes.append(helper.make_node("QLinearMatMul", args + [y_scale, y_zero], [result]))
        else:  # MatMulInteger, then requantize by hand as a QDQ graph would
            acc, real = f"acc{i}", f"real{i}"
            nodes += [
                helper.make_node("MatMulInteger", [value, const("w2", w), x_zero, f"wz{i}"], [acc]),
                helper.make_node("Cast", [acc], [f"accf{i}"], to=TensorProto.FLOAT),
                helper.make_node("Mul", [f"accf{i}", const("s", np.float32(2e-4))], [real]),
                helper.make_node("QuantizeLinear", [real, y_scale, y_zero], [result]),
            ]
        value, width = result, out
    graph = helper.make_graph(
        nodes,
        "quantized",
        [helper.make_tensor_value_info("x", _tensor_type(xt), shape)],
        [helper.make_tensor_value_info(value, _tensor_type(xt), None)],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    x = rng.integers(np.iinfo(xt).min, np.iinfo(xt).max + 1, shape).astype(xt)
    return model, x


@settings(deadline=None)
@given(case=quantized_chains())
def test_every_precision_mode_keeps_quantized_arithmetic_exact(case) -> None:
    model, x = case
    want = run_reference(compile_module(import_onnx_model(model)).module, [x])[0]
    for mode in FP16_MODES:
        plan = compile_module(import_onnx_model(model), CompileOptions(precision_mode=mode))
        got = run_reference(plan.module, [x])[0]
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want, err_msg=mode)


@pytest.mark.parametrize("mode", FP16_MODES)
def test_the_npu_level_runs_a_quantized_matmul_exactly_in_fp16_modes(mode: str) -> None:
    """The shape the quant sweep found 102 steps off (K = 256, u8 x s8)."""
    rng = np.random.default_rng(0)
    w = rng.integers(-127, 128, (256, 64)).astype(np.int8)
    consts = {"xs": np.float32(0.02), "xz": np.uint8(128), "w": w, "ws": np.float32(0.01),
              "wz": np.int8(0), "ys": np.float32(0.5), "yz": np.uint8(128)}  # fmt: skip
    node = helper.make_node("QLinearMatMul", ["x", *consts], ["y"])
    graph = helper.make_graph(
        [node],
        "qmm",
        [helper.make_tensor_value_info("x", TensorProto.UINT8, (16, 256))],
        [helper.make_tensor_value_info("y", TensorProto.UINT8, None)],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in consts.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    x = rng.integers(0, 256, (16, 256)).astype(np.uint8)
    want = ge.compile(model, level="npu", cache=False).run(x)[0]
    got = ge.compile(model, level="npu", cache=False, precision_mode=mode).run(x)[0]
    np.testing.assert_array_equal(got, want)


def test_a_float_models_integer_mask_is_not_quantized_arithmetic() -> None:
    """An int mask cast to float and scaled meets no accumulation: force_fp16 narrows it as
    any float tensor (it is small integers, exact in f16), so no f32 work is added."""
    nodes = [
        helper.make_node("Cast", ["mask"], ["m"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["m", "big"], ["bias"]),
        helper.make_node("Add", ["x", "bias"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "masked",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, (2, 4)),
            helper.make_tensor_value_info("mask", TensorProto.INT64, (2, 4)),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.float32(-10000.0), "big")],
    )
    module = import_onnx_model(helper.make_model(graph))
    values = IntegerValues(module)
    cast = next(op for op in module.walk() if op.name == "ge.cast")
    assert cast.results[0] in values  # integer-valued ...
    assert not quantized_arithmetic(module)  # ... but no integer arithmetic to keep
