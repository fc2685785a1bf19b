"""What a captured action reads and overwrites, and the poisonings no read can see.

A replayed kernel (`runtime.npu_replay`) poisons every on-chip buffer when it allocates it,
as the first run did: a read of data never written then shows as NaN. On a ResNet-18 run that
is ~300 MB of `fill` per run, a third of the bytes the replay writes, and most of it is dead:
a DMA or the cube overwrites the buffer before anything reads it. `drop_dead_poison` removes
a poisoning when, in the action list, every byte of it is overwritten before any action reads
one of them (or nothing reads them at all), as a compiler removes a dead store: what every
later action reads is then the same, so the outputs are the same bit for bit.

It needs to know what an action reads and writes. A function tells by an `accesses`
attribute, `accesses(args) -> (read arrays, overwritten arrays)`; `overwrites(*positions)`
makes one for a function that writes every element of the arrays at `positions` without
reading them and reads its other arrays. A function without one reads all its arrays and
overwrites none (so a poisoning it touches is kept): the analysis can only keep too much.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import numpy as np
from numpy.lib.stride_tricks import as_strided

from runtime.npu_batch import first_address

F = TypeVar("F", bound=Callable[..., Any])
Accesses = tuple[list[np.ndarray], list[np.ndarray]]


def overwrites(*positions: int) -> Callable[[F], F]:
    """Mark `fn` as writing all of its array arguments at `positions` (-1: the last) without
    reading them, and reading its other array arguments."""

    def mark(fn: F) -> F:
        def accesses(args: Sequence) -> Accesses:
            written = {p % len(args) for p in positions}
            reads = [a for i, a in enumerate(args) if i not in written]
            return _arrays(reads), _arrays(args[p] for p in written)

        fn.accesses = accesses  # type: ignore[attr-defined]
        fn.overwritten = positions  # type: ignore[attr-defined]  (a replay's batch: `npu_batch`)
        return fn

    return mark


def poisons(fn: F) -> F:
    """Mark `fn(array)` as the poisoning of a fresh buffer (what `drop_dead_poison` drops)."""
    fn.poisons = True  # type: ignore[attr-defined]
    return overwrites(0)(fn)


def _arrays(values: Iterable) -> list[np.ndarray]:
    found = []
    for value in values:
        if isinstance(value, np.ndarray):
            found.append(value)
        elif isinstance(value, tuple):  # a gathered call's arguments, or its gathered rows
            found.extend(_arrays(value))
        elif hasattr(value, "full"):  # `npu_batch.Gathered`: a gather of rows of `full`
            found.append(value.full)
    return found


def accesses(fn: Callable, args: Sequence) -> Accesses:
    """(arrays `fn(*args)` reads, arrays it overwrites whole). A function whose
    `writes_exactly` is True writes nothing else (a tile of a larger buffer: `img2col`)."""
    known = getattr(fn, "accesses", None)
    return known(args) if known is not None else (_arrays(args), [])


def extent(array: np.ndarray, first: int | None = None, axis: int = 0) -> tuple[int, int]:
    """[first byte, one past the last byte) of the memory `array` addresses, from `axis` on
    (1: its first block, `array[0]`); `first`, its first element's address if known."""
    low = high = first_address(array) if first is None else first
    if array.size == 0:
        return low, low
    for n, stride in zip(array.shape[axis:], array.strides[axis:]):
        if stride < 0:
            low += (n - 1) * stride
        else:
            high += (n - 1) * stride
    return low, high + array.itemsize



def byte_view(mask: np.ndarray, array: np.ndarray, low: int) -> np.ndarray:
    """The entries of `mask` (a byte per address from `low` on) for every byte of `array`."""
    start = first_address(array) - low
    shape, strides = (*array.shape, array.itemsize), (*array.strides, 1)
    return as_strided(mask[start:], shape, strides)


class _Poisoning:
    """One poisoning's bytes not yet overwritten (False in `fresh`, over its extent)."""

    def __init__(self, index: int, array: np.ndarray):
        self.index = index
        self.low, self.high = extent(array)
        self.fresh = np.ones(self.high - self.low, bool)
        self._bytes(array, self.fresh)[...] = False

    def _bytes(self, array: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """The entries of `mask` for every byte of `array` (inside this extent)."""
        return byte_view(mask, array, self.low)

    def inside(self, low: int, high: int) -> bool:
        return self.low <= low and high <= self.high

    def read_fresh(self, array: np.ndarray, low: int, high: int) -> bool:
        """Whether reading `array` reads a byte this poisoning wrote and nothing overwrote."""
        if not self.inside(low, high):
            return True  # a view reaching past this buffer: assume the worst
        return not self._bytes(array, self.fresh).all()

    def overwrite(self, array: np.ndarray, low: int, high: int) -> bool:
        """Mark `array`'s bytes overwritten; True when none of the poisoning is left."""
        if self.inside(low, high):
            self._bytes(array, self.fresh)[...] = True
        return bool(self.fresh.all())


def drop_dead_poison(actions: list) -> list:
    """`actions` without the poisonings that no action reads before overwriting them."""
    live: list[tuple[int, int, _Poisoning]] = []  # (low, index, poisoning), by low address
    needed: set[int] = set()
    dead: set[int] = set()

    def overlapping(low: int, high: int) -> list[_Poisoning]:
        end = bisect.bisect_left(live, (high,))
        return [p for _, _, p in live[:end] if p.high > low]

    def retire(p: _Poisoning, into: set[int]) -> None:
        into.add(p.index)
        live.remove((p.low, p.index, p))

    for index, (fn, args) in enumerate(actions):
        reads, written = accesses(fn, args)
        for array in reads:
            low, high = extent(array)
            for p in overlapping(low, high):
                if p.read_fresh(array, low, high):
                    retire(p, needed)
        for array in written:
            low, high = extent(array)
            for p in overlapping(low, high):
                if p.overwrite(array, low, high):
                    retire(p, dead)
        if getattr(fn, "poisons", False) and written:
            p = _Poisoning(index, written[0])
            bisect.insort(live, (p.low, p.index, p))
    dead.update(p.index for _, _, p in live)  # never read after it: as dead
    return [action for i, action in enumerate(actions) if i not in dead]
