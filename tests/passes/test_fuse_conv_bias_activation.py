"""`fuse-conv-bias-activation` on random programs with planted conv chains.

Outputs stay equal (to f32 rounding) and no high-level op is duplicated; a transposed conv
and its activation likewise.
"""

from fusion_cases import EXAMPLES, check_fusion
from fusion_planters import TOLERANCE, plant_conv_chain, plant_conv_transpose_chain, programs
from hypothesis import given, settings
from hypothesis import strategies as st

PROGRAMS = programs(plant_conv_chain)
TRANSPOSED = programs(plant_conv_transpose_chain)


@settings(max_examples=EXAMPLES)
@given(st.data())
def test_fuse_conv_bias_activation_preserves_semantics(data):
    check_fusion("fuse-conv-bias-activation", data, PROGRAMS, "kernel.conv2d", **TOLERANCE)


@settings(max_examples=EXAMPLES)
@given(st.data())
def test_a_transposed_conv_takes_its_activation(data):
    check_fusion(
        "fuse-conv-bias-activation", data, TRANSPOSED, "kernel.conv_transpose2d", **TOLERANCE
    )
