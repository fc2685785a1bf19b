"""The `npu` level: compile to kernels with chosen implementations, planned memory and
streams, then run every kernel on the modeled NPU and report what the chip would spend.

Compile: the optimize pipeline, then `select-implementations`, `split-pointwise-convs`,
`schedule-streams` and `plan-memory` (offsets recorded in the IR), the same pass names
`ge-opt -p` takes.
Run: each kernel is lowered alone to the `npu` dialect and executed by the npu
interpreter (`runtime.kernel_runner`). A kernel with no npu lowering yet runs its
reference semantics; its time is then the roofline estimate, marked
`"engine": "reference"` and `"estimated": true` in its record. The kernels' cycles go
through the stream timeline (`passes.stream_timeline.simulate`) with the recorded
streams and events, which gives start cycles, the makespan and the critical path. The
result is a profile dict whose keys are REPORT.json's (`kernels`, `memory`,
`makespan_cycles`, `critical_path_cycles`, `streams`).
"""

from __future__ import annotations

import gc
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import DictionaryAttr, IntegerAttr, ModuleOp
from xdsl.ir import Operation, SSAValue

from ge import profiler
from ge.pipeline import (
    EXECUTORS,
    LOWERINGS,
    PREPARERS,
    CompiledPlan,
    CompileOptions,
    apply_pipeline,
)
from gedialects.ge.constant import ConstantOp
from gedialects.interpreter import bind_inputs, entry_function
from gedialects.kernel.base import provenance
from lowering import tile_tuning
from lowering.tile_tuning import Decisions
from passes.memory.concurrency import RECORD, STREAM, WAIT
from passes.memory.record import read_plan
from passes.memory.stats import memory_report
from passes.pipelines import npu_level_spec
from passes.schedule_streams import dependencies
from passes.select_implementations import COSTS_ATTR
from passes.stream_timeline import CORES, block_dim, bounds, roofline_cycles, simulate
from runtime.hbm_fit import check_hbm_fit, weight_bytes
from runtime.kernel_runner import KernelRunner, free_values
from runtime.targets import load_target
from runtime.tile_tuner import TuningReport, tune_kernels


def npu_passes(options: CompileOptions) -> str:
    return npu_level_spec(options.target, options.memory_reuse, options.conv_algorithm)


def lower_for_npu(module: ModuleOp, options: CompileOptions) -> ModuleOp:
    """After ge-optimize: choose implementations and streams; plan memory (stats kept)."""
    apply_pipeline(module, npu_passes(options))
    return module


def _ints(op: Operation, name: str) -> list[int]:
    attr = op.attributes.get(name)
    return [int(v) for v in attr.get_values()] if attr is not None else []


def _streams_and_waits(kernels: Sequence[Operation]) -> tuple[list[int], list[list[int]]]:
    """Stream of each kernel and the kernels it waits for, from `schedule-streams` attrs."""
    producer: dict[int, int] = {}
    for k, op in enumerate(kernels):
        for event in _ints(op, RECORD):
            producer[event] = k
    streams, waits = [], []
    for op in kernels:
        stream = op.attributes.get(STREAM)
        streams.append(stream.value.data if isinstance(stream, IntegerAttr) else 0)
        waits.append([producer[e] for e in _ints(op, WAIT) if e in producer])
    return streams, waits


COLLECT_WEIGHT_BYTES = 32 * 2**20
"""Weights above which preparing a program collects garbage cycles (they hold copies)."""


