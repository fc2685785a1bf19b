"""Elementwise `ge` ops: unary and binary families (broadcasting as numpy/ONNX),
comparisons, logical connectives, casts and select.

Each family is an abstract base carrying the type rule, so most concrete ops are one line.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from xdsl.dialects.builtin import FloatAttr, IntegerAttr, StringAttr, TypeAttribute, i1
from xdsl.ir import Attribute
from xdsl.irdl import irdl_op_definition, operand_def, opt_prop_def, prop_def, result_def

from gedialects.ge.base import (
    GeOp,
    Props,
    broadcast,
    prop_str,
    require_bool,
    require_float,
    require_same_element,
    require_tensor,
)
from gedialects.ge.ops.common import BINARY_FORMAT, UNARY_FORMAT, op_class_name
from gedialects.ge.types import (
    SUPPORTED_ELEMENT_TYPES,
    element_of,
    format_type,
    is_bool,
    shape_of,
    tensor,
)


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
    cls_name = op_class_name(name)
    return irdl_op_definition(type(cls_name, (base,), body))


def _binary(name: str, doc: str, base: type[BinaryOp] = BinaryOp) -> type[BinaryOp]:
    cls_name = op_class_name(name)
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
class SiluOp(UnaryOp):
    """x * sigmoid(alpha * x): SiLU with alpha absent (1), ONNX's Swish (opset 24) with it,
    QuickGELU (CLIP) with 1.702."""

    name = "ge.silu"
    alpha = opt_prop_def(FloatAttr)

    @property
    def gain(self) -> float:
        """alpha, 1 when absent."""
        return 1.0 if self.alpha is None else self.alpha.value.data


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
    """Convert elements to the type `to` (ONNX Cast: float to int truncates). With
    `saturate`, a float8 target takes finite values beyond its range as its largest
    magnitude (ONNX Cast-19's default) instead of infinity or NaN. An f8E8M0FNU target (a
    power-of-two scale) rounds its exponent by `round_mode`: "up" (ONNX's default),
    "down" or "nearest"."""

    name = "ge.cast"
    input = operand_def()
    output = result_def()
    to = prop_def(TypeAttribute)
    saturate = opt_prop_def(IntegerAttr)
    round_mode = opt_prop_def(StringAttr)
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
