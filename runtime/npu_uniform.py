"""Do once what every block of a wave does alike: `share_uniform_rows`.

In a kernel split over output channels (ResNet-18's layer 4: 32 cores on one pixel tile),
every core DMAs the same input rows into its L1, converts and img2cols them; the merged
replay (`runtime.npu_batch`) does that on 32 stacked rows that end up equal, 32 times the
work of one. A stacked action whose every read is the same for all its blocks (an HBM window
all of them read at one address: stride 0 on the block axis; or on-chip rows known equal)
and which overwrites whole windows of on-chip rows writes equal rows. It is run on its first
block only, and what it writes is recorded as *uniform*: the other rows are left unwritten
and stand for copies of the first. A later stacked read of those rows reads the first row on
every block (a stride-0 view); any other access to them first materialises them (the first
row copied into the others). Every action thus sees the values it saw before, and the
outputs are the same bit for bit. Rows still uniform at the kernel's end are never written:
on-chip memory does not outlive its kernel (a launch poisons what it allocates).

Poisoning writes equal rows too (NaN everywhere), but later DMAs fill its buffer piece by
piece, which would materialise it each time; it is run on every row and recorded as *real*
uniform rows: equal and all written, readable as one row, dropped (not copied) when written.

A record governs the bytes of its window on its rows until a newer one covers them: a read
is served by the newest record it touches, which must cover all it reads. The analysis runs
once per kernel, on the replay after its blocks are merged (`batch_waves`'s `lanes` gives
each merged action's blocks), and needs to tell on-chip arrays (the interpreter's pool: a
row per core) from HBM.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from runtime.npu_access import _arrays, accesses, byte_view, extent, overwrites
from runtime.npu_batch import Action, first_address

OnChip = Callable[[np.ndarray], "np.ndarray | None"]

MAX_PIECES = 4
"""A stacked call is cut into at most this many runs of blocks to read uniform rows: each
run is one more numpy call on every replay (a conv whose L0B rows came in pairs was cut
into 16 runs of 2 blocks and ran its mmads 1.7x slower)."""


@overwrites(0)
def materialise(rest: np.ndarray, first: np.ndarray) -> None:
    """Uniform rows made real: every row of `rest` = the first row `first`."""
    np.copyto(rest, first)


@dataclass(eq=False)
class _Uniform:
    """Rows [row, row + count) of on-chip array `root` hold, in the window that `view` (a
    stack of those rows) writes, the same values: those of row `row` (the others are stale
    unless `real`, when every row holds them)."""

    view: np.ndarray
    root: np.ndarray
    row: int
    count: int
    real: bool = False

    def __post_init__(self) -> None:
        self.low, self.high = _span(self.view)
        self.window = _row_span(self.view)
        self.row_bytes = self.root.strides[0]

    def row_index(self, array: np.ndarray) -> int | None:
        """The row of `root` that holds `array`'s first block, if `array` is a stack of
        blocks at the row stride inside `root`."""
        if array.ndim < 1 or array.strides[0] != self.row_bytes:
            return None
        return _row_of(self.root, array)

    def touches(self, array: np.ndarray) -> bool:
        """Whether `array` may address a byte of this record's window on its rows."""
        low, high = _span(array)
        if not (low < self.high and self.low < high):
            return False
        first = self.row_index(array)
        if first is None:
            return True
        if first + len(array) <= self.row or self.row + self.count <= first:
            return False
        shift = (first - self.row) * self.row_bytes
        in_row = _row_span(array)
        return in_row[0] - shift < self.window[1] and self.window[0] < in_row[1] - shift

    def covers(self, array: np.ndarray, first: int) -> bool:
        """Whether the stack `array`, whose first block is on row `first`, lies on these
        rows and addresses only bytes of this record's window."""
        if self.row_index(array) != first or not self.row <= first:
            return False
        if first + len(array) > self.row + self.count:
            return False
        shift = (first - self.row) * self.row_bytes
        low, high = _row_span(array)
        if not (self.window[0] <= low - shift and high - shift <= self.window[1]):
            return False
        window = self.view[0]
        if window.flags.c_contiguous or window.flags.f_contiguous:
            return True
        return _union_covers([self], first, array)

    def source_row(self, array: np.ndarray) -> int:
        """The row a read of `array` (which this record covers) takes for every block."""
        return self.row_index(array) if self.real else self.row  # type: ignore[return-value]

    def one_row_view(self, array: np.ndarray, row: int) -> np.ndarray:
        """`array` moved to row `row` for every block: a stride of 0 between blocks."""
        offset = _first(array) - _first(self.root)
        offset -= (self.row_index(array) - row) * self.row_bytes  # type: ignore[operator]
        return np.ndarray(array.shape, array.dtype, self.root, offset, (0, *array.strides[1:]))

    def governs(self, other: _Uniform) -> bool:
        """Whether this record's window and rows include all of `other`'s."""
        if self.root is not other.root or not self.row <= other.row:
            return False
        if other.row + other.count > self.row + self.count:
            return False
        window = self.view[0]
        if not (window.flags.c_contiguous or window.flags.f_contiguous):
            return False
        shift = (other.row - self.row) * self.row_bytes
        low, high = other.window[0] - shift, other.window[1] - shift
        return self.window[0] <= low and high <= self.window[1]


