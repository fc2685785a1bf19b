"""The batch-axis analysis accepts per-sample graphs and names the op that mixes samples."""

import numpy as np
import pytest
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, f32, i64
from xdsl.ir import Block, Region

from ge.testing import programs_with_inputs, random_inputs, run
from gedialects.ge import (
    AddOp,
    ConcatOp,
    ConstantOp,
    ExpandOp,
    GatherOp,
    GlobalAvgPoolOp,
    LayerNormOp,
    LRNOp,
    MatMulOp,
    PadOp,
    ReshapeOp,
    RMSNormOp,
    ScatterOp,
    SliceOp,
    SoftmaxOp,
    SplitOp,
    TransposeOp,
)
from gedialects.ge.types import tensor
from passes.batch_axis import (
    Batch,
    BatchMixing,
    batch_placements,
    check_batch_independent,
    output_batches,
)


def _fn(shape, build, *more):
    """A function of inputs `shape` (f32) and `more` (types) returning `build(*args)`'s last."""
    block = Block(arg_types=[tensor(shape, f32), *more])
    ops = build(*block.args)
    block.add_ops([*ops, func.ReturnOp(ops[-1])])
    inputs = tuple(a.type for a in block.args)
    fn = func.FuncOp("main", (inputs, (ops[-1].results[0].type,)), Region(block))
    ModuleOp([fn]).verify()
    return fn


def test_per_sample_chain_keeps_axis_through_transpose_and_reshape():
    def build(x):
        t = TransposeOp(x, perm=[1, 0, 2])  # batch moves to axis 1
        r = ReshapeOp(t, shape=[3, 2, 2, 2])  # 3 x (2) x 4 -> 3 x 2 x 2 x 2, batch stays at 1
        return [t, r, SoftmaxOp(r, axis=-1)]

    assert check_batch_independent(_fn([2, 3, 4], build)) == [1]


def test_matmul_with_weights_is_per_sample():
    def build(x):
        w = ConstantOp(np.ones((4, 5), np.float32))
        return [w, MatMulOp(x, w)]

    assert check_batch_independent(_fn([2, 4], build)) == [0]


@pytest.mark.parametrize(
    "shape, build, reason",
    [
        ([2, 4], lambda x: [SoftmaxOp(x, axis=0)], "normalizes across the batch"),
        ([6, 5], lambda x: [ReshapeOp(x, shape=[2, 15])], "splits the batch axis"),
        ([2, 4], lambda x: [PadOp(x, pads=[-1, 0, 1, 0])], "pads the batch axis"),
        ([2, 4], lambda x: [SplitOp(x, axis=0, sizes=[2])], "splits along the batch axis"),
        (
            [2, 4, 3],
            lambda x: [LayerNormOp(x, ConstantOp(np.ones((2, 4, 3), np.float32)), axis=0)],
            "normalizes across the batch",
        ),
    ],
)
def test_mixing_ops_are_named(shape, build, reason):
    with pytest.raises(BatchMixing, match=reason):
        check_batch_independent(_fn(shape, lambda x: _flatten(build(x), x)))


def test_matmul_contracting_the_batch_is_refused():
    def build(x):
        t = TransposeOp(x, perm=[1, 0])
        return [t, MatMulOp(t, x)]

    with pytest.raises(BatchMixing, match="contracts over the batch"):
        check_batch_independent(_fn([2, 4], build))


def test_global_pool_needs_batch_on_axis_zero():
    def build(x):
        t = TransposeOp(x, perm=[1, 0, 2, 3])
        return [t, GlobalAvgPoolOp(t)]

    with pytest.raises(BatchMixing, match="axis 0"):
        check_batch_independent(_fn([2, 3, 4, 4], build))


def _flatten(ops, x):
    out = []
    for op in ops:
        for operand in op.operands:
            owner = getattr(operand, "owner", None)
            if isinstance(owner, ConstantOp) and owner not in out:
                out.append(owner)
        out.append(op)
    return out


