"""`fuse-attention` on random programs with planted attention blocks.

Outputs stay equal (to f32 rounding) and no high-level op is duplicated.
"""

from fusion_cases import EXAMPLES, check_fusion
from fusion_planters import TOLERANCE, plant_attention, plant_softmax, programs
from hypothesis import given, settings
from hypothesis import strategies as st
from mlir_cases import parse_case

from ge.pipeline import apply_pipeline
from ge.testing.equivalence import dangling_uses

PROGRAMS = programs(plant_attention, plant_softmax)


@settings(max_examples=EXAMPLES)
@given(st.data())
def test_fuse_attention_preserves_semantics(data):
    check_fusion("fuse-attention", data, PROGRAMS, "kernel.attention", **TOLERANCE)


MASKED_ARGUMENT = """
func.func @main(%e: tensor<4x4xf32>, %mask: tensor<4x4xi1>, %v: tensor<4x3xf32>)
    -> tensor<4x3xf32> {
  %n = ge.logical_not %mask : (tensor<4x4xi1>) -> tensor<4x4xi1>
  %c = ge.constant dense<"0x000080FF"> : tensor<f32>  // -inf
  %w = ge.where %n, %c, %e : (tensor<4x4xi1>, tensor<f32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  %s = ge.softmax %w {axis = -1 : i64} : (tensor<4x4xf32>) -> tensor<4x4xf32>
  %0 = ge.matmul %s, %v : (tensor<4x4xf32>, tensor<4x3xf32>) -> tensor<4x3xf32>
  func.return %0 : tensor<4x3xf32>
}
"""


def test_a_failed_match_leaves_no_mask_behind():
    """A dense GAT's softmax(e.masked_fill(~adjacency, -inf)) @ v: the select reads as an
    additive mask, built as a `ge.where` of the condition, but the scores are an argument,
    not a matmul, so there is no attention. The built where was left using the condition,
    and the next pass's walker failed on it ("insertion point must have a parent block")."""
    module = parse_case(MASKED_ARGUMENT)
    apply_pipeline(module, "fuse-attention")
    assert not dangling_uses(module)
    apply_pipeline(module, "ge-optimize")  # fuse-elementwise visits the condition's users
    assert not any(op.name == "kernel.attention" for op in module.walk())
