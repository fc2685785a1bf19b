"""A small builder of npu kernel bodies: index arithmetic, tile loops, buffers, DMA, flags.

Lowerings write kernels through it as straight Python (`b.dma(...)`, `with b.loop(...)`) and
get xDSL ops directly, without printing and parsing text. Index constants are created once at
the top of the kernel and reused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from xdsl.dialects import arith, scf
from xdsl.dialects.builtin import IndexType, i1
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue

from gedialects.npu.attrs import BufferType
from gedialects.npu.buffers import AllocOp
from gedialects.npu.cube import MmadOp
from gedialects.npu.launch import KernelOp
from gedialects.npu.sync import SetFlagOp, WaitFlagOp
from gedialects.npu.transfer import DmaOp

Index = int | SSAValue

_INDEX = IndexType()
_PROTOTYPES: dict[tuple, Operation] = {}
"""Ops built once by their constructors, on placeholder operands, per class and attributes:
xDSL's constructors rebuild the same attributes on every call, which cost more than the rest
of building a kernel's index arithmetic and flags (`_like`)."""


def _prototype(key: tuple, build: Callable[[Sequence[SSAValue]], Operation]) -> Operation:
    proto = _PROTOTYPES.get(key)
    if proto is None:
        placeholders = Block(arg_types=[_INDEX, _INDEX]).args
        proto = _PROTOTYPES[key] = build(placeholders)
    return proto


def _like(proto: Operation, operands: Sequence[SSAValue]) -> Operation:
    """An op equal to `proto` (same class, properties, attributes, result types) on `operands`."""
    return type(proto).create(
        operands=operands,
        result_types=[r.type for r in proto.results],
        properties=dict(proto.properties),
        attributes=dict(proto.attributes),
    )


