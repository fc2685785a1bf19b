"""Checks of an npu module against a target: capacities, transfer paths, HBM alignment.

On-chip buffers (`npu.alloc`) live until the end of the region that holds them, so the bytes a
kernel keeps live at once in a space are, per region, the allocations made so far plus the peak
of any nested region; that peak must fit the space's capacity on the target. Each allocation is
rounded up to the UB block (32 B), as the hardware's addressing is.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable
from typing import Protocol

from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Block, ErasedSSAValue, Operation
from xdsl.irdl import OpDef
from xdsl.traits import IsTerminator, NoTerminator
from xdsl.utils.exceptions import VerifyException

from gedialects.errors import GeVerifyError
from gedialects.npu.attrs import BufferType, aligned
from gedialects.npu.buffers import AllocOp, HbmAllocOp
from gedialects.npu.launch import KernelOp
from gedialects.npu.transfer import DmaOp


class TargetLike(Protocol):
    """What verification needs of a target (`runtime.targets.Target` is one)."""

    name: str
    ub_block: int
    hbm_align: int

    def capacity_of(self, space: str) -> int: ...

    def rate(self, src: str, dst: str) -> float | None: ...


def live_peak(block: Block, block_align: int) -> tuple[Counter, dict[str, list[AllocOp]]]:
    """Peak bytes per space the allocations of `block` (and nested regions) keep live at once."""
    live: Counter = Counter()
    peak: Counter = Counter()
    holders: dict[str, list[AllocOp]] = {}
    for op in block.ops:
        if isinstance(op, AllocOp):
            buf = op.buffer.type
            assert isinstance(buf, BufferType)
            live[buf.space_name] += aligned(buf.nbytes, block_align)
            holders.setdefault(buf.space_name, []).append(op)
        for region in op.regions:
            for inner in region.blocks:
                inner_peak, inner_holders = live_peak(inner, block_align)
                for space, nbytes in inner_peak.items():
                    if live[space] + nbytes > peak[space]:
                        holders.setdefault(space, []).extend(inner_holders.get(space, []))
                    peak[space] = max(peak[space], live[space] + nbytes)
        for space, nbytes in live.items():
            peak[space] = max(peak[space], nbytes)
    return peak, holders


def check_capacity(kernel: KernelOp, target: TargetLike) -> None:
    peak, _ = live_peak(kernel.body.block, target.ub_block)
    for space, nbytes in sorted(peak.items()):
        capacity = target.capacity_of(space)
        if nbytes > capacity:
            raise GeVerifyError(
                f"'npu.kernel' {kernel.sym_name.data}: buffers live at once in {space} take "
                f"{nbytes} bytes; {target.name} has {capacity} bytes of {space} per core"
            )


def check_paths(op: Operation, target: TargetLike) -> None:
    if isinstance(op, DmaOp):
        src, dst = op.src.type, op.dst.type
        assert isinstance(src, BufferType) and isinstance(dst, BufferType)
        if target.rate(src.space_name, dst.space_name) is None:
            raise GeVerifyError(
                f"'npu.dma': {target.name} has no data path from {src.space_name} to "
                f"{dst.space_name}"
            )
    elif isinstance(op, HbmAllocOp) and op.offset is not None:
        offset = op.offset.value.data
        if offset % target.hbm_align:
            raise GeVerifyError(
                f"'npu.hbm_alloc': offset {offset} is not aligned to {target.hbm_align} bytes"
            )


@functools.cache
def _irdl_parts(kind: type[Operation]) -> tuple[OpDef, Callable | None] | None:
    """(IRDL definition, the op's own `verify_`) of an op class, taken apart from the
    `verify_` that `irdl_op_definition` generates (which runs the one, then the other)."""
    fn = kind.verify_
    cells = dict(zip(fn.__code__.co_freevars, (c.cell_contents for c in fn.__closure__ or ())))
    op_def = cells.get("op_def")
    return (op_def, cells.get("custom_verify")) if isinstance(op_def, OpDef) else None


def _verify_leaf(op: Operation, seen: set) -> None:
    """`op.verify_()` of an op without regions or successors: its IRDL constraints (operand,
    result, property and attribute constraints: a function of its class, types and attributes
    alone) once per distinct signature; its traits and its own checks every time."""
    parts = _irdl_parts(type(op))
    if parts is None:
        op.verify_()
        return
    key = (
        type(op),
        tuple(v.type for v in op.operands),
        tuple(r.type for r in op.results),
        tuple(op.properties.items()),
        tuple(op.attributes.items()),
    )
    if key not in seen:
        op.verify_()
        seen.add(key)
        return
    op_def, custom = parts
    for trait in op_def.traits:
        trait.verify(op)
    if custom is not None:
        custom(op)


def verify_structure(op: Operation, seen: set | None = None) -> None:
    """`op.verify()` (xDSL 0.74's Operation/Region/Block.verify, the same checks and errors)
    for a lowered npu program, where a kernel holds thousands of ops of a few signatures:
    the IRDL constraints of the ops in kernel bodies are checked once per signature
    (`_verify_leaf`); they took ~2/3 of verifying ResNet-50's kernels."""
    if seen is None:
        if len(_VERIFIED) > 100_000:  # a long-lived process: bounded
            _VERIFIED.clear()
        seen = _VERIFIED
    _verify_op(op, seen, inside=False)


_VERIFIED: set = set()
"""Signatures whose IRDL constraints hold (a pure function of the signature), kept across
programs: a model's kernels repeat the same few hundred."""


def _verify_op(op: Operation, seen: set, inside: bool) -> None:
    block = op.parent
    if block is not None and block.parent is not None and not op.successors:
        # the terminator rules of Operation.verify (ops with successors: xDSL's own)
        region = block.parent
        if block.last_op is op and not op.has_trait(IsTerminator):
            parent = region.parent
            if len(region.blocks) > 1 or (
                parent is not None and not parent.has_trait(NoTerminator)
            ):
                raise VerifyException(
                    f"Operation {op.name} terminates block in "
                    + ("multi-block" if len(region.blocks) > 1 else "single-block")
                    + " region but is not a terminator"
                )
    if op.successors or any(isinstance(v, ErasedSSAValue) for v in op.operands):
        op.verify(verify_nested_ops=False)  # xDSL raises what it finds
    inside = inside or isinstance(op, KernelOp)
    for region in op.regions:
        for inner_block in region.blocks:
            for inner in inner_block.ops:
                if inner.parent is not inner_block:
                    raise ValueError(
                        "Parent pointer of operation does not refer to containing region"
                    )
                _verify_op(inner, seen, inside)
            if inner_block.first_op is None and len(region.blocks) == 1:
                if not op.has_trait(NoTerminator):
                    raise VerifyException(
                        f"Operation {op.name} contains empty block in "
                        "single-block region that expects at least a terminator"
                    )
            if inner_block.parent is not region:
                raise ValueError("Parent pointer of block does not refer to containing region")
    try:
        if inside and not op.regions and not op.successors:
            _verify_leaf(op, seen)
        else:
            op.verify_()
    except VerifyException as err:
        op.emit_error(f"Operation does not verify: {err}", err)


def verify_npu_module(module: ModuleOp, target: TargetLike) -> None:
    """Structural verification, then every check that needs `target`; raises GeVerifyError."""
    verify_structure(module)
    kernels, moves = [], []  # one walk; capacities are checked first, as they always were
    for op in module.walk():
        if isinstance(op, KernelOp):
            kernels.append(op)
        elif isinstance(op, DmaOp | HbmAllocOp):
            moves.append(op)
    for kernel in kernels:
        check_capacity(kernel, target)
    for op in moves:
        check_paths(op, target)
