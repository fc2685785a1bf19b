"""Building kernels from `ge` ops: the one-to-one kernel of each op, and elementwise merging.

`kernel_from_ge(op)` is the kernel that computes exactly what one `ge` op computes (the
conversion's table, also the starting point of every fusion). `singleton_elementwise`
wraps one elementwise op in a `kernel.elementwise`; `merge_elementwise` fuses a producer
kernel into its consumer's body.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from xdsl.ir import Block, Operation, Region, SSAValue

from gedialects.ge import ops as ge
from gedialects.ge.constant import ConstantOp
from gedialects.ge.types import shape_of
from gedialects.kernel import ops as k
from gedialects.kernel.elementwise import ElementwiseOp, YieldOp, is_elementwise, scalar_type

_POOL_KIND = {cls: kind for kind, cls in k.POOL_KINDS.items()}
_REDUCE_KIND = {cls: kind for kind, cls in k.REDUCE_KINDS.items()}


def kernel_from_ge(op: Operation) -> Operation | None:
    """The kernel computing what `op` computes, or None (constants, inference dropout)."""
    props = dict(op.properties)
    fused = [op.name]
    if isinstance(op, ConstantOp) or (isinstance(op, ge.DropoutOp) and not is_training_dropout(op)):
        return None
    if is_elementwise(op) or isinstance(op, ge.ExpandOp):
        return singleton_elementwise(op)
    if isinstance(op, ge.Conv2DOp):
        return k.Conv2DKernelOp(op.input, op.weight, op.bias, fused_from=fused, **props)
    if isinstance(op, ge.MatMulOp):
        return k.MatMulKernelOp(op.lhs, op.rhs, fused_from=fused)
    if isinstance(op, ge.SoftmaxOp):
        return k.SoftmaxKernelOp(op.input, fused_from=fused, **props)
    if type(op) in _POOL_KIND:
        return k.PoolKernelOp(op.operands[0], fused_from=fused, kind=_POOL_KIND[type(op)], **props)
    if type(op) in _REDUCE_KIND:
        kind = _REDUCE_KIND[type(op)]
        return k.ReduceKernelOp(op.operands[0], fused_from=fused, kind=kind, **props)
    if type(op) in k.MIRRORED:
        return k.MIRRORED[type(op)](*op.operands, fused_from=fused, **props)
    return None


def is_training_dropout(op: ge.DropoutOp) -> bool:
    """Whether a dropout draws a mask (training mode with a non-zero ratio)."""
    return op.get_flag("is_training") and op.get_float("ratio") != 0.0


def inline_scalar(value: SSAValue, others: Sequence[SSAValue], result: SSAValue) -> bool:
    """Whether a constant operand can live in the body: a splat that leaves the shape."""
    owner = value.owner
    if not isinstance(owner, ConstantOp) or owner.is_elided:
        return False
    array = owner.to_numpy()
    if array.size == 0 or not np.all(array == array.flat[0]):
        return False
    rest = [shape_of(v.type) for v in others if v is not value]
    return np.broadcast_shapes((), *rest) == shape_of(result.type)


class _BodyBuilder:
    """A body block under construction: one argument per distinct outer input."""

    def __init__(self) -> None:
        self.block = Block()
        self.inputs: list[SSAValue] = []
        self._args: dict[SSAValue, SSAValue] = {}

    def arg(self, value: SSAValue) -> SSAValue:
        if value not in self._args:
            index = len(self.block.args)
            self._args[value] = self.block.insert_arg(scalar_type(value.type), index)
            self.inputs.append(value)
        return self._args[value]

    def scalar_constant(self, value: SSAValue) -> SSAValue:
        owner = value.owner
        assert isinstance(owner, ConstantOp)
        const = ConstantOp(owner.to_numpy().reshape(-1)[:1].reshape(()))
        self.block.add_op(const)
        return const.output

    def finish(self, result: SSAValue, like: SSAValue, fused: Sequence[str]) -> ElementwiseOp:
        self.block.add_op(YieldOp(result))
        return ElementwiseOp(self.inputs, like.type, Region(self.block), fused)


def singleton_elementwise(op: Operation) -> ElementwiseOp:
    """`op` (elementwise, or `ge.expand`) as a `kernel.elementwise` of one body op."""
    body = _BodyBuilder()
    result = op.results[0]
    if isinstance(op, ge.ExpandOp):
        return body.finish(body.arg(op.input), result, [op.name])
    operands = [
        body.scalar_constant(v) if inline_scalar(v, op.operands, result) else body.arg(v)
        for v in op.operands
    ]
    scalar_op = type(op)(*operands, **dict(op.properties))
    body.block.add_op(scalar_op)
    return body.finish(scalar_op.results[0], result, [op.name])


def merge_elementwise(producer: ElementwiseOp, consumer: ElementwiseOp) -> ElementwiseOp:
    """One kernel computing `consumer` with `producer`'s body in place of its result."""
    body = _BodyBuilder()
    mapping: dict[SSAValue, SSAValue] = {
        arg: body.arg(v) for arg, v in zip(producer.block.args, producer.inputs)
    }
    for op in producer.block.ops:
        if not isinstance(op, YieldOp):
            body.block.add_op(op.clone(mapping))
    produced = mapping.get(producer.yielded, producer.yielded)
    for arg, v in zip(consumer.block.args, consumer.inputs):
        mapping[arg] = produced if v is producer.output else body.arg(v)
    for op in consumer.block.ops:
        if not isinstance(op, YieldOp):
            body.block.add_op(op.clone(mapping))
    result = mapping.get(consumer.yielded, consumer.yielded)
    fused = [*producer.fused_names, *consumer.fused_names]
    return body.finish(result, consumer.output, fused)
