"""`fuse-attention-layout` on random programs with planted attention over heads.

Outputs stay equal (to f32 rounding), no high-level op is duplicated, and the pass's
postcondition holds: no transpose it should have absorbed is left.
"""

from fusion_cases import EXAMPLES, check_fusion
from fusion_planters import TOLERANCE, plant_head_attention, programs
from hypothesis import given, settings
from hypothesis import strategies as st

from gedialects.kernel import ops as k
from passes.fuse_attention_layout import TRANSPOSES, _key_layout, _rows_kept
from passes.matching import only_user

PROGRAMS = programs(plant_head_attention)


def _missed(op: k.AttentionKernelOp) -> list[str]:
    """The transposes around `op` that keep rows and that only `op` reads (or that alone
    read its result), and a key's that it could read as rows."""
    left = [
        name
        for value, name in ((op.query, "query"), (op.value, "value"))
        if _rows_kept(value.owner) is not None
        and only_user(value) is op
        and list(op.operands).count(value) == 1
    ]
    if _rows_kept(only_user(op.output)) is not None:
        left.append("output")
    key = op.key.owner
    if isinstance(key, TRANSPOSES) and only_user(op.key) is op and op.operands.count(op.key) == 1:
        inner, perm = op.perm("key_perm"), key.ints("perm")
        perm = perm if inner is None else tuple(perm[i] for i in inner)
        if _key_layout(perm, op.get_flag("key_transposed"))[0][-1] == len(perm) - 1:
            left.append("key")
    return left


@settings(max_examples=EXAMPLES)
@given(st.data())
def test_fuse_attention_layout_preserves_semantics(data):
    after = check_fusion(
        "fuse-attention,fuse-attention-layout", data, PROGRAMS, "kernel.attention", **TOLERANCE
    )
    for op in after.walk():
        if isinstance(op, k.AttentionKernelOp):
            assert not _missed(op), f"transposes left around {op.name}: {_missed(op)}"


@settings(max_examples=EXAMPLES)
@given(st.data())
def test_unfused_attention_gets_its_transposes_back(data):
    """select-implementations: an attention it runs unfused has no layouts left (they are
    transpose kernels again), a fused one keeps them, and the outputs stay equal."""
    after = check_fusion(
        "fuse-attention,fuse-attention-layout,select-implementations",
        data, PROGRAMS, "kernel.attention", **TOLERANCE,
    )  # fmt: skip
    for op in after.walk():
        if isinstance(op, k.AttentionKernelOp) and op.algorithm.data == "unfused":
            assert not any(op.perm(n) for n in op.PERMS), f"layouts left on {op}"
