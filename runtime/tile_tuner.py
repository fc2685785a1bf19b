"""Op tuning: each kernel's tile decisions measured on the modeled chip (`lowering.tile_tuning`).

`tune_kernels(runner, decisions, top)` lowers every distinct kernel of a `KernelRunner`
again while recording the tile searches its lowering consults; for each search not yet in
`decisions`, it lowers and runs the kernel with each of the search's best `top` candidates
(the search's own choice first) and records the one with the fewest modeled cycles over
all of the kernel's launches (a split GEMM's init kernel included; a tie keeps the earlier
candidate, so the estimate's choice stays unless another one is faster). Searches are tuned
one after another, each with the decisions before it fixed: a split's choice decides
whether the unsplit GEMM's tile search runs at all.

The kernels run on random arguments of their types: a tiled conv's or GEMM's instructions,
addresses and so cycles do not depend on the values (the interpreter's profile of such a
program is the same every run, `runtime.npu_replay`). A candidate whose lowering or run
fails is skipped, like one that is slower. Why measure rather than estimate: the searches'
estimates are a few percent off what the interpreter charges, in either direction
(`docs/npu.md`, "Op tuning").
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation, SSAValue

from gedialects.errors import GeError
from gedialects.ge.types import element_of, shape_of, to_numpy_dtype
from lowering import tile_tuning
from lowering.tile_tuning import Decisions, Site
from runtime.kernel_runner import KernelRunner
from runtime.npu_interpreter import NpuExecutable


@dataclass
class TunedSite:
    site: Site
    kernel: str
    candidates: int
    """How many candidates ran (the search's choice included)."""
    before: float
    after: float
    """The kernel's modeled cycles with the search's own choice and with the kept one."""


@dataclass
class TuningReport:
    sites: list[TunedSite] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def improved(self) -> list[TunedSite]:
        return [s for s in self.sites if s.after < s.before]


def tune_kernels(
    runner: KernelRunner, decisions: Decisions, top: int, seed: int = 0
) -> TuningReport:
    """Tune the tile searches of every distinct kernel `runner` lowered (see the module
    docstring); the kept decisions go into `decisions`. `runner` itself is unchanged: a
    runner built under `tile_tuning.use(decisions)` afterwards lowers with them."""
    if top < 1:
        raise GeError(f"tuning needs at least one candidate per tile search, got {top}")
    report, start = TuningReport(), time.perf_counter()
    rng = np.random.default_rng(seed)
    for op in distinct_kernels(runner):
        args: list[np.ndarray] = []  # made when the kernel has a search to tune

        def cycles(lowered=None, op=op, args=args) -> float:  # noqa: ANN001
            if not args:
                args.extend(random_arguments(runner, op, rng))
            return kernel_cycles(runner, op, args, lowered)

        while True:  # each pass tunes one search (then fixed) and sees which remain
            with tile_tuning.record(decisions) as seen:
                try:
                    lowered = runner.lower(op)
                except Exception:  # noqa: BLE001 (the runner fell back: not tuned)
                    break
            open_sites = [s for s in seen if s not in decisions.chosen]
            if not open_sites:  # (most kernels: no tile search, nothing run)
                break
            try:
                base = cycles(lowered)
            except Exception:  # noqa: BLE001 (its run fails: the runner falls back)
                break
            report.sites.append(
                _tune_site(decisions, open_sites[0], runner.names[op], base, cycles, top)
            )
    report.seconds = time.perf_counter() - start
    return report


def _tune_site(
    decisions: Decisions, site: Site, kernel: str, base: float, cycles, top: int  # noqa: ANN001
) -> TunedSite:
    candidates = decisions.candidates[site](top)
    best, fastest = candidates[0], base
    with tile_tuning.use(decisions):
        for candidate in candidates[1:]:
            decisions.chosen[site] = candidate
            try:
                measured = cycles()
            except Exception:  # noqa: BLE001 (a candidate that does not lower or run loses)
                continue
            if measured < fastest:
                best, fastest = candidate, measured
    decisions.chosen[site] = best
    return TunedSite(site, kernel, len(candidates), base, fastest)


def distinct_kernels(runner: KernelRunner) -> Iterator[Operation]:
    """One kernel op per program `runner` lowered (kernels that share a program share its
    tile decisions)."""
    done: set[int] = set()
    for op, executable in list(runner.executables.items()):
        if id(executable) not in done:
            done.add(id(executable))
            yield op


def random_arguments(
    runner: KernelRunner, op: Operation, rng: np.random.Generator
) -> list[np.ndarray]:
    """Arguments of kernel `op`'s types, random: a tiled kernel's cycles do not depend on
    the values."""
    return [_random(v, rng) for v in runner.arguments[op]]


def kernel_cycles(
    runner: KernelRunner, op: Operation, args: list[np.ndarray], lowered: ModuleOp | None = None
) -> float:
    """Kernel `op`'s modeled cycles over its launches (a split GEMM's init kernel too),
    lowered as the active decisions table says unless `lowered` is given."""
    lowered = runner.lower(op) if lowered is None else lowered
    result = NpuExecutable(lowered, runner.target).run(args)
    return sum(kernel.cycles for kernel in result.profile.kernels)


def _random(value: SSAValue, rng: np.random.Generator) -> np.ndarray:
    dtype = to_numpy_dtype(element_of(value.type))
    shape = shape_of(value.type)
    if np.issubdtype(dtype, np.floating):
        return rng.standard_normal(shape).astype(dtype)
    return np.zeros(shape, dtype)
