"""Reductions and softmaxes over rows longer than the unified buffer: partial results per
chunk, then a row kernel over the partials (and, for a softmax, the chunks normalized).

`lower_rows` keeps whole rows in UB, so a reduction over more elements than UB holds (a full
`x.sum()` of a 300x700 tensor, a row of 100,000) had no npu lowering. A long row is cut into
P chunks of Q elements (Q as large as UB allows, a whole number of 32-byte blocks); the first
kernel reduces each (row, chunk) on the vector unit into an HBM temporary of (rows, P)
partials, chunks spread over every vector core; `lower_rows` then reduces the partials with
the op itself. Each kind is chosen so that the second reduction finishes it: sum, max, min
and prod reduce their partials alike; l2 takes each chunk's norm (the norm of the norms is
the row's); mean takes each chunk's sum times P / cols (the second kernel's mean divides by
P). A last chunk shorter than Q is filled with the kind's identity first (`vec_dup`), so the
reduction of the whole buffer is that of the chunk. A softmax needs its row's max and sum
before any output: `lower_long_softmax` (its docstring) takes three kernels.
"""

from __future__ import annotations

import math

import numpy as np
from xdsl.dialects.builtin import f32
from xdsl.ir import Attribute, Operation, SSAValue

from gedialects.errors import UnsupportedError
from gedialects.ge.types import element_of, to_numpy_dtype
from gedialects.kernel.mirrored import LogSoftmaxKernelOp
from gedialects.kernel.ops import SoftmaxKernelOp
from gedialects.npu.attrs import BufferType
from gedialects.npu.buffers import HbmAllocOp
from gedialects.npu.launch import KernelOp
from gedialects.npu.vector import BINARY_OPS, REDUCE_OPS, SCALAR_OPS, UNARY_OPS, VecCastOp, VecDupOp
from lowering.lower_rows import REDUCE_KINDS, casts, lower_rows, reduce_kind, rows_in_ub
from lowering.npu_builder import KernelBuilder
from runtime.targets import Target

BUFFERS = 2
"""UB buffers of a chunk's length the partials kernel may hold (the load, and its f32 copy
when the kernel casts)."""


