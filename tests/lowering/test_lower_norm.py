"""kernel.batch_norm and kernel.instance_norm on the modeled NPU equal the kernel dialect's
reference semantics."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from xdsl.parser import Parser

from ge.registry import make_context
from gedialects.errors import UnsupportedError
from gedialects.interpreter import run_reference
from gedialects.npu.launch import KernelOp
from lowering.convert_kernel_to_npu import lower_module
from runtime.npu_interpreter import NpuExecutable

DTYPES = {"f32": np.float32, "f16": np.float16, "f64": np.float64}


def _t(shape: tuple[int, ...], dtype: str = "f32") -> str:
    return f"tensor<{'x'.join(map(str, shape))}x{dtype}>"


def _module(kind: str, shape: tuple[int, ...], dtype: str = "f32", eps: float = 1e-5):
    x, v, count = _t(shape, dtype), _t(shape[1:2], dtype), 4 if kind == "batch_norm" else 2
    params = ", ".join(f"%p{i}: {v}" for i in range(count))
    operands = ", ".join(["%x"] + [f"%p{i}" for i in range(count)])
    types = ", ".join([x] + [v] * count)
    attrs = f'epsilon = {eps:e} : f64, fused_from = ["ge.{kind}"]'
    text = f"""func.func @main(%x: {x}, {params}) -> {x} {{
  %y = kernel.{kind} {operands} {{{attrs}}} : ({types}) -> {x}
  func.return %y : {x}
}}"""
    return Parser(make_context(), text).parse_module(), count


def _check(kind: str, shape: tuple[int, ...], dtype: str = "f32", offset: float = 0.0):
    module, count = _module(kind, shape, dtype)
    rng, np_type = np.random.default_rng(0), DTYPES[dtype]
    x = (rng.standard_normal(shape) * 2 + offset).astype(np_type)
    params = [rng.standard_normal(shape[1:2]).astype(np_type) for _ in range(count)]
    if kind == "batch_norm":
        params[3] = np.abs(params[3]) + np_type(0.5)  # a variance
    inputs = [x, *params]
    want = run_reference(module, inputs)[0]
    lowered = lower_module(module)
    result = NpuExecutable(lowered).run(inputs)  # verifies flags, races, capacities
    tol = 1e-2 if dtype == "f16" else 1e-4
    np.testing.assert_allclose(result.outputs[0].astype(np.float64), want, rtol=tol, atol=tol)
    kernel = result.profile.kernels[0]
    assert 0 < kernel.roofline_cycles <= kernel.cycles
    return lowered, kernel


@pytest.mark.parametrize("kind", ["batch_norm", "instance_norm"])
def test_image_and_rank_two(kind: str) -> None:
    _check(kind, (2, 3, 4, 5))
    _check(kind, (3, 5) if kind == "batch_norm" else (2, 3, 7))


def test_batch_norm_larger_than_ub_near_the_roofline() -> None:
    """ResNet's first feature map, 1x64x112x112 f32 (3.2 MB): HBM-bound tiles."""
    _, kernel = _check("batch_norm", (1, 64, 112, 112))
    assert kernel.cycles < 1.3 * kernel.roofline_cycles


def test_instance_norm_streams_rows_longer_than_ub() -> None:
    """A 300x300 f32 plane (360 KB) per channel: two pipelined walks over chunks of the row
    (`lowering.lower_group_norm`: the shifted sums, then the output), the one-pass variance
    shifted by the first chunk's mean (the input is offset by 100 to show cancellation if it
    were not). Two channels are too few for the cores: each row's chunks are split over
    them, the sums in a kernel of their own."""
    lowered, _ = _check("instance_norm", (1, 2, 300, 300), offset=100.0)
    loops = [op for op in lowered.walk() if op.name == "scf.for"]
    assert len(loops) == 4  # per kernel: the items, then a walk over chunks


def test_f16() -> None:
    _check("batch_norm", (1, 20, 9, 9), "f16")
    _check("instance_norm", (2, 20, 9, 9), "f16")


@pytest.mark.parametrize("kind", ["batch_norm", "instance_norm"])
def test_f64_is_refused(kind: str) -> None:
    module, _ = _module(kind, (1, 2, 3, 3), "f64")
    with pytest.raises(UnsupportedError, match=f"'kernel.{kind}' on f64 has no npu lowering"):
        lower_module(module)


@given(
    st.sampled_from(["batch_norm", "instance_norm"]),
    st.lists(st.integers(1, 9), min_size=2, max_size=4),
)
def test_random_shapes_match_the_reference(kind: str, shape: list[int]) -> None:
    lowered, _ = _check(kind, tuple(shape))
    assert sum(isinstance(op, KernelOp) for op in lowered.walk()) == 1
