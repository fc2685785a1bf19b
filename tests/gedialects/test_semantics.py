"""Every `ge` op's reference semantics against an independent expectation.

Where ONNX defines the op, the expectation is a one-node ONNX model run by
`onnx.reference.ReferenceEvaluator` on the same inputs (`tests/onnx_oracle.py`); otherwise
a direct numpy formula. `test_every_op_is_covered` fails when an op has no case here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest
from onnx import TensorProto
from onnx_oracle import run_ge_op, run_onnx
from scipy import special
from xdsl.dialects.builtin import DenseArrayBase, f16, f32, f64, i1, i32, i64

from gedialects.ge import ALL_OPS, ops
from gedialects.ge.constant import ConstantOp

RNG = np.random.default_rng(20240601)
CASES: list[Any] = []


def r(*shape: int, lo: float = -3.0, hi: float = 3.0, dtype: Any = np.float32) -> np.ndarray:
    """Random test data in [lo, hi)."""
    data = RNG.uniform(lo, hi, shape)
    if np.dtype(dtype).kind in "iu":
        data = np.floor(data)
    return data.astype(dtype)


def ints(*shape: int, lo: int = -5, hi: int = 6, dtype: Any = np.int64) -> np.ndarray:
    return RNG.integers(lo, hi, shape).astype(dtype)


def onnx_case(
    op: type,
    inputs: Sequence[np.ndarray],
    onnx_type: str,
    props: dict | None = None,
    attrs: dict | None = None,
    extra: Sequence[np.ndarray | None] = (),
    outputs: int = 1,
    tol: float = 1e-5,
    id: str = "",
    engine: str = "reference",
) -> None:
    """Compare `op(*inputs, **props)` with the ONNX node `onnx_type` (attrs default: props)."""
    props = props or {}
    attrs = props if attrs is None else attrs
    expect = lambda: run_onnx(onnx_type, inputs, attrs, extra, outputs, engine=engine)  # noqa: E731
    CASES.append(pytest.param(op, list(inputs), props, expect, tol, id=f"{op.name}-{id}"))


def numpy_case(
    op: type,
    inputs: Sequence[np.ndarray],
    formula: Callable[..., Any],
    props: dict | None = None,
    tol: float = 1e-6,
    id: str = "",
) -> None:
    """Compare `op(*inputs, **props)` with `formula(*inputs)` (an array or a list of them)."""

    def expect() -> list[np.ndarray]:
        out = formula(*inputs)
        return list(out) if isinstance(out, list | tuple) else [out]

    CASES.append(pytest.param(op, list(inputs), props or {}, expect, tol, id=f"{op.name}-{id}"))


# ---- elementwise unary ------------------------------------------------------------------
X = r(2, 3, 4)
POS = r(2, 3, 4, lo=0.1, hi=4.0)
for op, onnx_type, data in [
    (ops.ReluOp, "Relu", X),
    (ops.SigmoidOp, "Sigmoid", X),
    (ops.TanhOp, "Tanh", X),
    (ops.ErfOp, "Erf", X),
    (ops.ExpOp, "Exp", X),
    (ops.LogOp, "Log", POS),
    (ops.SqrtOp, "Sqrt", POS),
    (ops.ReciprocalOp, "Reciprocal", POS),
    (ops.NegOp, "Neg", X),
    (ops.AbsOp, "Abs", X),
    (ops.SignOp, "Sign", np.array([-2.0, -0.0, 0.0, 3.5], np.float32)),
    (ops.FloorOp, "Floor", X),
    (ops.CeilOp, "Ceil", X),
    (ops.RoundOp, "Round", np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.4, -0.6], np.float32)),
    (ops.SinOp, "Sin", X),
    (ops.CosOp, "Cos", X),
    (ops.SoftplusOp, "Softplus", X),
    (ops.HardSwishOp, "HardSwish", X),
]:
    onnx_case(op, [data], onnx_type, id="f32")
# SiLU has no ONNX op of its own before opset 24: x / (1 + exp(-x)) in f64, out to where
# exp(-x) overflows f32 (the reference must give -0, not nan).
SILU_X = np.concatenate([r(12), np.float32([-200.0, -90.0, 0.0, 90.0])])
numpy_case(
    ops.SiluOp, [SILU_X], lambda x: (x / (1 + np.exp(-x.astype(np.float64)))).astype(np.float32)
)
numpy_case(  # QuickGELU: alpha in x's type, as onnxruntime's com.microsoft.QuickGelu has it
    ops.SiluOp, [SILU_X],
    lambda x: (x / (1 + np.exp(-x.astype(np.float64) * np.float32(1.702)))).astype(np.float32),
    {"alpha": 1.702}, id="alpha",
)  # fmt: skip
numpy_case(  # f16 in, f16 out (scipy's expit of f16 answers in f64), within f16's rounding
    ops.SiluOp, [r(12, dtype=np.float16)],
    lambda x: (x.astype(np.float64) / (1 + np.exp(-x.astype(np.float64)))).astype(np.float16),
    tol=2e-3, id="f16",
)  # fmt: skip
for op, onnx_type in [(ops.ReluOp, "Relu"), (ops.NegOp, "Neg"), (ops.AbsOp, "Abs")]:
    onnx_case(op, [ints(2, 5)], onnx_type, id="i64")
    onnx_case(op, [ints(7, dtype=np.int32)], onnx_type, id="i32")
onnx_case(ops.SignOp, [ints(9)], "Sign", id="i64")
onnx_case(ops.ReluOp, [r(3, 4, dtype=np.float16)], "Relu", id="f16")
onnx_case(ops.ExpOp, [r(3, 4, dtype=np.float16)], "Exp", tol=1e-3, id="f16")
onnx_case(ops.GeluOp, [X], "Gelu", {"approximate": "none"}, id="erf")
onnx_case(ops.GeluOp, [X], "Gelu", {"approximate": "tanh"}, id="tanh")
onnx_case(ops.LeakyReluOp, [X], "LeakyRelu", {"alpha": 0.1}, id="alpha")
onnx_case(ops.LeakyReluOp, [X], "LeakyRelu", {}, {}, id="default")
onnx_case(ops.EluOp, [X], "Elu", {"alpha": 0.5}, id="alpha")
onnx_case(ops.HardSigmoidOp, [X], "HardSigmoid", {"alpha": 0.3, "beta": 0.4}, id="ab")
onnx_case(ops.HardSigmoidOp, [X], "HardSigmoid", {}, {}, id="default")
_f32 = lambda v: np.array(v, np.float32)  # noqa: E731
onnx_case(ops.ClipOp, [X], "Clip", {"min": -1.0, "max": 2.0}, {}, [_f32(-1), _f32(2)], id="both")
onnx_case(ops.ClipOp, [X], "Clip", {"min": 0.5}, {}, [_f32(0.5)], id="min")
onnx_case(ops.ClipOp, [X], "Clip", {"max": 0.5}, {}, [None, _f32(0.5)], id="max")
onnx_case(ops.ClipOp, [X], "Clip", {}, {}, id="none")
onnx_case(
    ops.ClipOp, [ints(10)], "Clip", {"min": -2.0, "max": 3.0}, {}, [np.int64(-2), np.int64(3)]
)
onnx_case(ops.LogicalNotOp, [RNG.random((3, 4)) < 0.5], "Not")

FRACTIONS = np.array([-2.7, -1.5, -0.2, 0.0, 0.6, 1.5, 2.9, 100.25], np.float32)
for to, proto, data, tag in [
    (i64, TensorProto.INT64, FRACTIONS, "f32-to-i64-truncates"),
    (i32, TensorProto.INT32, FRACTIONS, "f32-to-i32"),
    (f32, TensorProto.FLOAT, ints(6), "i64-to-f32"),
    (i1, TensorProto.BOOL, FRACTIONS, "f32-to-i1"),
    (f32, TensorProto.FLOAT, RNG.random(5) < 0.5, "i1-to-f32"),
    (f64, TensorProto.DOUBLE, X, "f32-to-f64"),
    (f16, TensorProto.FLOAT16, X, "f32-to-f16"),
]:
    onnx_case(ops.CastOp, [data], "Cast", {"to": to}, {"to": proto}, id=tag)

# ---- elementwise binary, comparisons, where -----------------------------------------------
A, B = r(2, 3, 4), r(3, 1)
for op, onnx_type in [
    (ops.AddOp, "Add"),
    (ops.SubOp, "Sub"),
    (ops.MulOp, "Mul"),
    (ops.DivOp, "Div"),
    (ops.MaximumOp, "Max"),
    (ops.MinimumOp, "Min"),
]:
    onnx_case(op, [A, B], onnx_type, id="f32-broadcast")
    onnx_case(op, [ints(4, 1), ints(3, lo=1)], onnx_type, id="i64-broadcast")
onnx_case(ops.DivOp, [np.array([-7, 7, -7, 7, 6]), np.array([2, -2, -2, 2, 4])], "Div", id="trunc")
onnx_case(ops.DivOp, [ints(5, dtype=np.int32), ints(5, lo=1, dtype=np.int32)], "Div", id="i32")
onnx_case(ops.PowOp, [POS, r(4, lo=-2, hi=2)], "Pow", id="f32")
onnx_case(ops.PowOp, [ints(6), ints(6, lo=0, hi=4)], "Pow", id="i64")
M1, M2 = np.array([-7, 7, -7, 7, 5]), np.array([3, -3, -3, 3, 5])
onnx_case(ops.ModOp, [M1, M2], "Mod", {}, {"fmod": 0}, id="i64-divisor-sign")
onnx_case(ops.ModOp, [M1.astype(np.float32), M2.astype(np.float32)], "Mod", {}, {"fmod": 1})
onnx_case(ops.PReluOp, [A, r(3, 1, lo=0, hi=1)], "PRelu", id="channel-slope")
onnx_case(ops.PReluOp, [A, r(4)], "PRelu", id="last-axis")
for op, onnx_type in [
    (ops.EqualOp, "Equal"),
    (ops.LessOp, "Less"),
    (ops.LessEqualOp, "LessOrEqual"),
    (ops.GreaterOp, "Greater"),
    (ops.GreaterEqualOp, "GreaterOrEqual"),
]:
    onnx_case(op, [ints(2, 3, lo=-2, hi=2), ints(3, lo=-2, hi=2)], onnx_type, id="i64")
    onnx_case(op, [np.floor(A), np.floor(B)], onnx_type, id="f32")
P, Q = RNG.random((2, 3)) < 0.5, RNG.random(3) < 0.5
for op, onnx_type in [
    (ops.LogicalAndOp, "And"),
    (ops.LogicalOrOp, "Or"),
    (ops.LogicalXorOp, "Xor"),
]:
    onnx_case(op, [P, Q], onnx_type)
onnx_case(ops.WhereOp, [RNG.random((2, 1, 4)) < 0.5, A, r(4)], "Where", id="broadcast-all")
onnx_case(ops.WhereOp, [np.array(True), ints(3), ints(2, 1)], "Where", id="i64")

# ---- linear algebra and convolution ---------------------------------------------------
for a, b, tag in [
    (r(3, 4), r(4, 5), "2d"),
    (r(2, 3, 4), r(2, 4, 5), "batched"),
    (r(2, 1, 3, 4), r(5, 4, 2), "broadcast-batch"),
    (r(4), r(4, 5), "vector-lhs"),
    (r(2, 3, 4), r(4), "vector-rhs"),
    (r(4), r(4), "dot"),
]:
    onnx_case(ops.MatMulOp, [a, b], "MatMul", id=tag)
onnx_case(ops.MatMulOp, [ints(2, 3), ints(3, 2)], "MatMul", id="i64")


def conv_case(x, w, bias=None, tag="", **props):
    attrs = {("group" if k == "groups" else k): v for k, v in props.items()}
    inputs = [x, w] if bias is None else [x, w, bias]
    onnx_case(ops.Conv2DOp, inputs, "Conv", props, attrs, tol=1e-4, id=tag)


XC = r(2, 4, 7, 6)
conv_case(XC, r(3, 4, 3, 3), tag="valid")
conv_case(XC, r(3, 4, 3, 3), r(3), tag="bias-pad", pads=[1, 1, 1, 1])
conv_case(XC, r(5, 4, 3, 2), tag="strides-asym-pads", strides=[2, 3], pads=[0, 1, 2, 1])
conv_case(XC, r(2, 4, 3, 3), tag="dilations", dilations=[2, 1], pads=[2, 0, 1, 1])
conv_case(XC, r(6, 2, 3, 3), r(6), tag="groups", groups=2, pads=[1, 1, 1, 1])
conv_case(XC, r(8, 1, 3, 3), tag="depthwise", groups=4, strides=[2, 2], pads=[1, 1, 1, 1])
conv_case(XC, r(3, 4, 1, 1), tag="pointwise")


def conv_t_case(x, w, bias=None, tag="", ort=False, **props):
    """ConvTranspose; onnxruntime where the reference implementation lacks groups."""
    attrs = {("group" if k == "groups" else k): v for k, v in props.items()}
    inputs = [x, w] if bias is None else [x, w, bias]
    engine = "ort" if ort else "reference"
    onnx_case(
        ops.ConvTranspose2DOp,
        inputs,
        "ConvTranspose",
        props,
        attrs,
        tol=1e-4,
        id=tag,
        engine=engine,
    )


XT = r(1, 4, 3, 4)
conv_t_case(XT, r(4, 2, 3, 3), tag="plain")
conv_t_case(XT, r(4, 3, 3, 2), r(3), tag="strides-pads-bias", strides=[2, 2], pads=[1, 0, 1, 1])
conv_t_case(XT, r(4, 2, 2, 2), tag="output-padding", strides=[2, 3], output_padding=[1, 2])
conv_t_case(XT, r(4, 1, 3, 3), tag="groups-dilations", groups=2, dilations=[2, 1], ort=True)

# ---- normalization ----------------------------------------------------------------------
C4 = lambda lo=-1.0, hi=1.0: r(4, lo=lo, hi=hi)  # noqa: E731
BN = [C4(), C4(), C4(), C4(0.5, 2.0)]
onnx_case(ops.BatchNormOp, [r(2, 4, 3, 3), *BN], "BatchNormalization", {"epsilon": 1e-3})
onnx_case(ops.BatchNormOp, [r(5, 4), *BN], "BatchNormalization", {}, {}, id="rank2")
onnx_case(ops.InstanceNormOp, [r(2, 4, 3, 5), C4(), C4()], "InstanceNormalization", tol=1e-4)
onnx_case(ops.InstanceNormOp, [r(2, 4, 6), C4(), C4()], "InstanceNormalization", {"epsilon": 1e-2})
def _rotate_half_formula(x, cos, sin):
    half = x.shape[-1] // 2
    pairs = [(x[..., :half], x[..., half:]), (cos[..., :half], cos[..., half:])]
    (x1, x2), (c1, c2) = pairs
    s1, s2 = sin[..., :half], sin[..., half:]
    return np.concatenate([x1 * c1 - x2 * s1, x2 * c2 + x1 * s2], axis=-1)


numpy_case(ops.RopeOp, [r(2, 3, 8), r(3, 8), r(3, 8)], _rotate_half_formula, id="halves")


for _shape, _groups in (((2, 4, 3, 5), 2), ((1, 6, 7), 3), ((2, 4, 2, 2, 3), 4), ((1, 4, 5), 1)):
    onnx_case(
        ops.GroupNormOp,
        [r(*_shape), r(_shape[1]), r(_shape[1])],
        "GroupNormalization",
        {"num_groups": _groups, "epsilon": 1e-3},
        tol=1e-4,
        id=f"{len(_shape)}d-g{_groups}",
    )
LN = r(2, 3, 5)
onnx_case(ops.LayerNormOp, [LN, r(5), r(5)], "LayerNormalization", tol=1e-4, id="last")
onnx_case(
    ops.LayerNormOp, [LN, r(3, 5)], "LayerNormalization", {"axis": 1, "epsilon": 1e-3}, id="ax1"
)
LN_AX1 = {"axis": 1}
onnx_case(ops.LayerNormOp, [LN, r(1, 5), r(5)], "LayerNormalization", LN_AX1, tol=1e-4, id="bcast")
for rms_id, rms_props, rms_scale in (
    ("last", {}, r(5)),
    ("ax1", {"axis": 1, "epsilon": 1e-3}, r(3, 5)),
):
    rms_expect = lambda s=rms_scale, p=rms_props: run_onnx(  # noqa: E731 (opset 23's op)
        "RMSNormalization", [LN, s], p, (), 1, opset=23
    )
    CASES.append(
        pytest.param(
            ops.RMSNormOp, [LN, rms_scale], rms_props, rms_expect, 1e-5, id=f"ge.rms_norm-{rms_id}"
        )
    )
for axis in (-1, 0, 1):
    onnx_case(ops.SoftmaxOp, [LN], "Softmax", {"axis": axis}, id=f"axis{axis}")
    onnx_case(ops.LogSoftmaxOp, [LN], "LogSoftmax", {"axis": axis}, id=f"axis{axis}")
LRN_X = r(2, 6, 3, 3)
for size in (1, 3, 5):
    props = {"size": size, "alpha": 0.02, "beta": 0.6, "bias": 1.5}
    # onnx.reference's LRN loops over the batch instead of the channels: use onnxruntime
    onnx_case(ops.LRNOp, [LRN_X], "LRN", props, id=f"size{size}", engine="ort")


def lrn_spec(x: np.ndarray, size: int, alpha: float, beta: float, bias: float) -> np.ndarray:
    """The ONNX LRN formula, channel by channel (onnxruntime takes odd sizes only)."""
    out = np.empty_like(x)
    for c in range(x.shape[1]):
        lo, hi = max(0, c - (size - 1) // 2), min(x.shape[1] - 1, c + -(-(size - 1) // 2))
        square_sum = np.sum(x[:, lo : hi + 1] ** 2, axis=1)
        out[:, c] = x[:, c] / (bias + alpha / size * square_sum) ** beta
    return out


LRN4 = {"size": 4, "alpha": 0.02, "beta": 0.6, "bias": 1.5}
numpy_case(ops.LRNOp, [LRN_X], lambda x: lrn_spec(x, **LRN4), LRN4, tol=1e-5, id="even-size")
onnx_case(ops.DropoutOp, [X], "Dropout", {"ratio": 0.3}, {}, id="inference-identity")

# ---- pools ------------------------------------------------------------------------------
XP = r(2, 3, 7, 6)
POOLS = [
    ("k2s2", dict(kernel_shape=[2, 2], strides=[2, 2])),
    ("k3-pad1", dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1])),
    ("ceil", dict(kernel_shape=[3, 2], strides=[2, 2], ceil_mode=True)),
    ("ceil-pads", dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 0, 1, 2], ceil_mode=True)),
    ("dilations", dict(kernel_shape=[2, 2], dilations=[2, 3], pads=[1, 1, 0, 0])),
    ("asym-pads", dict(kernel_shape=[2, 3], strides=[1, 2], pads=[0, 2, 1, 1])),
]


def _onnx_pool_attrs(props: dict) -> dict:
    return {k: (int(v) if isinstance(v, bool) else v) for k, v in props.items()}


for tag, props in POOLS:
    onnx_case(ops.MaxPool2DOp, [XP], "MaxPool", props, _onnx_pool_attrs(props), id=tag)
    for include in (False, True):
        both = {**props, "count_include_pad": include}
        onnx_case(
            ops.AvgPool2DOp,
            [XP],
            "AveragePool",
            both,
            _onnx_pool_attrs(both),
            id=f"{tag}-include{int(include)}",
        )
onnx_case(ops.GlobalAvgPoolOp, [XP], "GlobalAveragePool", id="rank4")
onnx_case(ops.GlobalAvgPoolOp, [r(2, 3, 5)], "GlobalAveragePool", id="rank3")
onnx_case(ops.GlobalMaxPoolOp, [XP], "GlobalMaxPool", id="rank4")
# onnx.reference's GlobalMaxPool drops the spatial dims of a rank-3 input: use onnxruntime
onnx_case(ops.GlobalMaxPoolOp, [r(2, 3, 5)], "GlobalMaxPool", id="rank3", engine="ort")

# ---- reductions -------------------------------------------------------------------------
XR = r(2, 3, 4)
for op, onnx_type, data in [
    (ops.ReduceSumOp, "ReduceSum", XR),
    (ops.ReduceMeanOp, "ReduceMean", XR),
    (ops.ReduceMaxOp, "ReduceMax", XR),
    (ops.ReduceMinOp, "ReduceMin", XR),
    (ops.ReduceProdOp, "ReduceProd", r(2, 3, 4, lo=0.5, hi=1.5)),
    (ops.ReduceL2Op, "ReduceL2", XR),
]:
    for axes, keep in [([1], True), ([0, 2], False), ([-1], True), ([], False), ([], True)]:
        extra = [np.array(axes, np.int64)] if axes else []
        props = {"axes": axes, "keepdims": keep}
        tag = f"axes{axes}-keep{int(keep)}"
        onnx_case(op, [data], onnx_type, props, {"keepdims": int(keep)}, extra, id=tag)
for op, onnx_type in [
    (ops.ReduceSumOp, "ReduceSum"),
    (ops.ReduceMaxOp, "ReduceMax"),
    (ops.ReduceMinOp, "ReduceMin"),
    (ops.ReduceProdOp, "ReduceProd"),
]:
    extra = [np.array([1], np.int64)]
    onnx_case(op, [ints(2, 3)], onnx_type, {"axes": [1]}, {}, extra, id="i64")
TIES = np.array([[1, 3, 3, 0], [2, 2, 0, 2], [5, 1, 5, 5]], np.float32)
for op, onnx_type in [(ops.ArgMaxOp, "ArgMax"), (ops.ArgMinOp, "ArgMin")]:
    for axis, keep, last in [
        (1, True, False),
        (1, False, True),
        (0, True, True),
        (-1, False, False),
    ]:
        props = {"axis": axis, "keepdims": keep, "select_last_index": last}
        attrs = {"axis": axis, "keepdims": int(keep), "select_last_index": int(last)}
        onnx_case(op, [TIES], onnx_type, props, attrs, id=f"ax{axis}-k{int(keep)}-l{int(last)}")
    onnx_case(op, [ints(3, 4)], onnx_type, {"axis": 0}, {"axis": 0}, id="i64")

# ---- data movement ----------------------------------------------------------------------
XM = r(2, 3, 4)
for perm in ([2, 0, 1], [0, 1, 2], [1, 2, 0]):
    onnx_case(ops.TransposeOp, [XM], "Transpose", {"perm": perm}, id=str(perm))
for shape in ([4, 6], [24], [2, 12, 1], [1, 2, 3, 4]):
    onnx_case(
        ops.ReshapeOp, [XM], "Reshape", {"shape": shape}, {}, [np.array(shape)], id=str(shape)
    )
for data, shape in [(r(3, 1), [2, 3, 4]), (r(1), [2, 2]), (r(2, 1, 3), [2, 4, 3])]:
    onnx_case(
        ops.ExpandOp, [data], "Expand", {"shape": shape}, {}, [np.array(shape)], id=str(shape)
    )
onnx_case(ops.ConcatOp, [r(2, 1, 4), r(2, 3, 4), r(2, 2, 4)], "Concat", {"axis": 1}, id="three")
onnx_case(ops.ConcatOp, [ints(2, 3), ints(2, 1)], "Concat", {"axis": -1}, id="neg-axis-i64")
onnx_case(ops.ConcatOp, [r(2, 3)], "Concat", {"axis": 0}, id="single")
BIG = 2**63 - 1
XS = r(5, 6, 7)
for starts, ends, axes, steps, tag in [
    ([1, 0], [4, 5], [0, 2], [1, 2], "steps"),
    ([4], [0], [1], [-1], "negative-step"),
    ([-1], [-BIG], [2], [-2], "negative-step-to-start"),
    ([-3, 2], [BIG, 100], [0, -1], [1, 1], "clamp-and-from-end"),
    ([10], [20], [1], [1], "start-beyond-end-clamps"),
    ([-100], [3], [0], [1], "start-below-zero-clamps"),
    ([5], [-100], [1], [-3], "negative-step-clamps"),
]:
    props = {"starts": starts, "ends": ends, "axes": axes, "steps": steps}
    extra = [np.array(v) for v in (starts, ends, axes, steps)]
    if (
        0
        not in ops.SliceOp.infer_result_types(
            [ops.tensor(XS.shape, f32)],
            {k: DenseArrayBase.from_list(i64, v) for k, v in props.items()},
        )[0].get_shape()
    ):
        onnx_case(ops.SliceOp, [XS], "Slice", props, {}, extra, id=tag)
XG = r(5, 4, 3)
for indices, axis, tag in [
    (np.array([0, -1, 2, -5]), 0, "negative-indices"),
    (np.array([[1, -1], [0, 2]]), 1, "2d-indices"),
    (np.array([2, 0], np.int32), -1, "i32-indices"),
    (np.array(-2), 0, "scalar-index"),
]:
    onnx_case(ops.GatherOp, [XG, indices], "Gather", {"axis": axis}, id=tag)
SCATTER_1D = [r(6), np.array([4, -1, 0, 4, 2], np.int64), r(5)]
for reduction in ("add", "mul", "max", "min"):  # 1-D: ONNX ScatterElements, duplicates
    props = {"axis": 0, "reduction": reduction}
    onnx_case(ops.ScatterOp, SCATTER_1D, "ScatterElements", props, id=reduction)
onnx_case(
    ops.ScatterOp,
    [r(6), np.array([4, -1, 0], np.int64), r(3)],
    "ScatterElements",
    {"axis": 0, "reduction": "none"},
    id="none",
)


def _scatter_rows_by_loop(x: np.ndarray, idx: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Slices of axis 1 written one index after another: the later one wins."""
    out = x.copy()
    for j, i in enumerate(idx.reshape(-1)):
        out[:, i] = u.reshape(x.shape[0], -1, x.shape[2])[:, j]
    return out


