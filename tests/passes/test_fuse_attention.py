"""`fuse-attention` on random programs with planted attention blocks.

Outputs stay equal (to f32 rounding) and no high-level op is duplicated.
"""

from fusion_cases import EXAMPLES, check_fusion
from fusion_planters import TOLERANCE, plant_attention, plant_softmax, programs
from hypothesis import given, settings
from hypothesis import strategies as st

PROGRAMS = programs(plant_attention, plant_softmax)


@settings(max_examples=EXAMPLES)
@given(st.data())
def test_fuse_attention_preserves_semantics(data):
    check_fusion("fuse-attention", data, PROGRAMS, "kernel.attention", **TOLERANCE)
