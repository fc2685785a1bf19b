"""`fuse-grouped-attention` on random programs with planted grouped-query attention.

Outputs stay equal (to f32 rounding), no high-level op is duplicated, and the pass's
postcondition holds: no private repeat of K or V is left before an attention, and no
one-row query runs over a lead axis that K, V and the mask all broadcast over.
"""

from fusion_cases import EXAMPLES, check_fusion
from fusion_planters import TOLERANCE, plant_grouped_attention, programs
from hypothesis import given, settings
from hypothesis import strategies as st

from gedialects.kernel import ops as k
from passes.fuse_grouped_attention import repeat_of
from passes.matching import only_user

GROUPED = programs(plant_grouped_attention)
PIPELINE = "fuse-attention,fuse-attention-layout,fuse-grouped-attention"


@settings(max_examples=EXAMPLES)
@given(st.data())
def test_fuse_grouped_attention_preserves_semantics(data):
    """Grouped-query attention: outputs equal, no private repeat of K or V is left before an
    attention, and a one-row query over heads that share K and V reads them as rows."""
    after = check_fusion(PIPELINE, data, GROUPED, "kernel.attention", **TOLERANCE)
    for op in after.walk():
        if not isinstance(op, k.AttentionKernelOp):
            continue
        for value in (op.key, op.value):
            if only_user(value) is op and op.operands.count(value) == 1:
                assert repeat_of(value) is None, f"repeat left before {op}"
        q, v, _ = op.logical_shapes()
        key = op.logical_key()
        shared = [a for a in range(len(q) - 2) if q[a] > 1 and key[a] == 1 and v[a] == 1]
        assert not (q[-2] == 1 and shared and op.mask is None), f"one-row query over {shared}"
