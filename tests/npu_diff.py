"""Differential check of one kernel-level function: lowered to npu and run on the modeled
NPU against the kernel dialect's reference semantics (shared by the lowering tests)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from xdsl.dialects.builtin import ModuleOp
from xdsl.parser import Parser
from xdsl.passes import PassPipeline

from ge.registry import all_passes, make_context
from gedialects.interpreter import run_reference
from gedialects.npu.launch import KernelOp
from lowering.convert_kernel_to_npu import lower_module
from runtime.npu_interpreter import NpuExecutable, NpuResult
from runtime.targets import Target


def t(shape: Sequence[int], dtype: str = "f32") -> str:
    """The text of a tensor type."""
    return f"tensor<{''.join(f'{d}x' for d in shape)}{dtype}>"


def reduce_program(kind: str, shape: Sequence[int], axes: list[int], keep: bool, dtype: str) -> str:
    """The text of `ge.reduce_{kind}` of a `dtype` tensor over `axes` (none: all)."""
    n = len(shape)
    reduced = {a % n for a in axes} or set(range(n))
    out = [1 if a in reduced else d for a, d in enumerate(shape)] if keep else [
        d for a, d in enumerate(shape) if a not in reduced
    ]  # fmt: skip
    x, y = t(shape, dtype), t(out, dtype)
    listed = f"i64: {', '.join(map(str, axes))}" if axes else "i64"
    attrs = f"{{axes = array<{listed}>, keepdims = {str(keep).lower()}}}"
    return f"""func.func @main(%x: {x}) -> {y} {{
  %y = ge.reduce_{kind} %x {attrs} : ({x}) -> {y}
  func.return %y : {y}
}}"""


def parse(text: str) -> ModuleOp:
    return Parser(make_context(), text).parse_module()


def kernels_of(text: str) -> ModuleOp:
    """A ge-level program converted to kernels, elementwise chains fused into one body."""
    ctx = make_context()
    module = Parser(ctx, text).parse_module()
    spec = "convert-ge-to-kernel,fuse-elementwise"
    PassPipeline.parse_spec(dict(all_passes()), spec).apply(ctx, module)
    return module


@dataclass
class Checked(NpuResult):
    """The NPU run of a checked program, with the npu module it ran (for structure asserts)."""

    lowered: ModuleOp

    @property
    def kernel_names(self) -> list[str]:
        """The symbol names of the lowered `npu.kernel`s, in program order."""
        return [op.sym_name.data for op in self.lowered.walk() if isinstance(op, KernelOp)]


def assert_bitwise_equal(got: np.ndarray, expected: np.ndarray) -> None:
    """Equal shape, dtype and bits (so -0.0 is not 0.0), NaN wherever the reference has NaN
    (any payload)."""
    np.testing.assert_array_equal(got, expected, strict=True)
    if got.dtype.kind in "fc":
        nan = np.isnan(expected)
        bits = [np.ascontiguousarray(a).view(np.uint8) for a in (got, expected)]
        mismatch = (bits[0] != bits[1]).reshape(*got.shape, got.dtype.itemsize)
        bad = mismatch.any(axis=-1) & ~nan
        assert not bad.any(), f"bits differ at {np.argwhere(bad)[:5].tolist()} (signed zeros?)"


def check(
    text: str | ModuleOp,
    inputs: Sequence[np.ndarray],
    rtol: float = 1e-5,
    atol: float = 1e-5,
    exact: bool = False,
    target: Target | None = None,
) -> Checked:
    """Lower `text` (for `target`, else the default), run it on the NPU model and compare
    every output with the reference: within `rtol`/`atol`, or bit for bit if `exact` (see
    `assert_bitwise_equal`)."""
    module = parse(text) if isinstance(text, str) else text
    want = run_reference(module, list(inputs))
    lowered = lower_module(module, target)
    printed = str(lowered)  # what ge-opt prints parses back as the same program
    assert str(parse(printed)) == printed
    result = NpuExecutable(lowered, target).run(list(inputs))  # verifies flags, races, capacities
    assert len(result.outputs) == len(want)
    for got, expected in zip(result.outputs, want):
        expected = np.asarray(expected)
        assert got.shape == expected.shape and got.dtype == expected.dtype
        if exact:
            assert_bitwise_equal(got, expected)
        else:
            np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol)
    return Checked(result.outputs, result.profile, lowered)
