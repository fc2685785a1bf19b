"""`npu.mmad`: the cube's matrix multiply-accumulate, L0A x L0B into L0C.

Sizes (m, n, k) may be dynamic, so edge tiles of a tile loop read only their valid part;
`accumulate` (an i1) adds to L0C instead of overwriting it, for a K loop.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import IndexType, i1
from xdsl.dialects.utils.dynamic_index_list import DynamicIndexList
from xdsl.ir import SSAValue
from xdsl.irdl import (
    AttrSizedOperandSegments,
    irdl_op_definition,
    operand_def,
    opt_operand_def,
    prop_def,
    var_operand_def,
)

from gedialects.npu.attrs import BufferType
from gedialects.npu.base import I64_ARRAY, NpuOp, mixed, split_mixed
from gedialects.npu.checks import check_mmad


@irdl_op_definition
class MmadOp(NpuOp):
    """c[:m, :n] = (c[:m, :n] if accumulate else 0) + a[:m, :k] @ b[:k, :n] on the cube."""

    name = "npu.mmad"
    a = operand_def(BufferType)
    b = operand_def(BufferType)
    c = operand_def(BufferType)
    sizes = var_operand_def(IndexType)
    accumulate = opt_operand_def(i1)
    static_sizes = prop_def(I64_ARRAY)
    irdl_options = (AttrSizedOperandSegments(as_property=True),)
    custom_directives = (DynamicIndexList,)
    assembly_format = (
        "$a `,` $b `->` $c custom<DynamicIndexList>($sizes, $static_sizes)"
        " (`accumulate` `(` $accumulate^ `)`)? attr-dict `:` type($a) `,` type($b) `->` type($c)"
    )

    def __init__(
        self,
        a: SSAValue,
        b: SSAValue,
        c: SSAValue,
        sizes: Sequence[int | SSAValue],
        accumulate: SSAValue | None = None,
    ):
        static, dynamic = split_mixed(sizes)
        super().__init__(
            operands=[a, b, c, dynamic, [] if accumulate is None else [accumulate]],
            properties={"static_sizes": static},
        )

    @property
    def mnk(self) -> list[int | SSAValue]:
        return mixed(self.static_sizes, self.sizes)

    def verify_(self) -> None:
        check_mmad(self)
