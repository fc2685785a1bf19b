"""`fuse-matmul-add-gelu` on random programs with planted matmul chains.

Outputs stay equal (to f32 rounding) and no high-level op is duplicated.
"""

from fusion_cases import EXAMPLES, check_fusion
from fusion_planters import TOLERANCE, plant_matmul_chain, programs
from hypothesis import given, settings
from hypothesis import strategies as st

PROGRAMS = programs(plant_matmul_chain)


@settings(max_examples=EXAMPLES)
@given(st.data())
def test_fuse_matmul_add_gelu_preserves_semantics(data):
    check_fusion("fuse-matmul-add-gelu", data, PROGRAMS, "kernel.matmul", **TOLERANCE)