_FIRST: dict[int, tuple[np.ndarray, int]] = {}
"""First addresses of the arrays one `share_uniform_rows` looks at, by id (each array kept,
so that its id is not reused meanwhile): numpy takes ~1 us to tell one."""


def _first(array: np.ndarray) -> int:
    known = _FIRST.get(id(array))
    if known is None:
        known = _FIRST[id(array)] = (array, first_address(array))
    return known[1]


def _span(array: np.ndarray) -> tuple[int, int]:
    return extent(array, _first(array))


def _row_span(array: np.ndarray) -> tuple[int, int]:
    """The extent of the stack `array`'s first block."""
    return extent(array, _first(array), 1)


def _row_of(root: np.ndarray, array: np.ndarray) -> int | None:
    offset = _first(array) - _first(root)
    return offset // root.strides[0] if 0 <= offset < root.nbytes else None


def pool_lookup(arrays: Iterable[np.ndarray]) -> OnChip:
    """`on_chip` for `share_uniform_rows`: the array of `arrays` (the interpreter's pool)
    whose memory holds a view's first element, or None."""
    spans = sorted(((first_address(a), a) for a in arrays), key=lambda span: span[0])
    starts = [start for start, _ in spans]

    def on_chip(array: np.ndarray) -> np.ndarray | None:
        at = bisect.bisect_right(starts, _first(array)) - 1
        if at < 0:
            return None
        start, root = spans[at]
        return root if _first(array) < start + root.nbytes else None

    return on_chip


def share_uniform_rows(
    actions: list[Action], lanes: Sequence[tuple[int, ...]], on_chip: OnChip
) -> list[Action]:
    """`actions` with each stacked action that writes equal rows run on its first block
    only, and reads of such rows served by one row (see the module's docstring).
    `lanes[i]` is action i's leading block axes (`npu_batch.batch`); `on_chip`
    gives the pool array a view lies in, or None."""
    if not any(_shares_a_load(fn, args, axes) for (fn, args), axes in zip(actions, lanes)):
        return actions  # nothing to share but poison (most of MobileNetV2's kernels)
    live = _Live(on_chip)
    out: list[Action] = []
    try:
        for (fn, args), axes in zip(actions, lanes):
            for whole, count in _one_axis(fn, args, axes, live, on_chip):
                _share(fn, whole, count, on_chip, live, out)
    finally:
        _FIRST.clear()
    return out


def _shares_a_load(fn: Callable, args: tuple, axes: tuple[int, ...]) -> bool:
    """Whether a stacked call reads one window for several blocks (stride 0 on a block
    axis): where equal rows begin."""
    written = _written_positions(fn, args) if axes else None
    if written is None:
        return False
    return any(
        isinstance(a, np.ndarray) and p not in written and 0 in a.strides[: len(axes)]
        for p, a in enumerate(args)
    )


