"""Capture a kernel's numpy work once and replay it on later runs (as CUDA Graphs do).

A kernel whose addresses do not depend on data (`npu_probe.addresses_static`: only
arith, scf and allocations have results) does the same work on the same windows every run,
and its modeled profile is the same every run: pipe clocks, flags, races, L2 hits and bytes
moved depend on addresses and sizes, never on values. So the first run interprets it fully
(costs, checks, profile) while every step appends its numpy operation, with the arrays it
touched, to a list (`Core.record`); later runs call that list and reuse the profile. The
interpreter's own work (index arithmetic, window checks, clocks, race checks, L2 model) is
then paid once per executable, and a warm run is the tiles' numpy work alone.

The captured operations hold views of the arrays they touched, so those arrays must be the
same on every run: `HbmMemory` keeps the HBM arena, the arguments and the unplanned buffers
of an executable and refills them on each run, and `Core.allocate` takes on-chip arrays from
the executable's pool (and captures their poisoning).
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, replace

import numpy as np

from runtime.npu_access import drop_dead_poison
from runtime.npu_batch import Action, batch_waves
from runtime.npu_uniform import pool_lookup, share_uniform_rows
from runtime.profile import KernelProfile

BATCH_ENV = "GE_NPU_BATCH"
"""Set to 0 to replay each block's work on its own (to check the batching: outputs agree)."""
UNIFORM_ENV = "GE_NPU_UNIFORM"
"""Set to 0 to replay equal rows of a merged wave one by one (`npu_uniform`; outputs agree)."""


@dataclass
class Replay:
    """The captured numpy work of one kernel launch, and the profile of its first run.

    The blocks of a wave are merged (`batch_waves`) on the first replay, not at capture: a
    program run once (`ge-run`) does not pay for it; what they all do alike is then done
    once (`npu_uniform.share_uniform_rows`); and the dead poisonings are dropped
    (`npu_access.drop_dead_poison`) on the second, so a shared executable launched twice in
    one run does not pay for an analysis only later runs would gain from."""

    actions: list[Action]
    profile: KernelProfile
    starts: list[int] | None = None
    """Where each block's actions begin, until the blocks are merged."""
    cores: int = 1
    poisons_checked: bool = False
    pool: dict | None = None
    """The interpreter's on-chip arrays (`Core.allocate`), to tell its rows from HBM."""

    @staticmethod
    def captured(
        actions: list[Action],
        starts: list[int],
        cores: int,
        profile: KernelProfile,
        pool: dict | None = None,
    ) -> Replay:
        """The replay of a kernel's first run: its `actions`, block after block from
        `starts`, its blocks spread over `cores` cores, its on-chip arrays in `pool`."""
        return Replay(actions, replace(profile, events=None), starts, cores, pool=pool)

    def run(self) -> KernelProfile:
        if self.starts is not None:
            if os.environ.get(BATCH_ENV) != "0":
                lanes: list[tuple] = []
                self.actions = batch_waves(self.actions, self.starts, self.cores, lanes)
                if self.pool and os.environ.get(UNIFORM_ENV) != "0":
                    on_chip = pool_lookup(self.pool.values())
                    self.actions = share_uniform_rows(self.actions, lanes, on_chip)
            self.starts = None
        elif not self.poisons_checked:
            self.actions = drop_dead_poison(self.actions)
            self.poisons_checked = True
        for fn, args in self.actions:
            fn(*args)
        return copy.copy(self.profile)


class HbmMemory:
    """The HBM arrays of one executable, the same arrays on every run (captured views of
    them stay valid): the planned arena, a copy of each argument, each unplanned buffer."""

    def __init__(self, arena_bytes: int):
        self.arena = np.empty(arena_bytes, np.uint8)
        self.arguments: dict[int, np.ndarray] = {}
        self.unplanned: dict[object, np.ndarray] = {}

    @property
    def nbytes(self) -> int:
        """The bytes these arrays hold (the arena counted whole)."""
        arrays = [*self.arguments.values(), *self.unplanned.values()]
        return self.arena.nbytes + sum(a.nbytes for a in arrays)

    def reset(self) -> None:
        """Fresh memory for a run: 0xFF.. in the arena (NaN in f16 and f32), as before any run."""
        self.arena.fill(0xFF)

    def argument(self, index: int, value: np.ndarray) -> np.ndarray:
        """The executable's array for argument `index`, holding `value`."""
        array = self.arguments.get(index)
        if array is None:  # the program fixes its arguments' shapes and dtypes (C order:
            array = self.arguments[index] = np.empty(value.shape, value.dtype)  # device memory)
        np.copyto(array, value)
        return array

    def zeros(self, site: object, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        """The zeroed array of unplanned buffer `site` (an `npu.hbm_alloc` without offset)."""
        array = self.unplanned.get(site)
        if array is None:
            array = self.unplanned[site] = np.zeros(shape, dtype)
        else:
            array.fill(0)
        return array
