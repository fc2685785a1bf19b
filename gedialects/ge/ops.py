"""The `ge` graph dialect: framework-level ops on static-shaped tensors.

Families share an abstract base (elementwise unary and binary, comparisons, reductions,
pools), so each concrete op is a name and, where it differs, its type rule. The reference
meaning of every op lives in `gedialects.ge.semantics`; ONNX's definition is followed
wherever ONNX defines the op.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from xdsl.dialects.builtin import (
    DenseArrayBase,
    FloatAttr,
    IntegerAttr,
    StringAttr,
    TypeAttribute,
    i1,
    i32,
    i64,
)
from xdsl.ir import Attribute
from xdsl.irdl import (
    irdl_op_definition,
    operand_def,
    opt_operand_def,
    opt_prop_def,
    prop_def,
    result_def,
    var_operand_def,
    var_result_def,
)

from gedialects.ge.base import (
    GeOp,
    Props,
    broadcast,
    normalize_axis,
    prop_bool,
    prop_float,
    prop_int,
    prop_ints,
    prop_str,
    require_bool,
    require_float,
    require_rank,
    require_same_element,
    require_tensor,
)
from gedialects.ge.types import (
    SUPPORTED_ELEMENT_TYPES,
    element_of,
    format_type,
    is_bool,
    shape_of,
    tensor,
)

I64_ARRAY = DenseArrayBase.constr(i64)
BINARY_FORMAT = "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)"
UNARY_FORMAT = "$input attr-dict `:` functional-type(operands, results)"

# ---------------------------------------------------------------------------
# Elementwise families
# ---------------------------------------------------------------------------


class UnaryOp(GeOp):
    """y = f(x) elementwise; the result has the input's type."""

    input = operand_def()
    output = result_def()
    assembly_format = UNARY_FORMAT
    FLOAT_ONLY: ClassVar[bool] = True

    @classmethod
    def infer_result_types(cls, operand_types: Sequence[Attribute], props: Props):
        (t,) = operand_types
        if cls.FLOAT_ONLY:
            require_float(cls, "input", t)
        elif is_bool(element_of(require_tensor(cls, "input", t))):
            raise cls.fail(f"input must be numeric, got {format_type(t)}")
        return [t]


class NumericUnaryOp(UnaryOp):
    FLOAT_ONLY: ClassVar[bool] = False


class BinaryOp(GeOp):
    """z = f(x, y) with numpy/ONNX multidirectional broadcasting."""

    lhs = operand_def()
    rhs = operand_def()
    output = result_def()
    assembly_format = BINARY_FORMAT

    @classmethod
    def result_element(cls, element: Attribute) -> Attribute:
        return element

    @classmethod
    def check_element(cls, operand_types: Sequence[Attribute]) -> Attribute:
        element = require_same_element(cls, operand_types)
        if is_bool(element):
            raise cls.fail("operands must be numeric, got i1")
        return element

    @classmethod
    def infer_result_types(cls, operand_types: Sequence[Attribute], props: Props):
        element = cls.check_element(operand_types)
        shape = broadcast(cls, [shape_of(t) for t in operand_types])
        return [tensor(shape, cls.result_element(element))]


class CompareOp(BinaryOp):
    """Broadcasting comparison with an i1 result."""

    @classmethod
    def check_element(cls, operand_types: Sequence[Attribute]) -> Attribute:
        return require_same_element(cls, operand_types)

    @classmethod
    def result_element(cls, element: Attribute) -> Attribute:
        return i1


class LogicalOp(BinaryOp):
    """Broadcasting boolean connective on i1 tensors."""

    @classmethod
    def check_element(cls, operand_types: Sequence[Attribute]) -> Attribute:
        for t in operand_types:
            require_bool(cls, "operand", t)
        return i1


def _unary(name: str, doc: str, float_only: bool = True, **props) -> type[UnaryOp]:
    base = UnaryOp if float_only else NumericUnaryOp
    body = {"name": name, "__doc__": doc, **props}
    cls_name = "".join(p.capitalize() for p in name.split(".")[1].split("_")) + "Op"
    return irdl_op_definition(type(cls_name, (base,), body))


def _binary(name: str, doc: str, base: type[BinaryOp] = BinaryOp) -> type[BinaryOp]:
    cls_name = "".join(p.capitalize() for p in name.split(".")[1].split("_")) + "Op"
    return irdl_op_definition(type(cls_name, (base,), {"name": name, "__doc__": doc}))


