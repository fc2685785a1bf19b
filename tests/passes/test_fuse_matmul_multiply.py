"""`fuse-matmul-multiply` on random programs with planted gated linear units and scaled
matmuls.

Outputs stay equal (to f32 rounding), no high-level op is duplicated, and the pass's
postcondition holds: no mul is left that it should have taken.
"""

import math

from fusion_cases import EXAMPLES, check_fusion
from fusion_planters import TOLERANCE, plant_gated_matmul, programs
from hypothesis import event, given, settings
from hypothesis import strategies as st

from gedialects.ge import ops as ge
from gedialects.ge.types import shape_of
from gedialects.kernel import ops as k
from passes.fold_batch_norm import private_weight
from passes.fuse_matmul_multiply import _column_piece, _source, worth_waiting
from passes.matching import only_user

PROGRAMS = programs(plant_gated_matmul)
PIPELINE = "fuse-matmul-add-gelu,fuse-matmul-multiply,fuse-matmul-residual-add"
"""The product joins a matmul kernel whose bias and activation are already fused, and a
residual after it still joins."""


def _broadcasts_into(small, big) -> bool:
    a, b = shape_of(small), shape_of(big)
    return len(a) <= len(b) and all(x in (1, y) for x, y in zip(reversed(a), reversed(b)))


def _missed(mul: ge.MulOp) -> bool:
    """Whether `mul` multiplies a private product that has no multiplier or residual yet by
    a value that broadcasts into it."""
    for produced, other in ((mul.lhs, mul.rhs), (mul.rhs, mul.lhs)):
        mm = produced.owner
        sibling = isinstance(other.owner, ge.MatMulOp | k.MatMulKernelOp)
        if sibling and isinstance(mm, ge.MatMulOp | k.MatMulKernelOp):
            if not worth_waiting(mul.output, mm.rhs):
                continue  # a decoding step's GEMMs run side by side instead
        if (
            isinstance(mm, ge.MatMulOp | k.MatMulKernelOp)
            and getattr(mm, "multiplier", None) is None
            and getattr(mm, "residual", None) is None
            and produced.type == mul.output.type
            and _broadcasts_into(other.type, produced.type)
            and only_user(produced) is mul
            and mul.lhs is not mul.rhs
        ):
            return True
    return False


def _missed_split(mul: ge.MulOp) -> bool:
    """Whether `mul` multiplies two private halves (slices or a split of the last axis, an
    activation on either) of a plain projection by a private constant weight that nothing
    else reads."""
    pieces = [_column_piece(v) for v in (mul.lhs, mul.rhs)]
    if pieces[0] is None or pieces[1] is None or pieces[0][0] is pieces[1][0]:
        return False
    source = _source(pieces[0][0])
    if source is not _source(pieces[1][0]):
        return False
    product = source.owner
    if {u.operation for u in source.uses} != {p[0].owner for p in pieces}:
        return False
    if not isinstance(product, k.MatMulKernelOp) or len(shape_of(product.rhs.type)) != 2:
        return False
    if product.activation is not None or product.multiplier is not None:
        return False
    if not worth_waiting(mul.output, math.prod(shape_of(product.rhs.type)) // 2):
        return False
    return private_weight(product.rhs, product) is not None and (
        product.bias is None or private_weight(product.bias, product) is not None
    )


@settings(max_examples=EXAMPLES)
@given(st.data())
def test_fuse_matmul_multiply_preserves_semantics(data):
    cut = ("ge.matmul", "ge.add", "ge.split")  # a projection's halves as two matmuls
    after = check_fusion(PIPELINE, data, PROGRAMS, "kernel.matmul", may_split=cut, **TOLERANCE)
    missed = [op for op in after.walk() if isinstance(op, ge.MulOp) and _missed(op)]
    assert not missed, f"a mul the pass should have fused is left: {missed[0]}"
    halves = any(
        isinstance(op, k.MatMulKernelOp) and {"ge.slice", "ge.split"} & set(op.fused_names)
        for op in after.walk()
    )
    event(f"halves of a projection as matmuls: {halves}")
    left = [op for op in after.walk() if isinstance(op, ge.MulOp) and _missed_split(op)]
    assert not left, f"a gated unit of one projection's halves is left: {left[0]}"
