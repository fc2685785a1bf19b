"""Every case of the fusion passes' FileCheck files computes the same after its pass."""

import pytest
from fusion_planters import TOLERANCE
from mlir_cases import filecheck_cases, parse_case

from ge.testing.equivalence import assert_preserves_semantics

PASSES = (
    "fuse-conv-bn-relu",
    "fuse-conv-bias-activation",
    "fuse-conv-residual-add",
    "fuse-matmul-add-gelu",
    "fuse-matmul-multiply",
    "fuse-matmul-transpose",
    "fuse-matmul-residual-add",
    "fuse-matmul-scale",
    "fuse-softmax-dropout",
    "fuse-attention",
    "fuse-attention-layout",
    "fuse-grouped-attention",
    "fuse-elementwise",
    "fuse-norm-activation",
)
AFTER = {
    "fuse-matmul-residual-add": "fuse-matmul-add-gelu",
    "fuse-matmul-multiply": "fuse-matmul-add-gelu",
    "fuse-matmul-transpose": "fuse-matmul-add-gelu",
    "fuse-attention-layout": "fuse-attention",
    "fuse-grouped-attention": "fuse-attention,fuse-attention-layout",
}
"""Passes whose cases start from another pass's output (their file's RUN line runs both)."""
CASES = [(p, name, source) for p in PASSES for name, source in filecheck_cases(p)]


@pytest.mark.parametrize(("pass_name", "name", "source"), CASES)
def test_case_preserves_semantics(pass_name, name, source):
    pipeline = ",".join(filter(None, (AFTER.get(pass_name), pass_name)))
    assert_preserves_semantics(pipeline, parse_case(source), **TOLERANCE)