def test_embedding_lookup_of_batched_token_ids_is_per_sample():
    """Shared rows at per-sample indices (every NLP model's first op): the output carries
    the batch where the indices put it; padding samples' index 0 reads a real row."""

    def build(x, ids):
        table = ConstantOp(np.ones((100, 16), np.float32))
        return [table, GatherOp(table, ids, axis=0)]

    fn = _fn([2, 8, 16], lambda x, ids: build(x, ids), tensor([2, 8], i64))
    assert check_batch_independent(fn) == [0]


def test_gather_of_batched_data_at_batched_indices_is_refused():
    def build(x, ids):
        return [GatherOp(x, ids, axis=1)]

    fn = _fn([2, 8, 16], build, tensor([2, 3], i64))
    with pytest.raises(BatchMixing, match="batched data with batch-dependent indices"):
        check_batch_independent(fn)


def _scatter_fn(update_shape, axis, updates_batched=True, idx_shape=(3,)):
    def build(x, *rest):
        idx = ConstantOp(np.array([0, 2, 1][: idx_shape[0]], np.int64))
        if updates_batched:
            return [idx, ScatterOp(x, idx, rest[0], axis=axis)]
        upd = ConstantOp(np.ones(update_shape, np.float32))
        return [idx, upd, ScatterOp(x, idx, upd, axis=axis)]

    more = [tensor(update_shape, f32)] if updates_batched else []
    return _fn([2, 4, 5], build, *more)


def test_scatter_of_per_sample_rows_keeps_the_batch():
    assert check_batch_independent(_scatter_fn([2, 3, 5], axis=1)) == [0]


@pytest.mark.parametrize(
    "fn, reason",
    [
        (lambda: _scatter_fn([3, 4, 5], axis=0), "scatters along the batch axis"),
        (lambda: _scatter_fn([2, 3, 5], 1, updates_batched=False), "batch lies on another"),
    ],
)
def test_scatters_that_mix_samples_are_refused(fn, reason):
    with pytest.raises(BatchMixing, match=reason):
        check_batch_independent(fn())


def test_rms_norm_keeps_the_batch_unless_it_normalizes_it():
    scale = lambda: ConstantOp(np.ones((16,), np.float32))  # noqa: E731
    per_sample = _fn([2, 16], lambda x: [s := scale(), RMSNormOp(x, s, axis=-1)])
    assert check_batch_independent(per_sample) == [0]
    whole = _fn([2, 16], lambda x: [s := scale(), RMSNormOp(x, s, axis=0)])
    with pytest.raises(BatchMixing, match="normalizes across the batch"):
        check_batch_independent(whole)


def test_rows_flattened_for_a_gemm_fold_the_batch_and_unfold_it():
    """GPT-2's Conv1D: (N, S, E) -> (N * S, E) rows, a matmul, and back to (N, S, F)."""

    def build(x):
        w = ConstantOp(np.ones((4, 6), np.float32))
        rows = ReshapeOp(x, shape=[6, 4])
        return [w, rows, y := MatMulOp(rows, w), ReshapeOp(y, shape=[2, 3, 6])]

    fn = _fn([2, 3, 4], build)
    places = batch_placements(fn)
    ops = list(fn.body.block.ops)
    assert places[ops[1].results[0]] == Batch(0, inner=3)
    assert places[ops[3].results[0]] == Batch(0)


def test_batch_folded_under_the_sequence_and_over_the_heads():
    """torch's MultiheadAttention, sequence first: (S, N, E) -> (S, N * H, d) -> (S * N, E)."""

    def build(x):
        seq_first = TransposeOp(x, perm=[1, 0, 2])
        heads = ReshapeOp(seq_first, shape=[3, 4, 2])  # S=3, N=2, H=2, d=2
        return [seq_first, heads, ReshapeOp(heads, shape=[6, 4])]

    fn = _fn([2, 3, 4], build)
    places = batch_placements(fn)
    heads, rows = (op.results[0] for op in list(fn.body.block.ops)[1:3])
    assert places[heads] == Batch(1, inner=2)
    assert places[rows] == Batch(0, outer=3)


