"""`fuse-conv-residual-add` on random programs with planted conv chains.

Outputs stay equal (to f32 rounding) and no high-level op is duplicated.
"""

from fusion_cases import EXAMPLES, check_fusion
from fusion_planters import TOLERANCE, plant_conv_chain, programs
from hypothesis import given, settings
from hypothesis import strategies as st

PROGRAMS = programs(plant_conv_chain)
PIPELINE = "fuse-conv-bn-relu,fuse-conv-bias-activation,fuse-conv-residual-add"
"""The residual joins a conv kernel whose BN / bias / activation are already fused."""


@settings(max_examples=EXAMPLES)
@given(st.data())
def test_fuse_conv_residual_add_preserves_semantics(data):
    check_fusion(PIPELINE, data, PROGRAMS, "kernel.conv2d", **TOLERANCE)