ReluOp = _unary("ge.relu", "max(x, 0).", float_only=False)
SigmoidOp = _unary("ge.sigmoid", "1 / (1 + exp(-x)).")
TanhOp = _unary("ge.tanh", "Hyperbolic tangent.")
ErfOp = _unary("ge.erf", "Gauss error function.")
ExpOp = _unary("ge.exp", "e ** x.")
LogOp = _unary("ge.log", "Natural logarithm.")
SqrtOp = _unary("ge.sqrt", "Square root.")
ReciprocalOp = _unary("ge.reciprocal", "1 / x.")
NegOp = _unary("ge.neg", "-x.", float_only=False)
AbsOp = _unary("ge.abs", "|x|.", float_only=False)
SignOp = _unary("ge.sign", "-1, 0 or 1 by the sign of x.", float_only=False)
FloorOp = _unary("ge.floor", "Round towards -inf.")
CeilOp = _unary("ge.ceil", "Round towards +inf.")
RoundOp = _unary("ge.round", "Round half to even.")
SinOp = _unary("ge.sin", "Sine.")
CosOp = _unary("ge.cos", "Cosine.")
SoftplusOp = _unary("ge.softplus", "log(1 + exp(x)).")
HardSwishOp = _unary("ge.hard_swish", "x * max(0, min(1, x / 6 + 1 / 2)).")


@irdl_op_definition
class GeluOp(UnaryOp):
    """x * Phi(x); `approximate` is "none" (erf form) or "tanh" (ONNX Gelu)."""

    name = "ge.gelu"
    approximate = prop_def(StringAttr)
    DEFAULTS: ClassVar[dict] = {"approximate": "none"}

    @classmethod
    def infer_result_types(cls, operand_types: Sequence[Attribute], props: Props):
        if prop_str(props, "approximate") not in ("none", "tanh"):
            raise cls.fail('approximate must be "none" or "tanh"')
        return super().infer_result_types(operand_types, props)


@irdl_op_definition
class LeakyReluOp(UnaryOp):
    """x if x >= 0 else alpha * x."""

    name = "ge.leaky_relu"
    alpha = prop_def(FloatAttr)
    DEFAULTS: ClassVar[dict] = {"alpha": 0.01}


@irdl_op_definition
class EluOp(UnaryOp):
    """x if x > 0 else alpha * (exp(x) - 1)."""

    name = "ge.elu"
    alpha = prop_def(FloatAttr)
    DEFAULTS: ClassVar[dict] = {"alpha": 1.0}


@irdl_op_definition
class HardSigmoidOp(UnaryOp):
    """max(0, min(1, alpha * x + beta))."""

    name = "ge.hard_sigmoid"
    alpha = prop_def(FloatAttr)
    beta = prop_def(FloatAttr)
    DEFAULTS: ClassVar[dict] = {"alpha": 0.2, "beta": 0.5}


@irdl_op_definition
class ClipOp(NumericUnaryOp):
    """min(max(x, min), max); an absent bound does not clip."""

    name = "ge.clip"
    min = opt_prop_def(FloatAttr)
    max = opt_prop_def(FloatAttr)


@irdl_op_definition
class LogicalNotOp(UnaryOp):
    """Boolean negation of an i1 tensor."""

    name = "ge.logical_not"

    @classmethod
    def infer_result_types(cls, operand_types: Sequence[Attribute], props: Props):
        require_bool(cls, "input", operand_types[0])
        return [operand_types[0]]


@irdl_op_definition
class CastOp(GeOp):
    """Convert elements to the type `to` (ONNX Cast: float to int truncates)."""

    name = "ge.cast"
    input = operand_def()
    output = result_def()
    to = prop_def(TypeAttribute)
    assembly_format = UNARY_FORMAT

    @classmethod
    def infer_result_types(cls, operand_types: Sequence[Attribute], props: Props):
        t = require_tensor(cls, "input", operand_types[0])
        if props["to"] not in SUPPORTED_ELEMENT_TYPES:
            raise cls.fail(f"cannot cast to {props['to']}: not a tensor element type of ge")
        return [tensor(shape_of(t), props["to"])]


AddOp = _binary("ge.add", "x + y.")
SubOp = _binary("ge.sub", "x - y.")
MulOp = _binary("ge.mul", "x * y.")
DivOp = _binary("ge.div", "x / y (integers truncate towards zero, as ONNX).")
PowOp = _binary("ge.pow", "x ** y.")
MaximumOp = _binary("ge.maximum", "Elementwise max (NaN propagates).")
MinimumOp = _binary("ge.minimum", "Elementwise min (NaN propagates).")
ModOp = _binary("ge.mod", "Remainder with the divisor's sign (ONNX Mod, fmod=0).")
PReluOp = _binary("ge.prelu", "x if x >= 0 else slope * x; slope broadcasts to x.")
EqualOp = _binary("ge.equal", "x == y.", CompareOp)
LessOp = _binary("ge.less", "x < y.", CompareOp)
LessEqualOp = _binary("ge.less_equal", "x <= y.", CompareOp)
GreaterOp = _binary("ge.greater", "x > y.", CompareOp)
GreaterEqualOp = _binary("ge.greater_equal", "x >= y.", CompareOp)
LogicalAndOp = _binary("ge.logical_and", "x and y.", LogicalOp)
LogicalOrOp = _binary("ge.logical_or", "x or y.", LogicalOp)
LogicalXorOp = _binary("ge.logical_xor", "x xor y.", LogicalOp)


