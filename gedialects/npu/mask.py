"""Vector compares and select: the masks behind where, compares and logical ops.

The Ascend vector unit compares two tiles (or a tile and a scalar) into a mask (`vcmp`,
`vcmps`) and selects between two tiles by a mask (`vsel`). Here a mask is a UB buffer of
`i1`; compares broadcast as numpy does, so a (1, c) row compares against an (r, c) tile.
The numpy meaning is in `runtime.npu_semantics` (`compare`, `select`).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from xdsl.dialects.builtin import Float64Type, FloatAttr, StringAttr, i1
from xdsl.ir import SSAValue
from xdsl.irdl import irdl_op_definition, operand_def, prop_def

from gedialects.npu.attrs import BufferType
from gedialects.npu.vector import VecOp

PREDICATES = ("eq", "ne", "lt", "le", "gt", "ge")


def _broadcast(op: VecOp, shapes: list[tuple[int, ...]], dst: BufferType) -> None:
    try:
        shape = np.broadcast_shapes(*shapes)
    except ValueError:
        raise op.fail(f"shapes {shapes} do not broadcast") from None
    if shape != dst.dims:
        raise op.fail(f"the broadcast shape {shape} is not the destination's {dst.dims}")


class _PredicateOp(VecOp):
    predicate = prop_def(StringAttr)

    def check_predicate(self, dst: BufferType) -> None:
        if self.predicate.data not in PREDICATES:
            raise self.fail(f'predicate "{self.predicate.data}" is not one of {PREDICATES}')
        if dst.element_type != i1:
            raise self.fail(f"a compare writes an i1 mask, not {dst}")


@irdl_op_definition
class VecCmpOp(_PredicateOp):
    """dst = lhs <predicate> rhs (an i1 mask; operands broadcast)."""

    name = "npu.vec_cmp"
    FN: ClassVar[str] = "cmp"
    lhs = operand_def(BufferType)
    rhs = operand_def(BufferType)
    dst = operand_def(BufferType)
    assembly_format = (
        "$predicate $lhs `,` $rhs `->` $dst attr-dict `:` type($lhs) `,` type($rhs) `->` type($dst)"
    )

    def __init__(self, predicate: str, lhs: SSAValue, rhs: SSAValue, dst: SSAValue):
        props = {"predicate": StringAttr(predicate)}
        super().__init__(operands=[lhs, rhs, dst], properties=props)

    def check_shapes(self, *bufs: BufferType) -> None:
        lhs, rhs, dst = bufs
        self.check_predicate(dst)
        if lhs.element_type != rhs.element_type:
            raise self.fail(f"compared operands {lhs} and {rhs} differ in element type")
        _broadcast(self, [lhs.dims, rhs.dims], dst)


@irdl_op_definition
class VecCmpsOp(_PredicateOp):
    """dst = src <predicate> scalar (an i1 mask of src's shape)."""

    name = "npu.vec_cmps"
    FN: ClassVar[str] = "cmps"
    src = operand_def(BufferType)
    scalar = prop_def(FloatAttr[Float64Type])
    dst = operand_def(BufferType)
    assembly_format = (
        "$predicate $src `,` $scalar `->` $dst attr-dict `:` type($src) `->` type($dst)"
    )

    def __init__(self, predicate: str, src: SSAValue, scalar: float, dst: SSAValue):
        props = {"predicate": StringAttr(predicate), "scalar": FloatAttr(scalar, 64)}
        super().__init__(operands=[src, dst], properties=props)

    def check_shapes(self, *bufs: BufferType) -> None:
        src, dst = bufs
        self.check_predicate(dst)
        if src.dims != dst.dims:
            raise self.fail(f"the mask {dst} must have the shape of {src}")


@irdl_op_definition
class VecSelectOp(VecOp):
    """dst = mask ? lhs : rhs (all three broadcast to dst)."""

    name = "npu.vec_select"
    FN: ClassVar[str] = "select"
    mask = operand_def(BufferType)
    lhs = operand_def(BufferType)
    rhs = operand_def(BufferType)
    dst = operand_def(BufferType)
    assembly_format = (
        "$mask `,` $lhs `,` $rhs `->` $dst attr-dict `:` type($mask) `,` type($lhs) `,` "
        "type($rhs) `->` type($dst)"
    )

    def __init__(self, mask: SSAValue, lhs: SSAValue, rhs: SSAValue, dst: SSAValue):
        super().__init__(operands=[mask, lhs, rhs, dst])

    def check_shapes(self, *bufs: BufferType) -> None:
        mask, lhs, rhs, dst = bufs
        if mask.element_type != i1:
            raise self.fail(f"the mask must be i1, got {mask}")
        if not lhs.element_type == rhs.element_type == dst.element_type:
            raise self.fail("the selected operands and the destination need one element type")
        _broadcast(self, [mask.dims, lhs.dims, rhs.dims], dst)


MASK_OPS: list[type[VecOp]] = [VecCmpOp, VecCmpsOp, VecSelectOp]
