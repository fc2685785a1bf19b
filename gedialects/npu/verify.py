"""Checks of an npu module against a target: capacities, transfer paths, HBM alignment.

On-chip buffers (`npu.alloc`) live until the end of the region that holds them, so the bytes a
kernel keeps live at once in a space are, per region, the allocations made so far plus the peak
of any nested region; that peak must fit the space's capacity on the target. Each allocation is
rounded up to the UB block (32 B), as the hardware's addressing is.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Protocol

from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Block, Operation

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


def _kernels(module: ModuleOp) -> Iterator[KernelOp]:
    for op in module.walk():
        if isinstance(op, KernelOp):
            yield op


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


def verify_npu_module(module: ModuleOp, target: TargetLike) -> None:
    """Structural verification, then every check that needs `target`; raises GeVerifyError."""
    module.verify()
    for kernel in _kernels(module):
        check_capacity(kernel, target)
    for op in module.walk():
        check_paths(op, target)