def _one_axis(
    fn: Callable, args: tuple, axes: tuple[int, ...], live: _Live, on_chip: OnChip
) -> list[tuple[tuple, int]]:
    """A call's arguments with at most one leading block axis, and its block count (0 for
    none): a call stacked on two axes (runs of blocks at a fixed stride, repeated) split into
    its runs when one of them touches uniform rows or writes equal rows, else whole."""
    if len(axes) != 2 or axes[0] > MAX_PIECES:
        return [(args, axes[0] if len(axes) == 1 else 0)]
    rows, run = axes
    runs = [tuple(a[r] if isinstance(a, np.ndarray) else a for a in args) for r in range(rows)]
    for piece in runs:
        if _equal_rows(fn, piece, run, on_chip) or _reads_uniform(fn, piece, live):
            return [(piece, run) for piece in runs]
    return [(args, 0)]


def _reads_uniform(fn: Callable, args: tuple, live: _Live) -> bool:
    """Whether a stacked call reads uniform rows through an argument it does not write."""
    written = _written_positions(fn, args) or frozenset()
    reads = [a for p, a in enumerate(args) if isinstance(a, np.ndarray) and p not in written]
    return bool(live.touching(reads))


def _share(
    fn: Callable, args: tuple, count: int, on_chip: OnChip, live: _Live, out: list
) -> None:
    """Append the call (or its pieces) to `out`, reading and writing uniform rows."""
    for piece, blocks in _pieces(args, count, live):
        if live.touching(_arrays(piece)):
            piece = _reconcile(fn, piece, blocks, on_chip, live, out)
        else:
            piece = _run(fn, piece, blocks, on_chip, live, None)
        out.append((fn, piece))


def _pieces(args: tuple, count: int, live: _Live) -> list[tuple[tuple, int]]:
    """A stacked call's arguments cut into runs of blocks at the edges of the uniform rows
    it touches (blocks 0-15 on one record's rows, 16-31 on another's: each run can read
    its record's first row), each with its block count; the call whole when none cut it."""
    edges = set()
    for value in args if count > 1 and live else ():
        if not isinstance(value, np.ndarray):
            continue
        for record in live.near(value):
            first = record.row_index(value)
            if first is not None:
                edges.update((record.row - first, record.row + record.count - first))
    cuts = sorted(e for e in edges if 0 < e < count)
    if not cuts or len(cuts) >= MAX_PIECES:
        return [(args, count)]
    bounds = [0, *cuts, count]
    return [
        (tuple(a[lo:hi] if isinstance(a, np.ndarray) else a for a in args), hi - lo)
        for lo, hi in zip(bounds, bounds[1:])
    ]


def _reconcile(
    fn: Callable, args: tuple, count: int, on_chip: OnChip, live: _Live, out: list
) -> tuple:
    """The arguments of a call that touches uniform rows: its stacked reads of them read one
    row; records it touches otherwise are settled first (materialised into `out`, or just
    dropped where it overwrites them whole); then `_run`."""
    written = _written_positions(fn, args) if count else None
    read_views = accesses(fn, args)[0]
    served: dict[int, tuple[_Uniform, int]] = {}
    others: list[np.ndarray] = []  # what touches uniform rows as they are
    for position, value in enumerate(args):
        if not isinstance(value, np.ndarray):
            others += _arrays([value])
        elif written is None or position in written:
            continue
        else:
            mine = [r for r in read_views if _within(r, value)]
            holder = _holder(live.near(value), value, mine)
            if holder is not None:
                served[position] = holder
            elif live.touching(mine):
                others += mine
    swapped = tuple(
        served[p][0].one_row_view(a, served[p][1]) if p in served else a
        for p, a in enumerate(args)
    )
    records = _equal_rows(fn, swapped, count, on_chip)
    for position, value in enumerate(args):  # what it writes: the records' views if any
        if isinstance(value, np.ndarray) and (written is None or position in written):
            views = [r.view for r in records or () if _within(r.view, value)]
            others += views if records is not None else [value]
    whole = {id(a) for a in _overwritten_arrays(fn, args)}
    settle = []
    for record in live.touching(others):
        hit = [a for a in others if record.touches(a)]
        if hit and not all(_rewritten_alike(record, records, a) for a in hit):
            dropped = all(id(a) in whole and _stack_covers(a, record) for a in hit)
            settle.append((record, dropped))
    holders = {id(record) for record, _ in served.values()}
    if any(id(record) in holders for record, _ in settle):  # read as uniform, also written
        touched = _arrays(args)
        settle = [(r, False) for r in live.touching(touched)]
        swapped, records = args, None
    for record, dropped in settle:
        if not (record.real or dropped):
            out.append((materialise, (record.view[1:], record.view[:1])))
        live.remove(record)
    return _run(fn, swapped, count, on_chip, live, records)


