"""fold-constants keeps what programs compute, folds every affordable op, and keeps budgets."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mlir_cases import filecheck_cases, parse_case
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, f32
from xdsl.ir import Block, Region

from ge.testing.equivalence import apply_pipeline, assert_preserves_semantics
from ge.testing.strategies import inputs_for, programs
from gedialects.ge import AddOp, ConstantOp, MatMulOp, TransposeOp
from gedialects.ge.semantics import evaluate
from gedialects.ge.types import tensor
from passes.fold_constants import FoldConstants

EXAMPLES = max(200, settings.default.max_examples)
"""The pass must hold on at least 200 random programs in CI (more under `soak`)."""

# Programs of only constants fold completely; with arguments, constants still meet
# constants through the pool. Both with several dtypes, so integer shape-like
# computations and f16 arithmetic are folded too.
PROGRAMS = st.one_of(
    programs(max_inputs=0, max_ops=8, dtypes=("f32", "i64")),
    programs(max_inputs=2, max_ops=8, dtypes=("f32", "f16", "i64", "i1")),
)


def unfolded(module: ModuleOp) -> list[str]:
    """Ops other than constants whose operands are all constants."""
    return [
        op.name
        for op in module.walk()
        if op.operands
        and op.name.startswith("ge.")
        and all(isinstance(v.owner, ConstantOp) for v in op.operands)
    ]


@settings(max_examples=EXAMPLES)
@given(st.data())
def test_preserves_semantics_and_folds_everything(data):
    module = data.draw(PROGRAMS)
    inputs = data.draw(inputs_for(module))
    folded = assert_preserves_semantics("fold-constants{size-limit=1000000}", module, inputs)
    assert unfolded(folded) == []


@settings(max_examples=EXAMPLES // 2)
@given(st.data())
def test_tight_budget_preserves_semantics(data):
    module = data.draw(PROGRAMS)
    assert_preserves_semantics(
        "fold-constants{size-limit=1}", module, data.draw(inputs_for(module))
    )


def _shared_weight_module(rows: int, cols: int) -> ModuleOp:
    """w used by a matmul and by a transpose feeding another matmul."""
    block = Block(arg_types=[tensor((2, rows), f32), tensor((2, cols), f32)])
    w = ConstantOp(np.arange(rows * cols, dtype=np.float32).reshape(rows, cols))
    t = TransposeOp(w, perm=[1, 0])
    y = MatMulOp(block.args[0], w)
    u = MatMulOp(block.args[1], t)
    block.add_ops([w, t, y, u, func.ReturnOp(y, u)])
    types = ([a.type for a in block.args], [y.output.type, u.output.type])
    return ModuleOp([func.FuncOp("main", types, Region(block))])


@pytest.mark.parametrize(("limit", "folds"), [(11, False), (12, True)])
def test_size_limit_bounds_a_second_copy(limit, folds):
    module = _shared_weight_module(3, 4)
    apply_pipeline(FoldConstants(size_limit=limit), module)
    has_transpose = any(isinstance(op, TransposeOp) for op in module.walk())
    assert has_transpose != folds


@pytest.mark.parametrize(("name", "source"), filecheck_cases("fold-constants"))
def test_filecheck_cases_preserve_semantics(name, source):
    assert_preserves_semantics("fold-constants{size-limit=8}", parse_case(source))


def test_a_wrong_fold_is_caught(monkeypatch):
    """The property can fail: a fold that computes the wrong value is reported."""
    import passes.fold_constants as fold

    def off_by_one(op, *arrays):
        return tuple(r + 1 for r in evaluate(op, *arrays))

    monkeypatch.setattr(fold, "evaluate", off_by_one)
    block = Block()
    a, b = ConstantOp(np.float32([1, 2])), ConstantOp(np.float32([3, 5]))
    s = AddOp(a, b)
    block.add_ops([a, b, s, func.ReturnOp(s)])
    module = ModuleOp([func.FuncOp("main", ([], [s.output.type]), Region(block))])
    with pytest.raises(AssertionError, match="changed what the program computes"):
        assert_preserves_semantics("fold-constants", module, [])


@settings(max_examples=EXAMPLES)
@given(st.data())
def test_reductions_of_empty_tensors_fold_to_their_identities(data):
    """A reduction of an argument with a zero-length axis folds (a tensor with no elements
    has no values to know) to what the reference computes: 0, 1, -inf, +inf, NaN for a
    mean; reductions that keep the empty axis fold to empty constants."""
    from gedialects.ge import ops as ge_ops

    rank = data.draw(st.integers(1, 4), label="rank")
    shape = data.draw(st.lists(st.integers(0, 3), min_size=rank, max_size=rank))
    shape[data.draw(st.integers(0, rank - 1), label="empty axis")] = 0
    kinds = ("Sum", "Mean", "Max", "Min", "Prod", "L2")
    cls = data.draw(st.sampled_from([getattr(ge_ops, f"Reduce{kind}Op") for kind in kinds]))
    axes = data.draw(st.lists(st.integers(-rank, rank - 1), unique_by=lambda a: a % rank))
    keepdims = data.draw(st.booleans())
    block = Block(arg_types=[tensor(shape, f32)])
    reduced = cls(block.args[0], axes=axes, keepdims=keepdims)
    block.add_ops([reduced, func.ReturnOp(reduced)])
    fn = func.FuncOp("main", ([block.args[0].type], [reduced.output.type]), Region(block))
    folded = assert_preserves_semantics(
        "fold-constants", ModuleOp([fn]), [np.empty(shape, np.float32)]
    )
    assert [op.name for op in folded.walk() if op.name.startswith("ge.reduce")] == []
