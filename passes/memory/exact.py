"""The exact planner: an integer program for small instances, solved by HiGHS (scipy).

It gives the optimum the heuristics of `passes.memory.planners` are measured against on
small sets, and the hybrid planner runs it, briefly, when they miss the lower bound.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from passes.memory.planners import (
    Conflicts,
    Lifetime,
    Plan,
    conflict_lists,
    first_fit,
    greedy_by_size,
    peak_of,
)


def exact(
    lifetimes: Sequence[Lifetime],
    upper: int | None = None,
    seconds: float = 2.0,
    conflicts: Conflicts = None,
) -> Plan:
    """An ILP (HiGHS through scipy.optimize.milp) for small instances, then canonicalized.

    Variables: offsets o_i and the peak P in units of the sizes' gcd, and for each
    conflicting pair a binary z saying which one lies below. Big-M is the best known
    peak. The solver's offsets are sorted and re-placed with first fit, which can only
    lower them.
    """
    from scipy.optimize import Bounds, LinearConstraint, milp

    n = len(lifetimes)
    conflicts = conflicts if conflicts is not None else conflict_lists(lifetimes)
    unit = math.gcd(*[t.size for t in lifetimes]) or 1
    sizes = [t.size // unit for t in lifetimes]
    pairs = [(i, j) for i in range(n) for j in conflicts[i] if i < j]
    big = (upper if upper is not None else sum(t.size for t in lifetimes)) // unit
    width = n + 1 + len(pairs)
    rows, lower, upper_b = [], [], []

    def row(entries: dict[int, float], lo: float, hi: float) -> None:
        r = np.zeros(width)
        for k, v in entries.items():
            r[k] = v
        rows.append(r), lower.append(lo), upper_b.append(hi)

    for i, size in enumerate(sizes):
        row({i: 1.0, n: -1.0}, -np.inf, -size)
    for p, (i, j) in enumerate(pairs):
        z = n + 1 + p
        row({i: 1.0, j: -1.0, z: big}, -np.inf, big - sizes[i])
        row({j: 1.0, i: -1.0, z: -big}, -np.inf, -sizes[j])
    cost = np.zeros(width)
    cost[n] = 1.0
    integrality = np.ones(width)  # offsets in units of the gcd (HiGHS fails on some mixed forms)
    bounds = Bounds(np.zeros(width), np.r_[np.full(n + 1, big), np.ones(len(pairs))])
    constraints = LinearConstraint(np.array(rows), lower, upper_b) if rows else ()
    result = milp(
        cost, integrality=integrality, bounds=bounds, constraints=constraints,
        options={"time_limit": seconds},
    )  # fmt: skip
    if result.x is None:
        return greedy_by_size(lifetimes, conflicts)
    order = sorted(range(n), key=lambda i: (result.x[i], i))
    offsets = first_fit(lifetimes, order, conflicts)
    return Plan(tuple(offsets), peak_of(lifetimes, offsets), "exact")
