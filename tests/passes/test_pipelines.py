"""`ge-optimize` keeps what programs compute and leaves only kernels (and constants)."""

import pytest
from fusion_cases import EXAMPLES, high_level_ops
from fusion_planters import (
    TOLERANCE,
    plant_attention,
    plant_conv_chain,
    plant_matmul_chain,
    plant_softmax,
    programs,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from mlir_cases import filecheck_cases, parse_case

from ge.testing.equivalence import assert_preserves_semantics
from ge.testing.strategies import inputs_for, programs_with_inputs, smooth_ops
from passes.pipelines import GE_OPTIMIZE, describe_change, is_kernel_level, op_counts

HEAVY = {"ge.conv2d", "ge.conv_transpose2d", "ge.matmul", "ge.softmax", "ge.max_pool2d"}
"""Ops no pass may duplicate. (Lighter ones may be created: fold-batch-norm turns a lone
batch norm into a mul and an add.)"""

PLANTED = programs(plant_conv_chain, plant_matmul_chain, plant_softmax, plant_attention)


def check(module, inputs):
    after = assert_preserves_semantics("ge-optimize", module, inputs, **TOLERANCE)
    assert after is not None
    left = [op.name for op in after.walk() if not _inside_kernel(op) and not is_kernel_level(op)]
    assert not left, f"ge-optimize left {left}"
    grown = {
        name: n
        for name, n in (high_level_ops(after) - high_level_ops(module)).items()
        if name in HEAVY
    }
    assert not grown, f"ge-optimize duplicated {grown}"


def _inside_kernel(op) -> bool:
    parent = op.parent_op()
    return parent is not None and parent.name == "kernel.elementwise"


@settings(max_examples=EXAMPLES)
@given(st.data())
def test_ge_optimize_on_planted_programs(data):
    module = data.draw(PLANTED)
    check(module, data.draw(inputs_for(module)))


@given(programs_with_inputs(ops=smooth_ops(), max_ops=8))
def test_ge_optimize_on_random_programs(case):
    check(*case)


@pytest.mark.parametrize(("name", "source"), filecheck_cases("ge-optimize"))
def test_seed_cases_preserve_semantics(name, source):
    check(parse_case(source), None)


def test_pipeline_is_one_flat_list_of_registered_names():
    from ge.registry import all_passes

    known = set(all_passes()) | {"cse", "dce", "canonicalize", "recognize-gelu"}
    assert set(GE_OPTIMIZE) <= known
    assert all("," not in name and "{" not in name for name in GE_OPTIMIZE)


def test_describe_change_names_what_went_and_came():
    before = op_counts(parse_case(filecheck_cases("ge-optimize")[0][1]))
    assert describe_change(before, before) == "no change"
    after = before.copy()
    after["ge.relu"] -= 2
    after["kernel.conv2d"] += 1
    assert describe_change(before, after) == "-2 ge.relu, +1 kernel.conv2d"
