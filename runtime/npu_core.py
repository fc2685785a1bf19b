"""One modeled AI core: its pipe clocks, flags, on-chip allocations and buffer hazards.

Every instruction goes to the in-order queue of its pipe: it starts when that pipe is free and
ends `cycles` later. Pipes only wait for one another through flags (set_flag takes the time the
source pipe reaches it; wait_flag moves the destination pipe's clock up to it). The core checks
what real hardware would get wrong: an instruction that reads an on-chip buffer before another
pipe has finished writing it, or writes one another pipe is still reading or writing, is a race
(a missing flag) and an error, so a program's modeled time is only reported when it is safe.
A buffer allocated by one `npu.alloc` keeps its address on a core, so a loop that allocates it
in its body meets the previous iteration's readers and writers, as the hardware would.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from gedialects.errors import InterpretationError
from gedialects.npu.attrs import ON_CHIP, PIPES, BufferType, aligned
from runtime.npu_access import poisons
from runtime.npu_batch import batchable
from runtime.profile import KernelProfile


class Buffer:
    """The contents of one buffer (a numpy array) and who last touched it, and when."""

    __slots__ = ("array", "type", "space", "name", "on_chip", "write_end", "write_pipe", "reads")

    def __init__(self, array: np.ndarray, type: BufferType, name: str):
        self.array, self.type, self.name = array, type, name
        self.space = type.space_name
        self.on_chip = self.space in ON_CHIP
        self.write_end = 0.0
        self.write_pipe: str | None = None
        self.reads: dict[str, float] = {}


def poisoned(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """Fresh memory: NaN for floats (so a read of data never written shows), else zeros."""
    if np.issubdtype(dtype, np.floating):
        return np.full(shape, np.nan, dtype)
    return np.zeros(shape, dtype)


@batchable(0)
@poisons
def poison(array: np.ndarray) -> None:
    """Make `array` fresh memory again (see `poisoned`)."""
    array.fill(np.nan if array.dtype.kind == "f" else 0)


@dataclass
class Core:
    """State of one AI core while it runs the blocks of one kernel."""

    index: int
    capacity: dict[str, int]
    block_align: int
    active_cores: int
    stats: KernelProfile
    clocks: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PIPES, 0.0))
    flags: dict[tuple, deque] = field(default_factory=dict)
    used: Counter = field(default_factory=Counter)
    scopes: list[list[tuple[str, int]]] = field(default_factory=list)
    sites: dict[object, Buffer] = field(default_factory=dict)
    hbm_free: float = 0.0
    l2: dict = field(default_factory=dict)
    """Per HBM buffer, which elements this kernel has read (shared by its cores)."""
    l2_share: dict | None = None
    """Per HBM buffer, 1 / the number of cores that read each element in this kernel (shared;
    counted by a probe run of the kernel), or None: first touch pays (`l2_cached`)."""
    l2_readers: dict = field(default_factory=dict)
    """Per HBM buffer, a bit per core that has read each element (shared; with `l2_share`)."""
    reader_bit: np.unsignedinteger = field(init=False)
    """This core's bit in `l2_readers`' arrays (of the narrowest type that has one per core)."""
    probe: bool = False
    """A probe run only counts the cores that read each element into `l2_share`."""
    pool: dict | None = None
    """Arrays of on-chip buffers by site, a row per core, kept by the executable across runs."""
    l2_log: list | None = None
    """Where `l2_cached` appends its answers (shared by the cores): a kernel whose addresses do
    not depend on data asks the same questions in the same order every run."""
    l2_replay: Iterator[float] | None = None
    """The answers a previous run logged, which the DMA steps take instead of asking."""
    record: list | None = None
    """Where the steps append their numpy work as (function, arguments) while a kernel whose
    addresses do not depend on data is captured (`runtime.npu_replay`), or None."""

    def __post_init__(self) -> None:
        # The narrowest unsigned type with a bit per core (`l2_readers`): the fewer bytes an L2
        # question reads and writes, the faster the interpreter asks it.
        bits = max(8, 1 << (max(self.active_cores, 1) - 1).bit_length())
        self.reader_bit = np.dtype(f"uint{min(bits, 64)}").type(1 << min(self.index, 63))

    def issue(
        self,
        pipe: str,
        cycles: float,
        reads: tuple[Buffer, ...],
        writes: tuple[Buffer, ...],
        what: str,
    ) -> None:
        """Queue an instruction on `pipe`; raises on a race with another pipe."""
        clocks, stats = self.clocks, self.stats
        start = clocks[pipe]
        end = start + cycles
        for buf in reads:  # a read only updates this pipe's entry, which no check below reads
            if buf.on_chip:
                if start < buf.write_end and buf.write_pipe not in (None, pipe):
                    self._race(what, pipe, start, "reads", buf, buf.write_pipe, buf.write_end)
                if buf.reads.get(pipe, 0.0) < end:
                    buf.reads[pipe] = end
        for buf in writes:
            if buf.on_chip:
                if start < buf.write_end and buf.write_pipe not in (None, pipe):
                    self._race(what, pipe, start, "writes", buf, buf.write_pipe, buf.write_end)
                for other, until in buf.reads.items():
                    if start < until and other != pipe:
                        self._race(what, pipe, start, "overwrites", buf, other, until)
        for buf in writes:
            buf.write_end, buf.write_pipe = end, pipe
        clocks[pipe] = end
        stats.busy[pipe] += cycles
        stats.instructions += 1
        if stats.events is not None:
            stats.events.append((self.index, pipe, start, cycles, what))

    def issue_move(
        self,
        pipe: str,
        cycles: float,
        src: Buffer,
        dst: Buffer,
        what: str,
        rhs: Buffer | None = None,
    ) -> None:
        """`issue(pipe, cycles, (src,) or (src, rhs), (dst,), what)` of a DMA or a binary
        vector op, unrolled: the same checks in the same order, without the loops."""
        clocks = self.clocks
        start = clocks[pipe]
        end = start + cycles
        if src.on_chip:
            if start < src.write_end and src.write_pipe not in (None, pipe):
                self._race(what, pipe, start, "reads", src, src.write_pipe, src.write_end)
            reads = src.reads
            if reads.get(pipe, 0.0) < end:
                reads[pipe] = end
        if rhs is not None and rhs.on_chip:
            if start < rhs.write_end and rhs.write_pipe not in (None, pipe):
                self._race(what, pipe, start, "reads", rhs, rhs.write_pipe, rhs.write_end)
            reads = rhs.reads
            if reads.get(pipe, 0.0) < end:
                reads[pipe] = end
        if dst.on_chip:
            if start < dst.write_end and dst.write_pipe not in (None, pipe):
                self._race(what, pipe, start, "writes", dst, dst.write_pipe, dst.write_end)
            for other, until in dst.reads.items():
                if start < until and other != pipe:
                    self._race(what, pipe, start, "overwrites", dst, other, until)
        dst.write_end, dst.write_pipe = end, pipe
        clocks[pipe] = end
        stats = self.stats
        stats.busy[pipe] += cycles
        stats.instructions += 1
        if stats.events is not None:
            stats.events.append((self.index, pipe, start, cycles, what))

    def _race(self, what, pipe, start, verb, buf, other, until) -> None:  # noqa: ANN001
        raise InterpretationError(
            f"race on core {self.index}: '{what}' on {pipe} {verb} {buf.name} ({buf.space}) at "
            f"cycle {start:.0f}, but {other} uses it until cycle {until:.0f}; a "
            f"set_flag {other} -> {pipe} / wait_flag pair is missing"
        )

    def hbm_cycles(self, pipe: str, nbytes: int, path_rate: float, share: float) -> int:
        """Cycles of a DMA to or from HBM: its path's rate, and this core's share of HBM.

        The core's HBM channel is reserved in issue order (MTE2 reads and MTE3 writes share
        it), so a core never moves more than `share` bytes per cycle on average.
        """
        start = self.clocks[pipe]
        channel_start = max(start, self.hbm_free)
        self.hbm_free = channel_start + nbytes / share
        return max(1, math.ceil(max(nbytes / path_rate, self.hbm_free - start)))

    def l2_cached(self, buf: Buffer, window: tuple) -> float:
        """How many elements' worth of `window` of HBM buffer `buf` come from L2, not HBM.

        L2 caches HBM for the whole chip. A core's repeated reads of an element hit L2. With
        reader counts (`l2_share`), the cores that read an element share its one HBM fetch:
        each pays 1/readers of it from HBM and the rest from L2, as when blocks that run at
        the same time request the same lines. Without them, the first read of an element (by
        any core) comes from HBM and every later one from L2.
        """
        if self.probe:  # the probe only marks; `reader_counts` counts the bits afterwards
            self._reader_bits(buf)[window] |= self.reader_bit
            return 0.0
        share = None if self.l2_share is None else self.l2_share.get(buf)
        if share is not None:
            view = self._reader_bits(buf)[window]
            seen = np.count_nonzero(view & self.reader_bit)
            if not seen:  # the common case: this core reads the whole window first
                view |= self.reader_bit
                cached = view.size - self._share_sum(share, buf, window)
            elif seen == view.size:  # a repeated read: all from L2, the bits stay
                cached = float(view.size)
            else:
                first = (view & self.reader_bit) == 0
                view |= self.reader_bit
                cached = first.size - float(share[window][first].sum())
        else:
            mask = self.l2.get(buf)
            if mask is None:
                mask = self.l2[buf] = np.zeros(buf.array.shape, np.bool_)
            view = mask[window]
            cached = int(np.count_nonzero(view))
            view[...] = True
        if self.l2_log is not None:
            self.l2_log.append(cached)
        return cached

    def _share_sum(self, share: np.ndarray, buf: Buffer, window: tuple) -> float:
        """The sum of `share` over `window`, in the order of the masked sum of `l2_cached`
        (C order, one pairwise sum); the cores of a kernel read many windows alike, so the
        sums are kept in the shares' `sums` (see `runtime.npu_probe.Shares`), if they have it."""
        sums = getattr(self.l2_share, "sums", None)
        if sums is None:
            return float(share[window].ravel().sum())
        key = (buf, *[(s.start, s.stop) for s in window if type(s) is slice])
        total = sums.get(key)
        if total is None:
            total = sums[key] = float(share[window].ravel().sum())
        return total

    def _reader_bits(self, buf: Buffer) -> np.ndarray:
        bits = self.l2_readers.get(buf)
        if bits is None:
            bits = self.l2_readers[buf] = np.zeros(buf.array.shape, self.reader_bit.dtype)
        return bits

    def set_flag(self, src: str, dst: str, event: int) -> None:
        self.flags.setdefault((src, dst, event), deque()).append(self.clocks[src])

    def wait_flag(self, src: str, dst: str, event: int) -> None:
        queue = self.flags.get((src, dst, event))
        if not queue:
            raise InterpretationError(
                f"core {self.index}: wait_flag {src} -> {dst} event {event} waits for a flag "
                f"that was never set; the core would hang"
            )
        self.clocks[dst] = max(self.clocks[dst], queue.popleft())

    def pending_flags(self) -> list[tuple]:
        return [key for key, queue in self.flags.items() if queue]

    def allocate(
        self, site: object, buf_type: BufferType, name: str, layout: tuple | None = None
    ) -> Buffer:
        """The buffer of allocation `site`: the same address (and contents) every time.

        `layout` is (space, bytes, dims, dtype) of `buf_type`, if the caller has it at hand.
        Fresh memory is poisoned (`poisoned`); its array is this core's row of the site's
        array in `pool`, which later launches of the kernel reuse."""
        if layout is None:
            layout = (buf_type.space_name, buf_type.nbytes, buf_type.dims, buf_type.dtype)
        space, nbytes = layout[0], aligned(layout[1], self.block_align)
        if self.used[space] + nbytes > self.capacity[space]:
            raise InterpretationError(
                f"core {self.index}: allocating {name} ({nbytes} bytes) in {space} exceeds its "
                f"capacity: {self.used[space]} of {self.capacity[space]} bytes already live"
            )
        self.used[space] += nbytes
        self.scopes[-1].append((space, nbytes))
        buf = self.sites.get(site)
        if buf is None:
            if self.pool is None:
                array = poisoned(layout[2], layout[3])
            else:  # one stacked array per site, a row per core (see `runtime.npu_batch`)
                stacked = self.pool.get(site)
                if stacked is None:  # poisoned below, row by row, as every launch does
                    stacked = np.empty((self.active_cores, *layout[2]), layout[3])
                    self.pool[site] = stacked
                array = stacked[self.index]
                poison(array)
            if self.record is not None:
                self.record.append((poison, (array,)))
            buf = self.sites[site] = Buffer(array, buf_type, name)
        return buf

    def push_scope(self) -> None:
        self.scopes.append([])

    def pop_scope(self) -> None:
        for space, nbytes in self.scopes.pop():
            self.used[space] -= nbytes

    @property
    def end(self) -> float:
        return max(self.clocks.values())
