"""kernel.argmax / kernel.argmin -> npu.kernel: the index of the extreme along one axis.

The input is viewed as (outer, L, inner) and a tile is (tr, L, tc): whole reduced lines in
UB. Per tile the vector unit takes the extreme along L (`reduce_max` / `reduce_min`),
compares the tile with it into an i1 mask, selects an index line (0..L-1, an
`npu.hbm_constant` loaded once per core) where the mask holds and L elsewhere, and takes the
smallest index (the first extreme; with select_last_index -1 elsewhere and the largest),
then casts it to i64. Lines longer than UB holds are refused.
"""

from __future__ import annotations

import math

import numpy as np
from xdsl.dialects.builtin import BytesAttr, DenseIntOrFPElementsAttr, TensorType, i1, i32, i64
from xdsl.ir import Operation, SSAValue

from gedialects.errors import UnsupportedError
from gedialects.ge.types import shape_of, to_numpy_dtype
from gedialects.kernel.mirrored import ArgMaxKernelOp, ArgMinKernelOp
from gedialects.npu.attrs import BufferType
from gedialects.npu.buffers import HbmConstantOp, ReshapeOp
from gedialects.npu.launch import KernelOp
from gedialects.npu.mask import VecCmpOp, VecSelectOp
from gedialects.npu.vector import REDUCE_OPS, VecCastOp, VecDupOp
from lowering.npu_builder import KernelBuilder
from lowering.registry import lowers
from lowering.tiling import ALIGN, aligned
from runtime.targets import Target


def choose_arg_tile(target: Target, shape: tuple[int, int, int], isz: int) -> tuple[int, int]:
    """(tr, tc) lines per tile that fit UB (input, mask, candidate and result tiles), chosen
    by an estimate of the slowest core's load + vector + store cycles."""
    outer, length, inner = shape
    per_line = length * (isz + 1 + 4) + 3 * ALIGN + 8 + isz  # x, mask, cand; extreme, out
    budget = target.capacity_of("ub") - 2 * ALIGN - aligned(length * 4)
    best, best_cost = None, math.inf
    for tc in sorted({inner} | {2**i for i in range(16) if 2**i < inner}):
        for tr in sorted({outer} | {2**i for i in range(16) if 2**i < outer}):
            if tr * tc * per_line > budget:
                continue
            tiles = -(-outer // tr) * -(-inner // tc)
            blocks = min(tiles, target.vector_cores)
            lines = tr * tc
            cost = lines * length * isz / target.rate("hbm", "ub")
            cost += 5 * lines * length * max(isz, 4) / 256 + 8 * lines / target.rate("ub", "hbm")
            cost = -(-tiles // blocks) * (cost + 20)  # 20: fixed cost of a tile's instructions
            if cost < best_cost:
                best, best_cost = (tr, tc), cost
    if best is None:
        raise UnsupportedError(f"arg reduction over {length} elements: a line does not fit UB")
    return best


@lowers(ArgMaxKernelOp, ArgMinKernelOp)
def lower_arg_reduce(
    op: Operation, inputs: list[SSAValue], output: SSAValue, target: Target, name: str
) -> list[Operation]:
    shape = shape_of(op.operands[0].type)
    if not shape:
        raise UnsupportedError(f"rank-0 {op.name} has no npu lowering")
    axis = op.get_int("axis") % len(shape)
    outer, length, inner = math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1 :])
    element = op.operands[0].type.element_type
    tr, tc = choose_arg_tile(target, (outer, length, inner), to_numpy_dtype(element).itemsize)
    iota = np.arange(length, dtype=np.int32)
    value = DenseIntOrFPElementsAttr(TensorType(i32, [length]), BytesAttr(iota.tobytes()))
    ops: list[Operation] = [
        ReshapeOp(inputs[0], BufferType((outer, length, inner), element, "hbm")),
        ReshapeOp(output, BufferType((outer, 1, inner), i64, "hbm")),
        HbmConstantOp(value, BufferType((length,), i32, "hbm")),
    ]
    x, out, line = (o.results[0] for o in ops)
    tiles = -(-outer // tr) * -(-inner // tc)
    blocks = min(tiles, target.vector_cores)
    kernel = KernelOp(name, blocks, fused_from=op.fused_names, kind="arg_reduce")
    last = op.get_flag("select_last_index")
    _emit(KernelBuilder(kernel), (x, out, line), (outer, length, inner, tr, tc), op, last)
    return [*ops, kernel]


def _emit(b: KernelBuilder, bufs: tuple, shape: tuple, op: Operation, last: bool) -> None:
    x, out, line = bufs
    outer, length, inner, tr, tc = shape
    element = x.type.element_type
    blocks = b.kernel.block_dim.value.data
    iota, other = b.alloc([1, length, 1], i32, "ub"), b.alloc([1, 1, 1], i32, "ub")
    tile, mask = b.alloc([tr, length, tc], element, "ub"), b.alloc([tr, length, tc], i1, "ub")
    cand, best = b.alloc([tr, length, tc], i32, "ub"), b.alloc([tr, 1, tc], element, "ub")
    index, result = b.alloc([tr, 1, tc], i32, "ub"), b.alloc([tr, 1, tc], i64, "ub")
    b.dma(line, [0], [length], iota, [0, 0, 0], [1, length, 1])
    b.add(VecDupOp(-1.0 if last else float(length), other))
    b.set_flag("V", "MTE2")
    b.set_flag("MTE3", "V")
    nc = -(-inner // tc)
    with b.loop(b.block_index, -(-outer // tr) * nc, blocks) as t:
        c0 = b.muli(b.remui(t, nc), tc)
        r0 = b.muli(b.divui(t, nc), tr)
        rext, cext = b.extent(r0, tr, outer), b.extent(c0, tc, inner)
        b.wait_flag("V", "MTE2")
        b.dma(x, [r0, 0, c0], [rext, length, cext], tile, [0, 0, 0])
        b.sync("MTE2", "V")
        extreme = "reduce_max" if op.name == "kernel.argmax" else "reduce_min"
        b.add(REDUCE_OPS[extreme](tile, best, [1]))
        b.add(VecCmpOp("eq", tile, best, mask))
        b.add(VecSelectOp(mask, iota, other, cand))
        b.add(REDUCE_OPS["reduce_max" if last else "reduce_min"](cand, index, [1]))
        b.set_flag("V", "MTE2")
        b.wait_flag("MTE3", "V")
        b.add(VecCastOp(index, result))
        b.sync("V", "MTE3")
        b.dma(result, [0, 0, 0], [rext, 1, cext], out, [r0, 0, c0])
        b.set_flag("MTE3", "V")
    b.wait_flag("V", "MTE2")
    b.wait_flag("MTE3", "V")
