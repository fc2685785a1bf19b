"""Equal rows done once (`runtime.npu_uniform`): a replay whose waves do the same work on
every core writes it on one row and reads that row for all, and still gives what the replay
without it gives, bit for bit."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from npu_programs import matmul_program, parse
from numpy.lib.stride_tricks import as_strided

from runtime import npu_semantics as sem
from runtime.npu_access import accesses
from runtime.npu_core import poison
from runtime.npu_interpreter import NpuExecutable
from runtime.npu_replay import UNIFORM_ENV
from runtime.npu_uniform import materialise, pool_lookup, share_uniform_rows

ROWS, WIDTH = 4, 16
"""The synthetic pool: two buffers of a row per core."""


def _broadcast(array: np.ndarray, rows: int) -> np.ndarray:
    """`array` read by `rows` blocks at one address (stride 0 on the block axis)."""
    return as_strided(array, (rows, *array.shape), (0, *array.strides))


class _Machine:
    """Two on-chip buffers (a row per core), an HBM input, and what the actions store."""

    def __init__(self) -> None:
        rng = np.random.default_rng(0)  # rows that differ before any action writes them
        self.pool = [rng.standard_normal((ROWS, WIDTH)).astype(np.float32) for _ in range(2)]
        self.hbm = rng.standard_normal((ROWS, WIDTH)).astype(np.float32)
        self.stores: list[np.ndarray] = []
        self.actions: list = []
        self.lanes: list[tuple[int, ...]] = []

    def add(self, fn: Callable, args: tuple, lanes: tuple[int, ...]) -> None:
        self.actions.append((fn, args))
        self.lanes.append(lanes)

    def store(self, src: np.ndarray, stacked: bool) -> None:
        out = np.zeros(src.shape, np.float32)
        self.stores.append(out)
        self.add(sem.copy, (out, src), (len(src),) if stacked else ())


def _play(build: Callable[[_Machine], None], shared: bool) -> list[np.ndarray]:
    machine = _Machine()
    build(machine)
    actions = machine.actions
    if shared:
        actions = share_uniform_rows(actions, machine.lanes, pool_lookup(machine.pool))
    for fn, args in actions:
        fn(*args)
    return machine.stores


def _same(build: Callable[[_Machine], None]) -> list[np.ndarray]:
    got, want = _play(build, True), _play(build, False)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, b)
    return got


def test_a_broadcast_load_is_written_once_and_read_by_every_block() -> None:
    seen = {}

    def build(m: _Machine) -> None:
        m.add(sem.copy, (m.pool[0][:, 2:10], _broadcast(m.hbm[1, 2:10], ROWS)), (ROWS,))
        m.store(m.pool[0][:, 2:10], stacked=True)
        seen["pool"] = m.pool[0]
        seen["actions"] = m.actions
        seen["shared"] = share_uniform_rows(list(m.actions), m.lanes, pool_lookup(m.pool))

    _same(build)
    (load, (dst, _)), (store, (_, src)) = seen["shared"]
    assert dst.shape[0] == 1, "the load runs on the first block only"
    assert src.strides[0] == 0, "the store reads the first row for every block"


def test_a_single_block_read_materialises_the_rows_first() -> None:
    def build(m: _Machine) -> None:
        m.add(sem.copy, (m.pool[0][:, :8], _broadcast(m.hbm[0, :8], ROWS)), (ROWS,))
        m.store(m.pool[0][2, :8], stacked=False)

    _same(build)
    machine = _Machine()
    build(machine)
    shared = share_uniform_rows(machine.actions, machine.lanes, pool_lookup(machine.pool))
    assert [fn for fn, _ in shared] == [sem.copy, materialise, sem.copy]


def test_a_partial_write_of_other_values_materialises_and_keeps_the_rest() -> None:
    def build(m: _Machine) -> None:
        m.add(sem.copy, (m.pool[0][:, :8], _broadcast(m.hbm[0, :8], ROWS)), (ROWS,))
        m.add(sem.copy, (m.pool[0][:, :3], m.hbm[:, :3]), (ROWS,))  # a row each
        m.store(m.pool[0][:, :8], stacked=True)

    _same(build)


def test_poisoned_rows_with_a_load_in_part_are_read_as_one_row() -> None:
    seen = {}

    def build(m: _Machine) -> None:
        m.add(poison, (m.pool[1],), (ROWS,))
        m.add(sem.copy, (m.pool[1][:, 4:12], _broadcast(m.hbm[3, 4:12], ROWS)), (ROWS,))
        m.add(sem.copy, (m.pool[0], m.pool[1]), (ROWS,))  # reads poison and the load
        m.store(m.pool[0], stacked=True)
        seen["shared"] = share_uniform_rows(list(m.actions), m.lanes, pool_lookup(m.pool))

    stored = _same(build)
    assert np.isnan(stored[0][:, :4]).all() and not np.isnan(stored[0][:, 4:12]).any()
    moved = seen["shared"][2][1]
    assert moved[0].shape[0] == 1 and moved[1].strides[0] == 0, "the copy ran once"


def test_blocks_on_rows_of_two_loads_are_cut_where_the_loads_meet() -> None:
    def build(m: _Machine) -> None:
        m.add(sem.copy, (m.pool[0][:2, :8], _broadcast(m.hbm[0, :8], 2)), (2,))
        m.add(sem.copy, (m.pool[0][2:, :8], _broadcast(m.hbm[1, :8], 2)), (2,))
        m.store(m.pool[0][:, :8], stacked=True)

    _same(build)


_WINDOW = st.sampled_from([(0, 8), (8, 16), (0, 16), (4, 12), (6, 7)])
"""Windows that overlap often: the cases the analysis must tell apart come from overlaps."""
_BLOCKS = st.sampled_from([(0, 4), (0, 2), (2, 4), (1, 4), (0, 3), (3, 4)])
_STEP = st.tuples(
    st.sampled_from(
        ["broadcast", "rows", "move", "store", "store_one", "poison", "repeat", "move2", "store2"]
    ),
    st.integers(0, 1),
    _BLOCKS,
    _WINDOW,
    st.integers(0, WIDTH - 1),
)


def _groups(rows: np.ndarray) -> np.ndarray:
    """The four rows as two groups of two blocks (a stack on two block axes)."""
    return as_strided(rows, (2, 2, *rows.shape[1:]), (2 * rows.strides[0], *rows.strides))


def _random_build(steps: list) -> Callable[[_Machine], None]:
    def build(m: _Machine) -> None:
        for kind, buf, (r0, r1), (lo, hi), shift in steps:
            rows, width = r1 - r0, hi - lo
            lanes = (rows,) if rows > 1 else ()
            dst = m.pool[buf][r0:r1, lo:hi]
            if kind == "broadcast":
                src = m.hbm[shift % ROWS, lo:hi]
                m.add(sem.copy, (dst, _broadcast(src, rows) if lanes else src[None]), lanes)
            elif kind == "rows":
                m.add(sem.copy, (dst, m.hbm[r0:r1, lo:hi]), lanes)
            elif kind == "move":
                start = min(shift, WIDTH - width)
                m.add(sem.copy, (dst, m.pool[1 - buf][r0:r1, start : start + width]), lanes)
            elif kind == "store":
                m.store(dst, stacked=bool(lanes))
            elif kind == "store_one":
                m.store(m.pool[buf][r0, lo:hi], stacked=False)
            elif kind == "repeat":  # two groups of two blocks, the second repeating the first
                hbm = m.hbm[shift % 3 :, lo:hi]
                src = as_strided(hbm, (2, 2, width), (0, *hbm.strides))
                m.add(sem.copy, (_groups(m.pool[buf][:, lo:hi]), src), (2, 2))
            elif kind == "move2":
                start = min(shift, WIDTH - width)
                src = _groups(m.pool[1 - buf][:, start : start + width])
                m.add(sem.copy, (_groups(m.pool[buf][:, lo:hi]), src), (2, 2))
            elif kind == "store2":
                out = np.zeros((2, 2, width), np.float32)
                m.stores.append(out)
                m.add(sem.copy, (out, _groups(m.pool[buf][:, lo:hi])), (2, 2))
            else:
                m.add(poison, (m.pool[buf][r0:r1],), lanes)
        for buf in (0, 1):
            m.store(m.pool[buf], stacked=True)

    return build


@given(st.lists(_STEP, min_size=1, max_size=12))
def test_random_action_lists_store_what_they_stored_without_it(steps: list) -> None:
    """Loads of one window for all blocks, loads of a row each, moves between buffers,
    stores of stacked and single rows, poisonings, and the same on two groups of blocks
    (loads that the second group repeats), on any rows and windows: what the list stores
    in HBM is the same with equal rows done once (NaN where poison is read)."""
    got, want = _play(_random_build(steps), True), _play(_random_build(steps), False)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_matmul_split_over_columns_loads_its_rows_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """C = A @ B with one row tile and 32 column tiles: every block loads the same A tile.
    The warm run equals a first run bit for bit either way, and with equal rows done once
    the replay writes A's loads and L1 -> L0A moves on one row instead of 32."""
    text = matmul_program(32, 512, 96, 32, 16, 32, 32, dtype="f32")
    rng = np.random.default_rng(3)
    inputs = [rng.standard_normal(s).astype(np.float32) for s in ((32, 96), (96, 512))]
    first = NpuExecutable(parse(text)).run(inputs)
    written = {}
    for uniform in ("1", "0"):
        monkeypatch.setenv(UNIFORM_ENV, uniform)
        executable = NpuExecutable(parse(text))
        for _ in range(3):  # capture; merge waves and share equal rows; drop dead poison
            warm = executable.run(inputs)
        np.testing.assert_array_equal(warm.outputs[0], first.outputs[0])
        written[uniform] = sum(
            a.nbytes
            for replay in executable.replays.values()
            for fn, args in replay.actions
            for a in accesses(fn, args)[1]
        )
    assert written["1"] < 0.75 * written["0"]