numpy_case(
    ops.ScatterOp,
    [r(2, 4, 3), np.array([[1, -3], [0, 3]], np.int32), r(2, 2, 2, 3)],
    _scatter_rows_by_loop,
    {"axis": 1},
    id="axis1-duplicates-last-wins",
)
for sizes, axis, tag in [([1, 2], 1, "axis1"), ([2, 1, 1], -1, "three-pieces"), ([2], 0, "one")]:
    props = {"sizes": sizes, "axis": axis}
    extra = [np.array(sizes, np.int64)]
    onnx_case(ops.SplitOp, [r(2, 3, 4)], "Split", props, {"axis": axis}, extra, len(sizes), id=tag)
XD = r(2, 3, 4)
for pads, mode, value, tag in [
    ([0, 1, 2, 1, 0, 1], "constant", 0.0, "constant"),
    ([1, 0, 0, 0, 2, 1], "constant", -2.5, "value"),
    ([0, -1, 1, 0, 1, -2], "constant", 0.0, "negative-crops"),
    ([0, 2, 1, 0, 1, 3], "reflect", 0.0, "reflect"),
    ([1, 2, 0, 1, 0, 3], "edge", 0.0, "edge"),
    ([0, 2, 3, 1, 1, 2], "wrap", 0.0, "wrap"),
]:
    props = {"pads": pads, "mode": mode, "value": value}
    extra = (
        [np.array(pads), np.array(value, np.float32)] if mode == "constant" else [np.array(pads)]
    )
    engine = "ort" if min(pads) < 0 else "reference"  # onnx.reference rejects negative pads
    onnx_case(ops.PadOp, [XD], "Pad", props, {"mode": mode}, extra, id=tag, engine=engine)