@irdl_op_definition
class WhereOp(GeOp):
    """cond ? x : y, all three broadcasting together."""

    name = "ge.where"
    condition = operand_def()
    lhs = operand_def()
    rhs = operand_def()
    output = result_def()
    assembly_format = (
        "$condition `,` $lhs `,` $rhs attr-dict `:` functional-type(operands, results)"
    )

    @classmethod
    def infer_result_types(cls, operand_types: Sequence[Attribute], props: Props):
        cond, x, y = operand_types
        require_bool(cls, "condition", cond)
        element = require_same_element(cls, [x, y])
        shape = broadcast(cls, [shape_of(t) for t in operand_types])
        return [tensor(shape, element)]


# ---------------------------------------------------------------------------
# Linear algebra and convolution
# ---------------------------------------------------------------------------


@irdl_op_definition
class MatMulOp(GeOp):
    """numpy.matmul: batched, broadcasting batch dims, 1-D operands promoted."""

    name = "ge.matmul"
    lhs = operand_def()
    rhs = operand_def()
    output = result_def()
    assembly_format = BINARY_FORMAT

    @classmethod
    def infer_result_types(cls, operand_types: Sequence[Attribute], props: Props):
        element = require_same_element(cls, operand_types)
        a, b = (list(shape_of(t)) for t in operand_types)
        if not a or not b:
            raise cls.fail("operands must have rank >= 1")
        a2 = [1, *a] if len(a) == 1 else a
        b2 = [*b, 1] if len(b) == 1 else b
        if a2[-1] != b2[-2]:
            raise cls.fail(
                f"contraction dims differ: lhs has {a2[-1]}, rhs has {b2[-2]} "
                f"({format_type(operand_types[0])} x {format_type(operand_types[1])})"
            )
        batch = broadcast(cls, [a2[:-2], b2[:-2]])
        shape = [*batch, a2[-2], b2[-1]]
        if len(a) == 1:
            shape.pop(-2)
        if len(b) == 1:
            shape.pop(-1)
        return [tensor(shape, element)]


def _spatial_attrs(cls: type[GeOp], props: Props, rank: int) -> tuple:
    strides = prop_ints(props, "strides")
    pads = prop_ints(props, "pads")
    dilations = prop_ints(props, "dilations") if "dilations" in props else (1,) * rank
    if len(strides) != rank or len(dilations) != rank or len(pads) != 2 * rank:
        raise cls.fail(
            f"needs {rank} strides, {rank} dilations and {2 * rank} pads, got "
            f"{len(strides)}, {len(dilations)} and {len(pads)}"
        )
    if min(strides) < 1 or min(dilations) < 1 or min(pads) < 0:
        raise cls.fail("strides and dilations must be >= 1 and pads >= 0")
    return strides, pads, dilations


@irdl_op_definition
class Conv2DOp(GeOp):
    """2-D convolution, NCHW input, OIHW weight; pads are (top, left, bottom, right)."""

    name = "ge.conv2d"
    input = operand_def()
    weight = operand_def()
    bias = opt_operand_def()
    output = result_def()
    strides = prop_def(I64_ARRAY)
    pads = prop_def(I64_ARRAY)
    dilations = prop_def(I64_ARRAY)
    groups = prop_def(IntegerAttr)
    DEFAULTS: ClassVar[dict] = {
        "strides": (1, 1),
        "pads": (0, 0, 0, 0),
        "dilations": (1, 1),
        "groups": 1,
    }
    assembly_format = (
        "$input `,` $weight (`,` $bias^)? attr-dict `:` functional-type(operands, results)"
    )

    @classmethod
    def infer_result_types(cls, operand_types: Sequence[Attribute], props: Props):
        element = require_same_element(cls, operand_types)
        require_float(cls, "input", operand_types[0])
        n, c, h, w = require_rank(cls, "input", operand_types[0], 4)
        o, cg, kh, kw = require_rank(cls, "weight", operand_types[1], 4)
        groups = prop_int(props, "groups")
        strides, pads, dil = _spatial_attrs(cls, props, 2)
        if groups < 1 or c % groups or o % groups:
            raise cls.fail(f"groups={groups} must divide input channels {c} and outputs {o}")
        if cg != c // groups:
            raise cls.fail(
                f"weight has {cg} input channels per group, input gives {c} / {groups} "
                f"= {c // groups}"
            )
        if len(operand_types) == 3 and shape_of(operand_types[2]) != (o,):
            raise cls.fail(f"bias must have shape {o}, got {format_type(operand_types[2])}")
        oh = pool_out(cls, h, kh, strides[0], pads[0], pads[2], dil[0], False)
        ow = pool_out(cls, w, kw, strides[1], pads[1], pads[3], dil[1], False)
        return [tensor((n, o, oh, ow), element)]


