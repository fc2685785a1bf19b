"""`combine-parallel-matmuls` on random programs with planted sibling matmuls: the outputs
stay equal, no high-level op is duplicated (the one op the pass adds is its `ge.split`), and
its postcondition holds: no two matmuls it could combine are left."""

from fusion_cases import EXAMPLES, high_level_ops
from fusion_planters import TOLERANCE, plant_parallel_matmuls, programs
from hypothesis import event, given, settings
from hypothesis import strategies as st
from xdsl.dialects.builtin import ModuleOp

from ge.testing.equivalence import assert_preserves_semantics
from ge.testing.strategies import inputs_for
from passes.combine_parallel_matmuls import _groups

PROGRAMS = programs(plant_parallel_matmuls)
PIPELINE = "fuse-matmul-scale,fuse-matmul-add-gelu,convert-ge-to-kernel"


def _blocks(module: ModuleOp):  # noqa: ANN202
    return [block for op in module.walk() for region in op.regions for block in region.blocks]


@settings(max_examples=EXAMPLES)
@given(st.data())
def test_combine_parallel_matmuls_preserves_semantics(data):
    module = data.draw(PROGRAMS)
    inputs = data.draw(inputs_for(module))
    before = assert_preserves_semantics(PIPELINE, module, inputs, **TOLERANCE)
    after = assert_preserves_semantics(
        f"{PIPELINE},combine-parallel-matmuls", module, inputs, **TOLERANCE
    )
    grown = high_level_ops(after) - high_level_ops(before)
    assert set(grown) <= {"ge.split"}, f"combine-parallel-matmuls duplicated {dict(grown)}"
    event(f"splits: {grown.get('ge.split', 0)}")
    left = [group for block in _blocks(after) for group in _groups(block)]
    assert not left, f"sibling matmuls left apart: {[[op for op, *_ in g] for g in left]}"
