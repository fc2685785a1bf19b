"""The compile pipeline, in one place: options, the ordered stages, and the executors.

`compile_module` takes a `ge` module through the named pass pipelines (the same names
`ge-opt -p` takes) and `execute` runs the result at a level: `reference` (the numpy
semantics of whatever dialects the module holds) or `npu` (the modeled chip, once the
lowering is registered in `EXECUTORS`). `ge.compile`, `ge-run` and the main job all call
these, so the three never disagree about what "compile" means.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.passes import ModulePass, PassPipeline

from gedialects.errors import GeError
from gedialects.interpreter import OBSERVERS, run_reference
from passes.emulate_narrow_types import emulate_narrow_types
from runtime.targets import fingerprint, load_target

PRECISION_MODES = ("force_fp32", "allow_fp32_to_fp16", "force_fp16", "must_keep_origin_dtype")
OPTIMIZE_PIPELINE = "ge-optimize"
"""The named high-level pipeline (fold, simplify, fuse, convert to kernels)."""

PRECISION_BEFORE: dict[str, tuple[str, ...]] = {"force_fp16": ("cast-graph-to-fp16",)}
"""Passes a precision mode runs before optimization (force_fp16: an f16 model from here)."""

PRECISION_AFTER: dict[str, tuple[str, ...]] = {
    "allow_fp32_to_fp16": (
        "cast-cube-to-fp16",  # cube kernels on f16 operands, casts around them
        "cse",  # one cast per weight, so folding it frees the f32 data
        "fold-constants",  # weights stored as f16
        "fuse-elementwise",  # the casts join their neighbouring elementwise kernels
        "cse",
        "dce",
    ),
}
"""Passes a precision mode runs after optimization (on kernels). force_fp32 and
must_keep_origin_dtype run none: the model's own dtypes (f32 stays f32, f16 stays f16)."""


@dataclass(frozen=True)
class CompileOptions:
    """What decides a compile; names follow GE's options where they map."""

    target: str = "ascend910a"
    optimize: bool = True
    level: str = "reference"
    precision_mode: str = "force_fp32"
    memory_reuse: bool = True
    conv_algorithm: str | None = None
    extra_passes: tuple[str, ...] = field(default_factory=tuple)
    tune: int = 0
    """Op tuning (CANN AOE's): each conv/matmul tile search's best `tune` candidates run on
    the interpreter and the fastest is kept (`runtime.tile_tuner`); 0 takes the estimate's."""
    tune_db: str | None = None
    """A JSON file of tile decisions (`lowering.tile_tuning`) the npu level lowers with, and
    into which tuning writes what it measured, for later compiles (AOE's knowledge base)."""

    def __post_init__(self) -> None:
        for flag in ("optimize", "memory_reuse"):
            if not isinstance(getattr(self, flag), bool):  # "no" was taken as true
                raise GeError(f"{flag} must be True or False, got {getattr(self, flag)!r}")
        if not isinstance(self.tune, int) or self.tune < 0:
            raise GeError(f"tune must be a whole number of candidates (0: off), got {self.tune!r}")
        if self.precision_mode not in PRECISION_MODES:
            raise GeError(
                f"unknown precision_mode '{self.precision_mode}'; choose from {PRECISION_MODES}"
            )
        if self.level not in LEVELS:
            raise GeError(f"unknown level '{self.level}'; choose from {sorted(EXECUTORS)}")

    def as_key(self) -> dict[str, Any]:
        """The options that decide the compiled module (the compile cache's key); tuning
        decides only how the npu level lowers it, after the cache. The target counts by its
        figures (`runtime.targets.fingerprint`), not by the name or path it was given."""
        key = asdict(self)
        del key["tune"], key["tune_db"]
        key["target"] = fingerprint(load_target(self.target))
        return key


def available_passes() -> dict[str, Callable[[], type[ModulePass]]]:
    """xDSL's passes and ours (also when our entry point is not installed)."""
    from xdsl.transforms import get_all_passes

    from ge.registry import all_passes

    return {**get_all_passes(), **all_passes()}


