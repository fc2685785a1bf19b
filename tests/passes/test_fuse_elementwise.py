"""`fuse-elementwise` on random programs with planted conv / matmul chains in elementwise noise.

Outputs stay equal (to f32 rounding) and no high-level op is duplicated.
"""

from fusion_cases import EXAMPLES, check_fusion
from fusion_planters import TOLERANCE, plant_conv_chain, plant_matmul_chain, programs
from hypothesis import given, settings
from hypothesis import strategies as st

PROGRAMS = programs(plant_conv_chain, plant_matmul_chain)


@settings(max_examples=EXAMPLES)
@given(st.data())
def test_fuse_elementwise_preserves_semantics(data):
    check_fusion("fuse-elementwise", data, PROGRAMS, "kernel.elementwise", **TOLERANCE)
