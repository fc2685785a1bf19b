"""kernel.rope -> one vector-unit npu.kernel: rotary position embedding in the rotate-half
form, y = x * cos + rotate_half(x) * sin (with `rotary_dim` R < D, over the first R columns;
the others load and store unchanged in the same walk).

x (..., S, D) is viewed as (P, S, D) rows. With h = D / 2, the halves of x, cos and sin load
into separate UB tiles (the DMA reads the half-row windows, so no vector op has to cut a
tile), and

    y[..., :h] = x1 * c1 - x2 * s1        y[..., h:] = x2 * c2 + x1 * s2

are six whole-tile vector ops; MTE3 stores the two halves back into their windows. cos and
sin broadcast to x as numpy does: each leading axis of theirs is x's or 1, their sequence
axis S or 1, their last axis D or 1 (one value for both halves).

An item is `ts` sequence positions of a group of rows, walked row by row, software-pipelined
over two buffer sets (`lowering.software_pipeline`): one row loads while the vector unit
rotates the one before and MTE3 stores the one before that. When the tables are one block
for every row (LLaMA's (1, 1, S, D), an (S, D) table) an item loads that block's positions
once, before its walk, so the tables cross HBM once in all, not once a head; otherwise each
row loads its own block with it. (ts, groups) are the cheapest by an estimate of the busiest
core's HBM bytes whose buffers fit UB.
"""

from __future__ import annotations

import math

from xdsl.ir import Operation, SSAValue

from gedialects.errors import UnsupportedError
from gedialects.ge.ops.norm import rotated_width
from gedialects.ge.types import to_numpy_dtype
from gedialects.kernel.mirrored import RopeKernelOp
from gedialects.npu.attrs import BufferType
from gedialects.npu.buffers import ReshapeOp
from gedialects.npu.launch import KernelOp
from gedialects.npu.vector import BINARY_OPS
from lowering.npu_builder import Index, KernelBuilder
from lowering.registry import lowers
from lowering.software_pipeline import pipelined
from lowering.tiling import aligned, powers_of_two
from runtime.cost_model import hbm_share
from runtime.targets import Target

X_FREE, X_LOADED, Y_FREE, Y_READY, TABLES, PASS_FREE, PASS_LOADED = 0, 0, 0, 0, 2, 0, 0
"""Flags per buffer set (+ 0 or 1): V -> MTE2 when set s's x halves may be refilled, MTE2 ->
V when they are loaded, MTE3 -> V when its outputs may be rewritten, V -> MTE3 when they are
ready to store, MTE3 -> MTE2 when its unrotated columns are stored again; V -> MTE2 and
MTE2 -> V `TABLES` for an item's cos and sin tiles; MTE2 -> MTE3 `PASS_LOADED` once the
unrotated columns are in UB (the load stage stores them straight back)."""