def apply_pipeline(module: ModuleOp, spec: str, ctx: Context | None = None) -> None:
    """Apply a pass pipeline spec (`"a,b{x=1},cse"`) to `module` in place."""
    from ge.registry import make_context

    if not spec:
        return
    PassPipeline.parse_spec(available_passes(), spec).apply(ctx or make_context(), module)


def pipeline_spec(options: CompileOptions) -> str:
    """The ordered list of pass names this compile runs."""
    names: list[str] = list(PRECISION_BEFORE.get(options.precision_mode, ()))
    after = PRECISION_AFTER.get(options.precision_mode, ())
    if options.optimize and OPTIMIZE_PIPELINE in available_passes():
        names.append(OPTIMIZE_PIPELINE)
        names.extend(after)
    elif after:
        names.append(after[0])  # no kernels: the cube ops of `ge` take the casts
    names.extend(options.extra_passes)
    return ",".join(names)


@dataclass
class CompiledPlan:
    """A compiled module and the figures of its compile."""

    module: ModuleOp
    options: CompileOptions
    compile_seconds: float = 0.0
    stats: dict[str, Any] = field(default_factory=dict)


def compile_module(module: ModuleOp, options: CompileOptions | None = None) -> CompiledPlan:
    """Run the pipeline on a copy of `module`; the input is left untouched."""
    options = options or CompileOptions()
    start = time.perf_counter()
    compiled = module.clone()
    emulate_narrow_types(compiled)  # hand-written IR may compute on bf16 & co. directly
    apply_pipeline(compiled, pipeline_spec(options))
    _load_levels()
    if options.level in LOWERINGS:
        compiled = LOWERINGS[options.level](compiled, options)
    compiled.verify()
    return CompiledPlan(compiled, options, time.perf_counter() - start)


Executor = Callable[[CompiledPlan, Sequence[np.ndarray] | Mapping[str, np.ndarray]], Any]


def _run_reference(plan: CompiledPlan, inputs) -> tuple[list[np.ndarray], dict[str, Any]]:
    """The numpy semantics; the profile holds host wall time per op (not modeled cycles)."""
    kernels: list[dict[str, Any]] = []

    def observe(op: Operation, seconds: float) -> None:
        name = f"{op.name.split('.', 1)[-1]}_{len(kernels)}"
        kernels.append({"name": name, "op": op.name, "seconds": seconds, "clock": "host"})

    OBSERVERS.append(observe)
    try:
        outputs = run_reference(plan.module, inputs)
    finally:
        OBSERVERS.remove(observe)
    return outputs, {"kernels": kernels}


LEVELS = ("reference", "npu")


def _load_levels() -> None:
    """The npu level registers itself on import (it needs runtime and passes)."""
    import ge.npu_level  # noqa: F401


EXECUTORS: dict[str, Executor] = {"reference": _run_reference}
"""Level name -> fn(plan, inputs) -> (outputs, profile). The npu level registers here."""

LOWERINGS: dict[str, Callable[[ModuleOp, CompileOptions], ModuleOp]] = {}
"""Level name -> lowering applied after the optimize pipeline (the npu level adds one)."""

PREPARERS: dict[str, Callable[[CompiledPlan], None]] = {}
"""Level name -> fn(plan) that readies a plan to run (the npu level lowers every kernel to an
npu program and compiles it for its interpreter), so that compile time counts it, not the
first run; a plan read from the cache is prepared too."""


def prepare(plan: CompiledPlan) -> CompiledPlan:
    """Ready `plan` for `execute` (a no-op for levels that need nothing)."""
    _load_levels()
    if plan.options.level in PREPARERS:
        PREPARERS[plan.options.level](plan)
    return plan


def execute(
    plan: CompiledPlan, inputs: Sequence[np.ndarray] | Mapping[str, np.ndarray]
) -> tuple[list[np.ndarray], dict[str, Any]]:
    """Run a compiled plan; returns the outputs and the level's profile."""
    _load_levels()
    if plan.options.level not in EXECUTORS:
        raise GeError(f"level '{plan.options.level}' is not available in this build")
    return EXECUTORS[plan.options.level](plan, inputs)