onnx_case(ops.PadOp, [ints(2, 3)], "Pad", {"pads": [1, 0, 0, 2]}, {}, [np.array([1, 0, 0, 2])])
XZ = r(1, 2, 4, 5)
for sizes, mode, coords, nearest in [
    ([1, 2, 8, 10], "nearest", "half_pixel", "round_prefer_floor"),
    ([1, 2, 7, 3], "nearest", "asymmetric", "floor"),
    ([1, 2, 6, 9], "nearest", "align_corners", "ceil"),
    ([1, 2, 3, 3], "nearest", "pytorch_half_pixel", "round_prefer_ceil"),
    ([1, 2, 8, 10], "linear", "half_pixel", "round_prefer_floor"),
    ([1, 2, 3, 7], "linear", "align_corners", "round_prefer_floor"),
    ([1, 2, 2, 9], "linear", "pytorch_half_pixel", "round_prefer_floor"),
    ([1, 2, 6, 2], "linear", "asymmetric", "round_prefer_floor"),
    ([1, 2, 6, 8], "linear", "half_pixel_symmetric", "round_prefer_floor"),
]:
    props = dict(sizes=sizes, mode=mode, coordinate_transformation_mode=coords)
    props["nearest_mode"] = nearest
    attrs = {k: v for k, v in props.items() if k != "sizes"}
    extra = [None, None, np.array(sizes)]
    onnx_case(ops.ResizeOp, [XZ], "Resize", props, attrs, extra, id=f"{mode}-{coords}")