class NpuProgram:
    """A compiled plan prepared to run on the modeled NPU (kernels lowered once)."""

    def __init__(self, plan: CompiledPlan):
        self.target = load_target(plan.options.target)
        self.fn = entry_function(plan.module)
        self.memory_plan = read_plan(self.fn)  # the plan recorded in the IR
        self.memory = memory_report(self.memory_plan)
        check_hbm_fit(self.fn, self.memory["peak_bytes"], self.target)  # before any lowering
        # Erased ops of import and passes, and the one-kernel programs lowering builds and
        # drops, hold weights in reference cycles; a full collection costs ~0.05-0.5 s in a
        # big process, so only where the weights are worth it (eager mode compiles per op).
        collect = weight_bytes(self.fn, self.target.hbm_align) >= COLLECT_WEIGHT_BYTES
        if collect:
            gc.collect()
        self.tuning: TuningReport | None = None
        self.runner = self._runner(plan)
        if collect:
            gc.collect()
        self.kernels, self.preds = dependencies(self.fn)
        self.streams, self.waits = _streams_and_waits(self.kernels)
        if self.tuning is not None:  # the tuned kernels by the names the profile gives them
            named = {
                self.runner.names.get(op): _report_name(op, k) for k, op in enumerate(self.kernels)
            }
            for site in self.tuning.sites:
                site.kernel = named.get(site.kernel, site.kernel)
        self.dead_after = _dead_after(self.fn)
        self.last_pipes: dict[str, list[tuple[int, str, float, float, str]]] = {}

    def _runner(self, plan: CompiledPlan) -> KernelRunner:
        """The kernels lowered, with the tile decisions of `tune_db` (if any), tuned first
        when `tune` asks for it (`runtime.tile_tuner`), the table then saved back."""
        options = plan.options
        if not options.tune and options.tune_db is None:
            return KernelRunner(plan.module, self.target)
        db = Path(options.tune_db) if options.tune_db else None
        decisions = Decisions.load(db) if db is not None and db.exists() else Decisions()
        with tile_tuning.use(decisions):
            runner = KernelRunner(plan.module, self.target)
        if not options.tune:
            return runner
        self.tuning = tune_kernels(runner, decisions, options.tune)
        if self.tuning.improved:
            with tile_tuning.use(decisions):
                runner = KernelRunner(plan.module, self.target)
        if db is not None:  # what another run wrote meanwhile is kept beside ours
            saved = Decisions.load(db) if db.exists() else Decisions()
            saved.chosen.update(decisions.chosen)
            saved.save(db)
        return runner

    def run(self, inputs) -> tuple[list[np.ndarray], dict[str, Any]]:
        """Outputs and profile of one run. While a profile asks for pipes (`ge.profile(
        pipes=True)`, `ge-run --trace`), every kernel runs instruction by instruction and
        `last_pipes` holds its instructions by kernel name."""
        env: dict[SSAValue, np.ndarray] = dict(
            zip(self.fn.body.block.args, bind_inputs(self.fn, inputs))
        )
        trace = profiler.wants_pipes()
        pipes: dict[Operation, list[tuple[int, str, float, float, str]]] = {}
        records: dict[Operation, dict[str, Any]] = {}
        for op in self.fn.body.block.ops:
            args = [env[v] for v in op.operands]
            if isinstance(op, func.ReturnOp):
                outputs = [np.asarray(a) for a in args]
                break
            if isinstance(op, ConstantOp):
                results: Sequence[np.ndarray] = (op.to_numpy(),)
            else:
                results, kernels = self.runner.execute(op, env, trace)
                if kernels is None:
                    records[op] = _estimate(op, self.runner.reasons.get(op, ""))
                else:
                    records[op] = _merge(kernels)
                    if trace:
                        pipes[op] = _instructions(kernels)
            env.update(zip(op.results, results))
            for value in self.dead_after.get(op, ()):  # a model's activations, not all at once
                del env[value]
        profile = self._profile(records)
        names = {op: record["name"] for op, record in zip(self.kernels, profile["kernels"])}
        self.last_pipes = {names[op]: events for op, events in pipes.items() if op in names}
        return outputs, profile

    def _profile(self, records: Mapping[Operation, dict[str, Any]]) -> dict[str, Any]:
        kernels = [records[op] for op in self.kernels]
        demand = [max(1, min(CORES, k.get("block_dim") or block_dim(op)))
                  for k, op in zip(kernels, self.kernels)]  # fmt: skip
        work = [k["cycles"] * d for k, d in zip(kernels, demand)]
        timeline = simulate(self.streams, self.waits, work, demand)
        critical, _ = bounds(self.preds, work, demand)
        for k, (op, record) in enumerate(zip(self.kernels, kernels)):
            record.update(
                name=_report_name(op, k),
                op=op.name,
                fused_from=provenance(op),
                algorithm=_algorithm(op),
                **_algorithm_costs(op),
                stream=self.streams[k],
                start_cycle=timeline.start[k],
                end_cycle=timeline.end[k],  # past start + cycles when streams share cores
                seconds=self.target.seconds(record["cycles"]),
            )
        return {
            "kernels": kernels,
            "memory": self.memory,
            "makespan_cycles": timeline.makespan,
            "critical_path_cycles": critical,
            "streams": len(set(self.streams)),
            "fallbacks": [k["name"] for k in kernels if k.get("estimated")],
        }


