"""`kernel.elementwise`: any chain of elementwise and broadcast ops as one kernel.

Like `linalg.generic`, the kernel holds a scalar body: one block argument per input, of
that input's element type, and ops computing one output element, ending in
`kernel.yield`. The body ops are the `ge` elementwise ops themselves applied to rank-0
tensors (`tensor<f32>` is the scalar of `f32`), so a body op means exactly what its `ge`
op means (dtype rules, integer division, NaN handling) with no second definition, and
every `ge` rewrite (folding, simplification, CSE) applies inside bodies unchanged.
Inputs broadcast (numpy rules) to the result shape, which may be larger than every input
(a fused `ge.expand`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from xdsl.dialects.builtin import TensorType
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    region_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.traits import IsolatedFromAbove, IsTerminator, Pure

from gedialects.errors import GeVerifyError
from gedialects.ge import ops as ge
from gedialects.ge.constant import ConstantOp
from gedialects.ge.types import element_of, format_type, shape_of, tensor
from gedialects.kernel.base import KernelOp, fused_from_attr

ELEMENTWISE_FAMILIES: tuple[type, ...] = (ge.UnaryOp, ge.BinaryOp, ge.WhereOp, ge.CastOp)
NOT_ELEMENTWISE: tuple[type, ...] = (ge.LRNOp,)


def is_elementwise(op: Operation) -> bool:
    """Whether `op` is a `ge` op computed element by element (with broadcasting)."""
    return isinstance(op, ELEMENTWISE_FAMILIES) and not isinstance(op, NOT_ELEMENTWISE)


def scalar_type(t: Attribute) -> TensorType:
    """The body type (rank-0 tensor) of one element of the tensor type `t`."""
    return tensor([], element_of(t))


@irdl_op_definition
class ElementwiseOp(KernelOp):
    """One kernel computing `body` on every element of the (broadcast) inputs."""

    name = "kernel.elementwise"
    inputs = var_operand_def()
    output = result_def()
    body = region_def("single_block")
    traits = traits_def(IsolatedFromAbove())
    assembly_format = "$inputs attr-dict `:` functional-type($inputs, $output) $body"

    def __init__(
        self,
        inputs: Sequence[SSAValue | Operation],
        result_type: Attribute,
        body: Region,
        fused_from: Sequence[str],
    ):
        IRDLOperation.__init__(
            self,
            operands=[[SSAValue.get(v) for v in inputs]],
            result_types=[result_type],
            regions=[body],
            properties={"fused_from": fused_from_attr(fused_from)},
        )

    @property
    def block(self) -> Block:
        return self.body.block

    @property
    def yielded(self) -> SSAValue:
        """The body value that becomes each output element."""
        terminator = self.block.last_op
        assert isinstance(terminator, YieldOp)
        return terminator.values[0]

    def verify_(self) -> None:
        if not self.fused_from.data:
            raise self.fail("fused_from must name at least one high-level op")
        out = self.output.type
        shapes = [shape_of(v.type) for v in self.inputs] + [shape_of(out)]
        if _broadcast_or_none(shapes) != shape_of(out):
            listed = ", ".join(format_type(v.type) for v in self.inputs)
            raise self.fail(f"inputs {listed} do not broadcast to the result {format_type(out)}")
        args = self.block.args
        if [a.type for a in args] != [scalar_type(v.type) for v in self.inputs]:
            raise self.fail("body arguments must be the rank-0 element types of the inputs")
        for op in self.block.ops:
            self._verify_body_op(op)
        if not isinstance(self.block.last_op, YieldOp):
            raise self.fail("the body must end in one 'kernel.yield' of one value")
        if self.yielded.type != scalar_type(out):
            raise self.fail(
                f"body yields {format_type(self.yielded.type)}, the result needs "
                f"{format_type(scalar_type(out))}"
            )

    def _verify_body_op(self, op: Operation) -> None:
        if isinstance(op, YieldOp):
            if op is not self.block.last_op or len(op.values) != 1:
                raise self.fail("the body must end in one 'kernel.yield' of one value")
            return
        if not (is_elementwise(op) or isinstance(op, ConstantOp)):
            raise self.fail(f"'{op.name}' is not an elementwise op and cannot be in the body")
        if any(shape_of(r.type) != () for r in op.results):
            raise self.fail(f"body op '{op.name}' must work on rank-0 tensors (scalars)")


def _broadcast_or_none(shapes: list[tuple[int, ...]]) -> tuple[int, ...] | None:
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        return None


@irdl_op_definition
class YieldOp(IRDLOperation):
    """Ends a `kernel.elementwise` body with the value of one output element."""

    name = "kernel.yield"
    values = var_operand_def()
    traits = traits_def(IsTerminator(), Pure())
    assembly_format = "$values attr-dict `:` type($values)"

    def __init__(self, *values: SSAValue | Operation):
        super().__init__(operands=[[SSAValue.get(v) for v in values]])

    def verify_(self) -> None:
        if not isinstance(self.parent_op(), ElementwiseOp):
            raise GeVerifyError("'kernel.yield' must end a 'kernel.elementwise' body")
