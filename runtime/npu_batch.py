"""Replay the blocks of one wave together: one numpy call per instruction for all of them.

A kernel's blocks that run at the same time on different cores (a wave: blocks w*P .. w*P+P-1
on P cores) are independent: on the chip they run in parallel, in no fixed order, so none may
read what another writes. Their captured work (`runtime.npu_replay`) is then usually the same
list of operations on different windows: each core's on-chip buffers are one row of a stacked
array (`Core.allocate`), and HBM windows move by a fixed stride from block to block. Such a
position of the list, taken across the wave's blocks, is one operation on strided views with
an extra leading axis (the blocks), built by `np.lib.stride_tricks.as_strided`; numpy then
does the wave's work in one call instead of P. This is how the replay of a 32-core kernel
costs about as many Python calls as one core's share of it.

A function opts in by `batchable(...)`: it accepts stacked arrays (leading axes are
broadcast; windows, axes and permutations are taken from the trailing axes). At each position
the blocks are split into sets whose windows have one layout and whose other arguments agree
(edge tiles, tiles at another offset in their core's buffer); a set whose windows are not at
a fixed stride is gathered and scattered (`Gathered`); what cannot stack (functions that do
not opt in, windows of different allocations, written windows that overlap) runs block by
block at its position. Reordering a wave's blocks position by position is what the chip's
own rule allows: they run at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
from numpy.lib.stride_tricks import as_strided

Action = tuple[Callable[..., None], tuple]
F = TypeVar("F", bound=Callable[..., Any])


def batchable(*writes: int) -> Callable[[F], F]:
    """Mark `fn` as correct on stacked arrays; `writes` are the positions of the arguments it
    writes (which must not overlap from block to block). -1 is the last argument."""

    def mark(fn: F) -> F:
        fn.writes = writes  # type: ignore[attr-defined]
        return fn

    return mark


def _root(array: np.ndarray) -> object:
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array.base if array.base is not None else array


def _span(array: np.ndarray) -> int:
    """Bytes from the first to one past the last element `array` addresses."""
    return sum((n - 1) * abs(s) for n, s in zip(array.shape, array.strides)) + array.itemsize


def first_address(array: np.ndarray) -> int:
    """The address of `array`'s first element."""
    return array.__array_interface__["data"][0]


