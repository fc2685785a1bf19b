"""`convert-ge-to-kernel` keeps what random `ge` programs compute, and leaves no `ge` op."""

from hypothesis import given, settings

from ge.testing.equivalence import assert_preserves_semantics
from ge.testing.strategies import programs_with_inputs
from gedialects.ge.base import GeOp
from gedialects.ge.constant import ConstantOp
from gedialects.kernel import KernelOp
from lowering.convert_ge_to_kernel import in_kernel_body

EXAMPLES = max(200, settings.default.max_examples)
"""The conversion must hold on at least 200 random programs in CI (more under `soak`)."""


@settings(max_examples=EXAMPLES)
@given(programs_with_inputs(max_ops=8, dtypes=("f32", "i32", "i1")))
def test_convert_preserves_semantics(case):
    module, inputs = case
    after = assert_preserves_semantics("convert-ge-to-kernel", module, inputs)
    assert after is not None
    left = [
        op.name
        for op in after.walk()
        if isinstance(op, GeOp) and not isinstance(op, KernelOp | ConstantOp)
        and not in_kernel_body(op)
    ]  # fmt: skip
    assert not left, f"ge ops left after conversion: {left}"