def test_a_load_on_fewer_rows_settles_the_rows_it_leaves() -> None:
    """Rows 0-3 hold one load; a load of other values on rows 0-1 would change the row that
    rows 2-3 stand for: they are materialised first."""

    def build(m: _Machine) -> None:
        m.add(sem.copy, (m.pool[0][:, :8], _broadcast(m.hbm[0, :8], ROWS)), (ROWS,))
        m.add(sem.copy, (m.pool[0][:2, :8], _broadcast(m.hbm[1, :8], 2)), (2,))
        m.store(m.pool[0][2:, :8], stacked=True)
        m.store(m.pool[0][3, :8], stacked=False)

    _same(build)


def test_rows_that_stand_for_different_rows_are_not_read_as_one() -> None:
    """Rows 0-3 of one window stand for row 0, rows 2-3 of the next window for row 2: a
    read of rows 2-3 across both windows has no one row to read."""

    def build(m: _Machine) -> None:
        m.add(sem.copy, (m.pool[0][:, :8], _broadcast(m.hbm[0, :8], ROWS)), (ROWS,))
        m.add(sem.copy, (m.pool[0][2:, 8:], _broadcast(m.hbm[1, 8:], 2)), (2,))
        m.store(m.pool[0][2:], stacked=True)

    _same(build)