def test_batch_placement_of_an_input_with_the_batch_on_axis_one():
    fn = _fn([3, 2, 4], lambda x: [TransposeOp(x, perm=[1, 0, 2])])
    assert output_batches(fn) == [Batch(1)]


@pytest.mark.parametrize(
    ("values", "accepted"),
    [
        (np.tile(np.arange(3, dtype=np.float32), (2, 1)), True),  # one row per sample, alike
        (np.arange(6, dtype=np.float32).reshape(2, 3), False),  # each sample its own row
    ],
)
def test_a_batch_sized_constant_is_per_sample_only_if_its_rows_are_alike(values, accepted):
    """An exporter's Expand of position ids to (N, S) folds into an (N, S) constant."""

    def build(x):
        return [c := ConstantOp(values), AddOp(x, c)]

    _accepted_or_own_value(_fn([2, 3], build), [0] if accepted else None)


def test_gear_outputs_slice_the_samples_out_of_a_folded_axis():
    from ge.gears import slice_batch

    rows = np.arange(3 * 4 * 2).reshape(3 * 4, 2)  # outer 3 x gear 4 x inner 1 rows
    (got,) = slice_batch([rows], [Batch(0, outer=3)], 2)
    np.testing.assert_array_equal(got, rows.reshape(3, 4, 2)[:, :2].reshape(6, 2))


def _sample(output: np.ndarray, place: Batch, batch: int, i: int) -> np.ndarray:
    axis, inner, outer = place
    shape = output.shape
    split = output.reshape(*shape[:axis], outer, batch, inner, *shape[axis + 1 :])
    return np.take(split, i, axis=axis + 1)


@settings(max_examples=3 * settings.default.max_examples)  # most draws are refused or batch 1
@given(case=programs_with_inputs(max_ops=8, max_inputs=2), seed=st.integers(0, 2**16))
def test_what_the_analysis_accepts_is_per_sample(case, seed):
    """Soundness on random programs: where the analysis accepts a program (batch on axis 0
    of its first input), each output's rows of a sample (and any output without the batch,
    whole) stay the same when the other samples of that input change."""
    module, inputs = case
    fn = module.body.block.first_op
    assume(inputs and inputs[0].ndim and inputs[0].shape[0] >= 2)
    try:
        places = output_batches(fn, batched_inputs=[0])
    except BatchMixing as mixing:
        event(f"refused: {mixing.reason}")
        return
    event(f"accepted, outputs with the batch: {sum(p is not None for p in places)}")
    batch = inputs[0].shape[0]
    keep = seed % batch
    others = list(inputs)
    replaced = random_inputs(module, seed + 1)[0]
    replaced[keep] = inputs[0][keep]
    others[0] = replaced
    for got, base, place in zip(run(module, others), run(module, inputs), places, strict=True):
        if place is None:
            np.testing.assert_array_equal(got, base)
        else:
            np.testing.assert_array_equal(
                _sample(got, place, batch, keep), _sample(base, place, batch, keep)
            )


def test_lrn_is_refused_when_the_batch_lies_on_its_channels():
    """ge.lrn is a UnaryOp but sums over channels (hypothesis found it taken as elementwise)."""

    def build(x):
        one = ConstantOp(np.ones((1, 1, 1, 1), np.float32))
        return [one, y := AddOp(x, one), LRNOp(y, size=3)]  # (2, 1, 2) -> (1, 2, 1, 2)

    with pytest.raises(BatchMixing, match="needs the batch on axis 0"):
        check_batch_independent(_fn([2, 1, 2], build))


@settings(max_examples=3 * settings.default.max_examples)
@given(case=programs_with_inputs(max_ops=8, max_inputs=1))
def test_a_gear_pads_and_slices_back_what_the_program_computes(case):
    """What shape gears do with an accepted program (`ge.gears`): respecialized to one more
    sample, run on the input padded with a zero sample, sliced back, it equals the program."""
    from ge.gears import pad_batch, respecialize_batch, slice_batch

    module, inputs = case
    fn = module.body.block.first_op
    assume(len(inputs) == 1 and inputs[0].ndim)  # batch 1 too: the placements guessed there
    try:
        places = output_batches(fn)
    except BatchMixing:
        return
    batch = inputs[0].shape[0]
    geared = respecialize_batch(module, fn, batch + 1)
    got = slice_batch(run(geared, [pad_batch(inputs[0], batch + 1)]), places, batch)
    for value, expected in zip(got, run(module, inputs), strict=True):
        np.testing.assert_allclose(value, expected, rtol=1e-5, atol=1e-6)