@irdl_op_definition
class ConvTranspose2DOp(GeOp):
    """2-D transposed convolution (ONNX ConvTranspose), weight (C, O/groups, kH, kW)."""

    name = "ge.conv_transpose2d"
    input = operand_def()
    weight = operand_def()
    bias = opt_operand_def()
    output = result_def()
    strides = prop_def(I64_ARRAY)
    pads = prop_def(I64_ARRAY)
    dilations = prop_def(I64_ARRAY)
    output_padding = prop_def(I64_ARRAY)
    groups = prop_def(IntegerAttr)
    DEFAULTS: ClassVar[dict] = {
        "strides": (1, 1),
        "pads": (0, 0, 0, 0),
        "dilations": (1, 1),
        "output_padding": (0, 0),
        "groups": 1,
    }
    assembly_format = (
        "$input `,` $weight (`,` $bias^)? attr-dict `:` functional-type(operands, results)"
    )

    @classmethod
    def infer_result_types(cls, operand_types: Sequence[Attribute], props: Props):
        element = require_same_element(cls, operand_types)
        require_float(cls, "input", operand_types[0])
        n, c, h, w = require_rank(cls, "input", operand_types[0], 4)
        wc, og, kh, kw = require_rank(cls, "weight", operand_types[1], 4)
        groups = prop_int(props, "groups")
        strides, pads, dil = _spatial_attrs(cls, props, 2)
        outpad = prop_ints(props, "output_padding")
        if wc != c or groups < 1 or c % groups:
            raise cls.fail(f"weight has {wc} input channels, input has {c} (groups={groups})")
        o = og * groups
        if len(operand_types) == 3 and shape_of(operand_types[2]) != (o,):
            raise cls.fail(f"bias must have shape {o}, got {format_type(operand_types[2])}")
        oh = strides[0] * (h - 1) + outpad[0] + (kh - 1) * dil[0] + 1 - pads[0] - pads[2]
        ow = strides[1] * (w - 1) + outpad[1] + (kw - 1) * dil[1] + 1 - pads[1] - pads[3]
        if oh < 1 or ow < 1:
            raise cls.fail(f"output size {oh}x{ow} is empty")
        return [tensor((n, o, oh, ow), element)]


# ---------------------------------------------------------------------------
# Normalization and activation over an axis
# ---------------------------------------------------------------------------


@irdl_op_definition
class BatchNormOp(GeOp):
    """Inference batch norm over axis 1: (x - mean) / sqrt(var + eps) * scale + bias."""

    name = "ge.batch_norm"
    input = operand_def()
    scale = operand_def()
    bias = operand_def()
    mean = operand_def()
    variance = operand_def()
    output = result_def()
    epsilon = prop_def(FloatAttr)
    DEFAULTS: ClassVar[dict] = {"epsilon": 1e-5}
    assembly_format = (
        "$input `,` $scale `,` $bias `,` $mean `,` $variance attr-dict "
        "`:` functional-type(operands, results)"
    )

    @classmethod
    def infer_result_types(cls, operand_types: Sequence[Attribute], props: Props):
        require_same_element(cls, operand_types)
        require_float(cls, "input", operand_types[0])
        shape = shape_of(operand_types[0])
        if len(shape) < 2:
            raise cls.fail("input must have rank >= 2 (N, C, ...)")
        for what, t in zip(("scale", "bias", "mean", "variance"), operand_types[1:]):
            if shape_of(t) != (shape[1],):
                raise cls.fail(f"{what} must have shape {shape[1]}, got {format_type(t)}")
        return [operand_types[0]]


@irdl_op_definition
class InstanceNormOp(GeOp):
    """Per-sample, per-channel normalization over spatial dims (ONNX InstanceNormalization)."""

    name = "ge.instance_norm"
    input = operand_def()
    scale = operand_def()
    bias = operand_def()
    output = result_def()
    epsilon = prop_def(FloatAttr)
    DEFAULTS: ClassVar[dict] = {"epsilon": 1e-5}
    assembly_format = "$input `,` $scale `,` $bias attr-dict `:` functional-type(operands, results)"

    @classmethod
    def infer_result_types(cls, operand_types: Sequence[Attribute], props: Props):
        require_same_element(cls, operand_types)
        require_float(cls, "input", operand_types[0])
        shape = shape_of(operand_types[0])
        if len(shape) < 3:
            raise cls.fail("input must have rank >= 3 (N, C, spatial...)")
        for what, t in zip(("scale", "bias"), operand_types[1:]):
            if shape_of(t) != (shape[1],):
                raise cls.fail(f"{what} must have shape {shape[1]}, got {format_type(t)}")
        return [operand_types[0]]