def rope_tiling(  # noqa: PLR0913
    target: Target, rows: int, s: int, half: int, isz: int, table: tuple[bool, bool, bool],
    rest: int = 0,
) -> tuple[int, int]:
    """(ts, groups): sequence positions an item and groups the `rows` are split into, the
    cheapest estimate of the busiest core's HBM bytes (its items' tables and rows) whose
    buffers fit UB: two sets of five (ts, h) row tiles, a (ts, rest) tile of the columns
    that pass through unrotated, and four table tiles (per set if each row has its own).
    `table`: (one block for every row, varies along S, along D)."""
    shared, along_s, full = table
    ub, best = target.capacity_of("ub"), None
    for ts in powers_of_two(s):
        table_bytes = (ts if along_s else 1) * (half if full else 1) * isz
        sets = 1 if shared else 2
        space = 10 * aligned(ts * half * isz) + 4 * sets * aligned(table_bytes)
        space += 2 * aligned(ts * rest * isz) if rest else 0
        if space > ub:
            continue
        for groups in powers_of_two(rows):
            items = -(-s // ts) * groups
            cores = min(items, target.vector_cores)
            per_group = -(-rows // groups)
            row_bytes = 4 * ts * half * isz + 2 * ts * rest * isz
            row_bytes += 0 if shared else 4 * table_bytes
            moved = (4 * table_bytes if shared else 0) + per_group * row_bytes
            share = min(target.rate("hbm", "ub"), hbm_share(target, cores))  # a core's path
            cycles = -(-items // cores) * (moved / share + per_group * 120)
            if best is None or cycles < best[0]:
                best = (cycles, ts, groups)
    if best is None:
        raise UnsupportedError("not even one row of a rotary embedding fits the unified buffer")
    return best[1], best[2]


def _padded(shape: tuple[int, ...], rank: int) -> tuple[int, ...]:
    return (1,) * (rank - len(shape)) + tuple(shape)


@lowers(RopeKernelOp)
def lower_rope(
    op: RopeKernelOp, inputs: list[SSAValue], output: SSAValue, target: Target, name: str
) -> list[Operation]:
    element = inputs[0].type.element_type
    if str(element) not in ("f16", "f32"):
        raise UnsupportedError(f"'{op.name}' on {element} has no npu lowering")
    rank = max(len(inputs[0].type.dims), 2)
    shape = _padded(tuple(inputs[0].type.dims), rank)
    lead, s, d = shape[:-2], shape[-2], shape[-1]
    rotated = rotated_width(op)
    half, rest, p = rotated // 2, d - rotated, math.prod(lead)
    tables = [_padded(tuple(v.type.dims), rank) for v in inputs[1:]]
    views: list[Operation] = []

    def view(value: SSAValue, dims: tuple[int, ...]) -> SSAValue:
        views.append(ReshapeOp(value, BufferType(dims, value.type.element_type, "hbm")))
        return views[-1].result

    x, y = (view(v, (p, s, d)) for v in (inputs[0], output))
    cos, sin = (view(v, (math.prod(t[:-2]), t[-2], t[-1])) for v, t in zip(inputs[1:], tables))
    shared = all(math.prod(t[:-2]) == 1 for t in tables)  # one table block for every row
    along_s, full = any(t[-2] != 1 for t in tables), any(t[-1] != 1 for t in tables)
    isz = to_numpy_dtype(element).itemsize
    ts, groups = rope_tiling(target, p, s, half, isz, (shared, along_s, full), rest)
    ns, per_group = -(-s // ts), -(-p // groups)
    count = ns * groups
    blocks = min(count, target.vector_cores)
    kernel = KernelOp(name, blocks, fused_from=op.fused_names, kind="rope")
    b = KernelBuilder(kernel)

    def tiles(rows: int, cols: int) -> list[SSAValue]:
        return [b.alloc([rows, cols], element, "ub") for _ in (0, 1)]

    xs, ys = [tiles(ts, half) for _ in range(2)], [tiles(ts, half) for _ in range(2)]
    products = tiles(ts, half)
    passed = tiles(ts, rest) if rest else []  # the unrotated columns, in and out again
    width = [half if t[-1] != 1 else 1 for t in tables]
    # [cos or sin][half][set]; a shared block has one set
    table_tiles = [
        [[b.alloc([ts if t[-2] != 1 else 1, w], element, "ub") for _ in range(1 if shared else 2)]
         for _ in range(2)]
        for t, w in zip(tables, width)
    ]  # fmt: skip

    def table_row(row: Index, t: tuple[int, ...]) -> Index:
        """The leading index of a broadcasting table for x's leading index `row`."""
        index, stride, rest = 0, 1, row
        for dx, dt in reversed(list(zip(lead, t[:-2]))):
            here, rest = b.remui(rest, dx), b.divui(rest, dx)
            if dt != 1:
                index = b.addi(index, b.muli(here, stride))
            stride *= dt
        return index

    def load_tables(row: Index, s0: Index, se: Index, st: int) -> None:
        for table, t, tile_pair, w in zip((cos, sin), tables, table_tiles, width):
            trow = 0 if shared else table_row(row, t)
            r0, re = (s0, se) if t[-2] != 1 else (0, 1)
            for tile, c0 in ((tile_pair[0][st], 0), (tile_pair[1][st], half if t[-1] != 1 else 0)):
                b.dma(table, [trow, r0, c0], [1, re, w], tile, [0, 0], [re, w])

    b.set_flag("V", "MTE2", TABLES)
    with b.loop(b.block_index, count, blocks) as item:
        j, g = b.divui(item, groups), b.remui(item, groups)
        s0 = b.muli(j, ts)
        se = b.extent(s0, ts, s)
        first = b.muli(g, per_group)
        last = b.minui(b.addi(first, per_group), p)
        b.wait_flag("V", "MTE2", TABLES)
        if shared:
            load_tables(0, s0, se, 0)
            b.sync("MTE2", "V", TABLES)

        def load(row: Index, st: int) -> None:
            b.wait_flag("V", "MTE2", X_FREE + st)
            for half_tile, c0 in ((xs[0][st], 0), (xs[1][st], half)):
                b.dma(x, [row, s0, c0], [1, se, half], half_tile, [0, 0], [se, half])
            if rest:  # in and straight out: within the stage, so 2 sets suffice
                b.wait_flag("MTE3", "MTE2", PASS_FREE + st)
                b.dma(x, [row, s0, 2 * half], [1, se, rest], passed[st], [0, 0], [se, rest])
                b.sync("MTE2", "MTE3", PASS_LOADED)
                b.dma(passed[st], [0, 0], [se, rest], y, [row, s0, 2 * half], [1, se, rest])
                b.set_flag("MTE3", "MTE2", PASS_FREE + st)
            if not shared:
                load_tables(row, s0, se, st)
            b.set_flag("MTE2", "V", X_LOADED + st)

        def rotate(row: Index, st: int) -> None:
            x1, x2 = xs[0][st], xs[1][st]
            (c1, c2), (s1, s2) = ([pair[0 if shared else st] for pair in tt] for tt in table_tiles)
            y1, y2, t = ys[0][st], ys[1][st], products[st]
            b.wait_flag("MTE2", "V", X_LOADED + st)
            b.wait_flag("MTE3", "V", Y_FREE + st)
            b.add(BINARY_OPS["mul"](x1, c1, y1))
            b.add(BINARY_OPS["mul"](x2, s1, t))
            b.add(BINARY_OPS["sub"](y1, t, y1))
            b.add(BINARY_OPS["mul"](x2, c2, y2))
            b.add(BINARY_OPS["mul"](x1, s2, t))
            b.add(BINARY_OPS["add"](y2, t, y2))
            b.set_flag("V", "MTE2", X_FREE + st)
            b.set_flag("V", "MTE3", Y_READY + st)

        def store(row: Index, st: int) -> None:
            b.wait_flag("V", "MTE3", Y_READY + st)
            for half_tile, c0 in ((ys[0][st], 0), (ys[1][st], half)):
                b.dma(half_tile, [0, 0], [se, half], y, [row, s0, c0], [1, se, half])
            b.set_flag("MTE3", "V", Y_FREE + st)

        flags = [("V", "MTE2", X_FREE), ("MTE3", "V", Y_FREE)]
        flags += [("MTE3", "MTE2", PASS_FREE)] if rest else []
        pipelined(b, first, last, [(0, load), (1, rotate), (2, store)], flags)
        b.set_flag("V", "MTE2", TABLES)
    b.wait_flag("V", "MTE2", TABLES)
    return [*views, kernel]
