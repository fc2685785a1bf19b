"""Running a staged model: compiled stages with host (AI CPU) ops between them.

`ge.frontends.onnx.staging` cuts a model at the first top-level node ge cannot compile into
a static graph. Here the first stage compiles as any model, the host node runs (by ge's
semantics when ge converts its op, else by ONNX's reference implementation), and the rest
compiles once a run has given the shapes it reads: one compiled rest per distinct signature
(names, shapes, dtypes, and the values a specialized cut binds), as GE compiles a dynamic
subgraph per shape it meets. A specialized cut has no host op: the node starts the rest.
A run's profile joins the stages' profiles in order, the host op as a kernel of its own
(`algorithm: "aicpu"`, cycles by `runtime.aicpu`), so REPORT.json has one timeline whose
makespan is the stages' and host ops' cycles end to end.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnx
from onnx import numpy_helper
from xdsl.dialects.builtin import ModuleOp

from ge import profiler
from ge.diagnostics import first_line
from ge.frontends.onnx.fold_node import evaluate_node, single_node_model
from ge.frontends.onnx.staging import StagedProgram, import_program
from gedialects.errors import GeError
from gedialects.interpreter import run_reference
from runtime.aicpu import aicpu_cycles, roofline_cycles
from runtime.targets import load_target

Stage = Any  # a `ge.api.CompiledModel` or a nested `StagedModel`
StageFactory = Callable[[ModuleOp], Any]


@dataclass
class StagedModel:
    """A compiled model in stages; called like `ge.api.CompiledModel`."""

    program: StagedProgram
    compile_stage: StageFactory
    last_profile: dict[str, Any] = field(default_factory=dict)
    _rests: dict[tuple, Stage] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.first = self.compile_stage(self.program.first)
        self.input_names: list[str] = list(self.first.input_names)
        self.output_names: list[str] = list(self.program.output_names)
        self.mode: str = self.first.mode
        self.options = self.first.options
        self.last_cache: str = self.first.last_cache
        self.target = load_target(self.options.target)

    @property
    def module(self) -> ModuleOp:
        """The first stage's module: it takes every input of the model."""
        return self.program.first

    @property
    def stages(self) -> int:
        """Compiled stages so far: the first and every rest compiled for a signature."""
        return 1 + sum(getattr(r, "stages", 1) for r in self._rests.values())

    def plan(self, gear: int | None = None):  # noqa: ANN201 (the first stage's plan)
        return self.first.plan(gear)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from ge.api import CompiledModel

        return CompiledModel.__call__(self, *args, **kwargs)  # type: ignore[arg-type]

    def run(self, *args: Any, **kwargs: Any) -> list[np.ndarray]:
        """Run once; returns the outputs as a list of numpy arrays."""
        from ge.api import _record  # ge.api imports this module

        values = self.first._bind(args, kwargs)
        start = time.perf_counter()
        if self.mode == "static":
            with profiler.paused():  # the stages' kernel names repeat: record the joined ones
                outputs, profiles = self.run_stages(values)
            self.last_profile = join_profiles(profiles)
            _record(self.last_profile, None)
        else:  # eager stages record each launch themselves; the host ops are left
            outputs, profiles = self.run_stages(values)
            self.last_profile = join_profiles(profiles)
            for host in (p for p in profiles if p.get("host")):
                _record(host, None)
        self.last_profile["run_seconds"] = time.perf_counter() - start
        self.last_profile["stages"] = len([p for p in profiles if not p.get("host")])
        return outputs

    def run_stages(
        self, values: Sequence[np.ndarray]
    ) -> tuple[list[np.ndarray], list[dict[str, Any]]]:
        """The outputs, and the profile of every stage and host op in the order they ran."""
        program = self.program
        env = {**program.host_constants, **dict(zip(self.input_names, values))}
        env.update(zip(program.carried, self.first.run(*values)))
        profiles = [self.first.last_profile]
        if not program.specialized:
            self._run_host(env, profiles)
        if program.rest is not None:
            feeds = {n: env[n] for n in program.rest_inputs}
            rest = self._rest_for(feeds)
            if isinstance(rest, StagedModel):
                outs, more = rest.run_stages([feeds[n] for n in rest.input_names])
                profiles += more
            else:
                outs = rest.run(**{n: feeds[n] for n in rest.input_names})
                profiles.append(rest.last_profile)
            env.update(zip(rest.output_names, outs))
        return [env[n] for n in self.output_names], profiles

    def _run_host(self, env: dict[str, np.ndarray], profiles: list[dict[str, Any]]) -> None:
        """The host node on this run's values: its outputs into `env`, its profile appended."""
        program = self.program
        reads = [env[n] for n in program.host_reads]
        try:
            outer = {n: env[n] for n in program.host_reads if n not in program.host.input}
            operands = [env.get(n) if n else None for n in program.host.input]
            start = time.perf_counter()
            results = evaluate_host_node(program.host, program.opsets, operands, outer)
            seconds = time.perf_counter() - start
        except Exception as error:  # onnx.reference raises whatever its op code raises
            detail = first_line(str(error))[:160] if str(error).strip() else ""
            detail = detail or "ONNX's reference implementation refused its inputs"
            raise GeError(
                f"{program.source}: host op {_describe(program)} failed: "
                f"{type(error).__name__}: {detail}"
            ) from None
        named = {n: r for n, r in zip(program.host.output, results) if n}
        env.update(named)
        profiles.append(self._host_profile(reads, list(named.values()), seconds))

    def _rest_for(self, feeds: dict[str, np.ndarray]) -> Stage:
        """The rest compiled for these feeds' shapes and dtypes (and specialized values)."""
        key = tuple((n, a.shape, a.dtype.str) for n, a in feeds.items())
        key += tuple(np.asarray(feeds[n]).tobytes() for n in self.program.specialized)
        if key not in self._rests:
            program = self.program
            where = "from" if program.specialized else "after"
            suffix = f" ({where} {_describe(program)})"
            # a node with several inputs to specialize stages once per input: name it once
            source = program.source
            source += "" if source.endswith(suffix) else suffix
            model = program.rest_model(feeds)
            imported = import_program(model, source=source)
            if isinstance(imported, StagedProgram):
                self._rests[key] = StagedModel(imported, self.compile_stage)
            else:
                self._rests[key] = self.compile_stage(imported)
        return self._rests[key]

    def _host_profile(
        self, reads: Sequence[np.ndarray], results: Sequence[np.ndarray], seconds: float
    ) -> dict[str, Any]:
        node = self.program.host
        read = sum(int(np.asarray(a).nbytes) for a in reads)
        written = sum(int(np.asarray(a).nbytes) for a in results)
        if self.options.level == "reference":  # host wall time, as the reference level's
            kernel = {"name": f"aicpu_{node.op_type}", "op": _op_name(node)}
            return {"host": True, "kernels": [dict(kernel, seconds=seconds, clock="host")]}
        cycles = aicpu_cycles(self.target, read + written)
        kernel = {
            "name": f"aicpu_{node.op_type}",
            "op": _op_name(node),
            "fused_from": [],
            "algorithm": "aicpu",
            "stream": 0,
            "start_cycle": 0,
            "end_cycle": cycles,
            "cycles": cycles,
            "roofline_cycles": roofline_cycles(self.target, read + written),
            "flops": 0,
            "hbm_bytes_read": read,
            "hbm_bytes_written": written,
            "seconds": self.target.seconds(cycles),
            "block_dim": 1,
            "engine": "aicpu",  # as an npu kernel's "npu" and a fallback's "reference"
            "estimated": True,  # runtime.aicpu's stated model, not interpreted
            "reason": self.program.reason,
            "fallback_reason": self.program.reason,
        }
        return {
            "host": True,
            "kernels": [kernel],
            "makespan_cycles": cycles,
            "critical_path_cycles": cycles,
            "streams": 1,
        }


