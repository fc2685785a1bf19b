"""Every common ONNX op on bfloat16 tensors through the importer, against ONNX's reference.

The converters see bf16 values before `emulate-narrow-types` widens them, and numpy files
ml_dtypes' types under dtype kind 'V': a converter that decides by `np.issubdtype(...,
np.floating)` would take bf16 for an integer. ONNX's reference computes op by op in bf16
(ml_dtypes); ge computes each chain in f32 and rounds once, so results agree within a few
bf16 ulps (2^-8 relative), while a wrong conversion is off by far more. Data movement ops
also run on float8 values, which they must move bit for bit.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
from onnx import TensorProto as T
from onnx import helper, numpy_helper
from onnx.reference import ReferenceEvaluator

import ge

RNG = np.random.default_rng(0)


def _x(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def _i(values: list[int]) -> np.ndarray:
    return np.array(values, np.int64)


# name: (op, float inputs, constant int64 inputs (name -> array), attributes)
CASES: dict[str, tuple[str, list[np.ndarray], dict[str, np.ndarray], dict]] = {
    "add": ("Add", [_x(3, 4), _x(4)], {}, {}),
    "sub": ("Sub", [_x(3, 4), _x(3, 1)], {}, {}),
    "mul": ("Mul", [_x(3, 4), _x(3, 4)], {}, {}),
    "div": ("Div", [_x(3, 4), _x(3, 4) + 4], {}, {}),
    "pow": ("Pow", [np.abs(_x(3, 4)) + 0.5, _x(3, 4)], {}, {}),
    "max": ("Max", [_x(3, 4), _x(3, 4)], {}, {}),
    "mod": ("Mod", [_x(3, 4) * 5, np.full((3, 4), 1.5, np.float32)], {}, {"fmod": 1}),
    "relu": ("Relu", [_x(3, 4)], {}, {}),
    "sigmoid": ("Sigmoid", [_x(3, 4)], {}, {}),
    "tanh": ("Tanh", [_x(3, 4)], {}, {}),
    "exp": ("Exp", [_x(3, 4)], {}, {}),
    "log": ("Log", [np.abs(_x(3, 4)) + 0.1], {}, {}),
    "sqrt": ("Sqrt", [np.abs(_x(3, 4))], {}, {}),
    "erf": ("Erf", [_x(3, 4)], {}, {}),
    "gelu": ("Gelu", [_x(3, 4)], {}, {}),
    "leaky_relu": ("LeakyRelu", [_x(3, 4)], {}, {"alpha": 0.1}),
    "hard_swish": ("HardSwish", [_x(3, 4) * 4], {}, {}),
    "floor": ("Floor", [_x(3, 4) * 4], {}, {}),
    "round": ("Round", [_x(3, 4) * 4], {}, {}),
    "clip": ("Clip", [_x(3, 4) * 4], {}, {}),
    "matmul": ("MatMul", [_x(2, 3, 8), _x(8, 5)], {}, {}),
    "gemm": ("Gemm", [_x(3, 8), _x(5, 8), _x(5)], {}, {"transB": 1, "alpha": 0.5}),
    "conv": ("Conv", [_x(1, 3, 6, 6), _x(4, 3, 3, 3)], {}, {"pads": [1, 1, 1, 1]}),
    "softmax": ("Softmax", [_x(3, 6)], {}, {"axis": -1}),
    "log_softmax": ("LogSoftmax", [_x(3, 6)], {}, {"axis": -1}),
    "reduce_mean": ("ReduceMean", [_x(3, 6)], {"axes": _i([1])}, {}),
    "reduce_max": ("ReduceMax", [_x(3, 6)], {"axes": _i([0])}, {}),
    "layer_norm": ("LayerNormalization", [_x(3, 6), _x(6), _x(6)], {}, {"axis": -1}),
    "batch_norm": (
        "BatchNormalization",
        [_x(2, 3, 4, 4), _x(3), _x(3), _x(3), np.abs(_x(3)) + 0.5],
        {},
        {},
    ),
    "max_pool": ("MaxPool", [_x(1, 2, 6, 6)], {}, {"kernel_shape": [2, 2], "strides": [2, 2]}),
    "avg_pool": ("AveragePool", [_x(1, 2, 6, 6)], {}, {"kernel_shape": [3, 3]}),
    "global_avg_pool": ("GlobalAveragePool", [_x(1, 3, 5, 5)], {}, {}),
    "cumsum": ("CumSum", [_x(3, 5)], {"axis": np.array(1, np.int64)}, {}),
    "where_greater": ("Greater", [_x(3, 4), _x(3, 4)], {}, {}),
    "arg_max": ("ArgMax", [_x(3, 6)], {}, {"axis": 1}),
    "top_k": ("TopK", [_x(3, 6)], {"k": _i([2])}, {}),
    "resize": (
        "Resize",
        [_x(1, 2, 3, 3)],
        {"": None, "scales": np.array([1, 1, 2, 2], np.float32)},
        {"mode": "linear"},
    ),
}

MOVES: dict[str, tuple[str, list[np.ndarray], dict[str, np.ndarray], dict]] = {
    "transpose": ("Transpose", [_x(2, 3, 4)], {}, {"perm": [2, 0, 1]}),
    "reshape": ("Reshape", [_x(2, 3, 4)], {"shape": _i([4, -1])}, {}),
    "concat": ("Concat", [_x(2, 3), _x(2, 2)], {}, {"axis": 1}),
    "slice": ("Slice", [_x(4, 6)], {"starts": _i([1]), "ends": _i([5]), "axes": _i([1])}, {}),
    "gather": ("Gather", [_x(5, 3)], {"indices": _i([4, 0, 2])}, {"axis": 0}),
    "expand": ("Expand", [_x(3, 1)], {"shape": _i([2, 3, 4])}, {}),
    "pad": ("Pad", [_x(2, 3)], {"pads": _i([1, 0, 0, 2])}, {}),
    "split": ("Split", [_x(4, 6)], {"split": _i([2, 4])}, {"axis": 1}),
    "tile": ("Tile", [_x(2, 3)], {"repeats": _i([2, 1])}, {}),
    "depth_to_space": ("DepthToSpace", [_x(1, 8, 2, 2)], {}, {"blocksize": 2}),
}


def _model(op: str, floats: list[np.ndarray], consts: dict, attrs: dict, elem: int):
    names = [f"x{i}" for i in range(len(floats))]
    inputs = list(names)
    initializers = []
    for name, value in consts.items():
        if value is None:
            inputs.append("")
            continue
        initializers.append(numpy_helper.from_array(value, name))
        inputs.append(name)
    outputs = 2 if op in ("TopK", "Split") else 1
    node = helper.make_node(op, inputs, [f"y{k}" for k in range(outputs)], **attrs)
    graph = helper.make_graph(
        [node],
        op,
        [helper.make_tensor_value_info(n, elem, a.shape) for n, a in zip(names, floats)],
        [helper.make_tensor_value_info(f"y{k}", T.UNDEFINED, None) for k in range(outputs)],
        initializers,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])


def _run_both(case, elem: int, dtype) -> tuple[list, list]:  # noqa: ANN001
    op, floats, consts, attrs = case
    model = _model(op, floats, consts, attrs, elem)
    feeds = {f"x{i}": a.astype(dtype) for i, a in enumerate(floats)}
    want = ReferenceEvaluator(model).run(None, feeds)
    got = ge.compile(model, cache=False)(**feeds)
    return want, list(got) if isinstance(got, list | tuple) else [got]


@pytest.mark.parametrize("name", sorted(CASES))
def test_bf16_op_equals_the_reference(name):
    want, got = _run_both(CASES[name], T.BFLOAT16, ml_dtypes.bfloat16)
    for w, g in zip(want, got, strict=True):
        assert g.dtype == w.dtype and g.shape == w.shape, (g.dtype, w.dtype, g.shape, w.shape)
        w32, g32 = np.asarray(w).astype(np.float32), np.asarray(g).astype(np.float32)
        scale = max(float(np.abs(w32).max(initial=0.0)), 1.0)
        np.testing.assert_allclose(g32, w32, rtol=4 * 2**-8, atol=4 * 2**-8 * scale)


@pytest.mark.parametrize("elem, dtype", [(T.BFLOAT16, ml_dtypes.bfloat16),
                                          (T.FLOAT8E4M3FN, ml_dtypes.float8_e4m3fn)])  # fmt: skip
@pytest.mark.parametrize("name", sorted(MOVES))
def test_narrow_data_movement_is_bit_exact(name, elem, dtype):
    want, got = _run_both(MOVES[name], elem, dtype)
    for w, g in zip(want, got, strict=True):
        assert g.dtype == w.dtype and g.shape == w.shape
        assert np.asarray(g).tobytes() == np.asarray(w).tobytes()
