"""Which float tensors hold integers: the integer arithmetic of quantized ops.

The ONNX importer builds QLinearConv, QLinearMatMul, ConvInteger and MatMulInteger as float
convs and matmuls of centred integers (`convert_quant_integer`), exact because the float
type holds every partial sum. A precision mode that narrows float arithmetic to f16 would
round that accumulation (f16 has 11 significant bits: an int32 sum near 2^20 has no f16
neighbour closer than 512) and overflow it past 65504: a dynamically quantized BERT gave
NaN everywhere. On Ascend quantized convs and matmuls run on the cube's int8 path, which
precision_mode does not touch; this analysis tells the precision passes
(`passes.precision`) which tensors are integers in disguise, so they leave that arithmetic
in its own type too.

A float tensor is *integer-valued* when it is a cast of an integer tensor, or the result of
an operation that keeps integers integral (add, sub, mul, neg, abs, max, min, relu, round,
clip to integral bounds, where, a move, matmul, conv, sum) of integer-valued tensors and of
constants whose elements are all integers, one operand at least not a constant: a float
model's `x * 2.0` is not integer arithmetic. Inside a `kernel.elementwise` the body is read
with its arguments standing for the kernel's operands, so the analysis also serves the
kernel level, after fusion.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from xdsl.dialects.builtin import FloatAttr, TensorType, i1
from xdsl.ir import Block, Operation, SSAValue

from gedialects.ge import ops as ge
from gedialects.ge.constant import ConstantOp
from gedialects.ge.types import element_of, is_float, is_integer
from gedialects.kernel import mirrored as moves
from gedialects.kernel import ops as k
from gedialects.kernel.elementwise import ElementwiseOp, is_elementwise

_KEEPS_INTEGERS_GE: tuple[type[Operation], ...] = (
    ge.AddOp,
    ge.SubOp,
    ge.MulOp,
    ge.NegOp,
    ge.AbsOp,
    ge.MaximumOp,
    ge.MinimumOp,
    ge.ReluOp,
    ge.RoundOp,
    ge.FloorOp,
    ge.CeilOp,
    ge.SignOp,
    ge.WhereOp,
    ge.ClipOp,
    ge.TransposeOp,
    ge.ReshapeOp,
    ge.ExpandOp,
    ge.ConcatOp,
    ge.SliceOp,
    ge.GatherOp,
    ge.SplitOp,
    ge.PadOp,
    ge.MaxPool2DOp,
    ge.GlobalMaxPoolOp,
    ge.ReduceSumOp,
    ge.ReduceMaxOp,
    ge.ReduceMinOp,
    ge.MatMulOp,
    ge.Conv2DOp,
)
_KEEPS_INTEGERS: tuple[type[Operation], ...] = _KEEPS_INTEGERS_GE + (
    moves.TransposeKernelOp,
    moves.ReshapeKernelOp,
    moves.ConcatKernelOp,
    moves.SliceKernelOp,
    moves.GatherKernelOp,
    moves.SplitKernelOp,
    moves.PadKernelOp,
)
"""Ops whose result is integral wherever their float operands are (the `ge` forms and the
kernels that only move elements)."""

_INTEGRAL_PROPS = ("min", "max", "value")
"""Float properties that must be integral too: clip's bounds, pad's fill value."""


def _is_float_tensor(value: SSAValue) -> bool:
    return isinstance(value.type, TensorType) and is_float(element_of(value.type))


def is_integer_constant(value: SSAValue) -> bool:
    """Whether `value` is a float constant whose every element is a finite integer."""
    owner = value.owner
    if not isinstance(owner, ConstantOp) or owner.is_elided or not _is_float_tensor(value):
        return False
    data = owner.to_numpy()
    with np.errstate(invalid="ignore"):
        return bool(np.all(np.isfinite(data) & (data == np.round(data))))


def _integral_properties(op: Operation) -> bool:
    for name in _INTEGRAL_PROPS:
        attr = op.properties.get(name)
        if isinstance(attr, FloatAttr) and not float(attr.value.data).is_integer():
            return False
    return True


def _keeps_integers(op: Operation) -> bool:
    if isinstance(op, k.PoolKernelOp):
        return op.get_str("kind") in ("max", "global_max")
    if isinstance(op, k.ReduceKernelOp):
        return op.get_str("kind") in ("sum", "max", "min")
    return isinstance(op, _KEEPS_INTEGERS) and _integral_properties(op)


class IntegerValues:
    """The integer-valued float tensors of a module (or of any op and what it holds)."""

    def __init__(self, root: Operation) -> None:
        self.values: set[SSAValue] = set()
        self._stands_for: dict[SSAValue, SSAValue] = {}
        """Block arguments of elementwise bodies -> the kernel operand each stands for."""
        self._integral: dict[SSAValue, bool] = {}
        """Constants checked (a pass over their data: once each, and only when needed)."""
        for region in root.regions:
            for block in region.blocks:
                self._visit(block)

    def __contains__(self, value: SSAValue) -> bool:
        return value in self.values

    def integral(self, value: SSAValue) -> bool:
        """Integer-valued, or an integer constant (which alone roots nothing)."""
        if value in self.values:
            return True
        value = self._stands_for.get(value, value)
        if value not in self._integral:
            self._integral[value] = is_integer_constant(value)
        return self._integral[value]

    def rooted_in_integers(self, operands: Iterable[SSAValue]) -> bool:
        """Whether every float operand is integral and one at least integer-valued: an op
        on these computes integer arithmetic."""
        floats = [v for v in operands if _is_float_tensor(v)]
        return any(v in self.values for v in floats) and all(self.integral(v) for v in floats)

    def integer_cube(self, op: Operation) -> bool:
        """Whether a conv's or matmul's summed operands (input and weight, lhs and rhs; not
        an epilogue's scale, shift or residual) are integer arithmetic."""
        return self.rooted_in_integers(summed_operands(op))

    def _visit(self, block: Block) -> None:
        for op in block.ops:
            if isinstance(op, ElementwiseOp):
                self._visit_elementwise(op)
                continue
            for region in op.regions:
                for inner in region.blocks:
                    self._visit(inner)
            if self._integer_result(op):
                self.values.update(r for r in op.results if _is_float_tensor(r))

    def _visit_elementwise(self, op: ElementwiseOp) -> None:
        body = op.body.block
        for operand, arg in zip(op.operands, body.args):
            if operand in self.values:
                self.values.add(arg)
            else:
                self._stands_for[arg] = operand
        self._visit(body)
        yielded = body.last_op
        if yielded is not None and all(v in self.values for v in yielded.operands):
            self.values.add(op.output)

    def _integer_result(self, op: Operation) -> bool:
        if isinstance(op, ge.CastOp):
            source = element_of(op.input.type)
            return is_integer(source) or source == i1 or op.input in self.values
        return _keeps_integers(op) and self.rooted_in_integers(op.operands)


def summed_operands(op: Operation) -> tuple[SSAValue, ...]:
    """The operands a conv or matmul (either level) multiplies and sums; all of another op's."""
    if isinstance(op, (ge.Conv2DOp, k.Conv2DKernelOp)):
        return (op.input, op.weight)
    if isinstance(op, (ge.MatMulOp, k.MatMulKernelOp)):
        return (op.lhs, op.rhs)
    return tuple(op.operands)


ACCUMULATIONS: tuple[type[Operation], ...] = (ge.MatMulOp, ge.Conv2DOp, ge.ReduceSumOp)
"""Sums of products: where integer arithmetic outgrows f16 (2,048 is its last exact run)."""


def _is_integer_tensor(value: SSAValue) -> bool:
    return isinstance(value.type, TensorType) and is_integer(element_of(value.type))


def quantized_arithmetic(root: Operation) -> set[Operation]:
    """The `ge` ops under `root` that carry quantized ops' integer arithmetic, which a
    precision mode must leave in its own float type:

    - the integer accumulations (matmul, conv, sum of integer-valued operands),
    - the integer-valued tensors that feed them (the centring: cast, minus zero point) and
      those that come from them (through casts to integer types and back),
    - every op that reads one of those (the dequantizing or requantizing multiply),
    - and the float steps from there to a cast to an integer type (requantize's round,
      zero point and clip).

    Integer-valued tensors that meet no accumulation (a 0/1 mask cast to float and scaled)
    are left out: they are small integers, exact in f16, and a float model's own."""
    values = IntegerValues(root)
    accumulations = [
        op for op in root.walk() if isinstance(op, ACCUMULATIONS) and op.results[0] in values
    ]
    kept: set[SSAValue] = set()
    feeding = [v for op in accumulations for v in op.operands if v in values]
    while feeding:
        value = feeding.pop()
        if value in kept:
            continue
        kept.add(value)
        if isinstance(value.owner, Operation):
            feeding.extend(v for v in value.owner.operands if v in values)
    coming = [op.results[0] for op in accumulations]
    while coming:
        value = coming.pop()
        if value in kept:
            continue
        kept.add(value)
        for use in value.uses:
            coming.extend(
                r for r in use.operation.results if r in values or _is_integer_tensor(r)
            )
    ops = {v.owner for v in kept if isinstance(v.owner, Operation)}
    readers = {use.operation for v in kept for use in v.uses}
    return ops | readers | _to_integer_casts(readers - ops)


def _to_integer_casts(starts: set[Operation]) -> set[Operation]:
    """The elementwise ops on a path from `starts`' float results to a cast to an integer
    type (each path's ops, casts included)."""
    reaches: dict[Operation, bool] = {}

    def reaches_cast(op: Operation) -> bool:
        if op in reaches:
            return reaches[op]
        reaches[op] = False  # a cycle (none in SSA) or a path still open
        if isinstance(op, ge.CastOp) and is_integer(op.to):
            reaches[op] = True
        else:
            users = {use.operation for r in op.results for use in r.uses}
            hits = [user for user in users if is_elementwise(user) and reaches_cast(user)]
            reaches[op] = bool(hits)
        return reaches[op]

    found: set[Operation] = set()
    frontier = list(starts)
    while frontier:
        op = frontier.pop()
        for use in (u for r in op.results for u in r.uses):
            user = use.operation
            if user not in found and is_elementwise(user) and reaches_cast(user):
                found.add(user)
                frontier.append(user)
    return found
