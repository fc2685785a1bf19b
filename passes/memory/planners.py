"""Offset assignment: place buffers with known lifetimes in one arena, as small as possible.

Every algorithm here takes a list of `Lifetime(size, start, end)` (inclusive kernel
indices; two buffers conflict when their intervals meet) and returns a `Plan` of byte
offsets. Placement is a list order fed to a placer: `first_fit` puts each buffer at the
lowest offset free of its placed conflicts (TVM USMP), `best_fit` into the smallest gap
that holds it (TFLite). Every optimal packing is reached by first-fit from some order (sort
the optimum by offset), so searching orders loses nothing. Each takes an optional
`conflicts` list for when sharing is ruled out by more than interval overlap. `hybrid` runs
them all, like GE's HybridMemAssigner, then jittered orders and a hill climb, and stops as
soon as a plan meets the lower bound.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Lifetime:
    """A buffer of `size` bytes, live from kernel `start` to kernel `end` inclusive."""

    size: int
    start: int
    end: int


@dataclass(frozen=True)
class Plan:
    """Byte offsets, one per lifetime, the arena size they need, and who made them."""

    offsets: tuple[int, ...]
    peak: int
    planner: str


Conflicts = list[list[int]] | None
"""For each buffer, the buffers it may never share bytes with; None: from the intervals.
Under concurrent streams this is more than the interval overlaps (`passes.memory.concurrency`);
the interval lower bound stays valid, since the op order is one legal execution."""

Placer = Callable[[Sequence[Lifetime], Sequence[int], list[list[int]]], list[int]]


def conflict_lists(lifetimes: Sequence[Lifetime]) -> list[list[int]]:
    """For each buffer, the others whose live intervals meet its own."""
    if not lifetimes:
        return []
    start = np.array([t.start for t in lifetimes])
    end = np.array([t.end for t in lifetimes])
    meet = (start[:, None] <= end[None, :]) & (start[None, :] <= end[:, None])
    np.fill_diagonal(meet, False)
    return [np.flatnonzero(row).tolist() for row in meet]


def lower_bound(lifetimes: Sequence[Lifetime]) -> int:
    """Max over kernels of the bytes live there: no plan can be smaller."""
    if not lifetimes:
        return 0
    horizon = max(t.end for t in lifetimes) + 2
    delta = np.zeros(horizon, dtype=np.int64)
    for t in lifetimes:
        delta[t.start] += t.size
        delta[t.end + 1] -= t.size
    return int(np.cumsum(delta).max())


def clique_bound(lifetimes: Sequence[Lifetime], conflicts: list[list[int]]) -> int:
    """Bytes of a heavy clique of the conflict graph, grown greedily from each buffer.

    With only interval conflicts this is `lower_bound`; with concurrency it can be more."""
    neighbours = [set(c) for c in conflicts]
    by_size = sorted(range(len(lifetimes)), key=lambda i: -lifetimes[i].size)
    best = 0
    for seed in range(len(lifetimes)):
        clique, common = [seed], set(neighbours[seed])
        for j in by_size:
            if j in common:
                clique.append(j)
                common &= neighbours[j]
        best = max(best, sum(lifetimes[i].size for i in clique))
    return best


def peak_of(lifetimes: Sequence[Lifetime], offsets: Sequence[int]) -> int:
    return max((o + t.size for o, t in zip(offsets, lifetimes)), default=0)


def _busy(i: int, offsets: list[int], lifetimes: Sequence[Lifetime], conflicts: list[list[int]]):
    """Placed conflicting ranges of buffer i, sorted by offset."""
    placed = (j for j in conflicts[i] if offsets[j] >= 0)
    return sorted((offsets[j], offsets[j] + lifetimes[j].size) for j in placed)


def first_fit(
    lifetimes: Sequence[Lifetime], order: Sequence[int], conflicts: list[list[int]]
) -> list[int]:
    """Place in `order`, each at the lowest offset clear of its placed conflicts."""
    offsets = [-1] * len(lifetimes)
    for i in order:
        size, offset = lifetimes[i].size, 0
        for lo, hi in _busy(i, offsets, lifetimes, conflicts):
            if lo - offset >= size:
                break
            offset = max(offset, hi)
        offsets[i] = offset
    return offsets


def best_fit(
    lifetimes: Sequence[Lifetime], order: Sequence[int], conflicts: list[list[int]]
) -> list[int]:
    """Place in `order`, each in the smallest gap that holds it, else on top."""
    offsets = [-1] * len(lifetimes)
    for i in order:
        size, cursor, best, best_gap = lifetimes[i].size, 0, -1, None
        for lo, hi in _busy(i, offsets, lifetimes, conflicts):
            gap = lo - cursor
            if gap >= size and (best_gap is None or gap < best_gap):
                best, best_gap = cursor, gap
            cursor = max(cursor, hi)
        offsets[i] = cursor if best < 0 else best
    return offsets


def _plan(
    name: str, lifetimes: Sequence[Lifetime], order: Sequence[int], placer: Placer, conflicts
) -> Plan:
    offsets = placer(lifetimes, order, conflicts)
    return Plan(tuple(offsets), peak_of(lifetimes, offsets), name)


def by_size(lifetimes: Sequence[Lifetime]) -> list[int]:
    """Largest first; ties: longer lifetime, then earlier start (TFLite's order)."""
    key = lambda i: (-lifetimes[i].size, lifetimes[i].start - lifetimes[i].end, lifetimes[i].start)
    return sorted(range(len(lifetimes)), key=key)


def by_conflicts(lifetimes: Sequence[Lifetime], conflicts: list[list[int]]) -> list[int]:
    """Most conflicting bytes first, then largest (TVM USMP's greedy_by_conflicts)."""
    weight = [sum(lifetimes[j].size for j in c) for c in conflicts]
    return sorted(range(len(lifetimes)), key=lambda i: (-weight[i], -lifetimes[i].size, i))


def by_start(lifetimes: Sequence[Lifetime]) -> list[int]:
    """In schedule order, longest first at each start (a linear scan)."""
    key = lambda i: (lifetimes[i].start, lifetimes[i].start - lifetimes[i].end, i)
    return sorted(range(len(lifetimes)), key=key)


def greedy_by_size(lifetimes: Sequence[Lifetime], conflicts: Conflicts = None) -> Plan:
    """TFLite: largest first, best fit."""
    conflicts = conflicts if conflicts is not None else conflict_lists(lifetimes)
    return _plan("greedy-by-size", lifetimes, by_size(lifetimes), best_fit, conflicts)


def greedy_by_conflicts(lifetimes: Sequence[Lifetime], conflicts: Conflicts = None) -> Plan:
    """TVM USMP: most conflicted first, lowest offset that fits."""
    conflicts = conflicts if conflicts is not None else conflict_lists(lifetimes)
    order = by_conflicts(lifetimes, conflicts)
    return _plan("greedy-by-conflicts", lifetimes, order, first_fit, conflicts)


def _peak_lifetimes(lifetimes: Sequence[Lifetime], offsets: Sequence[int], peak: int) -> list[int]:
    return [i for i, t in enumerate(lifetimes) if offsets[i] + t.size == peak]


STALL_LIMIT = 300
"""Hill climbing stops after this many steps without a smaller peak."""


def hill_climb(
    lifetimes: Sequence[Lifetime],
    order: Sequence[int] | None = None,
    iterations: int = 2000,
    seconds: float = 1.0,
    seed: int = 0,
    conflicts: Conflicts = None,
) -> Plan:
    """Local search over the placement order (TVM USMP hill_climb, guided by the peak).

    Each step moves a buffer that reaches the current peak (or a random one) earlier in
    the order, re-places with first fit, and keeps the order unless the peak grew. It
    stops at the lower bound, after STALL_LIMIT steps without progress, or at the deadline.
    """
    bound = lower_bound(lifetimes)
    if conflicts is not None:
        bound = max(bound, clique_bound(lifetimes, conflicts))
    conflicts = conflicts if conflicts is not None else conflict_lists(lifetimes)
    current = list(order) if order is not None else by_size(lifetimes)
    offsets = first_fit(lifetimes, current, conflicts)
    peak = peak_of(lifetimes, offsets)
    best = Plan(tuple(offsets), peak, "hill-climb")
    rng, deadline, stall = random.Random(seed), time.perf_counter() + seconds, 0
    for _ in range(iterations):
        stall += 1
        if best.peak <= bound or len(current) < 2 or stall > STALL_LIMIT:
            break
        if time.perf_counter() > deadline:
            break
        top = _peak_lifetimes(lifetimes, offsets, peak)
        moved = rng.choice(top) if top and rng.random() < 0.7 else rng.randrange(len(current))
        candidate = list(current)
        candidate.remove(moved)
        candidate.insert(rng.randrange(max(current.index(moved), 1)), moved)
        new_offsets = first_fit(lifetimes, candidate, conflicts)
        new_peak = peak_of(lifetimes, new_offsets)
        if new_peak <= peak:
            current, offsets, peak = candidate, new_offsets, new_peak
            if peak < best.peak:
                best, stall = Plan(tuple(offsets), peak, "hill-climb"), 0
    return best


JITTER_TRIES = 64
"""Orders `jittered` tries at most."""


def jittered(
    lifetimes: Sequence[Lifetime],
    conflicts: list[list[int]],
    bound: int,
    tries: int = JITTER_TRIES,
    seconds: float = 0.5,
    seed: int = 0,
) -> Plan | None:
    """Largest-first orders with each size scaled by a random factor in [0.5, 1.5), placed
    by best fit, until one meets `bound`: a nearly-sorted order often packs what the sorted
    one misses, where the hill climb (first fit, one move at a time) stalls. DenseNet-201
    at 224: greedy-by-size 1.051x the lower bound, the eighth jittered order 1.0x."""
    rng, deadline, best = random.Random(seed), time.perf_counter() + seconds, None
    for _ in range(tries):
        scaled = [t.size * rng.uniform(0.5, 1.5) for t in lifetimes]
        order = sorted(range(len(lifetimes)), key=lambda i: -scaled[i])
        plan = _plan("jittered-best-fit", lifetimes, order, best_fit, conflicts)
        if best is None or plan.peak < best.peak:
            best = plan
        if best.peak <= bound or time.perf_counter() > deadline:
            break
    return best


EXACT_LIMIT = 24
"""Largest instance (buffers) the hybrid hands to the exact solver..."""
EXACT_SECONDS = 0.25
"""... and the most time it gives it."""


def hybrid(
    lifetimes: Sequence[Lifetime], search_seconds: float = 1.0, conflicts: Conflicts = None
) -> Plan:
    """Run the greedy orders with both placers, then search; keep the smallest plan."""
    explicit = conflicts is not None
    conflicts = conflicts if conflicts is not None else conflict_lists(lifetimes)
    bound = lower_bound(lifetimes)
    if explicit:
        bound = max(bound, clique_bound(lifetimes, conflicts))
    orders = {
        "greedy-by-size": by_size(lifetimes),
        "greedy-by-conflicts": by_conflicts(lifetimes, conflicts),
        "linear-scan": by_start(lifetimes),
    }
    best: Plan | None = None
    for name, order in orders.items():
        for placer in (best_fit, first_fit):
            plan = _plan(name, lifetimes, order, placer, conflicts)
            if best is None or plan.peak < best.peak:
                best, best_order = plan, order
            if best.peak <= bound:
                return best
    if best is None:
        return Plan((), 0, "empty")
    shaken = jittered(lifetimes, conflicts, bound, seconds=search_seconds / 2)
    if shaken is not None and shaken.peak < best.peak:
        best = shaken
        if best.peak <= bound:
            return best
    climbed = hill_climb(lifetimes, best_order, seconds=search_seconds, conflicts=conflicts)
    if climbed.peak < best.peak:
        best = climbed
    if best.peak > bound and len(lifetimes) <= EXACT_LIMIT:
        from passes.memory.exact import exact

        seconds = min(search_seconds, EXACT_SECONDS)
        solved = exact(lifetimes, upper=best.peak, seconds=seconds, conflicts=conflicts)
        if solved.peak < best.peak:
            best = solved
    return best


def no_reuse(lifetimes: Sequence[Lifetime], conflicts: Conflicts = None) -> Plan:
    """Every buffer its own bytes: the arena is the sum of the sizes."""
    offsets = np.cumsum([0, *[t.size for t in lifetimes]])[:-1].tolist()
    return Plan(tuple(int(o) for o in offsets), sum(t.size for t in lifetimes), "no-reuse")


def _exact(lifetimes: Sequence[Lifetime], conflicts: Conflicts = None) -> Plan:
    from passes.memory.exact import exact

    return exact(lifetimes, conflicts=conflicts)


PLANNERS: dict[str, Callable[..., Plan]] = {
    "hybrid": hybrid,
    "greedy-by-size": greedy_by_size,
    "greedy-by-conflicts": greedy_by_conflicts,
    "hill-climb": hill_climb,
    "exact": lambda lifetimes, conflicts=None: _exact(lifetimes, conflicts=conflicts),
    "no-reuse": no_reuse,
}
