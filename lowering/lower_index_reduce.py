"""kernel.argmax / kernel.argmin -> npu.kernel: the index of the extreme along one axis.

The input is viewed as (outer, L, inner) and a tile is (tr, L, tc): whole reduced lines in
UB. Per tile the vector unit takes the extreme along L (`reduce_max` / `reduce_min`),
compares the tile with it into an i1 mask, selects an index line (0..L-1, an
`npu.hbm_constant` loaded once per core) where the mask holds and L elsewhere, and takes the
smallest index (the first extreme; with select_last_index -1 elsewhere and the largest),
then casts it to i64.

A line longer than UB holds (an LM's argmax over its vocabulary: GPT-2's 50,257 logits) is
cut into chunks: a first kernel takes each (line, chunk)'s extreme and the global index of
its first (last) occurrence, reading the indices from the index line at the chunk's offset
(a short chunk's rest padded with L, or -1, which never wins; its values with the extreme's
identity); the kernel above then reduces those partial lines, selecting among the partial
indices instead of an index line. The earliest chunk holding the extreme holds its first
occurrence, and min over the candidates picks it (max for the last).
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
from gedialects.npu.buffers import HbmAllocOp, HbmConstantOp, ReshapeOp
from gedialects.npu.launch import KernelOp
from gedialects.npu.mask import VecCmpOp, VecSelectOp
from gedialects.npu.vector import REDUCE_OPS, VecCastOp, VecDupOp
from lowering.lower_long_rows import identity
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
    isz = to_numpy_dtype(element).itemsize
    iota = np.arange(length, dtype=np.int32)
    value = DenseIntOrFPElementsAttr(TensorType(i32, [length]), BytesAttr(iota.tobytes()))
    ops: list[Operation] = [
        ReshapeOp(inputs[0], BufferType((outer, length, inner), element, "hbm")),
        ReshapeOp(output, BufferType((outer, 1, inner), i64, "hbm")),
        HbmConstantOp(value, BufferType((length,), i32, "hbm")),
    ]
    x, out, line = (o.results[0] for o in ops)
    last = op.get_flag("select_last_index")
    if _fits(target, length, isz):
        kernel = _lines_kernel(
            op, (x, out, line, None), (outer, length, inner), length, target, name
        )
        return [*ops, kernel]
    q = _chunk_length(target, length, isz)
    chunks = -(-length // q)
    line3 = ReshapeOp(line, BufferType((1, length, 1), i32, "hbm"))  # windows of one rank
    values = HbmAllocOp(BufferType((outer, chunks, inner), element, "hbm"))
    indices = HbmAllocOp(BufferType((outer, chunks, inner), i32, "hbm"))
    partials = (values.buffer, indices.buffer)
    first = KernelOp(f"{name}_chunks", min(outer * chunks * inner, target.vector_cores),
                     fused_from=op.fused_names, kind="arg_reduce")  # fmt: skip
    chunk_bufs = (x, line3.result, *partials)
    _emit_chunks(KernelBuilder(first), chunk_bufs, (outer, length, inner, q), op, last)
    second_bufs = (values.buffer, out, None, indices.buffer)
    second = _lines_kernel(op, second_bufs, (outer, chunks, inner), length, target, name)
    return [*ops, line3, values, indices, first, second]


def _fits(target: Target, length: int, isz: int) -> bool:
    try:
        choose_arg_tile(target, (1, length, 1), isz)
    except UnsupportedError:
        return False
    return True


def _chunk_length(target: Target, length: int, isz: int) -> int:
    """Q: the longest chunk (a multiple of 32 elements: the i1 mask's block) whose value,
    mask, candidate and index tiles fit UB; chunks as even as that allows."""
    per_element = isz + 1 + 4 + 4
    longest = (target.capacity_of("ub") - 8 * ALIGN) // per_element // 32 * 32
    chunks = -(-length // longest)
    even = -(-length // chunks)
    return -(-even // 32) * 32


def _lines_kernel(
    op: Operation, bufs: tuple, shape: tuple, indexed: int, target: Target, name: str
) -> KernelOp:
    """The kernel of whole lines: over the input and the index line, or over partial values
    and their indices (`bufs`: values, output, index line or None, partial indices or None);
    `indexed` is the length of the lines the indices count (the input's)."""
    outer, length, inner = shape
    element = bufs[0].type.element_type
    room = length if bufs[3] is None else 2 * length  # partial indices: a tile beside it
    tr, tc = choose_arg_tile(target, (outer, room, inner), to_numpy_dtype(element).itemsize)
    tiles = -(-outer // tr) * -(-inner // tc)
    blocks = min(tiles, target.vector_cores)
    kernel = KernelOp(name, blocks, fused_from=op.fused_names, kind="arg_reduce")
    last = op.get_flag("select_last_index")
    _emit(KernelBuilder(kernel), bufs, (outer, length, inner, tr, tc, indexed), op, last)
    return kernel


def _emit_chunks(b: KernelBuilder, bufs: tuple, shape: tuple, op: Operation, last: bool) -> None:
    """Per (line, chunk): the chunk's extreme and the global index of its first (last)
    occurrence, into the (outer, chunks, inner) partials."""
    x, line, values, indices = bufs
    outer, length, inner, q = shape
    chunks = -(-length // q)
    element = x.type.element_type
    blocks = b.kernel.block_dim.value.data
    argmax = op.name == "kernel.argmax"
    tile, mask = b.alloc([1, q, 1], element, "ub"), b.alloc([1, q, 1], i1, "ub")
    iota, cand = b.alloc([1, q, 1], i32, "ub"), b.alloc([1, q, 1], i32, "ub")
    best, index = b.alloc([1, 1, 1], element, "ub"), b.alloc([1, 1, 1], i32, "ub")
    other = b.alloc([1, 1, 1], i32, "ub")
    never = -1 if last else length  # an index the reduction of candidates never picks
    b.add(VecDupOp(never, other))
    b.set_flag("V", "MTE2")
    b.set_flag("MTE3", "V")
    with b.loop(b.block_index, outer * chunks * inner, blocks) as t:
        i = b.remui(t, inner)
        rest = b.divui(t, inner)
        chunk, o = b.remui(rest, chunks), b.divui(rest, chunks)
        c0 = b.muli(chunk, q)
        ext = b.extent(c0, q, length)
        b.wait_flag("V", "MTE2")
        if length % q:  # a short last chunk: its rest never holds the extreme
            b.add(VecDupOp(identity("max" if argmax else "min", to_numpy_dtype(element)), tile))
            b.sync("V", "MTE2")
        b.dma(x, [o, c0, i], [1, ext, 1], tile, [0, 0, 0])
        b.dma(line, [0, c0, 0], [1, ext, 1], iota, [0, 0, 0], [1, q, 1], pad=float(never))
        b.sync("MTE2", "V")
        b.wait_flag("MTE3", "V")
        b.add(REDUCE_OPS["reduce_max" if argmax else "reduce_min"](tile, best, [1]))
        _candidates(b, (tile, best, mask, iota, other, cand))
        b.add(REDUCE_OPS["reduce_max" if last else "reduce_min"](cand, index, [1]))
        b.set_flag("V", "MTE2")
        b.sync("V", "MTE3")
        b.dma(best, [0, 0, 0], [1, 1, 1], values, [o, chunk, i])
        b.dma(index, [0, 0, 0], [1, 1, 1], indices, [o, chunk, i])
        b.set_flag("MTE3", "V")
    b.wait_flag("V", "MTE2")
    b.wait_flag("MTE3", "V")


def _emit(b: KernelBuilder, bufs: tuple, shape: tuple, op: Operation, last: bool) -> None:
    x, out, line, partial = bufs
    outer, length, inner, tr, tc, indexed = shape
    element = x.type.element_type
    blocks = b.kernel.block_dim.value.data
    other = b.alloc([1, 1, 1], i32, "ub")
    iota = b.alloc([1, length, 1] if partial is None else [tr, length, tc], i32, "ub")
    tile, mask = b.alloc([tr, length, tc], element, "ub"), b.alloc([tr, length, tc], i1, "ub")
    cand, best = b.alloc([tr, length, tc], i32, "ub"), b.alloc([tr, 1, tc], element, "ub")
    index, result = b.alloc([tr, 1, tc], i32, "ub"), b.alloc([tr, 1, tc], i64, "ub")
    if partial is None:
        b.dma(line, [0], [length], iota, [0, 0, 0], [1, length, 1])
    b.add(VecDupOp(-1 if last else indexed, other))  # an index no candidate loses to
    b.set_flag("V", "MTE2")
    b.set_flag("MTE3", "V")
    nc = -(-inner // tc)
    with b.loop(b.block_index, -(-outer // tr) * nc, blocks) as t:
        c0 = b.muli(b.remui(t, nc), tc)
        r0 = b.muli(b.divui(t, nc), tr)
        rext, cext = b.extent(r0, tr, outer), b.extent(c0, tc, inner)
        b.wait_flag("V", "MTE2")
        b.dma(x, [r0, 0, c0], [rext, length, cext], tile, [0, 0, 0])
        if partial is not None:  # the chunks' indices, selected among instead of an index line
            b.dma(partial, [r0, 0, c0], [rext, length, cext], iota, [0, 0, 0])
        b.sync("MTE2", "V")
        extreme = "reduce_max" if op.name == "kernel.argmax" else "reduce_min"
        b.add(REDUCE_OPS[extreme](tile, best, [1]))
        _candidates(b, (tile, best, mask, iota, other, cand))
        b.add(REDUCE_OPS["reduce_max" if last else "reduce_min"](cand, index, [1]))
        b.set_flag("V", "MTE2")
        b.wait_flag("MTE3", "V")
        b.add(VecCastOp(index, result))
        b.sync("V", "MTE3")
        b.dma(result, [0, 0, 0], [rext, 1, cext], out, [r0, 0, c0])
        b.set_flag("MTE3", "V")
    b.wait_flag("V", "MTE2")
    b.wait_flag("MTE3", "V")


def _candidates(b: KernelBuilder, bufs: tuple) -> None:
    """cand = the index where the tile holds its line's extreme, `other` elsewhere. A NaN
    wins, as in numpy's argmax and argmin (the reference): the vector unit's max and min
    propagate it, and NaN equals nothing, so without the second select no index matched
    and the line's result was `other`, an index past the axis."""
    tile, best, mask, iota, other, cand = bufs
    b.add(VecCmpOp("eq", tile, best, mask))
    b.add(VecSelectOp(mask, iota, other, cand))
    if np.issubdtype(to_numpy_dtype(tile.type.element_type), np.floating):
        b.add(VecCmpOp("ne", tile, tile, mask))
        b.add(VecSelectOp(mask, iota, cand, cand))