def _report_name(op: Operation, k: int) -> str:
    """REPORT.json's name of kernel `op`, the k-th of the schedule: `conv2d_3`."""
    return f"{op.name.split('.')[-1]}_{k}"


def _dead_after(fn: func.FuncOp) -> dict[Operation, list[SSAValue]]:
    """Per op, the values no later op reads (operands, or used inside its regions)."""
    last: dict[SSAValue, Operation] = {}
    for op in fn.body.block.ops:
        for value in free_values(op) if op.regions else op.operands:
            last[value] = op
    dead: dict[Operation, list[SSAValue]] = {}
    for value, op in last.items():
        if not isinstance(op, func.ReturnOp):
            dead.setdefault(op, []).append(value)
    return dead


def _instructions(profiles: Sequence[Any]) -> list[tuple[int, str, float, float, str]]:
    """The recorded instructions of a kernel op's launches, in cycles from its start (the
    launches run one after another, as `_merge` adds their cycles)."""
    events, offset = [], 0.0
    for launch in profiles:
        events += [(c, p, offset + s, n, w) for c, p, s, n, w in launch.events or ()]
        offset += launch.cycles
    return events


def _merge(profiles: Sequence[Any]) -> dict[str, Any]:
    """One record for a kernel op (its npu program may launch more than one npu.kernel)."""
    records = [p.as_dict() for p in profiles]
    if not records:  # no launch at all (a view of its input, a split its producer stores)
        zero = ("cycles", "roofline_cycles", "flops", "hbm_bytes_read", "hbm_bytes_written")
        return {**dict.fromkeys(zero, 0), "block_dim": 0, "engine": "npu", "estimated": False}
    first = dict(records[0])
    first["bound"] = max(records, key=lambda r: r["cycles"])["bound"]  # the longest launch's
    for key in ("cycles", "roofline_cycles", "flops", "hbm_bytes_read", "hbm_bytes_written"):
        first[key] = sum(r[key] for r in records)
    first["engine"] = "npu"
    first["estimated"] = False
    return first


def _estimate(op: Operation, reason: str) -> dict[str, Any]:
    """A kernel without an npu lowering: the modeled cost of its chosen implementation
    (`select-implementations` keeps it in `ge.costs`), else its roofline on its cores."""
    cycles = roofline_cycles(op) * CORES / block_dim(op)
    costs, algorithm = op.attributes.get(COSTS_ATTR), _algorithm(op)
    if isinstance(costs, DictionaryAttr) and algorithm in costs.data:
        cycles = float(costs.data[algorithm].value.data)
    return {
        "cycles": cycles,
        "roofline_cycles": cycles,
        "flops": 0,
        "hbm_bytes_read": sum(_nbytes(v.type) for v in op.operands),
        "hbm_bytes_written": sum(_nbytes(r.type) for r in op.results),
        "block_dim": block_dim(op),
        "engine": "reference",
        "estimated": True,
        "fallback_reason": reason,
    }


def _nbytes(t: Any) -> int:
    """Bytes of a tensor in HBM; scalars (an scf.if condition, a loop index) have none."""
    from xdsl.dialects.builtin import TensorType

    from gedialects.ge.types import element_of, num_elements, to_numpy_dtype

    if not isinstance(t, TensorType):
        return 0
    return num_elements(t) * np.dtype(to_numpy_dtype(element_of(t))).itemsize


def _algorithm_costs(op: Operation) -> dict[str, dict[str, float]]:
    """`{"algorithm_costs": {candidate: modeled cycles}}`: why `select-implementations` chose
    the kernel's algorithm (every candidate it costed); empty where it costed none."""
    costs = op.attributes.get(COSTS_ATTR)
    if not isinstance(costs, DictionaryAttr):
        return {}
    return {"algorithm_costs": {k: float(v.value.data) for k, v in costs.data.items()}}


def _algorithm(op: Operation) -> str | None:
    algorithm = getattr(op, "algorithm", None)
    return algorithm.data if algorithm is not None else None


def _prepare_npu(plan: CompiledPlan) -> None:
    if plan.stats.get("npu_program") is None:
        plan.stats["npu_program"] = NpuProgram(plan)


def _run_npu(plan: CompiledPlan, inputs) -> tuple[list[np.ndarray], dict[str, Any]]:
    _prepare_npu(plan)
    return plan.stats["npu_program"].run(inputs)


EXECUTORS["npu"] = _run_npu
PREPARERS["npu"] = _prepare_npu
LOWERINGS["npu"] = lower_for_npu
