"""`fuse-matmul-transpose` on random programs with planted transposed matmul results.

Outputs stay equal (to f32 rounding), no high-level op is duplicated, and the pass's
postcondition holds: no transpose is left that it should have taken.
"""

from fusion_cases import EXAMPLES, check_fusion
from fusion_planters import TOLERANCE, plant_transposed_product, programs
from hypothesis import event, given, settings
from hypothesis import strategies as st

from gedialects.ge import ops as ge
from gedialects.ge.types import shape_of
from gedialects.kernel import ops as k
from passes.fold_batch_norm import private_weight
from passes.fuse_matmul_scale import swaps_last_two
from passes.matching import only_user

PROGRAMS = programs(plant_transposed_product)
PIPELINE = (
    "fuse-matmul-scale,fuse-matmul-add-gelu,fuse-matmul-multiply,fuse-matmul-transpose,"
    "fuse-matmul-residual-add"
)
"""After the bias and activation joined the matmul; a skip connection after the view
then joins it too."""


def _missed(op: ge.TransposeOp) -> bool:
    """Whether `op` swaps the last two dims of a private product of a private 2-D constant
    with no residual or multiplier and a bias along the columns only."""
    product = op.input.owner
    if not swaps_last_two(op):
        return False
    if not isinstance(product, ge.MatMulOp | k.MatMulKernelOp) or only_user(op.input) is not op:
        return False
    if getattr(product, "residual", None) is not None or getattr(product, "multiplier", None):
        return False
    if isinstance(product, k.MatMulKernelOp) and product.get_flag("transpose_a"):
        return False
    if len(shape_of(product.lhs.type)) < 2:
        return False
    bias = getattr(product, "bias", None)
    if bias is not None and any(d != 1 for d in shape_of(bias.type)[:-1]):
        return False
    weight = private_weight(product.rhs, product)
    return weight is not None and weight.ndim == 2


def _missed_view(op: ge.TransposeOp) -> bool:
    """Whether `op` moves the last axis of a view that splits a private matmul result's
    rows to right after the lead axes, the split factors kept in order."""
    view = op.input.owner
    if not isinstance(view, ge.ReshapeOp) or only_user(op.input) is not op:
        return False
    product = view.input
    if not isinstance(product.owner, ge.MatMulOp | k.MatMulKernelOp):
        return False
    if only_user(product) is not view:
        return False
    rows, split = shape_of(product.type), shape_of(view.output.type)
    lead, last = len(rows) - 2, len(split) - 1
    if len(split) <= len(rows) or split[:lead] != rows[:lead] or split[-1] != rows[-1]:
        return False
    return op.ints("perm") == (*range(lead), last, *range(lead, last))


@settings(max_examples=EXAMPLES)
@given(st.data())
def test_fuse_matmul_transpose_preserves_semantics(data):
    after = check_fusion(PIPELINE, data, PROGRAMS, "kernel.matmul", **TOLERANCE)
    taken = any(
        isinstance(op, k.MatMulKernelOp) and "ge.transpose" in op.fused_names[1:]
        for op in after.walk()
    )
    event(f"transpose taken: {taken}")
    missed = [
        op
        for op in after.walk()
        if isinstance(op, ge.TransposeOp) and (_missed(op) or _missed_view(op))
    ]
    assert not missed, f"a transpose the pass should have taken is left: {missed[0]}"