SCALES = [1.0, 1.0, 1.7, 0.6]
onnx_case(
    ops.ResizeOp,
    [XZ],
    "Resize",
    dict(sizes=[1, 2, 6, 3], scales=DenseArrayBase.from_list(f32, SCALES), mode="linear"),
    {"mode": "linear"},
    [None, np.array(SCALES, np.float32)],
    id="linear-scales",
)

# ---- ops ONNX leaves to us ---------------------------------------------------------------
CONSTANTS = [X, ints(3, 2), RNG.random(4) < 0.5, r(2, 2, dtype=np.float16), np.float32(2.5)]
for value in map(np.asarray, CONSTANTS):
    numpy_case(ConstantOp, [], lambda v=value: v, {"value": value}, id=str(value.dtype))
numpy_case(
    ops.DropoutOp,
    [X],
    lambda x: x,
    {"ratio": 0.0, "is_training": True},
    id="training-ratio0-identity",
)
numpy_case(ops.GeluOp, [X], lambda x: x * special.ndtr(x), id="erf-formula")


def _case_op_names() -> set[str]:
    return {p.values[0].name for p in CASES}


def test_every_op_is_covered():
    missing = {cls.name for cls in ALL_OPS} - _case_op_names()
    assert not missing, f"ops without a semantics case: {sorted(missing)}"