@irdl_op_definition
class LayerNormOp(GeOp):
    """Normalize over dims axis.. and apply scale (and bias), ONNX LayerNormalization."""

    name = "ge.layer_norm"
    input = operand_def()
    scale = operand_def()
    bias = opt_operand_def()
    output = result_def()
    axis = prop_def(IntegerAttr)
    epsilon = prop_def(FloatAttr)
    DEFAULTS: ClassVar[dict] = {"axis": -1, "epsilon": 1e-5}
    assembly_format = (
        "$input `,` $scale (`,` $bias^)? attr-dict `:` functional-type(operands, results)"
    )

    @classmethod
    def infer_result_types(cls, operand_types: Sequence[Attribute], props: Props):
        require_same_element(cls, operand_types)
        require_float(cls, "input", operand_types[0])
        shape = shape_of(operand_types[0])
        axis = normalize_axis(cls, prop_int(props, "axis"), len(shape))
        normalized = shape[axis:]
        for what, t in zip(("scale", "bias"), operand_types[1:]):
            broadcast(cls, [normalized, shape_of(t)])
            if len(shape_of(t)) > len(normalized):
                raise cls.fail(
                    f"{what} {format_type(t)} has more dims than normalized {normalized}"
                )
        return [operand_types[0]]


class AxisOp(GeOp):
    """Shape-preserving op along one axis."""

    input = operand_def()
    output = result_def()
    axis = prop_def(IntegerAttr)
    DEFAULTS: ClassVar[dict] = {"axis": -1}
    assembly_format = UNARY_FORMAT

    @classmethod
    def infer_result_types(cls, operand_types: Sequence[Attribute], props: Props):
        require_float(cls, "input", operand_types[0])
        normalize_axis(cls, prop_int(props, "axis"), len(shape_of(operand_types[0])))
        return [operand_types[0]]


@irdl_op_definition
class SoftmaxOp(AxisOp):
    """exp(x) / sum(exp(x)) along `axis` (ONNX opset 13)."""

    name = "ge.softmax"


@irdl_op_definition
class LogSoftmaxOp(AxisOp):
    """log(softmax(x)) along `axis`."""

    name = "ge.log_softmax"


@irdl_op_definition
class LRNOp(UnaryOp):
    """Local response normalization across channels (ONNX LRN)."""

    name = "ge.lrn"
    size = prop_def(IntegerAttr)
    alpha = prop_def(FloatAttr)
    beta = prop_def(FloatAttr)
    bias = prop_def(FloatAttr)
    DEFAULTS: ClassVar[dict] = {"alpha": 1e-4, "beta": 0.75, "bias": 1.0}


@irdl_op_definition
class DropoutOp(GeOp):
    """Identity at inference; in training, zero a `ratio` of elements and scale the rest."""

    name = "ge.dropout"
    input = operand_def()
    output = result_def()
    ratio = prop_def(FloatAttr)
    is_training = prop_def(IntegerAttr)
    seed = prop_def(IntegerAttr)
    DEFAULTS: ClassVar[dict] = {"ratio": 0.5, "is_training": False, "seed": 0}
    assembly_format = UNARY_FORMAT

    @classmethod
    def infer_result_types(cls, operand_types: Sequence[Attribute], props: Props):
        require_float(cls, "input", operand_types[0])
        if not 0.0 <= prop_float(props, "ratio") < 1.0:
            raise cls.fail("ratio must be in [0, 1)")
        return [operand_types[0]]


# ---------------------------------------------------------------------------
# Pools and reductions
# ---------------------------------------------------------------------------


class Pool2DOp(GeOp):
    """2-D window pool over NCHW; pads (top, left, bottom, right), ceil_mode as ONNX."""

    input = operand_def()
    output = result_def()
    kernel_shape = prop_def(I64_ARRAY)
    strides = prop_def(I64_ARRAY)
    pads = prop_def(I64_ARRAY)
    dilations = prop_def(I64_ARRAY)
    ceil_mode = prop_def(IntegerAttr)
    DEFAULTS: ClassVar[dict] = {
        "strides": (1, 1),
        "pads": (0, 0, 0, 0),
        "dilations": (1, 1),
        "ceil_mode": False,
    }
    assembly_format = UNARY_FORMAT

    @classmethod
    def infer_result_types(cls, operand_types: Sequence[Attribute], props: Props):
        require_float(cls, "input", operand_types[0])
        n, c, h, w = require_rank(cls, "input", operand_types[0], 4)
        kh, kw = prop_ints(props, "kernel_shape")
        strides, pads, dil = _spatial_attrs(cls, props, 2)
        ceil = prop_bool(props, "ceil_mode")
        oh = pool_out(cls, h, kh, strides[0], pads[0], pads[2], dil[0], ceil)
        ow = pool_out(cls, w, kw, strides[1], pads[1], pads[3], dil[1], ceil)
        return [tensor((n, c, oh, ow), element_of(operand_types[0]))]


