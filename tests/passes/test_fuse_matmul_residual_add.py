"""`fuse-matmul-residual-add` on random programs with planted matmul chains.

Outputs stay equal (to f32 rounding), no high-level op is duplicated, and the pass's
postcondition holds: no add is left that it should have taken.
"""

from fusion_cases import EXAMPLES, check_fusion
from fusion_planters import TOLERANCE, plant_matmul_chain, programs
from hypothesis import given, settings
from hypothesis import strategies as st

from gedialects.ge import ops as ge
from gedialects.kernel import ops as k
from passes.epilogues import _computed_before
from passes.matching import only_user

PROGRAMS = programs(plant_matmul_chain)
PIPELINE = "fuse-matmul-scale,fuse-matmul-add-gelu,fuse-matmul-residual-add"
"""The residual joins a matmul kernel whose scale, bias and activation are already fused."""


def _missed(add: ge.AddOp) -> bool:
    """Whether `add` adds a same-typed value computed before the product (not in a parallel
    branch) to a private biased or activated product."""
    for produced, other in ((add.lhs, add.rhs), (add.rhs, add.lhs)):
        mm = produced.owner
        if (
            isinstance(mm, k.MatMulKernelOp)
            and mm.residual is None
            and (mm.bias is not None or mm.activation is not None)
            and other.type == produced.type == add.output.type
            and only_user(produced) is add
            and add.lhs is not add.rhs
            and _computed_before(other, mm.lhs, mm.rhs)
        ):
            return True
    return False


@settings(max_examples=EXAMPLES)
@given(st.data())
def test_fuse_matmul_residual_add_preserves_semantics(data):
    after = check_fusion(PIPELINE, data, PROGRAMS, "kernel.matmul", **TOLERANCE)
    missed = [op for op in after.walk() if isinstance(op, ge.AddOp) and _missed(op)]
    assert not missed, f"an add the pass should have fused is left: {missed[0]}"