@pytest.mark.parametrize("op, inputs, props, expect, tol", CASES)
def test_semantics_match_independent_expectation(op, inputs, props, expect, tol):
    if op is ConstantOp:
        got = run_ge_constant(props["value"])
    else:
        got = run_ge_op(op, inputs, **props)
    want = expect()
    assert len(got) == len(want)
    for g, w in zip(got, want):
        w = np.asarray(w)
        assert g.shape == w.shape, (g.shape, w.shape)
        assert g.dtype == w.dtype, (g.dtype, w.dtype)
        if g.dtype.kind == "f":
            np.testing.assert_allclose(g, w, rtol=tol, atol=tol)
        else:
            np.testing.assert_array_equal(g, w)


def run_ge_constant(value: np.ndarray) -> list[np.ndarray]:
    from onnx_oracle import one_op_module

    from ge.testing import run

    return run(one_op_module(lambda: ConstantOp(value), []), [])


def test_dropout_training_is_deterministic_by_seed_and_scales_kept_values():
    x = np.ones((64, 64), np.float32)
    a = run_ge_op(ops.DropoutOp, [x], ratio=0.25, is_training=True, seed=7)[0]
    b = run_ge_op(ops.DropoutOp, [x], ratio=0.25, is_training=True, seed=7)[0]
    c = run_ge_op(ops.DropoutOp, [x], ratio=0.25, is_training=True, seed=8)[0]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert set(np.unique(a)) <= {0.0, np.float32(1 / 0.75)}
    assert abs((a == 0).mean() - 0.25) < 0.03


def test_dropout_inference_is_identity_for_any_ratio():
    (y,) = run_ge_op(ops.DropoutOp, [X], ratio=0.9, is_training=False, seed=3)
    np.testing.assert_array_equal(y, X)
