"""The core ops of the `npu` dialect, in one list, and the one import point for them.

Instructions are in destination-passing style: they name the buffers they read and write and
return nothing, as the DaVinci core's instructions do. Windows of a buffer are given as mixed
static/dynamic offsets and sizes (`%buf[%i, 0] [64, %n]`), so a tile loop (`scf.for`) addresses
the tiles of a large tensor from its induction variables. The ops live by concern:
`base` (NpuOp, mixed index lists), `launch` (npu.kernel), `buffers` (allocations, constants,
reshaped views), `transfer` (DMA, trans_data), `cube` (mmad), `sync` (flags, stream events);
vector, img2col, window and mask ops have their own modules. Checks that need a target
(capacities, rates) are in `gedialects.npu.verify`.

The names below are re-exported because the npu interpreter (`runtime/npu_*.py`) imports them
from here; new code imports from the op's own module.
"""

from __future__ import annotations

from xdsl.irdl import IRDLOperation

from gedialects.npu.base import I64_ARRAY, NpuOp, mixed, split_mixed
from gedialects.npu.buffers import (
    AllocOp,
    HbmAllocOp,
    HbmConstantOp,
    ReshapeOp,
    ViewOp,
    constant_array,
)
from gedialects.npu.cube import MmadOp
from gedialects.npu.launch import KernelOp
from gedialects.npu.sync import RecordEventOp, SetFlagOp, WaitEventOp, WaitFlagOp
from gedialects.npu.transfer import DMA_LISTS, DmaOp, TransDataOp

ALL_OPS: list[type[IRDLOperation]] = [
    KernelOp,
    AllocOp,
    HbmAllocOp,
    HbmConstantOp,
    ReshapeOp,
    ViewOp,
    DmaOp,
    TransDataOp,
    MmadOp,
    SetFlagOp,
    WaitFlagOp,
    RecordEventOp,
    WaitEventOp,
]

__all__ = [
    "ALL_OPS",
    "DMA_LISTS",
    "I64_ARRAY",
    "AllocOp",
    "DmaOp",
    "HbmAllocOp",
    "HbmConstantOp",
    "KernelOp",
    "MmadOp",
    "NpuOp",
    "RecordEventOp",
    "ReshapeOp",
    "SetFlagOp",
    "TransDataOp",
    "ViewOp",
    "WaitEventOp",
    "WaitFlagOp",
    "constant_array",
    "mixed",
    "split_mixed",
]