def evaluate_host_node(
    node: onnx.NodeProto,
    opsets: dict[str, int],
    operands: Sequence[np.ndarray | None],
    outer: dict[str, np.ndarray],
) -> list[np.ndarray | None]:
    """The host node's outputs (None for an unnamed one).

    A node ge has a converter for (it became a host node for a shape only the run knows)
    is imported with this run's values as constants and run by ge's reference semantics, the
    semantics every stage around it has; `onnx.reference` computes the others (and any node
    that import still refuses): its few deviations from the spec (GlobalMaxPool of other
    than 4-D inputs) then stay out of ops ge converts.
    """
    from ge.frontends.onnx.importer import CONVERTERS, import_onnx_model

    if node.op_type in CONVERTERS and node.domain in ("", "ai.onnx"):
        feeds = {n: a for n, a in zip(node.input, operands) if n and a is not None}
        feeds.update(outer)
        model = single_node_model(node, opsets, [])
        model.graph.initializer.extend(numpy_helper.from_array(a, n) for n, a in feeds.items())
        try:  # graph outputs need a type for the checker: ONNX's inference gives it
            model = onnx.shape_inference.infer_shapes(model, data_prop=True)
            module = import_onnx_model(model, source=f"host op {node.op_type}")
        except (GeError, onnx.shape_inference.InferenceError, onnx.checker.ValidationError):
            pass
        else:
            values = iter(run_reference(module, []))
            return [next(values) if name else None for name in node.output]
    return evaluate_node(node, opsets, operands, outer)


