"""kernel.scatter -> two npu kernels: a copy of the data into the output, then the updates.

Data and output are viewed as (outer, N, inner), the updates as (outer, P, inner) and the
indices as (P,) (`npu.reshape` views; N the scattered axis, P the number of indices). The
first kernel copies the data to the output over every core (`copy_kernel`); the second
writes the updates in index order, so a later update of a row wins, as onnxruntime's. Its
tiles are (outer, tc columns) blocks, each holding every index: cores never write the same
element, and one core sees a row's updates in order.

A tile takes K indices at a time into UB (MTE2); the S pipe reads each one
(`npu.load_scalar`, which wraps negative indices and refuses out-of-range ones). Without a
reduction MTE2 brings the K update rows in one DMA and MTE3 stores row j at out[o, index,
c0:]. With a mul, max or min each update is a read-modify-write of its output row:
MTE2 loads the row and the update, the vector unit combines them, MTE3 stores the row, and
the next update waits for the store (it may hit the same row). An add is the DMA unit's
atomic add instead (`npu.dma {atomic = "add"}`, as Ascend's scatter-adds): no read back, and
since adds commute the chunks of K indices spread over the cores as well. K and tc come from
UB's capacity by a small cost estimate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from xdsl.ir import Operation, SSAValue

from gedialects.errors import UnsupportedError
from gedialects.ge.types import shape_of, to_numpy_dtype
from gedialects.kernel.mirrored import ScatterKernelOp
from gedialects.npu.launch import KernelOp
from gedialects.npu.scalar import LoadScalarOp
from gedialects.npu.vector import BINARY_OPS
from lowering.lower_gather import around, hbm_view, row_tiles
from lowering.lower_movement import Region, copy_kernel
from lowering.npu_builder import KernelBuilder
from lowering.registry import lowers
from lowering.tiling import aligned
from runtime.npu_scalar import SCALAR_LOAD_CYCLES
from runtime.targets import Target

COMBINE = {"mul": "mul", "max": "max", "min": "min"}
"""A scatter reduction the DMA units cannot do -> the vector op of its read-modify-write."""


def scatter_mode(reduction: str) -> str:
    """How the updates reach the output: "store" (in order, the later one wins), "atomic"
    (atomic-add stores, from any core in any order), "rmw" (in order, read-modify-write)."""
    return {"none": "store", "add": "atomic"}.get(reduction, "rmw")


@dataclass(frozen=True)
class ScatterTiling:
    rows: int
    """K: indices (and, but with a read-modify-write, update rows) brought into UB at once."""
    cols: int
    blocks: int
    estimate: float


def choose_scatter_tile(
    target: Target, shape: tuple[int, int, int], isz: int, idx_isz: int, mode: str
) -> ScatterTiling:
    """(K, tc) for (outer, P, inner) updates: the slowest core's tiles x (the index and
    update loads + K row stores, or K read-modify-writes of a row). Tiles are (outer, tc
    columns) blocks with every index, or with the atomic add (outer, tc, K indices) blocks."""
    outer, count, inner = shape
    ub = target.capacity_of("ub")
    hbm, out, burst = target.rate("hbm", "ub"), target.rate("ub", "hbm"), target.dma_burst
    best: ScatterTiling | None = None
    for tc, k in row_tiles(inner, count):
        row_bytes = -(-tc * isz // burst) * burst
        rows = 2 if mode == "rmw" else k
        need = aligned(k * idx_isz) + rows * aligned(tc * isz)
        if need > ub:
            continue
        chunks = -(-count // k)
        tiles = outer * -(-inner // tc) * (chunks if mode == "atomic" else 1)
        blocks = min(tiles, target.vector_cores)
        per_chunk = -(-k * idx_isz // burst) * burst / hbm
        if mode == "rmw":
            per_row = 2 * row_bytes / hbm + row_bytes / out + 2 * SCALAR_LOAD_CYCLES
        else:
            per_chunk += k * tc * isz / hbm
            per_row = max(row_bytes / out, SCALAR_LOAD_CYCLES)
        per_tile = (1 if mode == "atomic" else chunks) * (per_chunk + k * per_row)
        estimate = -(-tiles // blocks) * per_tile
        if best is None or estimate < best.estimate:
            best = ScatterTiling(k, tc, blocks, estimate)
    if best is None:
        raise UnsupportedError("kernel.scatter: no tile of one update row fits the unified buffer")
    return best


@lowers(ScatterKernelOp)
def lower_scatter(
    op: ScatterKernelOp, inputs: list[SSAValue], output: SSAValue, target: Target, name: str
) -> list[Operation]:
    """Views of data, indices, updates and output, the copy kernel and the scatter kernel."""
    data_shape, idx_shape = shape_of(op.operands[0].type), shape_of(op.operands[1].type)
    outer, size, inner = around(data_shape, op.get_int("axis") % len(data_shape))
    count = math.prod(idx_shape)
    if not outer or not size or not inner:
        raise UnsupportedError(f"{op.name} of empty data has no npu lowering")
    views = [
        hbm_view(inputs[0], (outer, size, inner)),
        hbm_view(inputs[1], (count,)),
        hbm_view(inputs[2], (outer, count, inner)),
        hbm_view(output, (outer, size, inner)),
    ]
    data, indices, updates, out = (v.result for v in views)
    flat = (1, outer * size * inner)  # one contiguous copy, tiled by long rows whatever inner is
    flats = [hbm_view(inputs[0], flat), hbm_view(output, flat)]
    copy = Region(flats[0].result, flat, (0, 0), (0, 0), (0, 1))
    kernel_copy = copy_kernel([copy], flats[1].result, target, f"{name}_copy", [], "copy")
    made: list[Operation] = [*views, *flats, kernel_copy]
    if not count:
        return made
    reduction = op.get_str("reduction")
    mode = scatter_mode(reduction)
    isz = to_numpy_dtype(output.type.element_type).itemsize
    idx_isz = to_numpy_dtype(indices.type.element_type).itemsize
    shape = (outer, count, inner)
    tiling = choose_scatter_tile(target, shape, isz, idx_isz, mode)
    kernel = KernelOp(name, tiling.blocks, fused_from=op.fused_names, kind="scatter")
    b = KernelBuilder(kernel)
    k, tc = tiling.rows, tiling.cols
    element = out.type.element_type
    scratch = [b.alloc([k], indices.type.element_type, "ub")]  # the indices
    if mode == "rmw":
        scratch += [b.alloc([1, tc], element, "ub"), b.alloc([1, tc], element, "ub")]
    else:
        scratch.append(b.alloc([k, tc], element, "ub"))  # K update rows
    bufs = (indices, updates, out, *scratch)
    nk, nc = -(-count // k), -(-inner // tc)
    b.set_flag("MTE3", "MTE2")
    if mode == "atomic":  # chunks of indices go to any core: the adds commute
        with b.loop(b.block_index, outer * nc * nk, tiling.blocks) as t:
            i0 = b.muli(b.remui(t, nk), k)
            rest = b.divui(t, nk)
            c0 = b.muli(b.remui(rest, nc), tc)
            o = b.divui(rest, nc)
            _chunk(b, bufs, (o, i0, c0), (count, inner, size), tiling, reduction)
    else:  # one core takes a column block's every index, in order
        with b.loop(b.block_index, outer * nc, tiling.blocks) as t:
            c0 = b.muli(b.remui(t, nc), tc)
            o = b.divui(t, nc)
            with b.loop(0, nk, 1) as q:
                _chunk(b, bufs, (o, b.muli(q, k), c0), (count, inner, size), tiling, reduction)
    b.wait_flag("MTE3", "MTE2")
    return [*made, kernel]


def _chunk(
    b: KernelBuilder, bufs: tuple, at: tuple, dims: tuple, tiling: ScatterTiling, reduction: str
):  # noqa: ANN202
    """Updates i0 .. i0 + K of columns c0 .. c0 + tc of outer row o."""
    indices, updates, out, idx_tile, *rows = bufs
    mode = scatter_mode(reduction)
    (o, i0, c0), (count, inner, size) = at, dims
    kext, cext = b.extent(i0, tiling.rows, count), b.extent(c0, tiling.cols, inner)
    b.wait_flag("MTE3", "MTE2")  # the last row is stored: the buffers are free
    b.dma(indices, [i0], [kext], idx_tile, [0])
    if mode != "rmw":
        b.dma(updates, [o, i0, c0], [1, kext, cext], rows[0], [0, 0], [kext, cext])
        b.sync("MTE2", "MTE3")
    b.sync("MTE2", "S")
    with b.loop(0, kext, 1) as j:
        row = b.add(LoadScalarOp(idx_tile, [j], bound=size)).results[0]
        if mode == "rmw":
            _combine(b, (out, updates, *rows), (o, row, b.addi(i0, j), c0), cext, reduction)
        else:
            b.sync("S", "MTE3")  # the row's address is the index just read
            atomic = "add" if mode == "atomic" else None
            dst = [o, row, c0]
            b.dma(rows[0], [j, 0], [1, cext], out, dst, [1, 1, cext], atomic=atomic)
    b.set_flag("MTE3", "MTE2")


def _combine(b: KernelBuilder, bufs: tuple, at: tuple, cext, reduction: str) -> None:  # noqa: ANN001
    """out[o, row, c0:] = out[o, row, c0:] (op) updates[o, i, c0:], a read-modify-write."""
    out, updates, current, update = bufs
    o, row, i, c0 = at
    b.sync("S", "MTE2")  # the row's address is the index just read
    b.dma(out, [o, row, c0], [1, 1, cext], current, [0, 0], [1, cext])
    b.dma(updates, [o, i, c0], [1, 1, cext], update, [0, 0], [1, cext])
    b.sync("MTE2", "V")
    b.add(BINARY_OPS[COMBINE[reduction]](current, update, current))
    b.sync("V", "MTE3")
    b.dma(current, [0, 0], [1, cext], out, [o, row, c0], [1, 1, cext])
    b.sync("MTE3", "MTE2", 1)  # the next update may read this row back