class KernelBuilder:
    """Appends ops to the innermost open block of one `npu.kernel`."""

    def __init__(self, kernel: KernelOp):
        self.kernel = kernel
        self.top = kernel.body.block
        self.blocks: list[Block] = [self.top]
        self.constants: dict[int, SSAValue] = {}
        self._const_anchor: Operation | None = None

    @property
    def block_index(self) -> SSAValue:
        return self.kernel.block_index

    def add(self, op: Operation) -> Operation:
        self.blocks[-1].add_op(op)
        return op

    def const(self, value: int) -> SSAValue:
        """An index constant, created once at the start of the kernel."""
        if value not in self.constants:
            op = _like(_prototype((arith.ConstantOp, value), lambda _: _constant(value)), ())
            if self._const_anchor is not None:
                self.top.insert_op_after(op, self._const_anchor)
            elif self.top.first_op is not None:
                self.top.insert_op_before(op, self.top.first_op)
            else:
                self.top.add_op(op)
            self._const_anchor = op
            self.constants[value] = op.result
        return self.constants[value]

    def value(self, x: Index) -> SSAValue:
        return self.const(x) if isinstance(x, int) else x

    def _binary(self, cls: type, a: Index, b: Index) -> SSAValue:
        proto = _prototype((cls,), lambda args: cls(*args))
        return self.add(_like(proto, (self.value(a), self.value(b)))).results[0]

    def addi(self, a: Index, b: Index) -> Index:
        if isinstance(a, int) and isinstance(b, int):
            return a + b
        if b == 0:
            return a
        return self._binary(arith.AddiOp, a, b)

    def subi(self, a: Index, b: Index) -> Index:
        if isinstance(a, int) and isinstance(b, int):
            return a - b
        return self._binary(arith.SubiOp, a, b)

    def muli(self, a: Index, b: Index) -> Index:
        if isinstance(a, int) and isinstance(b, int):
            return a * b
        if b == 1:
            return a
        return self._binary(arith.MuliOp, a, b)

    def divui(self, a: Index, b: Index) -> Index:
        if isinstance(a, int) and isinstance(b, int):
            return a // b
        if b == 1:
            return a
        return self._binary(arith.DivUIOp, a, b)

    def remui(self, a: Index, b: Index) -> Index:
        if isinstance(a, int) and isinstance(b, int):
            return a % b
        if b == 1:
            return 0
        return self._binary(arith.RemUIOp, a, b)

    def minui(self, a: Index, b: Index) -> Index:
        if isinstance(a, int) and isinstance(b, int):
            return min(a, b)
        return self._binary(arith.MinUIOp, a, b)

    def maxui(self, a: Index, b: Index) -> Index:
        if isinstance(a, int) and isinstance(b, int):
            return max(a, b)
        return self._binary(arith.MaxUIOp, a, b)

    def extent(self, start: Index, tile: int, size: int) -> Index:
        """min(tile, size - start): the length of the tile that starts at `start`."""
        if size % tile == 0:
            return tile
        return self.minui(self.subi(size, start), tile)

    def _cmpi(self, a: Index, b: Index, predicate: str) -> SSAValue:
        proto = _prototype((arith.CmpiOp, predicate), lambda args: arith.CmpiOp(*args, predicate))
        return self.add(_like(proto, (self.value(a), self.value(b)))).results[0]

    def ult(self, a: Index, b: Index) -> SSAValue:
        return self._cmpi(a, b, "ult")

    def ne(self, a: Index, b: Index) -> SSAValue:
        return self._cmpi(a, b, "ne")

    def bool(self, value: bool) -> SSAValue:
        return self.add(arith.ConstantOp.from_int_and_width(int(value), i1)).results[0]

    @contextmanager
    def loop(self, lb: Index, ub: Index, step: Index) -> Iterator[SSAValue]:
        """`with b.loop(lb, ub, step) as iv:` builds the body of an scf.for."""
        body = Block(arg_types=[IndexType()])
        op = scf.ForOp(self.value(lb), self.value(ub), self.value(step), [], Region(body))
        self.add(op)
        self.blocks.append(body)
        try:
            yield body.args[0]
        finally:
            self.blocks.pop()
            body.add_op(scf.YieldOp())

    @contextmanager
    def when(self, cond: SSAValue) -> Iterator[None]:
        body = Block()
        self.add(scf.IfOp(cond, [], Region(body)))
        self.blocks.append(body)
        try:
            yield
        finally:
            self.blocks.pop()
            body.add_op(scf.YieldOp())

    def alloc(
        self, dims: Sequence[int], element: Attribute, space: str, fmt: str = "ND"
    ) -> SSAValue:
        return self.add(AllocOp(BufferType(dims, element, space, fmt))).results[0]

    def dma(
        self,
        src: SSAValue,
        src_offsets: Sequence[Index],
        sizes: Sequence[Index],
        dst: SSAValue,
        dst_offsets: Sequence[Index],
        dst_sizes: Sequence[Index] | None = None,
        pad: float | None = None,
        atomic: str | None = None,
        transpose: bool = False,
    ) -> None:
        if transpose and dst_sizes is None:
            dst_sizes = list(sizes)[::-1]
        self.add(
            DmaOp(src, src_offsets, sizes, dst, dst_offsets, dst_sizes, pad, atomic, transpose)
        )

    def mmad(self, a: SSAValue, b: SSAValue, c: SSAValue, mnk: Sequence[Index], acc) -> None:
        self.add(MmadOp(a, b, c, mnk, acc))

    def set_flag(self, src: str, dst: str, event: int = 0) -> None:
        self._flag(SetFlagOp, src, dst, event)

    def wait_flag(self, src: str, dst: str, event: int = 0) -> None:
        self._flag(WaitFlagOp, src, dst, event)

    def _flag(self, cls: type, src: str, dst: str, event: Index) -> None:
        if not isinstance(event, int):
            self.add(cls(src, dst, event))
            return
        self.add(_like(_prototype((cls, src, dst, event), lambda _: cls(src, dst, event)), ()))

    def sync(self, src: str, dst: str, event: int = 0) -> None:
        """dst waits until src has finished what it was given so far."""
        self.set_flag(src, dst, event)
        self.wait_flag(src, dst, event)


def _constant(value: int) -> Operation:
    return arith.ConstantOp.from_int_and_width(value, _INDEX)