def test_a_class_token_joined_to_every_sample_is_expanded_for_a_gear():
    """ViT: a (1, E) token expanded to the batch, a constant of alike rows, joined to each
    sample's patches; the graph for another batch expands its one row again."""
    from ge.gears import respecialize_batch

    token = np.tile(np.array([[7.0, 8.0]], np.float32), (2, 1))

    def build(x):
        return [t := ConstantOp(token), ConcatOp(t, x, axis=1)]

    fn = _fn([2, 2], build)
    assert check_batch_independent(fn) == [0]
    x = np.arange(6, dtype=np.float32).reshape(3, 2)
    (got,) = run(respecialize_batch(fn.parent_op(), fn, 3), [x])
    np.testing.assert_array_equal(got, np.concatenate([np.tile(token[:1], (3, 1)), x], 1))
    own = token * np.float32([[1], [2]])  # a row per sample
    with pytest.raises(BatchMixing, match="joins a value of its own"):
        check_batch_independent(
            _fn([2, 2], lambda x: [t := ConstantOp(own), ConcatOp(t, x, axis=1)])
        )


@pytest.mark.parametrize(("rows_alike", "accepted"), [(True, True), (False, False)])
def test_a_recurrence_state_of_alike_rows_passes_through_matmul_and_reshape(rows_alike, accepted):
    """A GRU's zero state h0 (N, H) @ W, reshaped to (1, N, 3H) and added to the input's
    projection: rows alike stay alike through the matmul, the reshape and a slice."""
    state = np.zeros((2, 4), np.float32) if rows_alike else np.eye(2, 4, dtype=np.float32)

    def build(x):
        h0, w = ConstantOp(state), ConstantOp(np.ones((4, 3), np.float32))
        hw = MatMulOp(h0, w)
        gates = ReshapeOp(hw, shape=[1, 2, 3])
        part = SliceOp(gates, starts=[0], ends=[2], axes=[2], steps=[1])
        xs = ReshapeOp(x, shape=[1, 2, 2])
        return [h0, w, hw, gates, part, xs, AddOp(xs, part)]

    _accepted_or_own_value(_fn([2, 2], build), [1] if accepted else None)


def _accepted_or_own_value(fn, axes):  # noqa: ANN001, ANN202
    """`fn`'s outputs carry the batch on `axes`, or (None) it is refused for broadcasting a
    value of its own along the batch axis."""
    if axes is not None:
        assert check_batch_independent(fn) == axes
    else:
        with pytest.raises(BatchMixing, match="broadcasts a value of its own"):
            check_batch_independent(fn)


def test_a_batch_of_one_broadcast_to_more_rows_is_refused():
    """At batch 1 an Expand of (1, 3) to (2, 3) would make each sample two (hypothesis)."""
    fn = _fn([1, 3], lambda x: [ExpandOp(x, shape=[2, 3])])
    with pytest.raises(BatchMixing, match="broadcasts the batch axis itself"):
        check_batch_independent(fn)


def test_a_constant_joined_at_batch_one_grows_with_the_gear():
    """At batch 1 a (1, 1) constant joined to x on axis 1 spans the batch axis too: a gear of
    2 expands it to two rows (the gear property found it kept at one)."""
    from ge.gears import respecialize_batch

    fn = _fn(
        [1, 1],
        lambda x: [c := ConstantOp(np.full((1, 1), 1.5, np.float32)), ConcatOp(x, c, axis=1)],
    )
    assert check_batch_independent(fn) == [0]
    (got,) = run(respecialize_batch(fn.parent_op(), fn, 2), [np.array([[2.0], [3.0]], np.float32)])
    np.testing.assert_array_equal(got, [[2.0, 1.5], [3.0, 1.5]])