def test_an_accumulating_mmad_into_rows_that_differ_runs_on_every_block() -> None:
    """Equal operands, but each block adds into its own different accumulator."""

    def build(m: _Machine) -> None:
        acc = as_strided(m.pool[0], (ROWS, 4, 4), (m.pool[0].strides[0], 16, 4))
        lhs, rhs = m.hbm[0].reshape(4, 4), m.hbm[1].reshape(4, 4)
        m.add(sem.mmad, (_broadcast(lhs, ROWS), _broadcast(rhs, ROWS), acc, 4, 4, 4, True), (ROWS,))
        m.store(m.pool[0], stacked=True)

    _same(build)


def test_two_groups_loading_one_row_store_it_from_every_row() -> None:
    """All four blocks load one row, as two groups of two (a stack on two block axes)."""

    def build(m: _Machine) -> None:
        one = as_strided(m.hbm[2, :8], (2, 2, 8), (0, 0, 4))
        m.add(sem.copy, (_groups(m.pool[0][:, :8]), one), (2, 2))
        m.add(sem.copy, (_groups(m.pool[1][:, :8]), _groups(m.pool[0][:, :8])), (2, 2))
        m.store(m.pool[1][:, :8], stacked=True)
        m.store(m.pool[0][3, :8], stacked=False)

    _same(build)


def test_a_read_inside_a_strided_windows_span_but_off_its_bytes_is_not_served() -> None:
    """A load of a 2x2 corner of each block's 4x4 tile (a window with gaps in its span), then
    a read of two elements of the tile's first row from its second column: inside the span,
    half of it on a gap."""

    def build(m: _Machine) -> None:
        tiles = m.pool[0].reshape(ROWS, 4, 4)
        corner = m.hbm[0].reshape(4, 4)[:2, :2]
        m.add(sem.copy, (tiles[:, :2, :2], _broadcast(corner, ROWS)), (ROWS,))
        m.store(tiles[:, 0, 1:3], stacked=True)

    _same(build)
