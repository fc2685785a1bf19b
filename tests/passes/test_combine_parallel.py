"""`combine-parallel-matmuls` / `combine-parallel-convs` on random programs with planted
sibling kernels: the outputs stay equal, no high-level op is duplicated (the one op the
passes add is their `ge.split`), and the postcondition holds: no two kernels the pass could
combine are left."""

import pytest
from fusion_cases import EXAMPLES, high_level_ops
from fusion_planters import TOLERANCE, plant_parallel_convs, plant_parallel_matmuls, programs
from hypothesis import event, given, settings
from hypothesis import strategies as st

from ge.testing.equivalence import assert_preserves_semantics
from ge.testing.strategies import inputs_for
from passes.combine_parallel import Convs, MatMuls, _groups, blocks

CASES = {
    "combine-parallel-matmuls": (programs(plant_parallel_matmuls), MatMuls()),
    "combine-parallel-convs": (programs(plant_parallel_convs), Convs()),
}
PIPELINE = ",".join([
    "fuse-matmul-scale", "fuse-conv-bn-relu", "fuse-conv-bias-activation",
    "fuse-matmul-add-gelu", "convert-ge-to-kernel",
])  # fmt: skip


@pytest.mark.parametrize("name", list(CASES))
@settings(max_examples=EXAMPLES)
@given(data=st.data())
def test_combine_parallel_preserves_semantics(name: str, data) -> None:  # noqa: ANN001
    planted, kind = CASES[name]
    module = data.draw(planted)
    inputs = data.draw(inputs_for(module))
    before = assert_preserves_semantics(PIPELINE, module, inputs, **TOLERANCE)
    after = assert_preserves_semantics(f"{PIPELINE},{name}", module, inputs, **TOLERANCE)
    grown = high_level_ops(after) - high_level_ops(before)
    assert set(grown) <= {"ge.split"}, f"{name} duplicated {dict(grown)}"
    event(f"splits: {grown.get('ge.split', 0)}")
    left = [group for block in blocks(after) for group in _groups(block, kind)]
    assert not left, f"siblings left apart: {[[s.op for s in g] for g in left]}"
