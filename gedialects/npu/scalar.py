"""`npu.load_scalar`: the scalar unit reads one element of a UB buffer into an index.

Gathers (embedding lookups) address their DMAs with indices that are runtime data: the S
pipe reads an index from UB and the DMA that follows uses it as an offset. With `bound`,
a negative value wraps once (ONNX Gather: -1 is the last entry) and a value outside
[-bound, bound) is an interpretation error naming the op, as on the chip it would address
memory outside the tensor.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import IndexType, IntegerAttr, i64
from xdsl.dialects.utils.dynamic_index_list import DynamicIndexList
from xdsl.ir import SSAValue
from xdsl.irdl import (
    ParsePropInAttrDict,
    irdl_op_definition,
    operand_def,
    opt_prop_def,
    prop_def,
    result_def,
    var_operand_def,
)

from gedialects.npu.attrs import BufferType
from gedialects.npu.base import I64_ARRAY, NpuOp, mixed, split_mixed
from gedialects.npu.checks import check_space, require_kernel


@irdl_op_definition
class LoadScalarOp(NpuOp):
    """result = src[offsets] as an index (wrapped and range-checked against `bound` if set)."""

    name = "npu.load_scalar"
    src = operand_def(BufferType)
    offsets = var_operand_def(IndexType)
    static_offsets = prop_def(I64_ARRAY)
    bound = opt_prop_def(IntegerAttr)
    result = result_def(IndexType)
    irdl_options = (ParsePropInAttrDict(),)
    custom_directives = (DynamicIndexList,)
    assembly_format = (
        "$src custom<DynamicIndexList>($offsets, $static_offsets) attr-dict `:` type($src)"
    )

    def __init__(self, src: SSAValue, offsets: Sequence[int | SSAValue], bound: int | None = None):
        static, dynamic = split_mixed(offsets)
        props = {"static_offsets": static}
        if bound is not None:
            props["bound"] = IntegerAttr(bound, i64)
        super().__init__(operands=[src, dynamic], properties=props, result_types=[IndexType()])

    def index_list(self) -> list[int | SSAValue]:
        return mixed(self.static_offsets, self.offsets)

    def verify_(self) -> None:
        require_kernel(self)
        buf = check_space(self, "source", self.src.type, ("ub",))
        if len(self.static_offsets.get_values()) != len(buf.dims):
            raise self.fail(f"needs one offset per axis of {buf}")
        if buf.dtype.kind not in "iu":
            raise self.fail(f"reads integer indices, not {buf}")
        if self.bound is not None and self.bound.value.data <= 0:
            raise self.fail("bound must be positive")
