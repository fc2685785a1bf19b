"""Plots of a memory plan: live bytes over the schedule, and the buffers in the arena.

matplotlib is imported when a plot is drawn (the `plot` extra), with the Agg backend so
it works without a display.
"""

from __future__ import annotations

import os
from pathlib import Path

from passes.memory.assign import MemoryPlan
from passes.memory.planners import lower_bound
from passes.memory.stats import timeline


def plot_memory(memory_plan: MemoryPlan, path: str | os.PathLike, title: str = "") -> None:
    """Write a PNG: live bytes per kernel with the bound and peak (top), the arena (bottom)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.patches import Rectangle

    lifetimes = memory_plan.liveness.lifetimes()
    live = timeline(lifetimes) / 2**20
    mib = 2**20
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
    top.step(range(len(live)), live, where="mid", label="live bytes")
    top.axhline(lower_bound(lifetimes) / mib, color="green", linestyle="--", label="lower bound")
    top.axhline(memory_plan.arena_bytes / mib, color="red", linestyle=":", label="planned arena")
    top.set_ylabel("MiB")
    top.legend(loc="upper right")
    top.set_title(title or f"memory plan ({memory_plan.plan.planner})")
    for t, offset in zip(lifetimes, memory_plan.plan.offsets):
        box = Rectangle((t.start - 0.4, offset / mib), t.end - t.start + 0.8, t.size / mib)
        box.set(facecolor="tab:blue", edgecolor="black", linewidth=0.3, alpha=0.6)
        bottom.add_patch(box)
    bottom.set_xlim(-1, max(len(live), 1))
    bottom.set_ylim(0, max(memory_plan.arena_bytes / mib, 1e-3))
    bottom.set_xlabel("kernel (schedule order)")
    bottom.set_ylabel("arena offset (MiB)")
    fig.tight_layout()
    # a name without a suffix is still written as given (matplotlib would add ".png")
    fig.savefig(os.fspath(path), dpi=120, format=None if Path(path).suffix else "png")
    plt.close(fig)