def pool_out(
    cls: type[GeOp], size: int, k: int, s: int, pb: int, pe: int, d: int, ceil: bool
) -> int:
    """Output extent of a pooling window, ONNX rules (a ceil window must start in bounds)."""
    span = d * (k - 1) + 1
    if size + pb + pe < span:
        raise cls.fail(f"window of extent {span} does not fit input extent {size} with pads")
    numerator = size + pb + pe - span
    out = (-(-numerator // s) if ceil else numerator // s) + 1
    if ceil and (out - 1) * s >= size + pb:
        out -= 1
    return out


@irdl_op_definition
class MaxPool2DOp(Pool2DOp):
    """Max over each window; padding never wins."""

    name = "ge.max_pool2d"


@irdl_op_definition
class AvgPool2DOp(Pool2DOp):
    """Mean over each window; count_include_pad as ONNX AveragePool."""

    name = "ge.avg_pool2d"
    count_include_pad = prop_def(IntegerAttr)
    DEFAULTS: ClassVar[dict] = {**Pool2DOp.DEFAULTS, "count_include_pad": False}


class GlobalPoolOp(GeOp):
    """Pool over every spatial dim of (N, C, ...), keeping them as size 1."""

    input = operand_def()
    output = result_def()
    assembly_format = UNARY_FORMAT

    @classmethod
    def infer_result_types(cls, operand_types: Sequence[Attribute], props: Props):
        require_float(cls, "input", operand_types[0])
        shape = shape_of(operand_types[0])
        if len(shape) < 3:
            raise cls.fail("input must have rank >= 3 (N, C, spatial...)")
        return [tensor((*shape[:2], *[1] * (len(shape) - 2)), element_of(operand_types[0]))]


@irdl_op_definition
class GlobalAvgPoolOp(GlobalPoolOp):
    """Mean over all spatial positions."""

    name = "ge.global_avg_pool"


@irdl_op_definition
class GlobalMaxPoolOp(GlobalPoolOp):
    """Max over all spatial positions."""

    name = "ge.global_max_pool"


def reduced_shape(
    cls: type[GeOp], shape: Sequence[int], axes: Sequence[int], keepdims: bool
) -> tuple[int, ...]:
    normalized = {normalize_axis(cls, a, len(shape)) for a in axes} or set(range(len(shape)))
    if len(normalized) != len(axes) and axes:
        raise cls.fail(f"axes {list(axes)} repeat an axis")
    if keepdims:
        return tuple(1 if i in normalized else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in normalized)


class ReduceOp(GeOp):
    """Reduce over `axes` (empty: all axes), keeping them as size 1 if `keepdims`."""

    input = operand_def()
    output = result_def()
    axes = prop_def(I64_ARRAY)
    keepdims = prop_def(IntegerAttr)
    DEFAULTS: ClassVar[dict] = {"axes": (), "keepdims": True}
    assembly_format = UNARY_FORMAT
    FLOAT_ONLY: ClassVar[bool] = False

    @classmethod
    def infer_result_types(cls, operand_types: Sequence[Attribute], props: Props):
        t = require_tensor(cls, "input", operand_types[0])
        if cls.FLOAT_ONLY:
            require_float(cls, "input", t)
        shape = reduced_shape(
            cls, shape_of(t), prop_ints(props, "axes"), prop_bool(props, "keepdims")
        )
        return [tensor(shape, element_of(t))]


def _reduce(name: str, doc: str, float_only: bool) -> type[ReduceOp]:
    cls_name = "".join(p.capitalize() for p in name.split(".")[1].split("_")) + "Op"
    body = {
        "name": name,
        "__doc__": doc,
        "FLOAT_ONLY": float_only,
        "__annotations__": {"FLOAT_ONLY": ClassVar[bool]},
    }
    return irdl_op_definition(type(cls_name, (ReduceOp,), body))


ReduceSumOp = _reduce("ge.reduce_sum", "Sum over axes.", False)
ReduceMeanOp = _reduce("ge.reduce_mean", "Mean over axes.", True)
ReduceMaxOp = _reduce("ge.reduce_max", "Max over axes.", False)
ReduceMinOp = _reduce("ge.reduce_min", "Min over axes.", False)
ReduceProdOp = _reduce("ge.reduce_prod", "Product over axes.", False)
ReduceL2Op = _reduce("ge.reduce_l2", "sqrt(sum(x ** 2)) over axes.", True)


class ArgReduceOp(GeOp):
    """Index of the extreme element along `axis`, as i64."""

    input = operand_def()
    output = result_def()
    axis = prop_def(IntegerAttr)
    keepdims = prop_def(IntegerAttr)
    select_last_index = prop_def(IntegerAttr)
    DEFAULTS: ClassVar[dict] = {"axis": 0, "keepdims": True, "select_last_index": False}
    assembly_format = UNARY_FORMAT

    @classmethod
    def infer_result_types(cls, operand_types: Sequence[Attribute], props: Props):
        t = require_tensor(cls, "input", operand_types[0])
        axis = prop_int(props, "axis")
        shape = reduced_shape(cls, shape_of(t), [axis], prop_bool(props, "keepdims"))
        return [tensor(shape, i64)]


@irdl_op_definition
class ArgMaxOp(ArgReduceOp):
    """Index of the max (first one unless select_last_index)."""

    name = "ge.argmax"


@irdl_op_definition
class ArgMinOp(ArgReduceOp):
    """Index of the min (first one unless select_last_index)."""

    name = "ge.argmin"


# ---------------------------------------------------------------------------
# Data movement
# ---------------------------------------------------------------------------


@irdl_op_definition
class TransposeOp(GeOp):
    """Permute dims: result dim i is input dim perm[i]."""

    name = "ge.transpose"
    input = operand_def()
    output = result_def()
    perm = prop_def(I64_ARRAY)
    assembly_format = UNARY_FORMAT

    @classmethod
    def infer_result_types(cls, operand_types: Sequence[Attribute], props: Props):
        t = require_tensor(cls, "input", operand_types[0])
        shape = shape_of(t)
        perm = prop_ints(props, "perm")
        if sorted(perm) != list(range(len(shape))):
            raise cls.fail(f"perm {list(perm)} is not a permutation of {len(shape)} dims")
        return [tensor([shape[p] for p in perm], element_of(t))]


@irdl_op_definition
class ReshapeOp(GeOp):
    """View the elements in row-major order with the static shape `shape`."""

    name = "ge.reshape"
    input = operand_def()
    output = result_def()
    shape = prop_def(I64_ARRAY)
    assembly_format = UNARY_FORMAT

    @classmethod
    def infer_result_types(cls, operand_types: Sequence[Attribute], props: Props):
        t = require_tensor(cls, "input", operand_types[0])
        new = prop_ints(props, "shape")
        old_n, new_n = _prod(shape_of(t)), _prod(new)
        if min(new, default=0) < 0 or old_n != new_n:
            raise cls.fail(f"cannot reshape {format_type(t)} ({old_n} elements) to {list(new)}")
        return [tensor(new, element_of(t))]


@irdl_op_definition
class ExpandOp(GeOp):
    """Broadcast the input to `shape` (ONNX Expand: the result is broadcast(input, shape))."""

    name = "ge.expand"
    input = operand_def()
    output = result_def()
    shape = prop_def(I64_ARRAY)
    assembly_format = UNARY_FORMAT

    @classmethod
    def infer_result_types(cls, operand_types: Sequence[Attribute], props: Props):
        t = require_tensor(cls, "input", operand_types[0])
        shape = broadcast(cls, [shape_of(t), prop_ints(props, "shape")])
        return [tensor(shape, element_of(t))]


@irdl_op_definition
class ConcatOp(GeOp):
    """Join tensors along `axis`."""

    name = "ge.concat"
    inputs = var_operand_def()
    output = result_def()
    axis = prop_def(IntegerAttr)
    assembly_format = "$inputs attr-dict `:` functional-type(operands, results)"

    @classmethod
    def infer_result_types(cls, operand_types: Sequence[Attribute], props: Props):
        if not operand_types:
            raise cls.fail("needs at least one input")
        element = require_same_element(cls, operand_types)
        shapes = [shape_of(t) for t in operand_types]
        rank = len(shapes[0])
        axis = normalize_axis(cls, prop_int(props, "axis"), rank)
        for s in shapes:
            if len(s) != rank or any(
                a != b for i, (a, b) in enumerate(zip(s, shapes[0])) if i != axis
            ):
                raise cls.fail(f"inputs differ outside axis {axis}: {shapes}")
        out = list(shapes[0])
        out[axis] = sum(s[axis] for s in shapes)
        return [tensor(out, element)]


def slice_extent(start: int, end: int, step: int, dim: int) -> tuple[int, int, int]:
    """Clamp ONNX Slice bounds for one axis; returns (start, end, count)."""
    rng = range(dim)[slice(start, end, step)]
    return rng.start, rng.stop, len(rng)


@irdl_op_definition
class SliceOp(GeOp):
    """ONNX Slice with static starts/ends/axes/steps (clamped, negative = from end)."""

    name = "ge.slice"
    input = operand_def()
    output = result_def()
    starts = prop_def(I64_ARRAY)
    ends = prop_def(I64_ARRAY)
    axes = prop_def(I64_ARRAY)
    steps = prop_def(I64_ARRAY)
    assembly_format = UNARY_FORMAT

    @classmethod
    def infer_result_types(cls, operand_types: Sequence[Attribute], props: Props):
        t = require_tensor(cls, "input", operand_types[0])
        shape = list(shape_of(t))
        starts, ends = prop_ints(props, "starts"), prop_ints(props, "ends")
        axes, steps = prop_ints(props, "axes"), prop_ints(props, "steps")
        if not len(starts) == len(ends) == len(axes) == len(steps):
            raise cls.fail("starts, ends, axes and steps must have the same length")
        if 0 in steps:
            raise cls.fail("steps must be non-zero")
        for s, e, a, st in zip(starts, ends, axes, steps):
            a = normalize_axis(cls, a, len(shape))
            shape[a] = slice_extent(s, e, st, shape[a])[2]
        return [tensor(shape, element_of(t))]


@irdl_op_definition
class GatherOp(GeOp):
    """ONNX Gather: take entries of `data` along `axis` at integer `indices`."""

    name = "ge.gather"
    data = operand_def()
    indices = operand_def()
    output = result_def()
    axis = prop_def(IntegerAttr)
    DEFAULTS: ClassVar[dict] = {"axis": 0}
    assembly_format = "$data `,` $indices attr-dict `:` functional-type(operands, results)"

    @classmethod
    def infer_result_types(cls, operand_types: Sequence[Attribute], props: Props):
        data = shape_of(require_tensor(cls, "data", operand_types[0]))
        idx_t = require_tensor(cls, "indices", operand_types[1])
        if element_of(idx_t) not in (i32, i64):
            raise cls.fail(f"indices must be i32 or i64, got {format_type(idx_t)}")
        axis = normalize_axis(cls, prop_int(props, "axis"), len(data))
        shape = (*data[:axis], *shape_of(idx_t), *data[axis + 1 :])
        return [tensor(shape, element_of(operand_types[0]))]


@irdl_op_definition
class SplitOp(GeOp):
    """Cut the input along `axis` into pieces of the given `sizes`."""

    name = "ge.split"
    input = operand_def()
    outputs = var_result_def()
    axis = prop_def(IntegerAttr)
    sizes = prop_def(I64_ARRAY)
    assembly_format = UNARY_FORMAT

    @classmethod
    def infer_result_types(cls, operand_types: Sequence[Attribute], props: Props):
        t = require_tensor(cls, "input", operand_types[0])
        shape = shape_of(t)
        axis = normalize_axis(cls, prop_int(props, "axis"), len(shape))
        sizes = prop_ints(props, "sizes")
        if sum(sizes) != shape[axis] or min(sizes, default=0) < 0:
            raise cls.fail(f"sizes {list(sizes)} do not add up to dim {shape[axis]} of axis {axis}")
        out = []
        for s in sizes:
            piece = list(shape)
            piece[axis] = s
            out.append(tensor(piece, element_of(t)))
        return out


@irdl_op_definition
class PadOp(GeOp):
    """ONNX Pad: pads are (begin of each axis..., end of each axis...), may be negative."""

    name = "ge.pad"
    input = operand_def()
    output = result_def()
    pads = prop_def(I64_ARRAY)
    mode = prop_def(StringAttr)
    value = prop_def(FloatAttr)
    DEFAULTS: ClassVar[dict] = {"mode": "constant", "value": 0.0}
    assembly_format = UNARY_FORMAT

    @classmethod
    def infer_result_types(cls, operand_types: Sequence[Attribute], props: Props):
        t = require_tensor(cls, "input", operand_types[0])
        shape = shape_of(t)
        pads = prop_ints(props, "pads")
        if len(pads) != 2 * len(shape):
            raise cls.fail(f"needs {2 * len(shape)} pads for rank {len(shape)}, got {len(pads)}")
        if prop_str(props, "mode") not in ("constant", "reflect", "edge", "wrap"):
            raise cls.fail(f'unknown mode "{prop_str(props, "mode")}"')
        out = [d + pads[i] + pads[i + len(shape)] for i, d in enumerate(shape)]
        if min(out, default=1) < 0:
            raise cls.fail(f"pads {list(pads)} leave a negative extent")
        return [tensor(out, element_of(t))]


@irdl_op_definition
class ResizeOp(GeOp):
    """ONNX Resize to the static `sizes` (nearest, linear or cubic, N-d, ONNX coordinate modes).

    Cubic alone takes `cubic_coeff_a` (the kernel's A, ONNX's default -0.75) and
    `exclude_outside` (drop taps outside the input and renormalize), so the other modes
    print as before.
    """

    name = "ge.resize"
    input = operand_def()
    output = result_def()
    sizes = prop_def(I64_ARRAY)
    scales = opt_prop_def(DenseArrayBase)
    mode = prop_def(StringAttr)
    coordinate_transformation_mode = prop_def(StringAttr)
    nearest_mode = prop_def(StringAttr)
    cubic_coeff_a = opt_prop_def(FloatAttr)
    exclude_outside = opt_prop_def(IntegerAttr)
    DEFAULTS: ClassVar[dict] = {
        "mode": "nearest",
        "coordinate_transformation_mode": "half_pixel",
        "nearest_mode": "round_prefer_floor",
    }
    assembly_format = UNARY_FORMAT

    @classmethod
    def infer_result_types(cls, operand_types: Sequence[Attribute], props: Props):
        t = require_tensor(cls, "input", operand_types[0])
        sizes = prop_ints(props, "sizes")
        if len(sizes) != len(shape_of(t)) or min(sizes, default=1) < 1:
            raise cls.fail(f"sizes {list(sizes)} do not fit {format_type(t)}")
        if prop_str(props, "mode") not in ("nearest", "linear", "cubic"):
            raise cls.fail(f'mode "{prop_str(props, "mode")}" is not supported')
        return [tensor(sizes, element_of(t))]


def _prod(shape: Sequence[int]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n