def _grid(address: list[int], run: int) -> tuple[int, int] | None:
    """(row, step) when address[i * run + j] == address[0] + i * row + j * step, else None."""
    if len(address) % run:
        return None
    step = address[1] - address[0] if run > 1 else 0
    row = address[run] - address[0] if len(address) > run else 0
    for i in range(len(address) // run):
        for j in range(run):
            if address[i * run + j] != address[0] + i * row + j * step:
                return None
    return row, step


def _first_run(address: list[int]) -> int:
    """How many leading addresses lie at one fixed stride."""
    delta, run = address[1] - address[0], 2
    while run < len(address) and address[run] - address[run - 1] == delta:
        run += 1
    return run


def _disjoint(address: list[int], span: int) -> bool:
    ordered = sorted(address)
    return all(b - a >= span for a, b in zip(ordered, ordered[1:]))


@dataclass(frozen=True)
class Gathered:
    """Windows at irregular places of one allocation: rows `index` of the strided view `full`
    (which also spans windows of other blocks, never touched). A stacked action reads them by
    a gather, and writes them back by a scatter after its function has run."""

    full: np.ndarray
    index: np.ndarray

    @staticmethod
    def of(arrays: Sequence[np.ndarray], address: list[int]) -> Gathered:
        low = min(address)
        step = math.gcd(*(a - low for a in address)) or 1  # all at one place: one row
        first, base = arrays[0], arrays[address.index(low)]
        rows = (max(address) - low) // step + 1
        full = as_strided(base, (rows, *first.shape), (step, *first.strides))
        return Gathered(full, np.array([(a - low) // step for a in address], np.intp))


def _gathered_call(
    fn: Callable, args: tuple, gathered: tuple, writes: frozenset, fresh: frozenset = frozenset()
) -> None:
    """`fn` on the gathered rows, scattering back what it writes; a written position in
    `fresh` (one `fn` overwrites whole, `npu_access.overwrites`) is not gathered first."""
    values = list(args)
    for position, rows in gathered:
        if position in fresh:
            values[position] = np.empty((len(rows.index), *rows.full.shape[1:]), rows.full.dtype)
        else:
            values[position] = rows.full[rows.index]
    fn(*values)
    for position, rows in gathered:
        if position in writes:
            rows.full[rows.index] = values[position]


def stack_columns(
    columns: dict[int, Sequence[np.ndarray]], writes: frozenset, same_layout: bool = False
) -> dict | None:
    """Per argument position, its arrays across the blocks as one view with leading axes
    (one axis when they lie at a fixed stride; two, (rows, run), when runs of blocks at a
    fixed stride repeat at a fixed stride, as when every few blocks one is an edge tile), or
    as `Gathered` rows; None when they are not equal windows of one allocation, or when
    windows written by different blocks overlap (share an element, when stacked).
    `same_layout`: the caller has checked that each column's arrays have one shape,
    strides and dtype."""
    addresses = {}
    interleaved = set()
    for position, arrays in columns.items():
        first = arrays[0]
        layout, base, root = (first.shape, first.strides, first.dtype), first.base, None
        for a in arrays:
            if not same_layout and (a.shape, a.strides, a.dtype) != layout:
                return None
            if a.base is not base or base is None:  # views of one array share their base
                root = _root(first) if root is None else root
                if _root(a) is not root:
                    return None
        addresses[position] = starts = [first_address(a) for a in arrays]
        if position in writes and not _disjoint(starts, _span(first)):
            interleaved.add(position)  # spans overlap: stacked only if elements do not
    count = len(next(iter(addresses.values())))
    runs = [_first_run(a) for a in addresses.values() if _first_run(a) < count]
    run = min(runs, default=count)
    grids = {p: _grid(a, run) for p, a in addresses.items()}
    if all(g is not None for g in grids.values()):
        stacked = {}
        for position, (row, step) in grids.items():  # type: ignore[misc]
            first = columns[position][0]
            lead = ((count // run, row), (run, step)) if run < count else ((count, step),)
            counts, strides = zip(*lead)
            stacked[position] = as_strided(
                first, (*counts, *first.shape), (*strides, *first.strides)
            )
        if not all(_nested(stacked[p]) for p in interleaved):
            return None
        return stacked
    if interleaved:
        return None
    return {p: Gathered.of(columns[p], a) for p, a in addresses.items()}


def _nested(view: np.ndarray) -> bool:
    """Whether no two elements of `view` share memory, by a sufficient test: with its axes
    by increasing stride, each stride reaches past all the smaller axes together. The
    blocks' windows of a store to an NCHW output interleave (each a few pixels of every
    channel row) but nest so: stacked, they are one call instead of one per block."""
    covered = view.itemsize
    for n, stride in sorted(zip(view.shape, map(abs, view.strides)), key=lambda a: a[1]):
        if n == 1:
            continue
        if stride < covered:
            return False
        covered += (n - 1) * stride
    return True


def stack(arrays: Sequence[np.ndarray], written: bool) -> np.ndarray | Gathered | None:
    """`arrays` as one view with leading axes, or as `Gathered` rows (see `stack_columns`)."""
    stacked = stack_columns({0: arrays}, frozenset({0} if written else ()))
    return None if stacked is None else stacked[0]


def _stack_generic(fn: Callable, calls: list[tuple]) -> Action | None:
    """One action for `calls` of `fn`, whose `_shape_key`s are equal (so their arrays have one
    layout per position and their other arguments agree), or None."""
    writes = frozenset(w % len(calls[0]) for w in fn.writes)  # type: ignore[attr-defined]
    args: list = list(calls[0])
    columns = {p: [c[p] for c in calls] for p, a in enumerate(args) if isinstance(a, np.ndarray)}
    stacked = stack_columns(columns, writes, same_layout=True) if columns else None
    if stacked is None:
        return None
    for position, value in stacked.items():
        args[position] = value
    gathered = tuple((p, v) for p, v in stacked.items() if isinstance(v, Gathered))
    if gathered:
        whole = frozenset(p % len(args) for p in getattr(fn, "overwritten", ())) & writes
        return _gathered_call, (fn, tuple(args), gathered, writes, whole)
    return fn, tuple(args)


_PLAIN = (int, float, str, bool)


def _key(value: object) -> object:
    kind = type(value)
    if kind is np.ndarray or isinstance(value, np.ndarray):
        return (value.shape, value.strides, value.dtype)  # type: ignore[union-attr]
    return value if kind in _PLAIN else repr(value)


def _shape_key(args: tuple) -> tuple:
    """What must agree for actions to stack: array layouts, and other arguments' values
    (as text when they cannot be hashed: tuples of slices)."""
    return tuple([_key(a) for a in args])


def _lanes(stacked: Action, count: int) -> tuple[int, ...]:
    """The leading block axes of `stacked`, `count` blocks' calls: (count,) when its arrays
    have one, (rows, run) when two, () when its blocks are gathered rows."""
    fn, args = stacked
    arrays = [a for a in args if isinstance(a, np.ndarray)]
    if fn is _gathered_call or not arrays:
        return ()
    if arrays[0].shape[0] == count:
        return (count,)
    return tuple(arrays[0].shape[:2])


def batch(position: Sequence[Action], lanes: list[tuple] | None = None) -> list[Action]:
    """The actions of one position across a wave's blocks, stacked: one action per set of
    blocks whose windows have one shape and whose other arguments agree (edge tiles, or
    tiles at other offsets in their core's buffer, make a set of their own). `lanes`, if
    given, gets each returned action's leading block axes (`_lanes`; () for one block)."""
    fn = position[0][0]
    if not hasattr(fn, "writes"):
        if lanes is not None:
            lanes.extend([()] * len(position))
        return list(position)
    parts: dict[tuple, list[Action]] = {}
    for action in position:
        parts.setdefault(_shape_key(action[1]), []).append(action)
    merged: list[Action] = []
    for members in parts.values():
        calls = [args for _, args in members]
        stacked = _stack_generic(fn, calls) if len(members) > 1 else None
        merged.extend(members if stacked is None else [stacked])
        if lanes is not None:
            lanes.extend([()] * len(members) if stacked is None else [_lanes(stacked, len(calls))])
    return merged


def batch_waves(
    actions: list[Action], starts: list[int], cores: int, lanes: list[tuple] | None = None
) -> list[Action]:
    """`actions` (one kernel's, block after block from `starts`) with each wave's blocks of
    equal shape merged position by position; blocks of other shapes keep their own.
    `lanes`, if given, gets per returned action its leading block axes (`batch`)."""
    ends = [*starts[1:], len(actions)]
    blocks = [actions[s:e] for s, e in zip(starts, ends)]
    merged: list[Action] = []
    for first in range(0, len(blocks), cores):
        groups: dict[tuple, list[list[Action]]] = {}
        for block in blocks[first : first + cores]:
            groups.setdefault(tuple(fn for fn, _ in block), []).append(block)
        for members in groups.values():
            if len(members) == 1:
                merged.extend(members[0])
                if lanes is not None:
                    lanes.extend([()] * len(members[0]))
                continue
            for position in zip(*members):
                merged.extend(batch(position, lanes))
    return merged
