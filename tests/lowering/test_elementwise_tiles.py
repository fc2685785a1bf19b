"""Elementwise tiles (`tiling.choose_elementwise_tile`): an output of few wide rows spreads
over every core, a few-cycle one stays on few cores (the others serve other streams), and
the kernels so tiled compute what the reference does."""

from __future__ import annotations

import numpy as np
import pytest
from npu_diff import parse, t

from gedialects.interpreter import run_reference
from lowering.convert_kernel_to_npu import lower_module
from lowering.tiling import choose_elementwise_tile
from runtime.npu_interpreter import NpuExecutable
from runtime.targets import default_target

ADD = ((True, True, 4),) * 3  # x, y and the sum: f32 tiles spanning rows and columns
READS = ((True, True, 4),) * 2


def _add_kernel(shape: tuple[int, ...]):  # noqa: ANN202
    ty = t(shape)
    text = f"""func.func @main(%x: {ty}, %y: {ty}) -> {ty} {{
  %z = kernel.elementwise %x, %y {{fused_from = ["ge.add"]}} : ({ty}, {ty}) -> {ty} {{
  ^bb0(%a: tensor<f32>, %b: tensor<f32>):
    %s = ge.add %a, %b : (tensor<f32>, tensor<f32>) -> tensor<f32>
    kernel.yield %s : tensor<f32>
  }}
  func.return %z : {ty}
}}"""
    module = parse(text)
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal(shape).astype(np.float32) for _ in range(2)]
    want = run_reference(module, inputs)[0]
    result = NpuExecutable(lower_module(module)).run(inputs)
    np.testing.assert_array_equal(result.outputs[0], want)
    return result.profile.kernels[0]


def test_few_wide_rows_spread_over_every_core() -> None:
    """512 rows of 49: UB holds them all, but one tile per 16 columns ran on 4 cores."""
    target = default_target()
    tiling = choose_elementwise_tile(target, 512, 49, 1, ADD, READS, 4)
    assert tiling.blocks == target.vector_cores
    assert _add_kernel((512, 49)).block_dim == target.vector_cores


def test_a_few_cycle_kernel_leaves_cores_to_other_streams() -> None:
    """A 4x16x8 add costs a few cycles on any number of cores: it takes fewer than all."""
    target = default_target()
    tiling = choose_elementwise_tile(target, 16, 8, 4, ADD, READS, 4)
    assert tiling.blocks < target.vector_cores
    assert _add_kernel((4, 16, 8)).block_dim == tiling.blocks


@pytest.mark.parametrize("shape", [(256, 196), (1, 64, 56, 56), (3, 1000), (7, 33, 5)])
def test_tiled_adds_equal_the_reference(shape: tuple[int, ...]) -> None:
    """Tiles of fewer rows than UB holds, edge tiles included, compute the whole sum."""
    _add_kernel(shape)  # asserts the kernel's output equals the reference bit for bit
