"""`ge.compile(model, ...)`: what an ML engineer calls, and the compiled model it returns.

A model is an ONNX path or ModelProto, a `torch.nn.Module` with example inputs, or a
module of `ge` IR. Static mode compiles once (through the compile cache) and runs the plan
on every call; dynamic mode runs eagerly op by op; `dynamic_batch=[...]` serves varying
batch sizes through shape gears, falling back to eager mode for a batch no gear holds.
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from xdsl.dialects.builtin import ModuleOp

from ge import gears, profiler
from ge.eager import EagerRunner
from ge.frontends.onnx.staging import StagedProgram
from ge.pipeline import CompiledPlan, CompileOptions, compile_module, execute, prepare
from ge.staged import StagedModel, join_profiles
from gedialects.errors import FrontendError, GeError, InvalidModelError, UnsupportedError
from gedialects.ge.constant import constant_elision
from gedialects.ge.types import shape_of
from gedialects.interpreter import entry_function, input_names, output_names
from runtime.compile_cache import CompileCache, cache_key
from runtime.device import DEVICE, count_outputs, to_host_inputs

MODES = ("static", "dynamic")


def load_model(
    model: Any,
    *,
    example_inputs: Sequence[Any] | None = None,
    input_shapes: dict[str, list[int]] | None = None,
) -> ModuleOp:
    """Turn any supported model form into a `ge` module."""
    if isinstance(model, ModuleOp):
        return model
    if isinstance(model, str | Path):
        path = Path(model)
        if path.suffix == ".onnx":
            from ge.frontends.onnx import import_onnx_file

            return import_onnx_file(path, input_shapes=input_shapes)
        if path.suffix == ".mlir":
            return load_mlir(path)
        raise GeError(f"cannot compile '{path}': expected a .onnx or .mlir file")
    if type(model).__name__ == "ModelProto":
        from ge.frontends.onnx import import_onnx_model

        return import_onnx_model(model, input_shapes=input_shapes)
    if _is_torch_module(model):
        if example_inputs is None:
            raise GeError("compiling a torch.nn.Module needs example_inputs")
        from ge.frontends.torch import import_module

        return import_module(model, tuple(example_inputs))
    raise GeError(f"cannot compile a {type(model).__name__}: expected ONNX, torch or ge IR")


def load_program(
    model: Any,
    *,
    example_inputs: Sequence[Any] | None = None,
    input_shapes: dict[str, list[int]] | None = None,
    source: str = "<model>",
) -> ModuleOp | StagedProgram:
    """`load_model`, except that an ONNX model holding a node ge runs on the host (a
    data-dependent shape, an op with no converter; `ge.frontends.onnx.staging`) comes back
    as a `StagedProgram` instead of an error."""
    from ge.frontends.onnx.importer import read_onnx_file
    from ge.frontends.onnx.staging import import_program

    if isinstance(model, StagedProgram):
        return model
    if isinstance(model, str | Path) and Path(model).suffix == ".onnx":
        proto = read_onnx_file(model)
        return import_program(proto, input_shapes=input_shapes, source=str(model))
    if type(model).__name__ == "ModelProto":
        return import_program(model, input_shapes=input_shapes, source=source)
    try:
        return load_model(model, example_inputs=example_inputs, input_shapes=input_shapes)
    except UnsupportedError as refusal:
        if not _is_torch_module(model) or example_inputs is None:
            raise
        from ge.frontends.torch.convert import TrainingModeError
        from ge.frontends.torch.onnx_fallback import export_onnx

        if isinstance(refusal, TrainingModeError):
            raise
        try:  # the ONNX frontend converts more, and stages data-dependent nodes
            proto = export_onnx(model, [_as_torch(x) for x in example_inputs])
            program = import_program(proto, source=f"<{type(model).__name__} via ONNX>")
        except GeError as error:
            raise UnsupportedError(f"{refusal} (and through ONNX: {error})") from None
        warnings.warn(  # the exporter's numbers, not the module's, where the two differ
            f"{refusal}; compiled the module through torch.onnx.export (TorchScript) instead",
            stacklevel=3,
        )
        return program


def _compiles_per_call(model: Any, input_shapes: Any, dynamic_batch: Any) -> bool:
    """An ONNX model whose free dims ge sized itself (no `input_shapes`, no gears): when no
    guessed size imports, it can still compile for the shapes its calls bring."""
    from ge.frontends.onnx.free_dims import free_input_axes

    onnx_model = type(model).__name__ == "ModelProto"
    return onnx_model and input_shapes is None and dynamic_batch is None and bool(
        free_input_axes(model)
    )


def _is_torch_module(model: Any) -> bool:
    return hasattr(model, "forward") and hasattr(model, "parameters")


def _as_torch(value: Any) -> Any:
    import torch

    return value if isinstance(value, torch.Tensor) else torch.as_tensor(value)


def load_mlir(path: Path) -> ModuleOp:
    """Parse and verify a user's text IR (located errors); weights from a side-car file.

    Constants printed elided are restored from `FILE.mlir.weights.npz` when it exists (the
    form `gedialects.serialization.save_module` writes); otherwise running them fails
    with a clear error naming the elided constant.
    """
    from ge.diagnostics import LocatingParser, verify_located
    from ge.registry import make_context
    from gedialects.serialization import restore_from_sidecar

    parser = LocatingParser(make_context(), path.read_bytes(), str(path))
    module = parser.parse_module()
    verify_located(module, parser.locations, str(path))
    restore_from_sidecar(module, path, str(path))
    return module


def _as_numpy(value: Any) -> Any:
    if hasattr(value, "detach") and hasattr(value, "numpy"):
        from ge.frontends.torch.convert import to_numpy

        return to_numpy(value)
    return value


@dataclass
class CompiledModel:
    """A compiled model: call it with arrays (positional or by input name)."""

    module: ModuleOp
    options: CompileOptions
    mode: str = "static"
    cache: CompileCache | None = None
    gear_list: list[int] | None = None
    last_cache: str = "miss"
    last_profile: dict[str, Any] = field(default_factory=dict)
    _plans: dict[int | None, CompiledPlan] = field(default_factory=dict)
    _plan_cache: dict[int | None, str] = field(default_factory=dict)
    """Per plan, whether the compile cache held it ("hit") or it was compiled ("miss"):
    `last_cache` of a later call of the plan (it read "hit" from the first call on)."""
    _eager: EagerRunner | None = None
    _gear_axes: list[gears.Batch | None] | None = None
    rebuild: Callable[[int], ModuleOp] | None = None
    """For gears: the model's own graph at a batch (an ONNX model imported again with that
    batch), instead of `self.module` respecialized by `gears.respecialize_batch`."""
    _rebuilt: dict[int, ModuleOp] = field(default_factory=dict)
    _eager_graph: tuple[int, ModuleOp] | None = None
    """The graph of the last batch no gear held (a re-import is not paid on every call)."""

    def __post_init__(self) -> None:
        fn = entry_function(self.module)
        self.input_names = input_names(fn)
        self.output_names = output_names(fn)
        if self.gear_list is not None:
            self.gear_list = gears.validate_gears(self.gear_list)
            largest = self.gear_list[-1]
            if self.rebuild is not None and largest > 1:
                # a batch of 1 leaves the analysis guessing where a reshape puts the batch
                # ((8, 1, 16) -> (8, 16)); at the largest gear's batch it can tell
                self._rebuilt[largest] = self.rebuild(largest)
                fn = entry_function(self._rebuilt[largest])
            self._gear_axes = gears.output_batch_axes(fn)
            if self.rebuild is not None:
                # another batch above 1 (a graph at batch 1 may fold otherwise): a gear's, or
                # one past the largest
                other = next((g for g in self.gear_list if 1 < g < largest), largest + 1)
                if other in self.gear_list:
                    self._rebuilt[other] = self.rebuild(other)
                module = self._rebuilt.get(other) or self.rebuild(other)
                gears.check_batch_free_outputs(fn, entry_function(module), self._gear_axes)
                if largest > 1:
                    gears.check_batch_free_constants(fn, entry_function(module))

    def _module_at_batch(self, batch: int) -> ModuleOp:
        """The graph for `batch` samples: rebuilt from the model (each gear's graph checked
        per sample as the largest one's was) or respecialized from `self.module`."""
        if self.rebuild is None:
            return gears.respecialize_batch(self.module, entry_function(self.module), batch)
        module = self._rebuilt.pop(batch, None) or self.rebuild(batch)
        if batch > 1 and gears.output_batch_axes(entry_function(module)) != self._gear_axes:
            raise gears.GearError(f"the model's graph at batch {batch} keeps its batch elsewhere")
        return module

    # -- compile -------------------------------------------------------------------

    def plan(self, gear: int | None = None) -> CompiledPlan:
        """The static plan (for one gear), compiled on first use or read from the cache."""
        if gear in self._plans:  # how that plan's compile went, not this lookup
            self.last_cache = self._plan_cache[gear]
            return self._plans[gear]
        module = self.module
        if gear is not None:
            module = self._module_at_batch(gear)
        self._plans[gear] = prepare(self._compile_cached(module))
        self._plan_cache[gear] = self.last_cache
        return self._plans[gear]

    def _compile_cached(self, module: ModuleOp) -> CompiledPlan:
        key = None
        if self.cache is not None:
            with constant_elision(0):
                text = str(module)
            key = cache_key(text, options=self.options.as_key())
            from ge.registry import make_context

            entry = self.cache.get(key, make_context())
            if entry is not None:
                self.last_cache = "hit"
                return CompiledPlan(entry.module, self.options, 0.0, entry.meta)
        self.last_cache = "miss"
        plan = compile_module(module, self.options)
        if self.cache is not None and key is not None:
            self.cache.put(key, plan.module, {"compile_seconds": plan.compile_seconds})
        return plan

    # -- run -----------------------------------------------------------------------

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        outputs = self.run(*args, **kwargs)
        as_torch = any(hasattr(a, "detach") for a in (*args, *kwargs.values()))
        if as_torch:
            from ge.frontends.torch.convert import to_torch

            outputs = [to_torch(o) for o in outputs]
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    def run(self, *args: Any, **kwargs: Any) -> list[np.ndarray]:
        """Run once; returns the outputs as a list of numpy arrays."""
        values = self._bind(args, kwargs)
        start = time.perf_counter()
        if self.mode == "dynamic":
            outputs = self._run_eager(values)
        elif self.gear_list is not None:
            outputs = self._run_gear(values)
        else:
            outputs = self._run_static(self.plan(), values)
        count_outputs(outputs)
        self.last_profile["run_seconds"] = time.perf_counter() - start
        return outputs

    def _bind(self, args: tuple, kwargs: dict) -> list[np.ndarray]:
        if args and kwargs:
            raise GeError("pass inputs either positionally or by name, not both")
        if kwargs:
            missing = [n for n in self.input_names if n not in kwargs]
            if missing:
                raise GeError(f"missing inputs {missing}; the model takes {self.input_names}")
            args = tuple(kwargs[n] for n in self.input_names)
        if len(args) != len(self.input_names):
            raise GeError(f"expected {len(self.input_names)} inputs {self.input_names}")
        return to_host_inputs([_as_numpy(a) for a in args])

    def _run_static(self, plan: CompiledPlan, values: list[np.ndarray]) -> list[np.ndarray]:
        outputs, prof = execute(plan, values)
        self.last_profile = dict(prof)
        _record(prof, plan)
        arena = prof.get("memory", {}).get("peak_bytes", 0)
        DEVICE.transient(arena)
        return outputs

    def _run_eager(self, values: list[np.ndarray]) -> list[np.ndarray]:
        if self._eager is None:
            self._eager = EagerRunner(self.module, self.options)
        return self._eagerly(self._eager, values)

    def _eagerly(self, runner: EagerRunner, values: list[np.ndarray]) -> list[np.ndarray]:
        """Run op by op, recording each launch in the active profiles and `last_profile`."""
        outputs, records = runner.run(values)
        for r in records:
            _record(r["profile"], r["plan"], launch_op=r["op"])  # its pipes too, if traced
        self.last_profile = {
            **join_profiles([r["profile"] for r in records], prefix="l", memory=False),
            "launches": runner.launches,
            "compiles": runner.compiles,
        }
        return outputs

    def _run_gear(self, values: list[np.ndarray]) -> list[np.ndarray]:
        assert self.gear_list is not None and self._gear_axes is not None
        for name, value, shape in zip(self.input_names, values, self.input_shapes, strict=True):
            if value.ndim != len(shape):  # before the batch is read off the first input
                raise GeError(f"input '{name}' has shape {value.shape}, the model wants rank "
                              f"{len(shape)}")  # fmt: skip
        batch = values[0].shape[0]
        gear = gears.choose_gear(self.gear_list, batch)
        if gear is None:
            return self._run_eager_with_shapes(values)
        padded = [gears.pad_batch(v, gear) for v in values]
        outputs = self._run_static(self.plan(gear), padded)
        return gears.slice_batch(outputs, self._gear_axes, batch)

    def _run_eager_with_shapes(self, values: list[np.ndarray]) -> list[np.ndarray]:
        """GE's hybrid mode: a batch no gear holds runs eagerly at its own shape."""
        batch = len(values[0])
        if self._eager_graph is None or self._eager_graph[0] != batch:
            self._eager_graph = (batch, self._module_at_batch(batch))
        # its launches are profiled as dynamic mode's (they were not: an empty profile, and
        # `last_profile` still the previous gear call's)
        return self._eagerly(EagerRunner(self._eager_graph[1], self.options), values)

    @property
    def input_shapes(self) -> list[tuple[int, ...]]:
        fn = entry_function(self.module)
        return [shape_of(t) for t in fn.function_type.inputs.data]


def _record(prof: dict[str, Any], plan: CompiledPlan | None, launch_op: str = "") -> None:
    program = plan.stats.get("npu_program") if plan is not None else None
    pipes = getattr(program, "last_pipes", None) if profiler.wants_pipes() else None
    profiler.record_kernels(prof.get("kernels", []), launch_op, pipes)


def _check_gear_inputs(model: Any, input_shapes: Mapping[str, Sequence[int]]) -> None:
    """Gears serve the first axis: an input that leaves another axis free (a sequence
    length) would be pinned to one size in every gear's plan and refuse other lengths."""
    from ge.frontends.onnx.free_dims import free_input_axes

    for name, axes in free_input_axes(model).items():
        others = [a for a in axes if a != 0]
        if others and name not in input_shapes:
            raise gears.GearError(
                f"dynamic_batch serves the first axis, and input '{name}' leaves axis "
                f"{others[0]} free too: give it a size (input_shapes) or compile without "
                "gears (free dims are then compiled per shape a call brings)"
            )


def _batch_rebuilder(
    model: Any, program: ModuleOp | StagedProgram, shapes: dict[str, list[int]], source: str
) -> Callable[[int], ModuleOp] | None:
    """For an ONNX model whose every input leaves its first axis free: a function importing
    it with that axis at a given batch, so each gear runs the graph the model defines there
    (its computed Reshape targets included). None for any other model."""
    from ge.frontends.onnx.free_dims import free_input_axes

    if not isinstance(program, ModuleOp):
        return None
    free = free_input_axes(model)
    fn = entry_function(program)
    names = input_names(fn)
    if not names or any(0 not in free.get(n, []) for n in names):
        return None
    base = {n: list(shapes.get(n, shape_of(t))) for n, t in zip(names, fn.function_type.inputs)}

    def rebuild(batch: int) -> ModuleOp:
        at_batch = {n: [batch, *s[1:]] for n, s in base.items()}
        return _gear_program(
            batch, lambda: load_program(model, input_shapes=at_batch, source=source)
        )

    return rebuild


def _torch_batch_rebuilder(model: Any, examples: Sequence[Any]) -> Callable[[int], ModuleOp] | None:
    """For a torch module whose example inputs share their first axis: a function exporting
    it again with the examples' samples repeated to a given batch (torch.export fixes every
    shape, so each gear is the module's own graph at its batch)."""
    tensors = [_as_torch(x) for x in examples]
    if any(t.ndim == 0 for t in tensors) or len({t.shape[0] for t in tensors}) != 1:
        return None

    def rebuild(batch: int) -> ModuleOp:
        import torch

        resized = [t[torch.arange(batch) % t.shape[0]] for t in tensors]  # bf16 too
        return _gear_program(batch, lambda: load_program(model, example_inputs=resized))

    return rebuild


def _gear_program(batch: int, load: Callable[[], ModuleOp | StagedProgram]) -> ModuleOp:
    """The model's graph at a gear's batch, or a GearError saying why there is none (a
    Reshape to a fixed batch of 1, a node that runs on the host)."""
    try:
        program = load()
    except GeError as error:
        raise gears.GearError(
            f"gears cannot be used for this model at batch {batch}: {error}"
        ) from None
    if not isinstance(program, ModuleOp):
        raise gears.GearError(
            f"gears cannot be used for this model: at batch {batch} it runs in stages"
        )
    return program


def compile(  # noqa: A001 (the name users expect: ge.compile)
    model: Any,
    target: str = "ascend910a",
    mode: str = "static",
    *,
    example_inputs: Sequence[Any] | None = None,
    input_shapes: dict[str, list[int]] | None = None,
    dynamic_batch: Sequence[int] | None = None,
    cache: CompileCache | str | Path | bool | None = None,
    **options: Any,
) -> CompiledModel:
    """Compile `model` for `target`; see the module docstring for the accepted forms.

    Options (GE names where they map): `precision_mode` (force_fp32, the default;
    allow_fp32_to_fp16: conv/matmul/attention on fp16 operands, f32 accumulation;
    force_fp16: every f32 tensor in f16; must_keep_origin_dtype: the model's own dtypes;
    docs/architecture.md "Precision modes"), `memory_reuse` (False disables memory reuse),
    `optimize`, `level`
    ("reference", the default: numpy on the graph's ops, quick to compile; "npu": lowered
    to the npu dialect and run on the modeled chip, as `ge-run` does by default, with its
    cycles and memory in `last_profile`), `conv_algorithm`, `tune` (npu level: each
    conv/matmul tile search's best N candidates run on the interpreter, the fastest kept),
    `tune_db` (a JSON table of tile decisions to lower with, which tuning extends).
    `cache`: None or True for the default on-disk cache, False for none, a path or a
    `CompileCache`.
    """
    if mode not in MODES:
        raise GeError(f"unknown mode '{mode}'; choose from {MODES}")
    if mode == "dynamic" and dynamic_batch is not None:
        raise GeError(
            "dynamic_batch (shape gears) compiles static plans, one per gear; mode='dynamic' "
            "runs every call at its own shapes already: pass one of them"
        )
    unknown = sorted(set(options) - {f.name for f in dataclasses.fields(CompileOptions)})
    if unknown:  # a raw TypeError from the options' constructor otherwise
        known = ", ".join(f.name for f in dataclasses.fields(CompileOptions))
        raise GeError(f"unknown compile option(s) {', '.join(unknown)}; the options are {known}")
    source = "<model>"
    if isinstance(model, str | Path) and Path(model).suffix == ".onnx":
        from ge.frontends.onnx.importer import read_onnx_file

        model, source = read_onnx_file(model), str(model)
    try:
        program: ModuleOp | StagedProgram | None = load_program(
            model, example_inputs=example_inputs, input_shapes=input_shapes, source=source
        )
    except FrontendError as error:
        # Free dims that no guessed size fits (an exporter fixed a sequence length in a
        # Reshape): the model is compiled at its first call, for the shapes that call brings.
        invalid = isinstance(error, InvalidModelError)
        if invalid or not _compiles_per_call(model, input_shapes, dynamic_batch):
            raise
        program = None
    opts = CompileOptions(target=target, **options)
    if cache is None or cache is True:
        cache_obj: CompileCache | None = CompileCache()
    elif cache is False:
        cache_obj = None
    elif isinstance(cache, CompileCache):
        cache_obj = cache
    else:
        cache_obj = CompileCache(cache)
    gear_list = list(dynamic_batch) if dynamic_batch is not None else None

    rebuild = None
    if gear_list is not None and type(model).__name__ == "ModelProto":
        _check_gear_inputs(model, input_shapes or {})
        rebuild = _batch_rebuilder(model, program, input_shapes or {}, source)
    elif gear_list is not None and _is_torch_module(model) and example_inputs:
        rebuild = _torch_batch_rebuilder(model, example_inputs)

    def compile_stage(module: ModuleOp) -> CompiledModel:
        compiled = CompiledModel(module, opts, mode, cache_obj, gear_list, rebuild=rebuild)
        if mode == "static" and gear_list is None:
            compiled.plan()
        return compiled

    def finish(program: ModuleOp | StagedProgram) -> CompiledModel | StagedModel:
        if isinstance(program, StagedProgram):
            if gear_list is not None:
                raise GeError(
                    "dynamic_batch needs one static graph; this model runs in stages: "
                    f"{program.describe()}"
                )
            return StagedModel(program, compile_stage)
        return compile_stage(program)

    from ge.specialize import ShapeSpecializedModel

    def build(shapes: dict[str, list[int]], values: list[Any]) -> CompiledModel | StagedModel:
        if _is_torch_module(model):
            examples = [_as_torch(v) for v in values]
            return finish(load_program(model, example_inputs=examples))
        return finish(load_program(model, input_shapes=shapes, source=source))

    if program is None:
        return ShapeSpecializedModel.at_first_call(model, build)
    compiled = finish(program)
    free: dict[str, list[int]] = {}
    if gear_list is None and input_shapes is None and type(model).__name__ == "ModelProto":
        from ge.frontends.onnx.free_dims import free_input_axes

        free = free_input_axes(model)
    elif gear_list is None and _is_torch_module(model):  # torch.export fixed every dim
        ranks = [len(s) for s in ShapeSpecializedModel.shapes_of(compiled)]
        free = {n: list(range(r)) for n, r in zip(compiled.input_names, ranks)}
    if not free:
        return compiled
    return ShapeSpecializedModel(compiled, free, build)
