"""Differential check of one kernel-level function: lowered to npu and run on the modeled
NPU against the kernel dialect's reference semantics (shared by the lowering tests)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from xdsl.dialects.builtin import ModuleOp
from xdsl.parser import Parser
from xdsl.passes import PassPipeline

from ge.registry import all_passes, make_context
from gedialects.interpreter import run_reference
from lowering.convert_kernel_to_npu import lower_module
from runtime.npu_interpreter import NpuExecutable, NpuResult


def t(shape: Sequence[int], dtype: str = "f32") -> str:
    """The text of a tensor type."""
    return f"tensor<{''.join(f'{d}x' for d in shape)}{dtype}>"


def parse(text: str) -> ModuleOp:
    return Parser(make_context(), text).parse_module()


def kernels_of(text: str) -> ModuleOp:
    """A ge-level program converted to kernels, elementwise chains fused into one body."""
    ctx = make_context()
    module = Parser(ctx, text).parse_module()
    spec = "convert-ge-to-kernel,fuse-elementwise"
    PassPipeline.parse_spec(dict(all_passes()), spec).apply(ctx, module)
    return module


def check(
    text: str | ModuleOp, inputs: Sequence[np.ndarray], rtol: float = 1e-5, atol: float = 1e-5
) -> NpuResult:
    """Lower `text`, run it on the NPU model and compare every output with the reference."""
    module = parse(text) if isinstance(text, str) else text
    want = run_reference(module, list(inputs))
    result = NpuExecutable(lower_module(module)).run(list(inputs))
    assert len(result.outputs) == len(want)
    for got, expected in zip(result.outputs, want):
        expected = np.asarray(expected)
        assert got.shape == expected.shape and got.dtype == expected.dtype
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol)
    return result
