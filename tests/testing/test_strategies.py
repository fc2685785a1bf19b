"""The program strategies: programs verify, run to finite values, and really mix values."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import Phase, given, settings
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import Builtin, ModuleOp
from xdsl.parser import Parser

from ge.testing import inputs_for, op_names, print_ir, programs, programs_with_inputs, run
from ge.testing.strategies import FAMILIES, GENERATORS, INPUT_RANGE, Case, smooth_ops
from gedialects.ge import ALL_OPS, GE, ConstantOp
from gedialects.interpreter import entry_function

ALL_DTYPES = ("f32", "f16", "i64", "i32", "i1")


def _main(module: ModuleOp) -> func.FuncOp:
    return entry_function(module)


@given(programs_with_inputs(dtypes=ALL_DTYPES, max_ops=10))
def test_programs_verify_and_compute_finite_values(case: Case):
    module, inputs = case
    module.verify()
    outputs = run(module, inputs)
    result_types = _main(module).function_type.outputs.data
    assert 1 <= len(outputs) <= 3
    for out, t in zip(outputs, result_types):
        assert out.shape == tuple(t.get_shape())
        if out.dtype.kind == "f":
            assert np.isfinite(out).all(), print_ir(module)


@given(programs(max_ops=6))
def test_printed_programs_parse_back(module: ModuleOp):
    ctx = Context()
    ctx.load_dialect(Builtin)
    ctx.load_dialect(func.Func)
    ctx.load_dialect(GE)
    text = print_ir(module)
    assert print_ir(Parser(ctx, text).parse_module()) == text


def _mixing(module: ModuleOp) -> dict[str, bool]:
    ops = [op for op in _main(module).body.block.ops if op.name.startswith("ge.")]
    consts = [op for op in ops if isinstance(op, ConstantOp)]
    computed = [op for op in ops if not isinstance(op, ConstantOp)]
    return {
        "constants_meet": any(
            len(op.operands) >= 2 and all(isinstance(o.owner, ConstantOp) for o in op.operands)
            for op in computed
        ),
        "shared_value": any(len(list(r.uses)) >= 2 for op in ops for r in op.results)
        or any(len(list(a.uses)) >= 2 for a in _main(module).args),
        "several_outputs": len(_main(module).function_type.outputs.data) >= 2,
        "several_arguments": len(_main(module).args) >= 2,
        "dead_op": any(not r.uses for op in computed for r in op.results),
        "constant_feeds_op": any(c.output.uses for c in consts),
    }


def test_programs_really_mix_values():
    """Constants meet constants, values are shared, several outputs: in a good share."""
    seen: list[dict[str, bool]] = []

    @settings(max_examples=200, database=None)
    @given(programs(ops=["unary", "binary", "linear", "movement"], max_ops=8))
    def collect(module: ModuleOp) -> None:
        seen.append(_mixing(module))

    collect()
    share = {key: np.mean([s[key] for s in seen]) for key in seen[0]}
    assert share["constants_meet"] >= 0.1, share
    assert share["shared_value"] >= 0.3, share
    assert share["several_outputs"] >= 0.3, share
    assert share["several_arguments"] >= 0.1, share
    assert share["dead_op"] >= 0.1, share
    assert share["constant_feeds_op"] >= 0.5, share


def test_every_ge_op_has_a_generator():
    names = {cls.name for cls in ALL_OPS} - {"ge.constant"}
    assert names == set(GENERATORS)


def _sample(strategy, count: int = 10) -> list:
    """`count` examples of `strategy`, without the cost of `find`'s shrinking and repr."""
    out: list = []

    @settings(max_examples=count, database=None, phases=[Phase.generate])
    @given(strategy)
    def collect(example) -> None:
        out.append(example)

    collect()
    return out


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_each_generator_makes_its_op_and_it_runs(name: str):
    cases = _sample(programs_with_inputs(ops=[name], dtypes=("f32", "i64", "i1"), max_ops=2))
    made = [c for c in cases if any(op.name == name for op in c[0].walk())]
    assert made, f"no program with {name}"
    for module, inputs in made[:3]:
        run(module, inputs)


@given(programs(ops=["ge.slice", "ge.pad", "ge.relu"], max_ops=8))
def test_no_value_has_a_user_outside_the_program(module: ModuleOp):
    """A generator that builds an op only to learn its type (a slice or pad that would be
    empty) drops it: an orphan user of a value makes rewriters walking users fail."""
    ops = set(module.walk())
    for op in ops:
        for result in op.results:
            assert all(use.operation in ops for use in result.uses), print_ir(module)
    for arg in _main(module).body.block.args:
        assert all(use.operation in ops for use in arg.uses), print_ir(module)


def test_split_makes_several_results():
    cases = _sample(programs(ops=["ge.split"], max_ops=2), 30)
    assert any(op.name == "ge.split" and len(op.results) >= 2 for m in cases for op in m.walk())


@given(
    programs(max_ops=4, dtypes=ALL_DTYPES).flatmap(lambda m: inputs_for(m).map(lambda i: (m, i)))
)
def test_inputs_match_the_signature_and_range(case):
    module, inputs = case
    types = _main(module).function_type.inputs.data
    assert len(inputs) == len(types)
    for array, t in zip(inputs, types):
        assert array.shape == tuple(t.get_shape())
        if array.dtype.kind in "fi":
            assert INPUT_RANGE[0] <= array.min(initial=0) and array.max(initial=0) <= INPUT_RANGE[1]


def test_op_names_resolve_families_and_short_names():
    assert op_names(["add", "ge.mul"]) == ("ge.add", "ge.mul")
    assert set(op_names(["pool"])) == set(FAMILIES["pool"])
    assert "ge.floor" not in smooth_ops()
    with pytest.raises(ValueError, match="unknown op or family 'nope'"):
        op_names(["nope"])


def test_knobs_restrict_ops_and_dtypes():
    @settings(max_examples=30, database=None)
    @given(programs(ops=["ge.add", "ge.relu"], dtypes=("i64",), max_ops=4))
    def check(module: ModuleOp) -> None:
        names = {op.name for op in module.walk()} - {"builtin.module", "func.func"}
        assert names <= {"ge.add", "ge.relu", "ge.constant", "ge.clip", "func.return"}
        for value in _main(module).args:
            assert str(value.type.get_element_type()) == "i64"

    check()
