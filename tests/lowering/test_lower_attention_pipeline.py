"""The software-pipelined fused attention kernel (several items a core, whole rows of scores)
equals the reference, and is faster than running the items one after another."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gedialects.interpreter import run_reference
from lowering import lower_attention
from lowering.attention_flash import Flash
from lowering.attention_pipeline import PipelinedFlash
from lowering.convert_kernel_to_npu import lower_module
from runtime.attention_cost import fused_cycles, pipelined
from runtime.npu_interpreter import NpuExecutable
from runtime.targets import default_target
from tests.lowering.test_lower_attention import _module


def _run(module, shapes, dtype):  # noqa: ANN001, ANN202
    rng = np.random.default_rng(0)
    np_type = np.float16 if dtype == "f16" else np.float32
    inputs = [rng.standard_normal(s).astype(np_type) for s in shapes]
    if len(shapes) > 3:  # a causal-style mask of large negatives
        inputs[3] = np.where(inputs[3] > 1.0, -1e4, 0.0).astype(np_type)
    result = NpuExecutable(lower_module(module)).run(inputs)  # checks capacities and races
    return result, run_reference(module, inputs)[0]


def _shape_and_tiling(module):  # noqa: ANN001, ANN202
    op = next(o for o in module.walk() if o.name == "kernel.attention")
    shape = lower_attention.attention_shape(op)
    return shape, lower_attention.fused_tiling(op, default_target())


@settings(deadline=None, max_examples=12)  # each example runs 33+ heads
@given(
    heads=st.integers(33, 40),
    sq=st.integers(1, 40),
    sk=st.integers(1, 70),
    d=st.integers(1, 40),
    dv=st.integers(1, 40),
    dtype=st.sampled_from(["f32", "f16"]),
    mask=st.sampled_from([None, "scores", "keys"]),
)
def test_pipelined_items_equal_reference(heads, sq, sk, d, dv, dtype, mask) -> None:  # noqa: ANN001
    """More heads than cores: each core runs a run of items that crosses heads (K' and V
    reloaded, V's buffer by the head's parity), edge query tiles and key tiles."""
    masks = {None: None, "scores": (1, heads, sq, sk), "keys": (sk,)}
    module, shapes = _module((1, heads), sq, sk, d, dv, dtype, masks[mask], algorithm="fused")
    shape, tiling = _shape_and_tiling(module)
    width = min(tiling.width, -(-sk // tiling.tk) * tiling.tk)
    result, want = _run(module, shapes, dtype)
    tol = 2e-2 if dtype == "f16" else 1e-5
    np.testing.assert_allclose(result.outputs[0].astype(np.float32), want, rtol=tol, atol=tol)
    assert pipelined(default_target(), shape, tiling.tq, tiling.tk, width) or tiling.width < sk


def test_bert_attention_is_pipelined_faster_and_estimated() -> None:
    """BERT-base S=512 f16: the skewed kernel beats the items-in-turn kernel on the same
    tiles, and the estimate that chose its tiles is within 25% of the modeled cycles."""
    target = default_target()
    module, shapes = _module((1, 12), 512, 512, 64, 64, "f16", algorithm="fused")
    shape, tiling = _shape_and_tiling(module)
    assert pipelined(target, shape, tiling.tq, tiling.tk, tiling.width)
    result, want = _run(module, shapes, "f16")
    np.testing.assert_allclose(result.outputs[0].astype(np.float32), want, rtol=2e-2, atol=2e-2)
    skewed = result.profile.kernels[0].cycles
    estimate = fused_cycles(target, shape, tiling.tq, tiling.tk, tiling.width)
    assert 0.75 <= estimate / skewed <= 1.25
    original = lower_attention.PipelinedFlash
    lower_attention.PipelinedFlash = Flash  # the same tiles, items one after another
    try:
        serial, _ = _run(module, shapes, "f16")
    finally:
        lower_attention.PipelinedFlash = original
    assert skewed < 0.8 * serial.profile.kernels[0].cycles
    assert PipelinedFlash is original
