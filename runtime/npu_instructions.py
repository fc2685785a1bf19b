"""Closures for the npu instructions that move or compute data: DMA, mmad, vector, trans_data.

Each compiler reads what it can from the op once (pipe, static windows, function) and returns a
step that resolves dynamic indices, checks the access against the buffer, does one numpy
operation on the whole tile, and queues the instruction's cost on its pipe. While a kernel is
captured (`Core.record`), the step also appends that numpy operation, with its arrays, for the
kernel's replay (`runtime.npu_replay`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from gedialects.errors import InterpretationError
from gedialects.npu.attrs import PATH_PIPES, BufferType
from gedialects.npu.img2col import Img2ColOp
from gedialects.npu.ops import DMA_LISTS, DmaOp, MmadOp, TransDataOp
from gedialects.npu.scalar import LoadScalarOp
from gedialects.npu.vector import VecOp
from gedialects.npu.window import VecWindowOp
from gedialects.npu.window_mla import VecWindowMlaOp
from runtime import npu_semantics as sem
from runtime.cost_model import (
    OFF_CHIP,
    dma_bytes_charged,
    dma_rate,
    hbm_share,
    mmad_cycles,
    vector_cycles,
)
from runtime.npu_access import overwrites
from runtime.npu_batch import batchable
from runtime.npu_core import Buffer, Core
from runtime.npu_scalar import load_scalar
from runtime.npu_slots import Slots, resolve, window_function
from runtime.npu_vector import vector_work
from runtime.targets import Target


def _window(op_name: str, buf: Buffer, offsets: list[int], sizes: list[int]) -> tuple:
    """The slices of a window, refused if any part of it is past the buffer."""
    slices = []
    for o, s, d in zip(offsets, sizes, buf.array.shape):
        if o < 0 or s <= 0 or o + s > d:
            raise InterpretationError(
                f"'{op_name}' accesses [{o}:{o + s}] on axis {len(slices)} of {buf.name} "
                f"({buf.type}), which has {d}: past the buffer"
            )
        slices.append(slice(o, o + s))
    return tuple(slices) or (Ellipsis,)  # a 0-d buffer: a view, not a scalar


def _checked(name: str, buf: Buffer, env: list, offsets: tuple, sizes: tuple) -> tuple:
    """(slices, sizes) of a window that its window function refused: raises if past `buf`."""
    extents = resolve(env, *sizes)
    return _window(name, buf, resolve(env, *offsets), extents), extents


COPIES = (sem.copy, sem.pad_copy, sem.reshape_copy, None, sem.transpose_copy)
"""The work of each copy mode (`_copy_mode`; 3 is refused)."""


def _copy_mode(s_size: list[int], d_size: list[int], same_rank: bool, transpose: bool) -> int:
    """0: same window; 1: a smaller source padded; 2: a row-major reshaping copy; 3: refused;
    4: a transposing load (2-D windows, the destination the source's transpose)."""
    if transpose:
        return 4 if list(d_size) == list(s_size)[::-1] else 3
    if s_size == d_size:
        return 0
    if same_rank and all(a <= b for a, b in zip(s_size, d_size)):
        return 1
    return 2 if math.prod(s_size) == math.prod(d_size) else 3


def _dma(op: DmaOp, target: Target, slots: Slots) -> Callable:
    """A DMA step; what the windows fix statically (slices, copy mode, bytes) is worked out
    here once, so a tile loop's DMAs with static windows only move data and queue costs."""
    src_v, dst_v, pad = slots(op.src), slots(op.dst), op.pad_value
    st, dt = op.src.type, op.dst.type
    assert isinstance(st, BufferType) and isinstance(dt, BufferType)
    so, ss, do, ds = (slots.mixed(op.window(w)) for w in DMA_LISTS)
    src_space, dst_space = st.space_name, dt.space_name
    pipe, same_rank = PATH_PIPES[(src_space, dst_space)], len(st.dims) == len(dt.dims)
    off_chip = st if src_space in OFF_CHIP else dt if dst_space in OFF_CHIP else None
    src_item, dst_item = st.dtype.itemsize, dt.dtype.itemsize
    off_dims = None if off_chip is None else off_chip.dims
    off_item = None if off_chip is None else off_chip.dtype.itemsize
    rate, hbm = dma_rate(target, src_space, dst_space), "hbm" in (src_space, dst_space)
    l2_rate = target.rate("l2", dst_space) or rate
    l2_limit = target.capacity_of("l2") // 2  # larger inputs would evict themselves
    cached_l2 = src_space == "hbm"
    src_hbm, dst_hbm = src_space == "hbm", dst_space == "hbm"
    atomic, transpose = op.atomic is not None, op.transpose is not None
    name = op.name
    src_window, dst_window = window_function(so, ss, st.dims), window_function(do, ds, dt.dims)
    # Static sizes: copy mode and bytes.
    sizes_fixed = not ss[1] and not ds[1]
    if sizes_fixed:
        mode = _copy_mode(ss[0], ds[0], same_rank, transpose)
        read = math.prod(ss[0]) * src_item
        written = math.prod(ds[0]) * dst_item
        moved_fixed = max(read, written)
        if off_chip is not None:
            window = ss[0] if off_chip is st else ds[0]
            moved_fixed = dma_bytes_charged(target, window, off_dims, off_item)
        head = tuple(slice(0, s) for s in ss[0])
        if off_chip is None and mode != 3:  # most DMAs of a tile loop: all static, on chip
            cycles = max(1, math.ceil(moved_fixed / rate))
            fixed = (name, (src_v, so, ss, src_window), (dst_v, do, ds, dst_window), pipe)
            fn = COPIES[mode]
            counts = (src_space, dst_space, read, written, cycles)
            return _on_chip_dma(fixed, fn, (pad, head) if mode == 1 else (), counts)

    def step(env: list, core: Core) -> None:
        src, dst = env[src_v], env[dst_v]
        src_slices, s_size = src_window(env) or _checked(name, src, env, so, ss)
        data = src.array[src_slices]
        dst_slices, d_size = dst_window(env) or _checked(name, dst, env, do, ds)
        target_view = dst.array[dst_slices]
        if sizes_fixed:
            copy_mode, moved, nread, nwritten, pad_head = mode, moved_fixed, read, written, head
        else:
            copy_mode = _copy_mode(s_size, d_size, same_rank, transpose)
            nread, nwritten = data.size * src_item, target_view.size * dst_item
            moved = max(nread, nwritten)
            if off_chip is not None:
                window = s_size if off_chip is st else d_size
                moved = dma_bytes_charged(target, window, off_dims, off_item)
            pad_head = tuple(slice(0, s) for s in s_size)
        if atomic:
            if target_view.size != data.size:
                raise InterpretationError(f"'{name}' windows {s_size} and {d_size} differ")
            work = (sem.atomic_add, (target_view, data))
        elif copy_mode == 1:
            work = (sem.pad_copy, (target_view, data, pad, pad_head))
        elif copy_mode != 3:
            work = (COPIES[copy_mode], (target_view, data))
        else:
            raise InterpretationError(f"'{name}' windows {s_size} and {d_size} differ")
        work[0](*work[1])
        if core.record is not None:
            core.record.append(work)
        if cached_l2 and src.array.nbytes <= l2_limit:
            replay = core.l2_replay
            cached = next(replay) if replay is not None else core.l2_cached(src, src_slices)
            warm = moved * cached / data.size
            share = hbm_share(target, core.active_cores)
            cycles = math.ceil(moved / l2_rate)  # every byte reaches the core through L2
            if warm < moved:  # ... while the misses stream from HBM into L2: the two overlap
                cycles = max(cycles, core.hbm_cycles(pipe, moved - warm, rate, share))
        elif hbm:
            cycles = core.hbm_cycles(pipe, moved, rate, hbm_share(target, core.active_cores))
        else:
            cycles = max(1, math.ceil(moved / rate))
        core.issue_move(pipe, cycles, src, dst, name)
        stats = core.stats
        stats.bytes_read[src_space] += nread
        stats.bytes_written[dst_space] += nwritten
        if src_hbm:
            stats.hbm_traffic[(src, "r")] += nread
        if dst_hbm:
            stats.hbm_traffic[(dst, "w")] += nwritten

    return step


def _on_chip_dma(fixed: tuple, fn: Callable, extra: tuple, counts: tuple) -> Callable:
    """The step of a DMA between on-chip buffers with static sizes: the same work, cost and
    counts as `_dma`'s general step, without its per-call branches on copy mode and HBM."""
    name, (src_v, so, ss, src_window), (dst_v, do, ds, dst_window), pipe = fixed
    src_space, dst_space, read, written, cycles = counts

    src_static = None if so[1] else src_window([])  # a static window's slices, or None
    dst_static = None if do[1] else dst_window([])

    def step(env: list, core: Core) -> None:
        src, dst = env[src_v], env[dst_v]
        src_slices = src_static or (src_window(env) or _checked(name, src, env, so, ss))
        dst_slices = dst_static or (dst_window(env) or _checked(name, dst, env, do, ds))
        args = (dst.array[dst_slices[0]], src.array[src_slices[0]], *extra)
        fn(*args)
        if core.record is not None:
            core.record.append((fn, args))
        core.issue_move(pipe, cycles, src, dst, name)
        stats = core.stats
        stats.bytes_read[src_space] += read
        stats.bytes_written[dst_space] += written

    return step


def l2_probe(op: DmaOp, target: Target, slots: Slots) -> Callable | None:
    """The probe's step of a DMA: count its core's reads of an HBM input that L2 caches."""
    if op.src.type.space_name != "hbm":
        return None
    src_v, (so, ss) = slots(op.src), (slots.mixed(op.window(w)) for w in DMA_LISTS[:2])
    l2_limit, src_window = target.capacity_of("l2") // 2, window_function(so, ss, op.src.type.dims)

    def step(env: list, core: Core) -> None:
        src = env[src_v]
        if src.array.nbytes <= l2_limit:
            core.l2_cached(src, (src_window(env) or _checked(op.name, src, env, so, ss))[0])

    return step


def _mmad(op: MmadOp, target: Target, slots: Slots) -> Callable:
    a_v, b_v, c_v, sizes = slots(op.a), slots(op.b), slots(op.c), slots.mixed(op.mnk)
    acc_v = None if op.accumulate is None else slots(op.accumulate)
    dtype, name = op.a.type.dtype, op.name
    f32_mode = dtype == np.float32  # as `mmad_cycles` charges it
    costs: dict[tuple[int, int, int], int] = {}  # cycles by (m, n, k): a loop repeats a few

    def step(env: list, core: Core) -> None:
        a, b, c = env[a_v], env[b_v], env[c_v]
        m, n, k = mnk = tuple(resolve(env, *sizes))
        if not (m <= a.array.shape[0] and k <= a.array.shape[1] and n <= b.array.shape[1]):
            raise InterpretationError(
                f"'{op.name}' [m, n, k] = [{m}, {n}, {k}] is past its operands "
                f"{a.array.shape} x {b.array.shape}"
            )
        if m > c.array.shape[0] or n > c.array.shape[1] or k > b.array.shape[0]:
            raise InterpretationError(f"'{op.name}' [{m}, {n}, {k}] is past {c.name} or {b.name}")
        acc = bool(env[acc_v]) if acc_v is not None else False
        arrays = (a.array, b.array, c.array, m, n, k, acc)
        sem.mmad(*arrays)
        if core.record is not None:
            core.record.append((sem.mmad, arrays))
        cycles = costs.get(mnk)
        if cycles is None:
            cycles = costs[mnk] = mmad_cycles(target, m, n, k, dtype)
        core.issue("M", cycles, (a, b, c) if acc else (a, b), (c,), name)
        stats = core.stats
        stats.cube_flops += 2 * m * n * k
        if f32_mode:
            stats.cube_f32_flops += 2 * m * n * k
        stats.bytes_read["l0a"] += m * k * a.array.itemsize
        stats.bytes_read["l0b"] += k * n * b.array.itemsize
        stats.bytes_written["l0c"] += m * n * c.array.itemsize

    return step


def _img2col(op: Img2ColOp, target: Target, slots: Slots) -> Callable:
    src_v, dst_v = slots(op.src), slots(op.dst)
    (offsets, sizes), geometry = op.window, op.geometry()
    offsets, sizes = slots.mixed(offsets), slots.mixed(sizes)
    dst_type = op.dst.type
    rate = target.rate("l1", dst_type.space_name)
    assert rate is not None

    def step(env: list, core: Core) -> None:
        src, dst = env[src_v], env[dst_v]
        (m0, k0), (m, k) = resolve(env, *offsets), resolve(env, *sizes)
        if m0 < 0 or k0 < 0 or m > dst.array.shape[0] or k > dst.array.shape[1]:
            raise InterpretationError(
                f"'{op.name}' rows/columns [{m0}+{m}, {k0}+{k}] are past {dst.name}"
            )
        arrays = (src.array, dst.array, (m0, m), (k0, k), geometry)
        sem.img2col(*arrays)
        if core.record is not None:
            core.record.append((sem.img2col, arrays))
        nbytes = m * k * dst.array.itemsize
        core.issue("MTE1", max(1, math.ceil(nbytes / rate)), (src,), (dst,), op.name)
        core.stats.bytes_read["l1"] += nbytes
        core.stats.bytes_written[dst.space] += nbytes

    return step


def _vector(op: VecOp | TransDataOp, target: Target, slots: Slots) -> Callable:
    if isinstance(op, TransDataOp):
        fmts = (op.src.type.format_name, op.dst.type.format_name)
        work = batchable(-1)(lambda src, dst: sem.trans_data(src, fmts[0], dst, fmts[1]))
        work = overwrites(-1)(work)
    else:
        work = vector_work(op)
    values = tuple(slots(v) for v in op.operands)
    types = [v.type for v in op.operands]
    nbytes = (
        op.charged_bytes()
        if isinstance(op, VecWindowOp | VecWindowMlaOp)
        else max(t.nbytes for t in types)
    )
    cycles = vector_cycles(target, nbytes)
    elements = max(t.num_elements for t in types)

    name = op.name
    if len(values) == 3:  # binary ops, most of a Winograd transform: unrolled
        lhs_v, rhs_v, dst_v = values

        def binary_step(env: list, core: Core) -> None:
            lhs, rhs, dst = env[lhs_v], env[rhs_v], env[dst_v]
            arrays = (lhs.array, rhs.array, dst.array)
            work(*arrays)
            if core.record is not None:
                core.record.append((work, arrays))
            core.issue_move("V", cycles, lhs, dst, name, rhs)
            stats = core.stats
            stats.vector_flops += elements
            stats.vector_bytes += nbytes
            stats.bytes_read["ub"] += arrays[0].nbytes + arrays[1].nbytes
            stats.bytes_written["ub"] += arrays[2].nbytes

        return binary_step

    def step(env: list, core: Core) -> None:
        bufs = [env[v] for v in values]
        arrays = tuple([b.array for b in bufs])
        work(*arrays)
        if core.record is not None:
            core.record.append((work, arrays))
        core.issue("V", cycles, tuple(bufs[:-1]), (bufs[-1],), name)
        core.stats.vector_flops += elements
        core.stats.vector_bytes += nbytes
        core.stats.bytes_read["ub"] += sum(b.array.nbytes for b in bufs[:-1])
        core.stats.bytes_written["ub"] += bufs[-1].array.nbytes

    return step


INSTRUCTIONS: dict[type, Callable] = {
    DmaOp: _dma,
    MmadOp: _mmad,
    LoadScalarOp: load_scalar,
    Img2ColOp: _img2col,
    VecOp: _vector,
    TransDataOp: _vector,
}
