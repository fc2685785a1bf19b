"""Buffers: on-chip allocations, device memory (HBM temporaries, constants) and HBM views.

On-chip buffers live inside a kernel; device memory and its views (reshaped, or a
contiguous window of it: `npu.view`) live between kernels, where the memory planner
(`passes/plan_memory.py`) gives them arena offsets. `constant_array` is how a lowering reads
a constant's data to transform weights at compile time.
"""

from __future__ import annotations

import numpy as np
from xdsl.dialects.builtin import DenseIntOrFPElementsAttr, IntegerAttr, TensorType, i64
from xdsl.ir import Attribute, SSAValue
from xdsl.irdl import (
    ParsePropInAttrDict,
    irdl_op_definition,
    operand_def,
    opt_prop_def,
    prop_def,
    result_def,
)
from xdsl.parser import Parser
from xdsl.printer import Printer

from gedialects.ge.constant import parse_constant_value, print_constant_value
from gedialects.npu.attrs import BufferType
from gedialects.npu.base import NpuOp
from gedialects.npu.checks import check_space, enclosing_kernel


@irdl_op_definition
class AllocOp(NpuOp):
    """An on-chip buffer of one core, live until the end of the region that holds it."""

    name = "npu.alloc"
    buffer = result_def(BufferType)
    assembly_format = "attr-dict `:` type($buffer)"

    def __init__(self, buffer: BufferType):
        super().__init__(result_types=[buffer])

    def verify_(self) -> None:
        check_space(self, "result", self.buffer.type, ("l1", "l0a", "l0b", "l0c", "ub"))
        if enclosing_kernel(self) is None:
            raise self.fail("on-chip buffers are allocated inside an npu.kernel")


@irdl_op_definition
class HbmAllocOp(NpuOp):
    """A device-memory buffer for the whole program, at `offset` in the planned arena if given."""

    name = "npu.hbm_alloc"
    offset = opt_prop_def(IntegerAttr)
    buffer = result_def(BufferType)
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "attr-dict `:` type($buffer)"

    def __init__(self, buffer: BufferType, offset: int | None = None):
        props = {} if offset is None else {"offset": IntegerAttr(offset, i64)}
        super().__init__(result_types=[buffer], properties=props)

    def verify_(self) -> None:
        check_space(self, "result", self.buffer.type, ("hbm", "l2"))
        if enclosing_kernel(self) is not None:
            raise self.fail("device memory is allocated outside kernels")
        if self.offset is not None and self.offset.value.data < 0:
            raise self.fail("offset must not be negative")


def constant_array(buffer: SSAValue) -> np.ndarray | None:
    """The data of an HBM buffer defined by `npu.hbm_constant` whose values the compiler holds
    (not elided), else None: what lets a lowering transform weights at compile time."""
    from gedialects.ge.constant import dense_to_numpy

    owner = buffer.owner
    if isinstance(owner, HbmConstantOp) and isinstance(owner.value, DenseIntOrFPElementsAttr):
        return dense_to_numpy(owner.value)
    return None


@irdl_op_definition
class HbmConstantOp(NpuOp):
    """A device-memory buffer holding constant data (weights), loaded before the program runs."""

    name = "npu.hbm_constant"
    value = prop_def(Attribute)
    """The data (dense), or its digest after elided printing (`ge.constant`'s forms)."""
    buffer = result_def(BufferType)

    def __init__(self, value: Attribute, buffer: BufferType):
        super().__init__(result_types=[buffer], properties={"value": value})

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        print_constant_value(printer, self.value)  # elided as ge.constant's above the limit
        printer.print_op_attributes(self.attributes)
        printer.print_string(" : ")
        printer.print_attribute(self.buffer.type)

    @classmethod
    def parse(cls, parser: Parser) -> HbmConstantOp:
        value = parse_constant_value(parser, cls.name)
        attributes = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        buffer = parser.parse_type()
        return cls.create(
            properties={"value": value}, attributes=attributes, result_types=[buffer]
        )

    @property
    def value_type(self) -> TensorType:
        """The tensor type of the data: the buffer's dims and element type."""
        buf = self.buffer.type
        assert isinstance(buf, BufferType)
        return TensorType(buf.element_type, list(buf.dims))

    @staticmethod
    def from_array(array: np.ndarray, element: Attribute) -> HbmConstantOp:
        """A constant of `array`'s data and shape with element type `element` (the lowerings'
        compile-time transforms of weights and their index and factor tables)."""
        from gedialects.ge.constant import dense_from_numpy

        array = np.asarray(array)  # dense_from_numpy copies a strided view into C order once
        return HbmConstantOp(dense_from_numpy(array), BufferType(array.shape, element, "hbm"))

    def verify_(self) -> None:
        buf = check_space(self, "result", self.buffer.type, ("hbm",))
        if not isinstance(self.value, DenseIntOrFPElementsAttr):
            return  # elided in printing; the data is elsewhere
        value_type = self.value.get_type()
        if tuple(value_type.get_shape()) != buf.dims or value_type.element_type != buf.element_type:
            raise self.fail(f"the value's type {value_type} does not match {buf}")


@irdl_op_definition
class ReshapeOp(NpuOp):
    """The same device memory seen in a new row-major shape: moves no data (between kernels)."""

    name = "npu.reshape"
    source = operand_def(BufferType)
    result = result_def(BufferType)
    assembly_format = "$source attr-dict `:` type($source) `->` type($result)"

    def __init__(self, source: SSAValue, result_type: BufferType):
        super().__init__(operands=[source], result_types=[result_type])

    def verify_(self) -> None:
        src = check_space(self, "source", self.source.type, ("hbm", "l2"))
        dst = check_space(self, "result", self.result.type, (src.space_name,))
        if enclosing_kernel(self) is not None:
            raise self.fail("device memory is reshaped between kernels, not inside them")
        same = src.num_elements == dst.num_elements and src.element_type == dst.element_type
        if not same or "ND" != src.format_name or "ND" != dst.format_name:
            raise self.fail(f"{src} and {dst} are not two ND views of the same data")


@irdl_op_definition
class ViewOp(NpuOp):
    """A contiguous window of device memory, from element `offset` of its source, seen in
    the result's row-major shape: moves no data (between kernels). A split into contiguous
    pieces is views of its input; a concat whose producers write in place is their results
    seen as views of its own buffer (GE's no-task ops), as MLIR's memref.subview names a
    part of a buffer without copying it."""

    name = "npu.view"
    source = operand_def(BufferType)
    offset = prop_def(IntegerAttr)
    result = result_def(BufferType)
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$source attr-dict `:` type($source) `->` type($result)"

    def __init__(self, source: SSAValue, result_type: BufferType, offset: int = 0):
        props = {"offset": IntegerAttr(offset, i64)}
        super().__init__(operands=[source], result_types=[result_type], properties=props)

    def verify_(self) -> None:
        src = check_space(self, "source", self.source.type, ("hbm", "l2"))
        dst = check_space(self, "result", self.result.type, (src.space_name,))
        if enclosing_kernel(self) is not None:
            raise self.fail("device memory is viewed between kernels, not inside them")
        if src.element_type != dst.element_type or "ND" != src.format_name != dst.format_name:
            raise self.fail(f"{dst} is not an ND view of {src}")
        start = self.offset.value.data
        if start < 0 or start + dst.num_elements > src.num_elements:
            raise self.fail(
                f"elements [{start}, {start + dst.num_elements}) are past the "
                f"{src.num_elements} of {src}"
            )
