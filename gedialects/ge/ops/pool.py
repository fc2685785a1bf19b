"""Window pools, global pools and reductions (`reduce_*`, `argmax`/`argmin`) of `ge`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from xdsl.dialects.builtin import IntegerAttr, i64
from xdsl.ir import Attribute
from xdsl.irdl import irdl_op_definition, operand_def, prop_def, result_def

from gedialects.ge.base import (
    GeOp,
    Props,
    normalize_axis,
    prop_bool,
    prop_int,
    prop_ints,
    require_float,
    require_rank,
    require_tensor,
)
from gedialects.ge.ops.common import I64_ARRAY, UNARY_FORMAT, op_class_name, pool_out, spatial_attrs
from gedialects.ge.types import element_of, shape_of, tensor


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
        strides, pads, dil = spatial_attrs(cls, props, 2)
        ceil = prop_bool(props, "ceil_mode")
        oh = pool_out(cls, h, kh, strides[0], pads[0], pads[2], dil[0], ceil)
        ow = pool_out(cls, w, kw, strides[1], pads[1], pads[3], dil[1], ceil)
        return [tensor((n, c, oh, ow), element_of(operand_types[0]))]


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
    cls_name = op_class_name(name)
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