def _op_name(node: onnx.NodeProto) -> str:
    """`onnx.NonZero`, or the node's own domain (`ai.onnx.ml.Scaler`)."""
    return f"{node.domain if node.domain not in ('', 'ai.onnx') else 'onnx'}.{node.op_type}"


def _describe(program: StagedProgram) -> str:
    node = program.host
    return f"'{node.name}' ({node.op_type})" if node.name else f"{node.op_type}"


def join_profiles(
    profiles: Sequence[dict[str, Any]], prefix: str = "s", memory: bool = True
) -> dict[str, Any]:
    """One profile of programs that ran one after another (a staged model's stages, eager
    mode's launches): kernels on a shared timeline (each program's start cycles shifted by
    the makespans before it, names prefixed by `prefix` and its index), summed makespans
    and critical paths, and with `memory` the largest memory peak (eager mode's launches
    each plan one op's buffers, not what lives between launches: it passes False)."""
    kernels: list[dict[str, Any]] = []
    offset = 0
    critical = 0
    memories = []
    buffers: list[dict[str, Any]] = []
    for index, profile in enumerate(profiles):
        named = f"{prefix}{index}_"
        first = len(kernels)  # the stage's buffers index its kernels: now from here
        for k in profile.get("kernels", []):
            shifted = dict(k, name=named + str(k.get("name", "")))
            for key in ("start_cycle", "end_cycle"):
                if key in shifted:
                    shifted[key] = shifted[key] + offset
            kernels.append(shifted)
        offset += profile.get("makespan_cycles", 0)
        critical += profile.get("critical_path_cycles", 0)
        if memory and "memory" in profile:
            memories.append(profile["memory"])
            buffers += [
                _shifted_buffer(b, named, first) for b in profile["memory"].get("buffers", [])
            ]
    joined: dict[str, Any] = {"kernels": kernels}
    if all("makespan_cycles" in p for p in profiles):
        joined["makespan_cycles"] = offset
        joined["critical_path_cycles"] = critical
        # a model that launches nothing (a Shape of its input) joins no profile at all
        joined["streams"] = max((p.get("streams", 1) for p in profiles), default=1)
    if memories:
        joined["memory"] = {
            "peak_bytes": max(m.get("peak_bytes", 0) for m in memories),
            "lower_bound_bytes": max(m.get("lower_bound_bytes", 0) for m in memories),
            "no_reuse_bytes": max(m.get("no_reuse_bytes", 0) for m in memories),
            "planner": memories[0].get("planner", ""),
            "buffers": buffers,
        }
    fallbacks = [
        f"{prefix}{i}_{n}" for i, p in enumerate(profiles) for n in p.get("fallbacks", [])
    ]
    if any("fallbacks" in p for p in profiles):
        joined["fallbacks"] = fallbacks
    return joined


def _shifted_buffer(buffer: dict[str, Any], prefix: str, first: int) -> dict[str, Any]:
    shifted = dict(buffer, name=prefix + str(buffer.get("name", "")))
    for key in ("first_kernel", "last_kernel"):
        if isinstance(shifted.get(key), int):
            shifted[key] += first
    return shifted
