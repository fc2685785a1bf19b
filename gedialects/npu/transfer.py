"""Data transfers: DMA between memory spaces, and data-format changes in UB.

A DMA copies a window of one buffer into a window of another (the pipe follows from the two
spaces, `PATH_PIPES`), padding a larger destination window, or adds it into an HBM window
(`atomic = "add"`); an MTE1 load into L0A / L0B may transpose a 2-D window on the way
(`transpose`: the load's transposing mode, which puts a K^T operand on the cube without a
transpose kernel); `npu.trans_data` changes a UB
buffer's format (ND/NCHW <-> NC1HWC0, ND <-> FRACTAL_NZ) on the vector pipe.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import FloatAttr, IndexType, StringAttr, UnitAttr
from xdsl.dialects.utils.dynamic_index_list import DynamicIndexList
from xdsl.ir import Attribute, SSAValue
from xdsl.irdl import (
    AttrSizedOperandSegments,
    ParsePropInAttrDict,
    irdl_op_definition,
    operand_def,
    opt_prop_def,
    prop_def,
    var_operand_def,
)

from gedialects.npu.attrs import BufferType
from gedialects.npu.base import I64_ARRAY, NpuOp, mixed, split_mixed
from gedialects.npu.checks import check_dma, check_transdata

DMA_LISTS = ("src_offsets", "src_sizes", "dst_offsets", "dst_sizes")


@irdl_op_definition
class DmaOp(NpuOp):
    """Copy a window of `src` into a window of `dst`; a larger dst window is filled with `pad`."""

    name = "npu.dma"
    src = operand_def(BufferType)
    src_offsets = var_operand_def(IndexType)
    src_sizes = var_operand_def(IndexType)
    dst = operand_def(BufferType)
    dst_offsets = var_operand_def(IndexType)
    dst_sizes = var_operand_def(IndexType)
    static_src_offsets = prop_def(I64_ARRAY)
    static_src_sizes = prop_def(I64_ARRAY)
    static_dst_offsets = prop_def(I64_ARRAY)
    static_dst_sizes = prop_def(I64_ARRAY)
    pad = opt_prop_def(FloatAttr)
    atomic = opt_prop_def(StringAttr)
    """"add": the store adds the source into the destination (the MTE3/FIX atomic add
    into HBM that scatter-adds from several cores rely on) instead of overwriting it."""
    transpose = opt_prop_def(UnitAttr)
    """The 2-D destination window is the source window transposed (an L1 -> L0A / L0B load
    only: the MTE1 load's transposing mode)."""
    irdl_options = (AttrSizedOperandSegments(as_property=True), ParsePropInAttrDict())
    custom_directives = (DynamicIndexList,)
    assembly_format = (
        "$src custom<DynamicIndexList>($src_offsets, $static_src_offsets)"
        " custom<DynamicIndexList>($src_sizes, $static_src_sizes)"
        " `->` $dst custom<DynamicIndexList>($dst_offsets, $static_dst_offsets)"
        " custom<DynamicIndexList>($dst_sizes, $static_dst_sizes)"
        " attr-dict `:` type($src) `->` type($dst)"
    )

    def __init__(
        self,
        src: SSAValue,
        src_offsets: Sequence[int | SSAValue],
        src_sizes: Sequence[int | SSAValue],
        dst: SSAValue,
        dst_offsets: Sequence[int | SSAValue],
        dst_sizes: Sequence[int | SSAValue] | None = None,
        pad: float | None = None,
        atomic: str | None = None,
        transpose: bool = False,
    ):
        lists = [split_mixed(v) for v in (src_offsets, src_sizes, dst_offsets)]
        lists.append(split_mixed(src_sizes if dst_sizes is None else dst_sizes))
        props: dict[str, Attribute] = {
            f"static_{k}": s for k, (s, _) in zip(DMA_LISTS, lists, strict=True)
        }
        if pad is not None:
            props["pad"] = FloatAttr(pad, 64)
        if atomic is not None:
            props["atomic"] = StringAttr(atomic)
        if transpose:
            props["transpose"] = UnitAttr()
        operands = [src, lists[0][1], lists[1][1], dst, lists[2][1], lists[3][1]]
        super().__init__(operands=operands, properties=props)

    def window(self, which: str) -> list[int | SSAValue]:
        """`src_offsets`, `src_sizes`, `dst_offsets` or `dst_sizes` as a mixed list."""
        return mixed(getattr(self, f"static_{which}"), getattr(self, which))

    @property
    def pad_value(self) -> float:
        return 0.0 if self.pad is None else self.pad.value.data

    def verify_(self) -> None:
        check_dma(self)


@irdl_op_definition
class TransDataOp(NpuOp):
    """Change a UB buffer's data format (ND/NCHW <-> NC1HWC0, ND <-> FRACTAL_NZ) on the V pipe."""

    name = "npu.trans_data"
    src = operand_def(BufferType)
    dst = operand_def(BufferType)
    assembly_format = "$src `->` $dst attr-dict `:` type($src) `->` type($dst)"

    def __init__(self, src: SSAValue, dst: SSAValue):
        super().__init__(operands=[src, dst])

    def verify_(self) -> None:
        check_transdata(self)