def chunk_length(target: Target, cols: int, itemsize: int) -> int:
    """Q: the longest chunk, in whole 32-byte blocks, of which BUFFERS fit UB."""
    block = 32 // math.gcd(32, itemsize)
    longest = max(block, (target.capacity_of("ub") - 256) // (BUFFERS * itemsize) // block * block)
    chunks = -(-cols // longest)
    even = -(-cols // chunks)
    return -(-even // block) * block  # chunks as even as whole blocks allow


def identity(kind: str, dtype: np.dtype) -> float | int:
    """The value a reduction of `kind` ignores, in `dtype` (the fill of a short last chunk)."""
    if kind in ("sum", "mean", "l2"):
        return 0
    if kind == "prod":
        return 1
    if dtype.kind == "f":
        return -math.inf if kind == "max" else math.inf
    if dtype.kind == "b":
        return int(kind == "min")
    info = np.iinfo(dtype)
    return int(info.min) if kind == "max" else int(info.max)


def lower_long_reduce(
    op: Operation, source: SSAValue, output: SSAValue, target: Target, name: str
) -> list[Operation]:
    """A reduction of the (rows, cols) HBM view `source` into the (rows, 1) view `output`,
    cols too long for one row in UB: the partials kernel, then `lower_rows` over them."""
    rows, cols = source.type.dims
    element = f32 if casts(op) else element_of(op.operands[0].type)
    loaded = source.type.element_type
    itemsize = max(to_numpy_dtype(element).itemsize, to_numpy_dtype(loaded).itemsize)
    q = chunk_length(target, cols, itemsize)
    chunks = -(-cols // q)
    partials = HbmAllocOp(BufferType((rows, chunks), element, "hbm"))
    first = _partials_kernel(
        op, source, partials.buffer, (rows, cols, q, chunks), element, target, name
    )
    second = lower_rows(op, [partials.buffer], output, target, f"{name}_rows", True)
    return [partials, first, second]


def _chunks_kernel(
    op: Operation,
    source: SSAValue,
    geometry: tuple[int, int, int, int],
    element: Attribute,
    target: Target,
    name: str,
) -> tuple[KernelOp, KernelBuilder, tuple[SSAValue, SSAValue], int]:
    """A kernel over the (row, chunk) tiles of `source` on every vector core it can use,
    its builder, the chunk's UB buffer in `element` and the one it is loaded into (the same
    unless the kernel casts), and the tile count."""
    rows, _, q, chunks = geometry
    loaded = source.type.element_type
    tiles = rows * chunks
    kernel = KernelOp(
        name, min(tiles, target.vector_cores), fused_from=op.fused_names, kind=op.name[7:]
    )
    b = KernelBuilder(kernel)
    x = b.alloc([1, q], element, "ub")
    x_in = b.alloc([1, q], loaded, "ub") if loaded != element else x
    return kernel, b, (x, x_in), tiles


def _partials_kernel(
    op: Operation,
    source: SSAValue,
    partials: SSAValue,
    geometry: tuple[int, int, int, int],
    element: Attribute,
    target: Target,
    name: str,
) -> KernelOp:
    rows, cols, q, chunks = geometry
    kind = reduce_kind(op)
    kernel, b, (x, x_in), tiles = _chunks_kernel(op, source, geometry, element, target, name)
    stat = b.alloc([1, 1], element, "ub")
    b.set_flag("V", "MTE2")
    b.set_flag("MTE3", "V")
    with b.loop(b.block_index, tiles, kernel.block_dim.value.data) as t:
        row, c0 = b.divui(t, chunks), b.muli(b.remui(t, chunks), q)
        ext = b.extent(c0, q, cols)
        b.wait_flag("V", "MTE2")
        if cols % q:  # the last chunk is short: the rest of the buffer reduces to nothing
            b.add(VecDupOp(identity(kind, to_numpy_dtype(source.type.element_type)), x_in))
            b.sync("V", "MTE2")
        b.dma(source, [row, c0], [1, ext], x_in, [0, 0])
        b.sync("MTE2", "V")
        b.wait_flag("MTE3", "V")
        if x_in is not x:
            b.add(VecCastOp(x_in, x))
        if kind == "l2":
            b.add(BINARY_OPS["mul"](x, x, x))
        b.add(REDUCE_OPS[REDUCE_KINDS[kind]](x, stat, [1]))
        if kind == "l2":
            b.add(UNARY_OPS["sqrt"](stat, stat))
        elif kind == "mean":
            b.add(SCALAR_OPS["muls"](stat, chunks / cols, stat))
        b.set_flag("V", "MTE2")
        b.sync("V", "MTE3")
        b.dma(stat, [0, 0], [1, 1], partials, [row, b.remui(t, chunks)])
        b.set_flag("MTE3", "V")
    b.wait_flag("V", "MTE2")
    b.wait_flag("MTE3", "V")
    return kernel


def lower_long_softmax(
    op: Operation, source: SSAValue, output: SSAValue, target: Target, name: str
) -> list[Operation]:
    """Softmax or log-softmax over the rows of the (rows, cols) HBM view `source` into the
    view `output`, cols too long for one row in UB, in three kernels: per (row, chunk) the
    chunk's max m_c and sum of exp(x - m_c); per row m = max m_c and s = sum s_c exp(m_c - m)
    (log s for log-softmax); per (row, chunk) exp(x - m) / s, or x - m - log s.

    A chunk's max is clamped to the type's lowest finite value, so a chunk of -inf (masked
    logits) adds exp(-inf) = 0 instead of NaN; a short last chunk is filled with -inf."""
    if isinstance(op, SoftmaxKernelOp) and op.get_float("scale") <= 0:
        raise UnsupportedError(f"{op.name} over long rows with a scale <= 0 has no npu lowering")
    rows, cols = source.type.dims
    element = f32 if casts(op) else element_of(op.operands[0].type)
    sizes = [to_numpy_dtype(e).itemsize for e in (element, source.type.element_type)]
    q = chunk_length(target, cols, max(sizes))
    chunks = -(-cols // q)
    stats = [HbmAllocOp(BufferType((rows, chunks), element, "hbm")) for _ in range(2)]
    per_row = [HbmAllocOp(BufferType((rows, 1), element, "hbm")) for _ in range(2)]
    geometry = (rows, cols, q, chunks)
    partial = [s.buffer for s in stats]
    row_stats = [s.buffer for s in per_row]
    first = _chunk_kernel(op, source, partial, geometry, element, target, f"{name}_stats")
    second = _combine_kernel(op, partial, row_stats, element, target, f"{name}_rows")
    third = _chunk_kernel(op, source, row_stats, geometry, element, target, name, output)
    return [*stats, *per_row, first, second, third]


def _lowest(element: Attribute) -> float:
    return float(np.finfo(to_numpy_dtype(element)).min)


def _chunk_kernel(
    op: Operation,
    source: SSAValue,
    stats: list[SSAValue],
    geometry: tuple[int, int, int, int],
    element: Attribute,
    target: Target,
    name: str,
    output: SSAValue | None = None,
) -> KernelOp:
    """Without `output`: each chunk's (max, sum of exp) into the (rows, chunks) `stats`.
    With it: each chunk normalized by its row's (max, sum or log sum) read from `stats`."""
    rows, cols, q, chunks = geometry
    kernel, b, (x, x_in), tiles = _chunks_kernel(op, source, geometry, element, target, name)
    peak, total = b.alloc([1, 1], element, "ub"), b.alloc([1, 1], element, "ub")
    normalize = output is not None
    result = output.type.element_type if normalize else element
    y_out = b.alloc([1, q], result, "ub") if result != element else x
    log = isinstance(op, LogSoftmaxKernelOp)
    scale = 1.0 if log else op.get_float("scale")
    b.set_flag("V", "MTE2")
    b.set_flag("MTE3", "V")
    with b.loop(b.block_index, tiles, kernel.block_dim.value.data) as t:
        row, chunk = b.divui(t, chunks), b.remui(t, chunks)
        c0 = b.muli(chunk, q)
        ext = b.extent(c0, q, cols)
        b.wait_flag("V", "MTE2")
        if cols % q and not normalize:  # a short last chunk: -inf adds nothing
            b.add(VecDupOp(-math.inf, x_in))
            b.sync("V", "MTE2")
        b.dma(source, [row, c0], [1, ext], x_in, [0, 0])
        if normalize:
            b.dma(stats[0], [row, 0], [1, 1], peak, [0, 0])
            b.dma(stats[1], [row, 0], [1, 1], total, [0, 0])
        b.sync("MTE2", "V")
        b.wait_flag("MTE3", "V")
        if x_in is not x:
            b.add(VecCastOp(x_in, x))
        if scale != 1.0:
            b.add(SCALAR_OPS["muls"](x, scale, x))
        if not normalize:
            b.add(REDUCE_OPS["reduce_max"](x, peak, [1]))
            b.add(SCALAR_OPS["maxs"](peak, _lowest(element), peak))
        b.add(BINARY_OPS["sub"](x, peak, x))
        if normalize and log:
            b.add(BINARY_OPS["sub"](x, total, x))
        else:
            b.add(UNARY_OPS["exp"](x, x))
            if normalize:
                b.add(BINARY_OPS["div"](x, total, x))
            else:
                b.add(REDUCE_OPS["reduce_sum"](x, total, [1]))
        if y_out is not x:
            b.add(VecCastOp(x, y_out))
        b.set_flag("V", "MTE2")
        b.sync("V", "MTE3")
        if normalize:
            b.dma(y_out, [0, 0], [1, ext], output, [row, c0])
        else:
            b.dma(peak, [0, 0], [1, 1], stats[0], [row, chunk])
            b.dma(total, [0, 0], [1, 1], stats[1], [row, chunk])
        b.set_flag("MTE3", "V")
    b.wait_flag("V", "MTE2")
    b.wait_flag("MTE3", "V")
    return kernel


def _combine_kernel(
    op: Operation,
    partial: list[SSAValue],
    row_stats: list[SSAValue],
    element: Attribute,
    target: Target,
    name: str,
) -> KernelOp:
    """Per row: m = max of the chunks' maxima, s = sum of their sums times exp(m_c - m);
    log s for log-softmax."""
    rows, chunks = partial[0].type.dims
    isz = to_numpy_dtype(element).itemsize
    tr = max(1, min(rows_in_ub(target, chunks, isz, 2), -(-rows // target.vector_cores)))
    tiles = -(-rows // tr)
    blocks = min(tiles, target.vector_cores)
    kernel = KernelOp(name, blocks, fused_from=op.fused_names, kind=op.name[7:])
    b = KernelBuilder(kernel)
    maxima, sums = b.alloc([tr, chunks], element, "ub"), b.alloc([tr, chunks], element, "ub")
    peak, total = b.alloc([tr, 1], element, "ub"), b.alloc([tr, 1], element, "ub")
    b.set_flag("V", "MTE2")
    b.set_flag("MTE3", "V")
    with b.loop(b.block_index, tiles, kernel.block_dim.value.data) as t:
        r0 = b.muli(t, tr)
        ext = b.extent(r0, tr, rows)
        b.wait_flag("V", "MTE2")
        b.dma(partial[0], [r0, 0], [ext, chunks], maxima, [0, 0])
        b.dma(partial[1], [r0, 0], [ext, chunks], sums, [0, 0])
        b.sync("MTE2", "V")
        b.wait_flag("MTE3", "V")
        b.add(REDUCE_OPS["reduce_max"](maxima, peak, [1]))
        b.add(BINARY_OPS["sub"](maxima, peak, maxima))
        b.add(UNARY_OPS["exp"](maxima, maxima))
        b.add(BINARY_OPS["mul"](maxima, sums, maxima))
        b.add(REDUCE_OPS["reduce_sum"](maxima, total, [1]))
        if isinstance(op, LogSoftmaxKernelOp):
            b.add(UNARY_OPS["log"](total, total))
        b.set_flag("V", "MTE2")
        b.sync("V", "MTE3")
        b.dma(peak, [0, 0], [ext, 1], row_stats[0], [r0, 0])
        b.dma(total, [0, 0], [ext, 1], row_stats[1], [r0, 0])
        b.set_flag("MTE3", "V")
    b.wait_flag("V", "MTE2")
    b.wait_flag("MTE3", "V")
    return kernel
