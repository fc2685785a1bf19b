"""Random programs with planted patterns, for passes that only fire on specific shapes.

`planted_programs(planters, ...)` draws a random prefix of ops (`ge.testing` generators),
then one or more planted patterns, each built by a planter on values of the pool (so
the pattern's input is a computed value, an argument or a constant), then a random
suffix that may consume the planted values. Every planted output is returned, so no
planted pattern is dead code that a pass could break unnoticed.

A planter is `fn(builder) -> list[Value] | None`: it appends ops with `builder.emit` and
returns the values that must stay live (None if it found no operand to work on).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from hypothesis import strategies as st
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Region

from ge.testing.program_builder import ProgramBuilder, Value
from ge.testing.strategies import DTYPE_NAMES, GENERATORS, op_names

Planter = Callable[[ProgramBuilder], list[Value] | None]


def float_value(
    b: ProgramBuilder, min_rank: int = 1, max_rank: int | None = None, limit: float = 1e3
) -> Value:
    """A float pool value of rank in range (or a fresh argument), clipped to +-limit."""
    top = b.max_rank if max_rank is None else max_rank
    dtype = b.float_dtype() or np.dtype(np.float32)
    found = b.operand(
        lambda v: v.is_float and min_rank <= len(v.shape) <= top,
        lambda: (b.shape(min_rank, top), dtype),
    )
    return b.bounded(found, limit)


def _random_ops(b: ProgramBuilder, names: Sequence[str], count: int) -> None:
    made = attempts = 0
    while names and made < count and attempts < 4 * count + 4:
        attempts += 1
        made += GENERATORS[b.draw(st.sampled_from(names))](b)


@st.composite
def planted_programs(
    draw: st.DrawFn,
    planters: Sequence[Planter],
    *,
    ops: Sequence[str] = ("unary", "binary"),
    dtypes: Sequence[str] = ("f32",),
    max_plants: int = 3,
    max_noise: int = 3,
    max_rank: int = 4,
    max_dim: int = 4,
) -> ModuleOp:
    """A verified module: random ops, 1..max_plants planted patterns, random ops."""
    names = op_names(ops)
    numpy_dtypes = [np.dtype(DTYPE_NAMES[d]) for d in dtypes]
    b = ProgramBuilder(draw, numpy_dtypes, max_inputs=3, max_rank=max_rank, max_dim=max_dim)
    _random_ops(b, names, draw(st.integers(0, max_noise)))
    keep: list[Value] = []
    for _ in range(draw(st.integers(1, max_plants))):
        planted = draw(st.sampled_from(list(planters)))(b)
        keep.extend(planted or [])
    _random_ops(b, names, draw(st.integers(0, max_noise)))
    if not b.pool:
        b.argument(b.shape(1), numpy_dtypes[0])
    results = list(dict.fromkeys(v.ssa for v in [*keep, b.pool[-1]]))
    b.block.add_op(func.ReturnOp(*results))
    types = ([a.type for a in b.block.args], [v.type for v in results])
    module = ModuleOp([func.FuncOp("main", types, Region(b.block))])
    module.verify()
    return module


SEARCH_EXAMPLES = 1000


def expect_search_to_catch(pipeline: str, programs: st.SearchStrategy, **tolerance) -> None:
    """A short random search must find the planted wrong rule: the property can fail."""
    import pytest
    from hypothesis import Phase, given, settings

    from ge.testing.equivalence import assert_preserves_semantics
    from ge.testing.strategies import inputs_for

    @settings(
        max_examples=SEARCH_EXAMPLES,
        phases=[Phase.generate],
        database=None,
        report_multiple_bugs=False,
    )
    @given(st.data())
    def search(data: st.DataObject) -> None:
        module = data.draw(programs)
        assert_preserves_semantics(pipeline, module, data.draw(inputs_for(module)), **tolerance)

    with pytest.raises(AssertionError, match="changed what the program computes"):
        search()
