"""simplify is exact on random programs, reaches a fixed point, and its rules are guarded."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mlir_cases import filecheck_cases, parse_case
from planted import expect_search_to_catch, planted_programs
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, f32
from xdsl.ir import Block, Region

from ge.testing.equivalence import apply_pipeline, assert_preserves_semantics, print_ir
from ge.testing.program_builder import ProgramBuilder, Value
from ge.testing.strategies import DTYPE_NAMES, inputs_for, programs
from gedialects.ge import AddOp, ConstantOp, ops
from gedialects.ge.types import from_numpy_dtype, shape_of, tensor

EXAMPLES = max(200, settings.default.max_examples)
"""The pass must hold on at least 200 random programs in CI (more under `soak`)."""
"""Budget of the search for a planted bug; it stops at the first failure."""

OPS = ("binary", "unary", "movement", "select", "ge.dropout", "ge.matmul")
DTYPES = ("f32", "f16", "i32", "i64")


def any_value(b: ProgramBuilder, min_rank: int = 0) -> Value:
    """A numeric pool value (or fresh argument) clipped to +-100, so casts stay in range."""
    dtype = b.dtype("fi") or np.dtype(np.float32)
    v = b.operand(
        lambda v: not v.is_bool and len(v.shape) >= min_rank, lambda: (b.shape(min_rank), dtype)
    )
    return b.bounded(v, 100.0)


def plant_binary(b: ProgramBuilder) -> list[Value]:
    """x op c, c a splat that may or may not be the identity, or broadcast x larger."""
    x = any_value(b)
    cls = b.draw(st.sampled_from([ops.AddOp, ops.SubOp, ops.MulOp, ops.DivOp, ops.PowOp]))
    values = {
        ops.AddOp: [0.0, -0.0, 0.0, 1.0],
        ops.SubOp: [0.0, -0.0, 0.0, 1.0],
        ops.MulOp: [1.0, 1.0, 0.0, 2.0],
    }.get(cls, [1.0, 1.0, 2.0])  # mostly the identity, sometimes a near miss
    shape = [d if b.draw(st.booleans()) else 1 for d in x.shape]
    if b.draw(st.integers(0, 3)) == 0:
        shape = [b.draw(st.integers(1, 3)), *shape]  # broadcasts x to a larger shape
    c = b.emit(ConstantOp(np.full(shape, b.draw(st.sampled_from(values)), x.dtype)), -2, 2)[0]
    lhs, rhs = (c, x) if b.draw(st.booleans()) and cls in (ops.AddOp, ops.MulOp) else (x, c)
    m = 2 * x.magnitude * x.magnitude + 4
    return b.emit(cls(lhs.ssa, rhs.ssa), -m, m)


def plant_transposes(b: ProgramBuilder) -> list[Value]:
    x = any_value(b, 1)
    first = b.draw(st.permutations(range(len(x.shape))))
    inner = b.emit(ops.TransposeOp(x.ssa, perm=first), x.lo, x.hi)[0]
    second = b.draw(st.permutations(range(len(x.shape))))
    if b.draw(st.booleans()):
        second = list(np.argsort(first))  # undoes the first
    out = b.emit(ops.TransposeOp(inner.ssa, perm=second), x.lo, x.hi)
    return out + ([inner] if b.draw(st.booleans()) else [])


def plant_reshapes(b: ProgramBuilder) -> list[Value]:
    x = any_value(b)
    middle = [int(np.prod(x.shape))] if b.draw(st.booleans()) else list(x.shape)
    inner = b.emit(ops.ReshapeOp(x.ssa, shape=middle), x.lo, x.hi)[0]
    last = list(x.shape) if b.draw(st.booleans()) else [1, *middle]
    return b.emit(ops.ReshapeOp(inner.ssa, shape=last), x.lo, x.hi)


def plant_casts(b: ProgramBuilder) -> list[Value]:
    x = any_value(b)
    names = ["f16", "f32", "f64", "i32", "i64"]
    middle, last = (
        from_numpy_dtype(np.dtype(DTYPE_NAMES[b.draw(st.sampled_from(names))])) for _ in range(2)
    )
    inner = b.emit(ops.CastOp(x.ssa, to=middle), x.lo, x.hi)[0]
    return b.emit(ops.CastOp(inner.ssa, to=last), x.lo, x.hi)


def plant_data_movement(b: ProgramBuilder) -> list[Value]:
    """A slice, pad, expand, concat, split or dropout that may be a no-op."""
    x = any_value(b, 1)
    dim = x.shape[0]
    kind = b.draw(st.sampled_from(["slice", "pad", "expand", "concat", "split", "dropout"]))
    if kind == "slice":
        start = b.draw(st.sampled_from([0, -dim, 0, 1]))
        end, step = (
            b.draw(st.sampled_from([dim, 2**62, dim, -1])),
            b.draw(st.sampled_from([1, 1, -1])),
        )
        if step < 0:
            start, end = -1, -(2**62)
        op = ops.SliceOp(x.ssa, starts=[start], ends=[end], axes=[0], steps=[step])
        if 0 in shape_of(op.output.type):
            op.drop_all_references()  # built only for its type: no user left behind
            return []
    elif kind == "pad":
        pads = [b.draw(st.integers(0, 1)) * (i == 0) for i in range(2 * len(x.shape))]
        op = ops.PadOp(x.ssa, pads=pads, mode=b.draw(st.sampled_from(["constant", "edge"])))
    elif kind == "expand":
        op = ops.ExpandOp(
            x.ssa, shape=[b.draw(st.integers(1, 2)) if d == 1 else d for d in x.shape]
        )
    elif kind == "concat":  # x alone, or beside empty pieces (and maybe -x)
        pieces = [x.ssa]
        if b.draw(st.booleans()):
            empty = ConstantOp(np.zeros((0, *x.shape[1:]), x.dtype))
            b.block.add_op(empty)  # not in the pool: no other op takes an empty operand
            pieces += [empty.output] * b.draw(st.integers(1, 2))
            if b.draw(st.booleans()):
                pieces.append(b.emit(ops.NegOp(x.ssa), -x.hi, -x.lo)[0].ssa)
            pieces = b.draw(st.permutations(pieces))
        op = ops.ConcatOp(*pieces, axis=0)
    elif kind == "split":  # one piece, or two (one may be empty) beside an empty one
        sizes = [dim]
        if b.draw(st.booleans()):
            cut = b.draw(st.integers(0, dim))
            sizes = b.draw(st.permutations([cut, dim - cut, 0]))
        op = ops.SplitOp(x.ssa, axis=0, sizes=sizes)
    else:
        if not x.is_float:
            return []
        training = b.draw(st.booleans())
        op = ops.DropoutOp(x.ssa, ratio=b.draw(st.sampled_from([0.0, 0.5])), is_training=training)
    values = b.emit(op, min(x.lo, 0.0) * 2, max(x.hi, 0.0) * 2)
    b.pool[:] = [v for v in b.pool if 0 not in v.shape]  # no other op takes an empty piece
    return [v for v in values if 0 not in v.shape]


def plant_gather(b: ProgramBuilder) -> list[Value]:
    """A gather of one constant index (scalar or of one element, maybe negative, sometimes
    out of range, which must stay a gather) along a random axis; or of two indices."""
    x = any_value(b, 1)
    axis = b.draw(st.integers(0, len(x.shape) - 1))
    dim = x.shape[axis]
    index = b.draw(st.integers(-dim - 1, dim))
    shape = b.draw(st.sampled_from([(), (1,), (1, 1), (2,)]))
    if not -dim <= index < dim:
        index = 0 if shape == (2,) else index
    indices = ConstantOp(np.full(shape, index, np.int64))
    b.block.add_op(indices)
    op = ops.GatherOp(x.ssa, indices.output, axis=axis)
    if not -dim <= index < dim:  # out of range: the reference refuses it, keep it unbuilt
        op.drop_all_references()
        indices.detach()
        indices.erase()
        return []
    return b.emit(op, x.lo, x.hi)


def plant_double_neg(b: ProgramBuilder) -> list[Value]:
    x = any_value(b)
    inner = b.emit(ops.NegOp(x.ssa), -x.hi, -x.lo)[0]
    return b.emit(ops.NegOp(inner.ssa), x.lo, x.hi)


PLANTERS = (  # binary identities have the most cases to cover: planted twice as often
    plant_binary,
    plant_binary,
    plant_transposes,
    plant_reshapes,
    plant_casts,
    plant_data_movement,
    plant_gather,
    plant_double_neg,
)
PLANTED = planted_programs(PLANTERS, ops=OPS, dtypes=DTYPES, max_plants=8, max_noise=2)
PROGRAMS = st.one_of(programs(ops=OPS, max_ops=10, dtypes=DTYPES), PLANTED, PLANTED)
"""A third fully random programs, two thirds with planted identities and near misses."""


@settings(max_examples=EXAMPLES)
@given(st.data())
def test_exact_on_random_programs_and_idempotent(data):
    module = data.draw(PROGRAMS)
    inputs = data.draw(inputs_for(module))
    # Exact rules: the outputs agree bit for bit (rtol = atol = 0; -0.0 == 0.0).
    simplified = assert_preserves_semantics("simplify", module, inputs, rtol=0.0, atol=0.0)
    again = simplified.clone()
    apply_pipeline("simplify", again)
    assert print_ir(again) == print_ir(simplified)


@pytest.mark.parametrize(("name", "source"), filecheck_cases("simplify"))
def test_filecheck_cases_preserve_semantics(name, source):
    assert_preserves_semantics("simplify", parse_case(source), rtol=0.0, atol=0.0)


def _add_module(x_shape: tuple, c: np.ndarray) -> ModuleOp:
    block = Block(arg_types=[tensor(x_shape, f32)])
    const = ConstantOp(c)
    add = AddOp(block.args[0], const)
    block.add_ops([const, add, func.ReturnOp(add)])
    types = ([tensor(x_shape, f32)], [add.output.type])
    return ModuleOp([func.FuncOp("main", types, Region(block))])


@pytest.mark.parametrize(
    ("x_shape", "c", "removed"),
    [
        ((2, 3), np.zeros((1, 3), np.float32), True),
        ((3,), np.zeros((2, 3), np.float32), False),  # broadcasts x to 2x3
        ((3,), np.float32([0, 0, 1e-30]), False),  # not all zeros
        ((3,), np.float32([0, -0.0, 0]), True),  # -0.0 is an identity of + as well
    ],
)
def test_add_zero_only_when_shape_and_value_allow(x_shape, c, removed):
    module = _add_module(x_shape, c)
    apply_pipeline("simplify", module)
    has_add = any(isinstance(op, AddOp) for op in module.walk())
    assert has_add != removed


def test_nan_and_inf_survive_the_identities():
    module = _add_module((4,), np.zeros(4, np.float32))
    x = np.float32([np.nan, np.inf, -np.inf, -0.0])
    assert_preserves_semantics("simplify", module, [x], rtol=0.0, atol=0.0)


def test_a_wrong_rule_is_caught(monkeypatch):
    """The random search can fail: a rule that drops `x * 2` is found and reported."""
    import passes.simplify

    monkeypatch.setitem(passes.simplify._IDENTITY, ops.MulOp, (2.0, True))

    expect_search_to_catch("simplify", planted_programs([plant_binary], ops=OPS, dtypes=DTYPES))


@settings(max_examples=EXAMPLES)
@given(st.data())
def test_splits_with_empty_pieces_keep_every_piece(data):
    """A split into random pieces, some empty, every piece a result: simplify splits off
    only the non-empty ones, in order, and each result keeps its value (bit for bit)."""
    rank = data.draw(st.integers(1, 3), label="rank")
    shape = data.draw(st.lists(st.integers(1, 4), min_size=rank, max_size=rank))
    axis = data.draw(st.integers(-rank, rank - 1), label="axis")
    dim = shape[axis]
    cuts = sorted(data.draw(st.lists(st.integers(0, dim), min_size=1, max_size=4)))
    sizes = [b - a for a, b in zip([0, *cuts], [*cuts, dim])]
    sizes = data.draw(st.permutations([*sizes, 0]))  # at least one empty piece
    block = Block(arg_types=[tensor(shape, f32)])
    split = ops.SplitOp(block.args[0], axis=axis, sizes=sizes)
    block.add_ops([split, func.ReturnOp(*split.outputs)])
    fn = func.FuncOp("main", ([block.args[0].type], [r.type for r in split.outputs]),
                     Region(block))  # fmt: skip
    module = ModuleOp([fn])
    x = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    simplified = assert_preserves_semantics("simplify", module, [x], rtol=0.0, atol=0.0)
    for op in simplified.walk():
        if isinstance(op, ops.SplitOp):
            assert all(0 not in shape_of(r.type) for r in op.outputs), print_ir(simplified)
