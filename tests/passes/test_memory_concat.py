"""Concats whose producers write into their result (`memory_rules.placed_offsets`) on
random programs: branches of elementwise kernels (some ending in views, some read twice,
some returned) concatenated along a random axis of a batch of one or two, the result read
again or returned. The plan verifies, the poisoned arena run equals the reference, every
placed operand lies in its concat's bytes at its row offset, and the schedule orders the
concat's readers after every producer."""

from __future__ import annotations

import numpy as np
from hypothesis import event, given
from hypothesis import strategies as st
from memory_programs import concat_programs, main

from ge.testing import run
from ge.testing.equivalence import assert_preserves_semantics
from passes.concat_in_place import worth_copying
from passes.memory.arena_run import run_in_arena
from passes.memory.assign import plan_function
from passes.memory.memory_rules import placed_offsets, unplaced_operands
from passes.schedule_streams import dependencies


@given(concat_programs(), st.integers(0, 2**16))
def test_placed_concats_plan_and_run_in_the_arena(module, seed: int) -> None:
    fn = main(module)
    plan = plan_function(fn)
    rng = np.random.default_rng(seed)
    types = fn.function_type.inputs
    inputs = [rng.standard_normal(t.get_shape()).astype(np.float32) for t in types]
    for want, got in zip(run(module, inputs), run_in_arena(module, inputs, memory_plan=plan)):
        np.testing.assert_array_equal(got, want)
    kernels, preds = dependencies(fn)
    placed = [op for op in fn.body.block.ops if placed_offsets(op) is not None]
    event(f"placed concats: {len(placed)}")
    for op in placed:
        assert op not in kernels
        base = plan.offset_of(op.results[0])
        for value, offset in zip(op.operands, placed_offsets(op)):
            assert plan.offset_of(value) == base + offset
        for use in op.results[0].uses:  # a reader waits for every producer
            if use.operation in kernels:
                reader = kernels.index(use.operation)
                for value in op.operands:
                    assert kernels.index(value.owner) in preds[reader]


@given(concat_programs(), st.integers(0, 2**16))
def test_copy_concat_operands_places_every_concat_it_can(module, seed: int) -> None:
    """`copy-concat-operands` keeps the outputs, and afterwards a contiguous concat whose
    placeable operands outweigh the rest is placed (the rest copied); its plan still runs
    in the poisoned arena."""
    fn = main(module)
    rng = np.random.default_rng(seed)
    types = fn.function_type.inputs
    inputs = [rng.standard_normal(t.get_shape()).astype(np.float32) for t in types]
    kernels = assert_preserves_semantics("convert-ge-to-kernel", module, inputs)
    pipeline = "convert-ge-to-kernel,copy-concat-operands"
    after = assert_preserves_semantics(pipeline, module, inputs)
    for before_op, op in zip(_concats(kernels), _concats(after), strict=True):
        unplaced = unplaced_operands(before_op)
        if unplaced is not None and worth_copying(before_op, unplaced):
            assert placed_offsets(op) is not None, op
    event(f"placed: {sum(1 for op in _concats(after) if placed_offsets(op) is not None)}")
    plan = plan_function(main(after))
    for want, got in zip(run(after, inputs), run_in_arena(after, inputs, memory_plan=plan)):
        np.testing.assert_array_equal(got, want)


def _concats(module):  # noqa: ANN001, ANN202
    return [op for op in module.walk() if op.name == "kernel.concat"]
