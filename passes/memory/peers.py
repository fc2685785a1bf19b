"""The peers' memory strategies, run on our lifetimes so the arenas compare like for like.

- `no_reuse`: every buffer its own bytes.
- `ort_equal_size`: onnxruntime's planner reuses a freed buffer only of exactly the same size.
- `tflite_greedy_by_size`: TFLite's arena planner, largest first into the best-fitting gap.
- `ge_size_classes`: GE-style block reuse: freed blocks wait in free lists by size class
  (powers of two); a tensor takes a free block of its class, growing it if needed; blocks
  are never split or merged, so the arena is the sum of the blocks.

The allocators run in schedule order: at each kernel, its new buffers are allocated, then
the buffers whose last kernel it is are freed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence

from passes.memory.planners import Lifetime, Plan, greedy_by_size, no_reuse


def _events(lifetimes: Sequence[Lifetime]) -> list[tuple[list[int], list[int]]]:
    """Per kernel: the buffers born there and those that die there."""
    horizon = max((t.end for t in lifetimes), default=-1) + 1
    events = [([], []) for _ in range(horizon)]
    for i, t in enumerate(lifetimes):
        events[t.start][0].append(i)
        events[t.end][1].append(i)
    return events


def _blocks_plan(name: str, owner: list[int], blocks: list[int]) -> Plan:
    starts = [0]
    for size in blocks:
        starts.append(starts[-1] + size)
    return Plan(tuple(starts[b] for b in owner), starts[-1], name)


def ort_equal_size(lifetimes: Sequence[Lifetime]) -> Plan:
    """Reuse a freed buffer only when its size is exactly the size asked for."""
    free: dict[int, list[int]] = defaultdict(list)
    blocks: list[int] = []
    owner = [-1] * len(lifetimes)
    for born, dead in _events(lifetimes):
        for i in born:
            size = lifetimes[i].size
            if free[size]:
                owner[i] = free[size].pop()
            else:
                owner[i] = len(blocks)
                blocks.append(size)
        for i in dead:
            free[lifetimes[i].size].append(owner[i])
    return _blocks_plan("ort-equal-size", owner, blocks)


def tflite_greedy_by_size(lifetimes: Sequence[Lifetime]) -> Plan:
    """TFLite: sort by size, place each in the best-fitting gap of the arena."""
    plan = greedy_by_size(lifetimes)
    return Plan(plan.offsets, plan.peak, "tflite-greedy-by-size")


def size_class(size: int) -> int:
    return max(size - 1, 0).bit_length()


def ge_size_classes(lifetimes: Sequence[Lifetime]) -> Plan:
    """Free lists per power-of-two class; a reused block grows to the largest tensor it holds."""
    free: dict[int, list[int]] = defaultdict(list)
    blocks: list[int] = []
    owner = [-1] * len(lifetimes)
    for born, dead in _events(lifetimes):
        for i in born:
            size = lifetimes[i].size
            candidates = free[size_class(size)]
            if candidates:
                best = min(candidates, key=lambda b: (abs(blocks[b] - size), b))
                candidates.remove(best)
                blocks[best] = max(blocks[best], size)
                owner[i] = best
            else:
                owner[i] = len(blocks)
                blocks.append(size)
        for i in dead:
            free[size_class(lifetimes[i].size)].append(owner[i])
    return _blocks_plan("ge-size-classes", owner, blocks)


PEERS: dict[str, Callable[[Sequence[Lifetime]], Plan]] = {
    "no-reuse": no_reuse,
    "ort-equal-size": ort_equal_size,
    "tflite-greedy-by-size": tflite_greedy_by_size,
    "ge-size-classes": ge_size_classes,
}
