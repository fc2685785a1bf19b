"""`fuse-norm-activation` on random programs with planted group norms and activations.

Outputs stay equal (to f32 rounding) and no high-level op is duplicated: an activation
whose group norm has another reader stays apart.
"""

from fusion_cases import EXAMPLES, check_fusion
from fusion_planters import TOLERANCE, plant_group_norm_activation, programs
from hypothesis import given, settings
from hypothesis import strategies as st

PROGRAMS = programs(plant_group_norm_activation)


@settings(max_examples=EXAMPLES)
@given(st.data())
def test_fuse_norm_activation_preserves_semantics(data):
    check_fusion("fuse-norm-activation", data, PROGRAMS, "kernel.group_norm", **TOLERANCE)
