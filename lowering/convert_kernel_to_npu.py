"""`convert-kernel-to-npu`: bufferize a kernel-level function into HBM buffers, lower each kernel.

Pre: functions of `kernel` ops and `ge.constant`s on static tensors. Post: each function takes and
returns `!npu.buffer<..., hbm>`; constants are `npu.hbm_constant`; every kernel result is an
`npu.hbm_alloc` (at its `mem.offset` when `plan-memory` ran before) written by one
`npu.kernel` whose tiles fit the target's on-chip capacities; a reshape is an `npu.reshape`
view (no kernel), a contiguous split or slice `npu.view`s of its input, and a concat whose
producers write in place the buffer they wrote through views (`_Buffers`); a matmul whose
product only a split along its last axis reads stores the pieces itself (`stored_split`:
no split kernel). Which function lowers which kernel is
`lowering.registry`'s business; kernels with no npu lowering yet raise `UnsupportedError`
naming them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import (
    DenseArrayBase,
    IntegerAttr,
    ModuleOp,
    StringAttr,
    TensorType,
    i64,
)
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.passes import ModulePass

from gedialects.errors import UnsupportedError
from gedialects.ge.constant import ConstantOp
from gedialects.ge.types import element_of, shape_of
from gedialects.kernel.mirrored import ReshapeKernelOp
from gedialects.kernel.stored_split import stored_split
from gedialects.npu.attrs import BufferType
from gedialects.npu.buffers import HbmAllocOp, HbmConstantOp, ReshapeOp, ViewOp
from gedialects.npu.launch import KernelOp
from gedialects.npu.sync import RecordEventOp, WaitEventOp
from lowering.gemm import ColumnPieces
from lowering.registry import lower_op
from passes.memory.concurrency import RECORD, STREAM, WAIT
from passes.memory.memory_rules import placed_offsets, view_offsets
from passes.memory.record import ARENA, INPLACE, recorded_offsets
from runtime.targets import Target, load_target


def hbm_type(tensor_type: Attribute) -> BufferType:
    """The HBM buffer type of a tensor; `UnsupportedError` for what has none: values that are
    not tensors (scf's indices and conditions) and zero-element tensors (run by reference)."""
    if not isinstance(tensor_type, TensorType):
        raise UnsupportedError(f"a value of type {tensor_type} is not a tensor: no HBM buffer")
    if 0 in tensor_type.get_shape():
        raise UnsupportedError(f"zero-element tensor {tensor_type} has no npu buffer")
    return BufferType(shape_of(tensor_type), element_of(tensor_type), "hbm")


class _Buffers:
    """Each kernel-level value's npu buffer. A planned result (`plan-memory`'s `mem.offset`)
    gets its arena offset; a contiguous view of a buffer (`memory_rules.view_offsets`: a
    split into contiguous pieces, a slice of whole rows) is an `npu.view` of it; and the
    operands of a concat their producers write in place (`placed_offsets`) are views of the
    concat's buffer, allocated before the first of them. Those ops launch nothing, as in
    the kernel runner (GE's no-task ops)."""

    def __init__(self, fn: func.FuncOp, block: Block):
        self.block = block
        self.of: dict[SSAValue, SSAValue] = dict(zip(fn.body.block.args, block.args))
        for old, new in self.of.items():
            new.name_hint = old.name_hint
        self.offsets = recorded_offsets(fn) if ARENA in fn.attributes else {}
        self.placed: dict[SSAValue, tuple[Operation, int]] = {}
        """A placed operand: its concat, and its element offset in the concat's result."""
        for op in fn.body.block.ops:
            if (at := placed_offsets(op)) is not None:
                itemsize = hbm_type(op.results[0].type).dtype.itemsize
                self.placed.update((v, (op, b // itemsize)) for v, b in zip(op.operands, at))

    def add(self, op: Operation) -> None:
        self.block.add_op(op)

    def alloc(self, op: Operation, value: SSAValue) -> SSAValue:
        """A new buffer for `op`'s result `value` (at its planned offset), or a view: of its
        concat's buffer, or of the operand the plan has `op` write over (`mem.inplace`)."""
        inplace = op.attributes.get(INPLACE) if self.offsets else None
        if value in self.placed:
            concat, start = self.placed[value]
            view = ViewOp(self.output(concat.results[0]), hbm_type(value.type), start)
        elif isinstance(inplace, IntegerAttr) and list(op.results) == [value]:
            view = ViewOp(self.of[op.operands[inplace.value.data]], hbm_type(value.type))
        else:
            view = None
            self.output(value)
        if view is not None:
            self.add(view)
            self.of[value] = view.result
        self.of[value].name_hint = value.name_hint
        return self.of[value]

    def output(self, value: SSAValue) -> SSAValue:
        """`value`'s own buffer, allocated on first need."""
        if value not in self.of:
            alloc = HbmAllocOp(hbm_type(value.type), self.offsets.get(value))
            self.add(alloc)
            self.of[value] = alloc.buffer
        return self.of[value]

    def pieces(self, op: Operation, split: Operation) -> list[SSAValue]:
        """The buffers of a contiguous split that `op`'s GEMM stores: views of the product's
        own buffer, where the plan placed them (their offsets are inside the product's, not
        aligned as a buffer's own must be)."""
        source = self.output(op.results[0])
        itemsize = hbm_type(op.results[0].type).dtype.itemsize
        views = []
        for result, at in zip(split.results, view_offsets(split) or (), strict=True):
            view = ViewOp(source, hbm_type(result.type), at // itemsize)
            self.add(view)
            self.of[result] = view.result
            view.result.name_hint = result.name_hint
            views.append(view.result)
        return views

    def pieces_overlap(self, op: Operation, split: Operation) -> bool:
        """Whether the split's planned results overlap an operand of `op`: the plan has the
        split write them after `op`, so it may reuse the bytes of `op`'s inputs, which a GEMM
        storing the pieces itself would overwrite while other blocks still read them."""
        if view_offsets(split) is not None:
            return False  # inside the product's buffer, which the plan keeps apart
        ranges = [self._bytes(r) for r in split.results]
        inputs = [self._bytes(v) for v in op.operands]
        return any(
            a is not None and b is not None and a[0] < b[1] and b[0] < a[1]
            for a in ranges
            for b in inputs
        )

    def _bytes(self, value: SSAValue) -> tuple[int, int] | None:
        start = self.offsets.get(value)
        if start is None or not isinstance(value.type, TensorType):
            return None
        return start, start + math.prod(shape_of(value.type)) * hbm_type(value.type).dtype.itemsize

    def launches_nothing(self, op: Operation) -> bool:
        """A view (its results become `npu.view`s of its operand's buffer) or a concat its
        producers wrote in place (its result is the buffer they wrote)."""
        if (inside := view_offsets(op)) is not None:
            source = self.of[op.operands[0]]
            itemsize = hbm_type(op.operands[0].type).dtype.itemsize
            for result, at in zip(op.results, inside):
                view = ViewOp(source, hbm_type(result.type), at // itemsize)
                view.result.name_hint = result.name_hint
                self.add(view)
                self.of[result] = view.result
            return True
        if placed_offsets(op) is not None:
            self.output(op.results[0])
            return True
        return False


def lower_function(fn: func.FuncOp, target: Target) -> func.FuncOp:
    """The npu version of `fn`: same signature on HBM buffers, one npu.kernel per kernel op."""
    arg_types = [hbm_type(t) for t in fn.function_type.inputs.data]
    block = Block(arg_types=arg_types)
    buffers = _Buffers(fn, block)
    count, stored = 0, set()
    for op in fn.body.block.ops:
        stream, waits, records = _stream_events(op)
        block.add_ops(waits)
        if op in stored:  # a split its producer's stores ran
            pass
        elif isinstance(op, ConstantOp):
            const = HbmConstantOp(op.value, hbm_type(op.output.type))
            block.add_op(const)
            buffers.of[op.output] = const.buffer
        elif isinstance(op, ReshapeKernelOp):
            view = ReshapeOp(buffers.of[op.operands[0]], hbm_type(op.results[0].type))
            block.add_op(view)
            buffers.of[op.results[0]] = view.result
        elif isinstance(op, func.ReturnOp):
            block.add_op(func.ReturnOp(*[buffers.of[v] for v in op.arguments]))
        elif buffers.launches_nothing(op):
            pass
        elif op.results:
            split = stored_split(op)
            if split is not None and buffers.offsets and buffers.pieces_overlap(op, split):
                split = None  # the split then runs as a kernel of its own
            if split is not None and buffers.offsets and view_offsets(split) is not None:
                outs = buffers.pieces(op, split)
            else:
                results = split.results if split is not None else op.results
                outs = [buffers.alloc(op, r) for r in results]
            inputs = [buffers.of[v] for v in op.operands]
            name = f"{op.name[7:]}_{count}"
            # one result: its buffer; several (kernel.split): a tuple of them; a matmul whose
            # product only a split along the last axis reads: the pieces, stored by its GEMM
            output = outs[0] if len(outs) == 1 else tuple(outs)
            if split is not None:
                output = ColumnPieces(tuple(outs))
                stored.add(split)
            launches = lower_op(op, inputs, output, target, name)
            _keep_schedule(op, launches, stream)
            block.add_ops(launches)
            count += 1
        else:
            raise UnsupportedError(f"'{op.name}' cannot be lowered to the npu dialect")
        block.add_ops(records)
    result_types = [buffers.of[v].type for v in fn.body.block.last_op.operands]
    lowered = func.FuncOp(fn.sym_name.data, (arg_types, result_types), Region(block))
    lowered.arg_attrs, lowered.res_attrs = fn.arg_attrs, fn.res_attrs
    return lowered


def _stream_events(op: Operation) -> tuple[int | None, list[Operation], list[Operation]]:
    """The stream `schedule-streams` put `op` on (None if it did not run), the events `op`
    waits for before it launches and those it records after, as npu stream events: the
    npu program keeps the schedule the kernel level had (it lost it before: every launch
    on stream 0, so a lowered file ran its streams one after another)."""
    stream = op.attributes.get(STREAM)
    if not isinstance(stream, IntegerAttr):
        return None, [], []
    s = stream.value.data

    def events(name: str) -> list[int]:
        ids = op.attributes.get(name)
        return [int(e) for e in ids.get_values()] if isinstance(ids, DenseArrayBase) else []

    waits = [WaitEventOp(s, e) for e in events(WAIT)]
    return s, waits, [RecordEventOp(s, e) for e in events(RECORD)]


def _keep_schedule(op: Operation, launches: Sequence[Operation], stream: int | None) -> None:
    """Put the `npu.kernel`s `op` lowered to on its stream, and name the algorithm that
    `select-implementations` chose where the lowering did not (as ge-run reports it)."""
    algorithm = getattr(op, "algorithm", None)
    for launch in launches:
        if not isinstance(launch, KernelOp):
            continue
        if stream is not None:
            launch.stream = IntegerAttr(stream, i64)
        if launch.algorithm is None and isinstance(algorithm, StringAttr):
            launch.algorithm = StringAttr(algorithm.data)


def lower_module(module: ModuleOp, target: str | Target | None = None) -> ModuleOp:
    """A new module with every function of `module` lowered to npu for `target`."""
    target = load_target(target)
    functions = [op for op in module.ops if isinstance(op, func.FuncOp)]
    return ModuleOp([lower_function(fn, target) for fn in functions])


@dataclass(frozen=True)
class ConvertKernelToNpu(ModulePass):
    """Bufferize into HBM buffers and tile every kernel to the target's on-chip capacities."""

    name = "convert-kernel-to-npu"

    target: str = "ascend910a"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        lowered = lower_module(op, self.target)
        for old in list(op.body.block.ops):
            old.detach()
            old.erase()
        for new in list(lowered.body.block.ops):
            new.detach()
            op.body.block.add_op(new)
