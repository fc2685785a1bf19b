"""Liveness of HBM buffers in a function run in op order, with views and in-place sharing.

Each op of the function body is a kernel, except constants (they live in a fixed weight
region, outside the arena) and views (`memory_rules.view_offsets`: reshape and the like
reinterpret their source's bytes, so they share its buffer and cost nothing). Every other
tensor value is a buffer live over [first kernel, last kernel], its size aligned to 512
bytes (GE's MEM_ALIGN_SIZE). Graph inputs live for the whole run; graph outputs from their
kernel to the end, and are never overwritten.

In-place reuse is decided here, before offsets exist: an elementwise kernel whose operand
dies at it writes its result into that operand's buffer. A buffer then holds a chain of
`Version`s (tensors written one after the other); `verify.check_liveness` re-proves that
each version is dead before the next is written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from xdsl.dialects import func
from xdsl.ir import BlockArgument, Operation, SSAValue
from xdsl.traits import ConstantLike, IsTerminator

from gedialects.interpreter import input_names
from passes.memory.memory_rules import (
    inplace_operands,
    placed_offsets,
    reads_elementwise,
    view_offsets,
    workspace_bytes,
)
from passes.memory.planners import Lifetime
from passes.memory.sizes import align, nbytes, same_layout

Ordered = Callable[[int, int], bool]


@dataclass
class Version:
    """One tensor stored in a buffer, from the kernel that writes it to its last reader."""

    value: SSAValue | None
    """None for a kernel's workspace."""
    start: int
    end: int
    output: bool = False
    readers: set[int] = field(default_factory=set)
    """Kernels that read this tensor (directly or through views)."""


@dataclass
class BufferInfo:
    """One arena buffer: its aligned size and the tensors it holds, oldest first."""

    name: str
    bytes: int
    kind: str
    """"input", "intermediate", "output" or "workspace"."""
    versions: list[Version] = field(default_factory=list)

    @property
    def start(self) -> int:
        return self.versions[0].start

    @property
    def end(self) -> int:
        return max(v.end for v in self.versions)


@dataclass(frozen=True)
class Slot:
    """Where a value's bytes are: `offset` bytes into buffer `buffer`."""

    buffer: int
    offset: int


@dataclass(frozen=True)
class InPlace:
    """Kernel `kernel` writes its result over operand `operand` (which dies there)."""

    kernel: int
    operand: int
    result: SSAValue


@dataclass
class Liveness:
    """The buffers of one function in its schedule, and where every value lives."""

    kernels: list[Operation]
    buffers: list[BufferInfo]
    slots: dict[SSAValue, Slot]
    constants: set[SSAValue]
    inplace: list[InPlace]
    workspaces: dict[Operation, int]

    @property
    def last_kernel(self) -> int:
        return max(len(self.kernels) - 1, 0)

    def lifetimes(self) -> list[Lifetime]:
        return [Lifetime(b.bytes, b.start, b.end) for b in self.buffers]

    def accesses(self) -> list[set[int]]:
        """Per buffer, the kernels that write or read it."""
        found = []
        for buffer in self.buffers:
            touched = {v.start for v in buffer.versions}
            found.append(touched.union(*(v.readers for v in buffer.versions)))
        return found


def classify(block_ops: Sequence[Operation]):
    """Split ops into kernels (in order), views (with their offsets; a placed concat with
    its operands' offsets in its result, `placed`) and constants."""
    kernels, views, constants = [], {}, []
    for op in block_ops:
        if op.has_trait(IsTerminator):
            continue
        if op.has_trait(ConstantLike):
            constants.append(op)
        elif (offsets := view_offsets(op)) is not None:
            views[op] = offsets
        elif (offsets := placed_offsets(op)) is not None:
            views[op] = Placed(offsets)
        else:
            kernels.append(op)
    return kernels, views, constants


class Placed(list):
    """The byte offsets of a placed concat's operands in its result (not of its result in
    an operand, as a view's are): its producers write them there."""


def _top_level(op: Operation, block_ops: set[Operation]) -> Operation:
    while op not in block_ops and op.parent_op() is not None:
        op = op.parent_op()
    return op


