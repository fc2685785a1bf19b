"""`ge` ops that normalize, activate or rotate along an axis: batch, instance, group, layer
and RMS norm, softmax, LRN, dropout and the rotary position embedding."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from xdsl.dialects.builtin import FloatAttr, IntegerAttr
from xdsl.ir import Attribute, Operation
from xdsl.irdl import (
    irdl_op_definition,
    operand_def,
    opt_operand_def,
    opt_prop_def,
    prop_def,
    result_def,
)

from gedialects.ge.base import (
    GeOp,
    Props,
    broadcast,
    normalize_axis,
    prop_float,
    prop_int,
    require_float,
    require_same_element,
)
from gedialects.ge.ops.common import UNARY_FORMAT
from gedialects.ge.ops.elementwise import UnaryOp
from gedialects.ge.types import format_type, shape_of


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
        return [_spatial_norm_result(cls, operand_types)]


def _spatial_norm_result(cls: type[GeOp], operand_types: Sequence[Attribute]) -> Attribute:
    """The result type of an instance or group norm: the input's, a float (N, C, spatial...)
    tensor with (C,) scale and bias of its element type."""
    require_same_element(cls, operand_types)
    require_float(cls, "input", operand_types[0])
    shape = shape_of(operand_types[0])
    if len(shape) < 3:
        raise cls.fail("input must have rank >= 3 (N, C, spatial...)")
    for what, t in zip(("scale", "bias"), operand_types[1:]):
        if shape_of(t) != (shape[1],):
            raise cls.fail(f"{what} must have shape {shape[1]}, got {format_type(t)}")
    return operand_types[0]


@irdl_op_definition
class GroupNormOp(GeOp):
    """Per-sample normalization over groups of `num_groups` channels, then a per-channel
    affine (ONNX GroupNormalization opset 21, torch.nn.GroupNorm): the channels are split
    into `num_groups` equal groups, each group's (C / G) x spatial values share one mean and
    one (biased) variance, and channel c is then scaled by scale[c] and shifted by bias[c].
    The norm of diffusion UNets and VAEs, where a SiLU usually follows it."""

    name = "ge.group_norm"
    input = operand_def()
    scale = operand_def()
    bias = operand_def()
    output = result_def()
    num_groups = prop_def(IntegerAttr)
    epsilon = prop_def(FloatAttr)
    DEFAULTS: ClassVar[dict] = {"epsilon": 1e-5}
    assembly_format = "$input `,` $scale `,` $bias attr-dict `:` functional-type(operands, results)"

    @classmethod
    def infer_result_types(cls, operand_types: Sequence[Attribute], props: Props):
        result = _spatial_norm_result(cls, operand_types)
        channels, groups = shape_of(result)[1], prop_int(props, "num_groups")
        if groups < 1 or channels % groups:
            raise cls.fail(f"num_groups {groups} does not divide the {channels} channels")
        return [result]


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


@irdl_op_definition
class RMSNormOp(GeOp):
    """x / sqrt(mean(x^2 over dims axis..) + eps) * scale, ONNX (opset 23) RMSNormalization:
    the LLaMA / T5 / Mistral norm, layer norm without the mean and the bias."""

    name = "ge.rms_norm"
    input = operand_def()
    scale = operand_def()
    output = result_def()
    axis = prop_def(IntegerAttr)
    epsilon = prop_def(FloatAttr)
    DEFAULTS: ClassVar[dict] = {"axis": -1, "epsilon": 1e-5}
    assembly_format = "$input `,` $scale attr-dict `:` functional-type(operands, results)"

    @classmethod
    def infer_result_types(cls, operand_types: Sequence[Attribute], props: Props):
        require_same_element(cls, operand_types)
        require_float(cls, "input", operand_types[0])
        shape = shape_of(operand_types[0])
        axis = normalize_axis(cls, prop_int(props, "axis"), len(shape))
        normalized = shape[axis:]
        broadcast(cls, [normalized, shape_of(operand_types[1])])
        if len(shape_of(operand_types[1])) > len(normalized):
            raise cls.fail(
                f"scale {format_type(operand_types[1])} has more dims than normalized {normalized}"
            )
        return [operand_types[0]]


@irdl_op_definition
class RopeOp(GeOp):
    """Rotary position embedding in the rotate-half form: x * cos + rotate_half(x) * sin,
    with rotate_half(x) = concat(-x[..., D/2:], x[..., :D/2]) over the last axis (D even) and
    cos, sin broadcasting to x (HF transformers' apply_rotary_pos_emb: LLaMA, Mistral, Qwen,
    Phi, GPT-NeoX), so their last axis is D or 1. With `rotary_dim` R (even, below D: Phi's
    and GPT-NeoX's partial rotary) the first R of the last axis rotate so, with tables of
    last axis R or 1, and the other D - R pass through."""

    name = "ge.rope"
    input = operand_def()
    cos = operand_def()
    sin = operand_def()
    output = result_def()
    rotary_dim = opt_prop_def(IntegerAttr)
    assembly_format = "$input `,` $cos `,` $sin attr-dict `:` functional-type(operands, results)"

    @classmethod
    def infer_result_types(cls, operand_types: Sequence[Attribute], props: Props):
        require_same_element(cls, operand_types)
        require_float(cls, "input", operand_types[0])
        shape = shape_of(operand_types[0])
        if not shape or ("rotary_dim" not in props and shape[-1] % 2):
            raise cls.fail(f"the last axis of input {format_type(operand_types[0])} must be even")
        rotated = prop_int(props, "rotary_dim") if "rotary_dim" in props else shape[-1]
        if not 0 < rotated <= shape[-1] or rotated % 2:
            raise cls.fail(f"rotary_dim {rotated} must be even and in (0, {shape[-1]}]")
        part = (*shape[:-1], rotated)
        for what, t in zip(("cos", "sin"), operand_types[1:]):
            other = shape_of(t)
            if broadcast(cls, [part, other]) != part:
                raise cls.fail(
                    f"{what} {format_type(t)} must broadcast to the rotated part {list(part)} "
                    f"of {format_type(operand_types[0])} without growing it"
                )
        return [operand_types[0]]

    def rotated(self) -> int:
        """R: the length of the rotated part of the last axis (all of it by default)."""
        return rotated_width(self)


def rotated_width(op: Operation) -> int:
    """R of a `ge.rope` or of the kernel that mirrors it: its rotary_dim, else the whole
    last axis of its input."""
    if "rotary_dim" in op.properties:
        return op.properties["rotary_dim"].value.data
    return shape_of(op.operands[0].type)[-1]


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
