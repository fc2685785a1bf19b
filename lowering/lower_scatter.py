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
c0:]. With one (add, mul, max, min) each update is a read-modify-write of its output row:
MTE2 loads the row and the update, the vector unit combines them, MTE3 stores the row, and
the next update waits for the store (it may hit the same row). K and tc come from UB's
capacity by a small cost estimate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from xdsl.ir import Operation, SSAValue

from gedialects.errors import UnsupportedError
from gedialects.ge.types import shape_of, to_numpy_dtype
from gedialects.kernel.mirrored import ScatterKernelOp
from gedialects.npu.attrs import BufferType
from gedialects.npu.buffers import ReshapeOp
from gedialects.npu.launch import KernelOp
from gedialects.npu.scalar import LoadScalarOp
from gedialects.npu.vector import BINARY_OPS
from lowering.lower_movement import Region, copy_kernel
from lowering.npu_builder import KernelBuilder
from lowering.registry import lowers
from lowering.tiling import aligned
from runtime.npu_scalar import SCALAR_LOAD_CYCLES
from runtime.targets import Target

COMBINE = {"add": "add", "mul": "mul", "max": "max", "min": "min"}
"""A scatter reduction -> the vector op that combines an output row with its update."""


@dataclass(frozen=True)
class ScatterTiling:
    rows: int
    """K: indices (and, without a reduction, update rows) brought into UB at once."""
    cols: int
    blocks: int
    estimate: float


def choose_scatter_tile(
    target: Target, shape: tuple[int, int, int], isz: int, idx_isz: int, reduce: bool
) -> ScatterTiling:
    """(K, tc) for (outer, P, inner) updates: the slowest core's tiles x (the index and
    update loads + P row stores, or P read-modify-writes of a row with a reduction)."""
    outer, count, inner = shape
    ub = target.capacity_of("ub")
    hbm, out, burst = target.rate("hbm", "ub"), target.rate("ub", "hbm"), target.dma_burst
    best: ScatterTiling | None = None
    for tc in sorted({inner} | {c for c in (16 * 2**i for i in range(12)) if c < inner}):
        row_bytes = -(-tc * isz // burst) * burst
        for k in sorted({count} | {2**i for i in range(12) if 2**i < count}):
            rows = 2 if reduce else k
            need = aligned(k * idx_isz) + rows * aligned(tc * isz)
            if need > ub:
                continue
            tiles = outer * -(-inner // tc)
            blocks = min(tiles, target.vector_cores)
            loads = -(-count // k) * -(-k * idx_isz // burst) * burst / hbm
            if reduce:
                per_row = 2 * row_bytes / hbm + row_bytes / out + 2 * SCALAR_LOAD_CYCLES
            else:
                loads += count * tc * isz / hbm
                per_row = max(row_bytes / out, SCALAR_LOAD_CYCLES)
            estimate = -(-tiles // blocks) * (loads + count * per_row)
            if best is None or estimate < best.estimate:
                best = ScatterTiling(k, tc, blocks, estimate)
    if best is None:
        raise UnsupportedError("kernel.scatter: no tile of one update row fits the unified buffer")
    return best


def _view(value: SSAValue, dims: tuple[int, ...]) -> ReshapeOp:
    return ReshapeOp(value, BufferType(dims, value.type.element_type, "hbm"))


@lowers(ScatterKernelOp)
def lower_scatter(
    op: ScatterKernelOp, inputs: list[SSAValue], output: SSAValue, target: Target, name: str
) -> list[Operation]:
    """Views of data, indices, updates and output, the copy kernel and the scatter kernel."""
    data_shape, idx_shape = shape_of(op.operands[0].type), shape_of(op.operands[1].type)
    axis = op.get_int("axis") % len(data_shape)
    outer, size = math.prod(data_shape[:axis]), data_shape[axis]
    inner, count = math.prod(data_shape[axis + 1 :]), math.prod(idx_shape)
    if not outer or not size or not inner:
        raise UnsupportedError(f"{op.name} of empty data has no npu lowering")
    views = [
        _view(inputs[0], (outer, size, inner)),
        _view(inputs[1], (count,)),
        _view(inputs[2], (outer, count, inner)),
        _view(output, (outer, size, inner)),
    ]
    data, indices, updates, out = (v.result for v in views)
    copy = Region(data, (outer, size, inner), (0, 0, 0), (0, 0, 0), (0, 1, 2))
    made: list[Operation] = [*views, copy_kernel([copy], out, target, f"{name}_copy", [], "copy")]
    if not count:
        return made
    reduction = op.get_str("reduction")
    isz = to_numpy_dtype(output.type.element_type).itemsize
    idx_isz = to_numpy_dtype(indices.type.element_type).itemsize
    shape = (outer, count, inner)
    tiling = choose_scatter_tile(target, shape, isz, idx_isz, reduction != "none")
    kernel = KernelOp(name, tiling.blocks, fused_from=op.fused_names, kind="scatter")
    _emit(KernelBuilder(kernel), (indices, updates, out), (*shape, size), tiling, reduction)
    return [*made, kernel]


def _emit(b: KernelBuilder, bufs: tuple, shape: tuple, tiling: ScatterTiling, reduction: str):  # noqa: ANN202
    indices, updates, out = bufs
    outer, count, inner, size = shape
    k, tc = tiling.rows, tiling.cols
    element = out.type.element_type
    idx_tile = b.alloc([k], indices.type.element_type, "ub")
    if reduction == "none":
        rows = b.alloc([k, tc], element, "ub")
    else:
        current, update = b.alloc([1, tc], element, "ub"), b.alloc([1, tc], element, "ub")
    nk, nc = -(-count // k), -(-inner // tc)
    b.set_flag("MTE3", "MTE2")
    with b.loop(b.block_index, outer * nc, tiling.blocks) as t:
        c0 = b.muli(b.remui(t, nc), tc)
        o = b.divui(t, nc)
        cext = b.extent(c0, tc, inner)
        with b.loop(0, nk, 1) as q:
            i0 = b.muli(q, k)
            kext = b.extent(i0, k, count)
            b.wait_flag("MTE3", "MTE2")  # the last row is stored: the buffers are free
            b.dma(indices, [i0], [kext], idx_tile, [0])
            if reduction == "none":
                b.dma(updates, [o, i0, c0], [1, kext, cext], rows, [0, 0], [kext, cext])
                b.sync("MTE2", "MTE3")
            b.sync("MTE2", "S")
            with b.loop(0, kext, 1) as j:
                row = b.add(LoadScalarOp(idx_tile, [j], bound=size)).results[0]
                if reduction == "none":
                    b.sync("S", "MTE3")  # the row's address is the index just read
                    b.dma(rows, [j, 0], [1, cext], out, [o, row, c0], [1, 1, cext])
                else:
                    _combine(
                        b,
                        (out, updates, current, update),
                        (o, row, b.addi(i0, j), c0),
                        cext,
                        reduction,
                    )
            b.set_flag("MTE3", "MTE2")
    b.wait_flag("MTE3", "MTE2")


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