class _Builder:
    """Builds a `Liveness` in three steps: aliases, version intervals, buffer groups."""

    def __init__(self, fn: func.FuncOp, reuse_inplace: bool, ordered: Ordered | None):
        self.fn, self.reuse, self.ordered = fn, reuse_inplace, ordered
        self.ops = list(fn.body.block.ops)
        self.kernels, self.views, constant_ops = classify(self.ops)
        self.kernel_of = {op: k for k, op in enumerate(self.kernels)}
        self.end = max(len(self.kernels) - 1, 0)
        self.constants = {r for op in constant_ops for r in op.results}
        self.alias: dict[SSAValue, tuple[SSAValue, int]] = {}
        self.info: dict[SSAValue, Version] = {}

    def resolve_aliases(self) -> None:
        for arg in self.fn.body.block.args:
            self.alias[arg] = (arg, 0)
        for op in self.ops:
            if isinstance(self.views.get(op), Placed):
                result = op.results[0]
                self.alias[result] = (result, 0)
                for operand, extra in zip(op.operands, self.views[op]):
                    self.alias[operand] = (result, extra)
            elif op in self.views:
                source = op.operands[0]
                if source in self.constants:
                    self.constants.update(op.results)
                    continue
                base, offset = self.alias[source]
                for result, extra in zip(op.results, self.views[op]):
                    self.alias[result] = (base, offset + extra)
            elif op in self.kernel_of:
                self.alias.update({r: (r, 0) for r in op.results})

    def intervals(self) -> None:
        for base, _ in set(self.alias.values()):
            if isinstance(base, BlockArgument):
                self.info[base] = Version(base, 0, self.end)
            elif isinstance(self.views.get(base.owner), Placed):  # from its first producer
                k = min(self.kernel_of[v.owner] for v in base.owner.operands)
                self.info[base] = Version(base, k, k)
            else:
                k = self.kernel_of[base.owner]
                self.info[base] = Version(base, k, k)
        block_ops = set(self.ops)
        for value, (base, _) in self.alias.items():
            version = self.info[base]
            for use in value.uses:
                user = _top_level(use.operation, block_ops)
                if user.has_trait(IsTerminator):
                    version.end, version.output = self.end, True
                elif user in self.kernel_of:
                    version.end = max(version.end, self.kernel_of[user])
                    version.readers.add(self.kernel_of[user])

    def candidate(self, op: Operation, k: int) -> tuple[int, SSAValue, int] | None:
        """The operand a single-result elementwise kernel may overwrite, if any."""
        if not self.reuse or len(op.results) != 1:
            return None
        result = op.results[0]
        if self.alias[result][0] is not result:
            return None  # written into a placed concat's result
        for index in inplace_operands(op):
            operand = op.operands[index]
            if operand in self.constants or not same_layout(operand.type, result.type):
                continue
            base, offset = self.alias[operand]
            version = self.info[base]
            if isinstance(base, BlockArgument) or version.output or version.end != k:
                continue
            if self.ordered and not all(self.ordered(r, k) for r in version.readers - {k}):
                continue  # a reader on another stream may still be running
            if not self._alone_or_aligned(op, index, base):
                continue
            return index, base, offset
        return None

    def _alone_or_aligned(self, op: Operation, index: int, base: SSAValue) -> bool:
        """No other operand reads the overwritten bytes, except at the same index."""
        target = (op.operands[index].type, self.alias[op.operands[index]][1])
        for other, value in enumerate(op.operands):
            if other == index or self.alias.get(value, (None, 0))[0] is not base:
                continue
            if not reads_elementwise(op) or (value.type, self.alias[value][1]) != target:
                return False
        return True

    def group(self) -> Liveness:
        buffers: list[BufferInfo] = []
        home: dict[SSAValue, Slot] = {}
        names = input_names(self.fn)
        for arg, name in zip(self.fn.body.block.args, names):
            home[arg] = Slot(len(buffers), 0)
            buffers.append(BufferInfo(name, align(nbytes(arg.type)), "input", [self.info[arg]]))
        inplace, workspaces = [], {}
        for k, op in enumerate(self.kernels):
            chosen = self.candidate(op, k)
            for result in op.results:
                base = self.alias[result][0]
                if base is not result:  # into a placed concat's result: its first writer
                    if base not in home:  # makes the buffer
                        home[base] = Slot(len(buffers), 0)
                        size = align(nbytes(base.type))
                        buffers.append(BufferInfo(value_name(base, k), size, "intermediate",
                                                  [self.info[base]]))  # fmt: skip
                    continue
                if chosen is not None:
                    index, base, offset = chosen
                    slot = Slot(home[base].buffer, home[base].offset + offset)
                    home[result] = slot
                    buffers[slot.buffer].versions.append(self.info[result])
                    inplace.append(InPlace(k, index, result))
                    continue
                home[result] = Slot(len(buffers), 0)
                name = value_name(result, k)
                size = align(nbytes(result.type))
                buffers.append(BufferInfo(name, size, "intermediate", [self.info[result]]))
            if (extra := workspace_bytes(op)) > 0:
                workspaces[op] = len(buffers)
                buffers.append(
                    BufferInfo(f"{op.name}#{k}.workspace", align(extra), "workspace",
                               [Version(None, k, k)])
                )  # fmt: skip
        for buffer in buffers:
            if buffer.kind == "intermediate" and any(v.output for v in buffer.versions):
                buffer.kind = "output"
        slots = {
            value: Slot(home[base].buffer, home[base].offset + offset)
            for value, (base, offset) in self.alias.items()
        }
        return Liveness(self.kernels, buffers, slots, self.constants, inplace, workspaces)


def value_name(value: SSAValue, kernel: int) -> str:
    """A readable name: the SSA name hint, else the defining op and its kernel index."""
    if value.name_hint:
        return value.name_hint
    owner = value.owner
    return f"{owner.name}#{kernel}" if isinstance(owner, Operation) else f"arg{kernel}"


def analyze(
    fn: func.FuncOp, reuse_inplace: bool = True, ordered: Ordered | None = None
) -> Liveness:
    """The buffers of `fn` in its op order; `reuse_inplace=False` keeps every result apart.

    `ordered(a, b)`: whether kernel a surely finishes before kernel b starts (streams); an
    in-place write then also needs every other reader ordered before it."""
    builder = _Builder(fn, reuse_inplace, ordered)
    builder.resolve_aliases()
    builder.intervals()
    return builder.group()