def _holder(
    near: list[_Uniform], array: np.ndarray, reads: list[np.ndarray]
) -> tuple[_Uniform, int] | None:
    """(record, row) when the records that `reads` (parts of the stack `array`) touch hold
    all of `array`'s rows, cover every byte read, and agree on the row that every block may
    read instead of its own (the newest record's first row, or `array`'s own first row for
    real rows); else None."""
    touching = [r for r in near if any(r.touches(x) for x in reads)]
    if not touching:
        return None
    first = touching[-1].row_index(array)
    if first is None:
        return None
    for record in touching:
        if record.row_index(array) != first or not record.row <= first:
            return None
        if first + len(array) > record.row + record.count:
            return None
    if len({r.source_row(array) for r in touching}) != 1:
        return None
    if len(touching) == 1:
        covered = all(touching[0].covers(x, first) for x in reads)
    else:
        covered = all(_union_covers(touching, first, x) for x in reads)
    return (touching[-1], touching[-1].source_row(array)) if covered else None


def _union_covers(records: list[_Uniform], first: int, read: np.ndarray) -> bool:
    """Whether every byte of the stack `read`'s block on row `first` lies in one of
    `records`' windows (on that row)."""
    if any(r.row_index(read) != first for r in records):
        return False
    windows = [(r.view[0], (first - r.row) * r.row_bytes) for r in records]
    low, high = _row_span(read)
    for window, shift in windows:
        window_low, window_high = extent(window)
        low, high = min(low, window_low + shift), max(high, window_high + shift)
    mask = np.zeros(high - low, bool)
    for window, shift in windows:
        byte_view(mask, window, low - shift)[...] = True
    return bool(byte_view(mask, read[0], low).all())


def _rewritten_alike(record: _Uniform, records: list[_Uniform] | None, array: np.ndarray) -> bool:
    """Whether `array` is one of `records`' written views and leaves `record` true: a real
    record stays true wherever its rows are written alike; an unreal one only when its
    first row is rewritten for all of its rows."""
    for new in records or ():
        if new.view is array:
            if record.real:
                return True
            same = new.root is record.root and new.row == record.row
            return same and new.count >= record.count
    return False


def _stack_covers(array: np.ndarray, record: _Uniform) -> bool:
    """Whether `array` (written whole) includes every byte of `record`'s window on its rows."""
    first = record.row_index(array)
    if first is None or not first <= record.row:
        return False
    if record.row + record.count > first + len(array):
        return False
    if not (array[0].flags.c_contiguous or array[0].flags.f_contiguous):
        return False
    shift = (record.row - first) * record.row_bytes
    low, high = _row_span(array)
    return low <= record.window[0] - shift and record.window[1] - shift <= high


def _within(inner: np.ndarray, outer: np.ndarray) -> bool:
    low, high = _span(inner)
    outer_low, outer_high = _span(outer)
    return outer_low <= low and high <= outer_high


def _written_positions(fn: Callable, args: tuple) -> frozenset[int] | None:
    """The positions of the arrays `fn` may write (a stacked function's `writes`), or None
    when it does not say."""
    writes = getattr(fn, "writes", None)
    return None if writes is None else frozenset(w % len(args) for w in writes)


