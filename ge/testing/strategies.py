"""Hypothesis strategies for random, well-typed `ge` programs and inputs for them.

`programs(...)` draws a `builtin.module` holding `func.func @main`: arguments and constants
of random small shapes, then a sequence of ops whose operands are drawn by index from
every value defined so far (arguments, constants, earlier results), so constants meet
constants, values are shared by several users, and dead ops occur; it returns 1 to
`max_outputs` values. Geometry (broadcasting, conv / pool windows, matmul dims) is drawn
valid, and operands are guarded into each op's domain, so with inputs from `inputs_for`
every value is finite.

    @given(programs_with_inputs(ops=["binary", "ge.matmul"], max_ops=6))
    def test_my_pass(case):
        module, inputs = case
        assert_preserves_semantics("my-pass", module, inputs)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from hypothesis import strategies as st
from xdsl.dialects.builtin import ModuleOp

from ge.testing import elementwise_generators, graph_generators, movement_generators
from ge.testing.program_builder import INPUT_RANGE, ProgramBuilder
from gedialects.ge.types import element_of, shape_of, to_numpy_dtype
from gedialects.interpreter import entry_function

GENERATORS = {
    **elementwise_generators.GENERATORS,
    **graph_generators.GENERATORS,
    **movement_generators.GENERATORS,
}
"""Op name -> generator; every `ge` op except `ge.constant` (which all of them make)."""

FAMILIES: dict[str, tuple[str, ...]] = {
    "unary": tuple(elementwise_generators.UNARY),
    "binary": (
        "ge.add",
        "ge.sub",
        "ge.mul",
        "ge.div",
        "ge.pow",
        "ge.maximum",
        "ge.minimum",
        "ge.mod",
        "ge.prelu",
    ),
    "compare": ("ge.equal", "ge.less", "ge.less_equal", "ge.greater", "ge.greater_equal"),
    "logical": ("ge.logical_and", "ge.logical_or", "ge.logical_xor", "ge.logical_not"),
    "select": ("ge.where", "ge.cast"),
    "linear": ("ge.matmul", "ge.conv2d", "ge.conv_transpose2d"),
    "norm": (
        "ge.batch_norm",
        "ge.instance_norm",
        "ge.group_norm",
        "ge.layer_norm",
        "ge.rms_norm",
        "ge.rope",
        "ge.softmax",
        "ge.log_softmax",
        "ge.lrn",
        "ge.dropout",
    ),
    "pool": ("ge.max_pool2d", "ge.avg_pool2d", "ge.global_avg_pool", "ge.global_max_pool"),
    "reduce": tuple(n for n in movement_generators.GENERATORS if "reduce" in n or "arg" in n),
    "movement": tuple(
        n for n in movement_generators.GENERATORS if "reduce" not in n and "arg" not in n
    ),
}
"""Named groups of ops, usable in `programs(ops=[...])` beside op names."""

DISCONTINUOUS: frozenset[str] = frozenset(
    {"ge.sign", "ge.floor", "ge.ceil", "ge.round", "ge.mod", "ge.argmax", "ge.argmin"}
    | set(FAMILIES["compare"])
    | {"ge.cast"}
)
"""Ops whose result can jump on a rounding-sized change of an input. Leave them out
(`ops=smooth_ops()`) to test passes that are exact only up to floating-point rounding."""

DTYPE_NAMES = {"f16": np.float16, "f32": np.float32, "f64": np.float64, "i32": np.int32}
DTYPE_NAMES |= {"i64": np.int64, "i1": np.bool_}


def op_names(ops: Iterable[str] | None = None) -> tuple[str, ...]:
    """Resolve op names (`ge.add` or `add`) and family names to generator names."""
    if ops is None:
        return tuple(GENERATORS)
    names: list[str] = []
    for item in ops:
        if item in FAMILIES:
            names.extend(FAMILIES[item])
        elif item in GENERATORS or f"ge.{item}" in GENERATORS:
            names.append(item if item in GENERATORS else f"ge.{item}")
        else:
            raise ValueError(f"unknown op or family {item!r}; families: {sorted(FAMILIES)}")
    return tuple(dict.fromkeys(names))


def smooth_ops(ops: Iterable[str] | None = None) -> tuple[str, ...]:
    """`op_names(ops)` without the DISCONTINUOUS ones."""
    return tuple(n for n in op_names(ops) if n not in DISCONTINUOUS)


def _dtypes(dtypes: Sequence[str | type | np.dtype]) -> list[np.dtype]:
    return [np.dtype(DTYPE_NAMES.get(d, d)) if isinstance(d, str) else np.dtype(d) for d in dtypes]


@st.composite
def programs(
    draw: st.DrawFn,
    *,
    ops: Iterable[str] | None = None,
    min_ops: int = 1,
    max_ops: int = 8,
    dtypes: Sequence[str | type | np.dtype] = ("f32",),
    max_inputs: int = 3,
    max_outputs: int = 3,
    max_rank: int = 4,
    max_dim: int = 4,
) -> ModuleOp:
    """A verified module with `func.func @main` of `min_ops..max_ops` drawn ops.

    `ops`: op names and/or FAMILIES keys (default: every op); `dtypes`: element types of
    arguments and constants (`"f32"`, `"i64"`, numpy dtypes...); guards and the constants
    of structured ops (weights, indices) come on top of the drawn ops.
    """
    names = op_names(ops)
    builder = ProgramBuilder(draw, _dtypes(dtypes), max_inputs, max_rank, max_dim)
    count = draw(st.integers(min_ops, max_ops))
    made = attempts = 0
    while made < count and attempts < 4 * count + 8:
        attempts += 1
        made += GENERATORS[draw(st.sampled_from(names))](builder)
    if not builder.pool:
        dtype = builder.dtype() or np.dtype(np.float32)
        builder.argument(builder.shape(), dtype)
    module = builder.finish(max_outputs)
    module.verify()
    return module


def random_inputs(module: ModuleOp, seed: int = 0, kind: str = "uniform") -> list[np.ndarray]:
    """Inputs for `main` of `module` in INPUT_RANGE: uniform reals or small integers."""
    fn = entry_function(module)
    rng = np.random.default_rng(seed)
    lo, hi = INPUT_RANGE
    arrays = []
    for t in fn.function_type.inputs.data:
        shape, dtype = shape_of(t), to_numpy_dtype(element_of(t))
        if dtype.kind == "b":
            data = rng.random(shape) < 0.5
        elif dtype.kind in "iu" or kind == "small_ints":
            data = rng.integers(int(lo), int(hi) + 1, shape)
        else:
            data = rng.uniform(lo, hi, shape)
        arrays.append(np.asarray(data).astype(dtype))
    return arrays


def inputs_for(module: ModuleOp) -> st.SearchStrategy[list[np.ndarray]]:
    """Inputs matching the signature of `main` (shrinks towards small integers)."""
    seeds = st.integers(0, 2**32 - 1)
    kinds = st.sampled_from(["small_ints", "uniform"])
    return st.builds(lambda s, k: random_inputs(module, s, k), seeds, kinds)


def _register_module_printer() -> None:
    """Let hypothesis show a failing `ModuleOp` as text IR rather than a dataclass dump."""
    try:
        from hypothesis.vendor.pretty import for_type_by_name
    except ImportError:  # a hypothesis without the vendored printer: keep repr()
        return

    def show(module: ModuleOp, printer, cycle: bool) -> None:  # noqa: ANN001
        from ge.testing.equivalence import print_ir

        for i, line in enumerate(print_ir(module).splitlines()):
            if i:
                printer.break_()
            printer.text(line)

    for_type_by_name("xdsl.dialects.builtin", "ModuleOp", show)


_register_module_printer()


class Case(tuple):
    """A `(module, inputs)` pair whose repr is the text IR and the inputs (for reports)."""

    def __repr__(self) -> str:
        from ge.testing.equivalence import print_ir

        module, inputs = self
        with np.printoptions(threshold=50):
            arrays = ", ".join(repr(a) for a in inputs)
        return f"Case(inputs=[{arrays}], module=\n{print_ir(module)})"


@st.composite
def programs_with_inputs(draw: st.DrawFn, **program_options) -> Case:
    """A `(module, inputs)` pair: `programs(**program_options)` and `inputs_for` it."""
    module = draw(programs(**program_options))
    return Case((module, draw(inputs_for(module))))


__all__ = [
    "Case",
    "DISCONTINUOUS",
    "FAMILIES",
    "GENERATORS",
    "INPUT_RANGE",
    "inputs_for",
    "op_names",
    "programs",
    "programs_with_inputs",
    "random_inputs",
    "smooth_ops",
]
