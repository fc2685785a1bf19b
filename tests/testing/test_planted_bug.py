"""A property test that cannot fail is worth nothing: plant wrong rewrites, see them caught.

Each planted pattern is wrong only in some programs (different operands, two different
constants), so catching it shows that the strategies really make those programs and that
`assert_preserves_semantics` reports them. xDSL's own cse, dce and canonicalize must pass
the same property.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, f32
from xdsl.ir import Block, Region
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from ge.testing import assert_preserves_semantics, check_pass_property, programs_with_inputs
from gedialects.ge import AddOp, ConstantOp, MulOp, SubOp
from gedialects.ge.types import tensor

NO_EXPLAIN = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink]
"""Shrink the failure, but skip hypothesis's costly 'explain' phase."""


class SwapSubOperands(RewritePattern):
    """Wrong: sub(a, b) -> sub(b, a)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: SubOp, rewriter: PatternRewriter) -> None:
        if op.lhs is not op.rhs:
            rewriter.replace(op, SubOp(op.rhs, op.lhs))


class FoldAddOfConstantsWrongly(RewritePattern):
    """Wrong: add(c1, c2) of two constants folds to 2 * c1 (right only when c1 == c2)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: AddOp, rewriter: PatternRewriter) -> None:
        lhs, rhs = op.lhs.owner, op.rhs.owner
        if not (isinstance(lhs, ConstantOp) and isinstance(rhs, ConstantOp)):
            return
        if lhs.is_elided or rhs.is_elided:
            return
        a = lhs.to_numpy()
        folded = np.broadcast_to(a + a, op.output.type.get_shape()).astype(a.dtype)
        rewriter.replace(op, ConstantOp(folded))


class DropMulBySplat(RewritePattern):
    """Wrong: mul(x, c) -> x for any splat constant c (right only when c is all ones)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: MulOp, rewriter: PatternRewriter) -> None:
        c = op.rhs.owner
        if isinstance(c, ConstantOp) and not c.is_elided and op.lhs.type == op.output.type:
            data = c.to_numpy()
            if data.size and (data == data.flat[0]).all():
                rewriter.replace(op, [], [op.lhs])


def walker_pass(pattern: RewritePattern):
    def apply(module: ModuleOp) -> None:
        PatternRewriteWalker(pattern, apply_recursively=False).rewrite_module(module)

    apply.__name__ = type(pattern).__name__
    return apply


def _expect_caught(pattern: RewritePattern, **program_options) -> str:
    """Run the property over random programs; return the failure report it must raise."""
    wrong = walker_pass(pattern)

    @settings(
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=NO_EXPLAIN,
        max_examples=1000,  # the search stops at the first catch; the dev profile's 50 missed
    )
    @given(programs_with_inputs(**program_options))
    def property_test(case) -> None:
        assert_preserves_semantics(wrong, *case)

    with pytest.raises(AssertionError) as caught:
        property_test()
    return str(caught.value)


def test_swapped_sub_is_caught_with_a_readable_report():
    report = _expect_caught(SwapSubOperands(), ops=["binary", "unary"], max_ops=6)
    assert "pipeline SwapSubOperands changed what the program computes" in report
    assert "first mismatch at index" in report
    assert "max abs error" in report
    assert "IR before the pipeline:" in report and "IR after the pipeline:" in report
    assert "ge.sub" in report


def test_wrong_constant_fold_is_caught():
    """Needs an add whose operands are two different constants: the pool makes them."""
    report = _expect_caught(FoldAddOfConstantsWrongly(), ops=["binary", "unary"], max_ops=6)
    assert "ge.add" in report.split("IR after the pipeline:")[0]


def test_wrong_identity_fold_is_caught():
    """Needs a mul by a splat constant other than 1 (1 is the simplest splat drawn)."""
    report = _expect_caught(DropMulBySplat(), ops=["binary"], max_ops=6)
    assert "ge.mul" in report


def _sub_program(size: int) -> ModuleOp:
    """main(x) = x - arange(size): its constant prints elided by default when large."""
    block = Block(arg_types=[tensor([size], f32)])
    const = ConstantOp(np.arange(size, dtype=np.float32))
    sub = SubOp(block.args[0], const)
    block.add_ops([const, sub, func.ReturnOp(sub)])
    fn = func.FuncOp("main", ([block.args[0].type], [sub.output.type]), Region(block))
    return ModuleOp([fn])


def test_report_prints_constants_in_full():
    """A 128-element constant would print elided by default; the report shows its data."""
    with pytest.raises(AssertionError) as caught:
        assert_preserves_semantics(walker_pass(SwapSubOperands()), _sub_program(128))
    report = str(caught.value)
    assert "elided" not in report
    assert 'dense<"0x' in report  # the full hex form, which parses back bit-exactly
    assert "output 0 (result0)" in report
    assert "// RUN: ge-opt" not in report  # only for pipelines given as text


def test_report_suggests_a_filecheck_run_line_for_text_pipelines():
    with pytest.raises(AssertionError) as caught:
        assert_preserves_semantics("cse,no-such-pass", _sub_program(4))
    report = str(caught.value)
    assert "pipeline 'cse,no-such-pass' failed: ValueError: Unrecognized passes" in report
    assert "// RUN: ge-opt %s -p 'cse,no-such-pass' | filecheck %s" in report


def test_a_pass_that_raises_is_reported():
    def broken(module: ModuleOp) -> None:
        raise RuntimeError("boom")

    with pytest.raises(AssertionError, match="pipeline broken failed: RuntimeError: boom"):
        assert_preserves_semantics(broken, _sub_program(4))


def test_identity_pipeline_never_fails():
    @settings(max_examples=20, database=None, phases=[Phase.generate])
    @given(programs_with_inputs(max_ops=6))
    def check(case) -> None:
        assert_preserves_semantics(lambda m: None, *case)

    check()


test_cse_preserves_semantics = check_pass_property("cse", max_ops=10)
test_dce_preserves_semantics = check_pass_property("dce", max_ops=10)
test_canonicalize_preserves_semantics = check_pass_property(
    "canonicalize", max_ops=10, dtypes=("f32", "i64", "i1")
)
test_xdsl_pipeline_preserves_semantics = check_pass_property(
    "canonicalize,cse,dce", max_ops=12, dtypes=("f32", "f16", "i32")
)


def test_pipelines_as_text_pass_instance_pass_class_or_callable():
    from xdsl.transforms.common_subexpression_elimination import (
        CommonSubexpressionElimination,
    )
    from xdsl.transforms.dead_code_elimination import DeadCodeElimination

    module = _sub_program(8)
    for pipeline in (
        "cse,dce",
        CommonSubexpressionElimination(),
        DeadCodeElimination,
        lambda m: None,
    ):
        result = assert_preserves_semantics(pipeline, module)
        assert result is not module and result is not None


def test_a_misspelt_pipeline_fails_where_the_property_is_defined():
    """It failed only when hypothesis ran it, once per drawn program."""
    from ge.testing.equivalence import check_pass_property

    with pytest.raises(ValueError, match=r"Unrecognized passes: \['no-such-pass'\]"):
        check_pass_property("cse,no-such-pass")
