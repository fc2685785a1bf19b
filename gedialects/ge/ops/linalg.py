"""Linear algebra and convolution `ge` ops: matmul, conv2d, conv_transpose2d."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from xdsl.dialects.builtin import IntegerAttr
from xdsl.ir import Attribute
from xdsl.irdl import irdl_op_definition, operand_def, opt_operand_def, prop_def, result_def

from gedialects.ge.base import (
    GeOp,
    Props,
    broadcast,
    prop_int,
    prop_ints,
    require_float,
    require_rank,
    require_same_element,
)
from gedialects.ge.ops.common import BINARY_FORMAT, I64_ARRAY, pool_out, spatial_attrs
from gedialects.ge.types import format_type, shape_of, tensor


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
        strides, pads, dil = spatial_attrs(cls, props, 2)
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
        strides, pads, dil = spatial_attrs(cls, props, 2)
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
