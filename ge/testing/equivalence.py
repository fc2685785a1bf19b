"""Check that a pass (or pipeline) keeps what a `ge` program computes.

`assert_preserves_semantics(pipeline, module, inputs)` runs the module with the reference
interpreter, applies the pipeline to a clone, runs the clone, and compares every output
with tolerances chosen by dtype. A mismatch raises an AssertionError whose message names
the output, the first differing index with both values, the largest errors, the inputs,
and the program before and after the pipeline (constants in full), ready to become a
FileCheck case. With no module it runs a hypothesis search over `programs_with_inputs`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from hypothesis import given
from xdsl.context import Context
from xdsl.dialects import get_all_dialects
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.passes import ModulePass, PassPipeline
from xdsl.transforms import get_all_passes

from ge.testing.strategies import programs_with_inputs, random_inputs
from gedialects.ge.constant import print_constants_in_full
from gedialects.interpreter import (
    bind_inputs,
    entry_function,
    input_names,
    output_names,
    run_reference,
)

Pipeline = str | ModulePass | type[ModulePass] | PassPipeline | Callable[[ModuleOp], Any]

TOLERANCES: dict[str, tuple[float, float]] = {
    "f": (1e-4, 1e-5),
    "float16": (1e-2, 1e-2),
    "float64": (1e-9, 1e-12),
}
"""(rtol, atol) by numpy dtype name, else by kind; integers and booleans compare exactly."""


def tolerance(dtype: np.dtype) -> tuple[float, float]:
    """Default (rtol, atol) for comparing outputs of `dtype`."""
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        return 0.0, 0.0
    return TOLERANCES.get(dtype.name, TOLERANCES["f"])


def available_passes() -> dict[str, Callable[[], type[ModulePass]]]:
    """xDSL's passes and the project's (`ge.registry.all_passes`), by name."""
    from ge.registry import all_passes

    return {**get_all_passes(), **all_passes()}


def default_context() -> Context:
    """A context that knows xDSL's dialects and the project's."""
    from ge.registry import all_dialects

    ctx = Context()
    for name, factory in {**get_all_dialects(), **all_dialects()}.items():
        ctx.register_dialect(name, factory)
    return ctx


def apply_pipeline(pipeline: Pipeline, module: ModuleOp, ctx: Context | None = None) -> None:
    """Apply a pipeline spec (`"cse,dce"`), a pass, a pass class or a callable in place."""
    ctx = default_context() if ctx is None else ctx
    if isinstance(pipeline, str):
        pipeline = PassPipeline.parse_spec(available_passes(), pipeline)
    if isinstance(pipeline, type) and issubclass(pipeline, ModulePass):
        pipeline = pipeline()
    if isinstance(pipeline, ModulePass | PassPipeline):
        pipeline.apply(ctx, module)
    else:
        pipeline(module)


def describe(pipeline: Pipeline) -> str:
    if isinstance(pipeline, str):
        return repr(pipeline)
    if isinstance(pipeline, ModulePass):
        return f"'{pipeline.pipeline_pass_spec()}'"
    return getattr(pipeline, "name", None) or getattr(pipeline, "__name__", repr(pipeline))


def print_ir(module: ModuleOp) -> str:
    """The module as text IR with every constant in full (parses back bit-exactly)."""
    with print_constants_in_full():
        return str(module)


def compare_outputs(
    expected: Sequence[np.ndarray],
    actual: Sequence[np.ndarray],
    names: Sequence[str] | None = None,
    rtol: float | None = None,
    atol: float | None = None,
) -> str | None:
    """None if the outputs agree, else a report of the first output that differs."""
    if len(expected) != len(actual):
        return f"the program returned {len(expected)} outputs before and {len(actual)} after"
    for i, (want, got) in enumerate(zip(expected, actual)):
        label = f"output {i}" + (f" ({names[i]})" if names and i < len(names) else "")
        want, got = np.asarray(want), np.asarray(got)
        if want.shape != got.shape or want.dtype != got.dtype:
            return (
                f"{label}: expected {want.dtype}{list(want.shape)}, "
                f"got {got.dtype}{list(got.shape)}"
            )
        problem = _compare_one(label, want, got, rtol, atol)
        if problem:
            return problem
    return None


def _compare_one(
    label: str, want: np.ndarray, got: np.ndarray, rtol: float | None, atol: float | None
) -> str | None:
    default_rtol, default_atol = tolerance(want.dtype)
    rtol = default_rtol if rtol is None else rtol
    atol = default_atol if atol is None else atol
    if want.dtype.kind == "f":
        w, g = want.astype(np.float64), got.astype(np.float64)
        bad = ~np.isclose(g, w, rtol=rtol, atol=atol, equal_nan=True)
    else:
        w, g = want.astype(np.float64), got.astype(np.float64)
        bad = want != got
    if not bad.any():
        return None
    first = tuple(int(i) for i in np.argwhere(bad)[0])
    with np.errstate(all="ignore"):
        diff = np.abs(g - w)
        rel = diff / np.abs(w)
    finite = np.isfinite(diff) & bad
    max_abs = float(diff[finite].max()) if finite.any() else float("nan")
    max_rel = float(rel[finite].max()) if finite.any() else float("nan")
    return (
        f"{label} of shape {list(want.shape)} {want.dtype}: {int(bad.sum())} of {want.size} "
        f"elements differ (rtol={rtol}, atol={atol})\n"
        f"  first mismatch at index {first}: expected {want[first]!r}, got {got[first]!r}\n"
        f"  max abs error {max_abs:.6g}, max rel error {max_rel:.6g}"
    )


def _inputs_text(inputs: Sequence[np.ndarray], names: Sequence[str]) -> str:
    with np.printoptions(threshold=200, precision=8):
        return "\n".join(f"  {n} = {np.asarray(a)!r}" for n, a in zip(names, inputs))


def _report(
    headline: str, pipeline: Pipeline, before: str, after: str | None, inputs_text: str
) -> str:
    parts = [headline, "inputs:", inputs_text, "IR before the pipeline:", before]
    if after is not None:
        parts += ["IR after the pipeline:", after]
    if isinstance(pipeline, str):
        parts += [
            "a FileCheck case starts with:",
            f"// RUN: ge-opt %s -p '{pipeline}' | filecheck %s",
        ]
    return "\n".join(parts)


def assert_preserves_semantics(
    pipeline: Pipeline,
    module: ModuleOp | None = None,
    inputs: Sequence[np.ndarray] | Mapping[str, np.ndarray] | None = None,
    *,
    rtol: float | None = None,
    atol: float | None = None,
    ctx: Context | None = None,
    **program_options: Any,
) -> ModuleOp | None:
    """Assert that `pipeline` keeps the outputs of `module` on `inputs`; returns the result.

    `inputs` default to `random_inputs(module)`. Tolerances default by dtype (`tolerance`).
    Without a module, checks random programs (`programs_with_inputs(**program_options)`)
    under the active hypothesis settings profile.
    """
    if module is None:
        check_pass_property(pipeline, rtol=rtol, atol=atol, **program_options)()
        return None
    inputs = random_inputs(module) if inputs is None else inputs
    fn = entry_function(module)
    bound = bind_inputs(fn, inputs)
    expected = run_reference(module, bound)
    transformed = module.clone()
    name = describe(pipeline)

    def fail(headline: str, after: ModuleOp | None) -> AssertionError:
        inputs_text = _inputs_text(bound, input_names(fn))
        after_text = None if after is None else print_ir(after)
        return AssertionError(
            _report(headline, pipeline, print_ir(module), after_text, inputs_text)
        )

    try:
        apply_pipeline(pipeline, transformed, ctx)
        transformed.verify()
    except Exception as error:
        raise fail(f"pipeline {name} failed: {type(error).__name__}: {error}", None) from error
    if dangling := dangling_uses(transformed):
        raise fail(f"pipeline {name} left uses by ops outside the program: {dangling}", None)
    try:
        actual = run_reference(transformed, bound)
    except Exception as error:
        raise fail(
            f"after pipeline {name} the program no longer runs: {error}", transformed
        ) from error
    problem = compare_outputs(expected, actual, output_names(fn), rtol, atol)
    if problem:
        raise fail(f"pipeline {name} changed what the program computes.\n{problem}", transformed)
    return transformed


def dangling_uses(module: Operation) -> list[str]:
    """`producer -> user` for each use by an op in no block (`passes.matching.detached_users`):
    a pattern that built ops for a match it gave up and left them using their operands."""
    from passes.matching import detached_users

    return [f"{v.owner.name if isinstance(v.owner, Operation) else 'argument'} -> {u.name}"
            for v, u in detached_users(module)]  # fmt: skip


def check_pass_property(
    pipeline: Pipeline,
    *,
    rtol: float | None = None,
    atol: float | None = None,
    **program_options: Any,
) -> Callable[[], None]:
    """A hypothesis test: random programs keep their outputs through `pipeline`.

    test_my_pass = check_pass_property("my-pass", ops=["binary"], max_ops=6)

    A pipeline spec is checked here, where the test is defined: a misspelt pass name or
    option fails at collection, not as a failure of every drawn program.
    """
    if isinstance(pipeline, str):
        PassPipeline.parse_spec(available_passes(), pipeline)  # ValueError naming the pass

    @given(programs_with_inputs(**program_options))
    def property_test(case: tuple[ModuleOp, list[np.ndarray]]) -> None:
        module, inputs = case
        assert_preserves_semantics(pipeline, module, inputs, rtol=rtol, atol=atol)

    property_test.__name__ = f"preserves_semantics_{describe(pipeline)}"
    return property_test


__all__ = [
    "TOLERANCES",
    "apply_pipeline",
    "assert_preserves_semantics",
    "available_passes",
    "check_pass_property",
    "compare_outputs",
    "default_context",
    "print_ir",
    "tolerance",
]
