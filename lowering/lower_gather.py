"""kernel.gather -> npu.kernel: an embedding lookup whose indices are runtime data.

Data is viewed as (outer, N, inner) and the output as (outer, I, inner) (`npu.reshape`
views; N the gathered axis, I the number of indices). A tile is K indices x tc columns: MTE2
brings the K indices into UB, the S pipe reads each one (`npu.load_scalar`, which wraps
negative indices and refuses out-of-range ones), and MTE2 copies row data[o, index, c0:c0+tc]
into row j of a (K, tc) UB tile, which MTE3 stores at out[o, i0:i0+K, c0:]. Tiles go
round-robin to the vector cores; K and tc come from UB's capacity by a small cost estimate.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from xdsl.ir import Operation, SSAValue

from gedialects.errors import UnsupportedError
from gedialects.ge.types import shape_of, to_numpy_dtype
from gedialects.kernel.mirrored import GatherKernelOp
from gedialects.npu.attrs import BufferType
from gedialects.npu.buffers import ReshapeOp
from gedialects.npu.launch import KernelOp
from gedialects.npu.scalar import LoadScalarOp
from lowering.npu_builder import KernelBuilder
from lowering.registry import lowers
from lowering.tiling import aligned
from runtime.npu_scalar import SCALAR_LOAD_CYCLES
from runtime.targets import Target


@dataclass(frozen=True)
class GatherTiling:
    rows: int
    cols: int
    blocks: int
    estimate: float


def choose_gather_tile(
    target: Target, shape: tuple[int, int, int], isz: int, idx_isz: int
) -> GatherTiling:
    """(K indices, tc columns) per tile for an (outer, I, inner) output: the estimate is the
    slowest core's tiles x (K row DMAs, overlapped with the S reads, + the tile's store)."""
    outer, count, inner = shape
    ub = target.capacity_of("ub")
    hbm, out, burst = target.rate("hbm", "ub"), target.rate("ub", "hbm"), target.dma_burst
    best: GatherTiling | None = None
    for tc, k in row_tiles(inner, count):
        need = aligned(k * idx_isz) + aligned(k * tc * isz)
        if need > ub:
            continue
        tiles = outer * -(-count // k) * -(-inner // tc)
        blocks = min(tiles, target.vector_cores)
        row = max(-(-tc * isz // burst) * burst / hbm, SCALAR_LOAD_CYCLES)
        per_tile = k * row + k * tc * isz / out + k * idx_isz / hbm
        estimate = -(-tiles // blocks) * per_tile
        if best is None or estimate < best.estimate:
            best = GatherTiling(k, tc, blocks, estimate)
    if best is None:
        raise UnsupportedError("kernel.gather: no tile of one index row fits the unified buffer")
    return best


def row_tiles(inner: int, count: int) -> Iterator[tuple[int, int]]:
    """(tc columns, K indices) a row gather or scatter tries: powers of two from 16 columns
    and from one index, and the whole extents."""
    for tc in sorted({inner} | {c for c in (16 * 2**i for i in range(12)) if c < inner}):
        for k in sorted({count} | {2**i for i in range(12) if 2**i < count}):
            yield tc, k


def hbm_view(value: SSAValue, dims: tuple[int, ...]) -> ReshapeOp:
    """An `npu.reshape` of an HBM buffer to `dims` (the (outer, N, inner) views)."""
    return ReshapeOp(value, BufferType(dims, value.type.element_type, "hbm"))


def around(shape: tuple[int, ...], axis: int) -> tuple[int, int, int]:
    """(outer, N, inner): the elements before `axis`, its extent, the elements after it."""
    return math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1 :])


@lowers(GatherKernelOp)
def lower_gather(
    op: GatherKernelOp, inputs: list[SSAValue], output: SSAValue, target: Target, name: str
) -> list[Operation]:
    """Views of data, indices and output, and the kernel gathering rows between them."""
    data_shape, idx_shape = shape_of(op.operands[0].type), shape_of(op.operands[1].type)
    outer, size, inner = around(data_shape, op.get_int("axis") % len(data_shape))
    count = math.prod(idx_shape)
    if not count or not outer or not inner:
        raise UnsupportedError(f"{op.name} with an empty operand or result has no npu lowering")
    views = [
        hbm_view(inputs[0], (outer, size, inner)),
        hbm_view(inputs[1], (count,)),
        hbm_view(output, (outer, count, inner)),
    ]
    data, indices, out = (v.result for v in views)
    isz = to_numpy_dtype(output.type.element_type).itemsize
    idx_isz = to_numpy_dtype(indices.type.element_type).itemsize
    tiling = choose_gather_tile(target, (outer, count, inner), isz, idx_isz)
    kernel = KernelOp(name, tiling.blocks, fused_from=op.fused_names, kind="gather")
    _emit(KernelBuilder(kernel), (data, indices, out), (outer, count, inner, size), tiling)
    return [*views, kernel]


def gather_rows_kernel(
    data: SSAValue, indices: SSAValue, out: SSAValue, target: Target, name: str, fused: list
) -> KernelOp:
    """The kernel out[o, i, :] = data[o, indices[i], :] on (outer, N, inner) / (I,) /
    (outer, I, inner) HBM buffers (other lowerings gather by constant index tables with it)."""
    (outer, size, inner), count = data.type.dims, indices.type.dims[0]
    isz = to_numpy_dtype(out.type.element_type).itemsize
    idx_isz = to_numpy_dtype(indices.type.element_type).itemsize
    tiling = choose_gather_tile(target, (outer, count, inner), isz, idx_isz)
    kernel = KernelOp(name, tiling.blocks, fused_from=fused, kind="gather")
    _emit(KernelBuilder(kernel), (data, indices, out), (outer, count, inner, size), tiling)
    return kernel


def _emit(b: KernelBuilder, bufs: tuple, shape: tuple, tiling: GatherTiling) -> None:
    data, indices, out = bufs
    outer, count, inner, size = shape
    k, tc = tiling.rows, tiling.cols
    idx_tile = b.alloc([k], indices.type.element_type, "ub")
    rows = b.alloc([k, tc], out.type.element_type, "ub")
    nk, nc = -(-count // k), -(-inner // tc)
    b.set_flag("MTE3", "MTE2")
    with b.loop(b.block_index, outer * nk * nc, tiling.blocks) as t:
        c0 = b.muli(b.remui(t, nc), tc)
        q = b.divui(t, nc)
        i0 = b.muli(b.remui(q, nk), k)
        o = b.divui(q, nk)
        kext, cext = b.extent(i0, k, count), b.extent(c0, tc, inner)
        b.wait_flag("MTE3", "MTE2")  # the previous tile is stored: its buffers are free
        b.dma(indices, [i0], [kext], idx_tile, [0])
        b.sync("MTE2", "S")
        with b.loop(0, kext, 1) as j:
            row = b.add(LoadScalarOp(idx_tile, [j], bound=size)).results[0]
            b.sync("S", "MTE2")  # the row's address is the index just read
            b.dma(data, [o, row, c0], [1, 1, cext], rows, [j, 0], [1, cext])
        b.sync("MTE2", "MTE3")
        b.dma(rows, [0, 0], [kext, cext], out, [o, i0, c0], [1, kext, cext])
        b.set_flag("MTE3", "MTE2")
    b.wait_flag("MTE3", "MTE2")