def _overwritten_arrays(fn: Callable, args: tuple) -> list[np.ndarray]:
    """The arguments `fn` writes whole without reading them (`npu_access.overwrites`), or
    for a function that `writes_exactly`, the arrays `accesses` says it overwrites."""
    if getattr(fn, "writes_exactly", False):
        return accesses(fn, args)[1]
    positions = {p % len(args) for p in getattr(fn, "overwritten", ())}
    return [a for p, a in enumerate(args) if p in positions and isinstance(a, np.ndarray)]


def _equal_rows(fn: Callable, args: tuple, count: int, on_chip: OnChip) -> list[_Uniform] | None:
    """The records of what a stacked call of `count` blocks writes, when it writes equal
    rows: its reads are stride-0 on the block axis, and it overwrites whole windows of
    on-chip rows (at their row stride) without reading them; else None."""
    written = _written_positions(fn, args) if count > 1 else None
    if not written or getattr(fn, "poisons", False):  # later DMAs fill it piece by piece
        return None
    whole = _overwritten_arrays(fn, args)
    exact = getattr(fn, "writes_exactly", False)
    records = []
    for position, value in enumerate(args):
        if not isinstance(value, np.ndarray):
            continue
        if position not in written:
            if value.strides[0] != 0:
                return None
            continue
        views = [w for w in whole if w is value or exact and _within(w, value)]
        if not views:  # it writes what it may also read
            return None
        for view in views:
            root = on_chip(view)
            if root is None or view.strides[0] != root.strides[0]:
                return None
            records.append(_Uniform(view, root, _row_of(root, view), count))  # type: ignore[arg-type]
    reads = accesses(fn, args)[0]
    if any(_extent_overlap(r, w.view) for r in reads for w in records):
        return None  # reads what it writes (an accumulating mmad)
    return records or None


def _extent_overlap(a: np.ndarray, b: np.ndarray) -> bool:
    low, high = _span(a)
    other_low, other_high = _span(b)
    return low < other_high and other_low < high


def _run(
    fn: Callable,
    args: tuple,
    count: int,
    on_chip: OnChip,
    live: _Live,
    records: list[_Uniform] | None,
) -> tuple:
    """`args` cut to the first block when the call writes equal rows (`records`, worked
    out here when None), which then join `live`; a stacked poisoning runs whole and joins
    as real uniform rows."""
    if records is None:
        records = _equal_rows(fn, args, count, on_chip)
    if records is None:
        if getattr(fn, "poisons", False) and count > 1:
            value = args[0]
            root = on_chip(value)
            if root is not None and value.strides[0] == root.strides[0]:
                row = _row_of(root, value)
                live.join([_Uniform(value, root, row, count, real=True)])  # type: ignore[arg-type]
        return args
    live.join(records)
    return tuple(a[:1] if isinstance(a, np.ndarray) else a for a in args)


class _Live:
    """The uniform records in force, by the pool array they lie in, oldest first."""

    def __init__(self, on_chip: OnChip):
        self.on_chip = on_chip
        self.by_root: dict[int, list[_Uniform]] = {}

    def near(self, array: np.ndarray) -> list[_Uniform]:
        """The records in the pool array that holds `array`'s first element."""
        root = self.on_chip(array)
        return self.by_root.get(id(root), []) if root is not None else []

    def touching(self, arrays: Iterable[np.ndarray]) -> list[_Uniform]:
        """The records one of `arrays` touches, oldest first."""
        found: list[_Uniform] = []
        for array in arrays:
            found += [r for r in self.near(array) if r not in found and r.touches(array)]
        return sorted(found, key=lambda r: self.by_root[id(r.root)].index(r))

    def remove(self, record: _Uniform) -> None:
        self.by_root[id(record.root)].remove(record)

    def join(self, records: list[_Uniform]) -> None:
        """Add `records`, dropping the older records they govern whole."""
        for record in records:
            kept = self.by_root.get(id(record.root), [])
            self.by_root[id(record.root)] = [*(r for r in kept if not record.governs(r)), record]
