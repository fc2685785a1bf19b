"""kernel.group_norm (and the activation it takes) on the modeled NPU equals the kernel
dialect's reference semantics: whole groups in one tile, groups streamed in chunks of
channels or of pixels, every activation the epilogue steps know."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from xdsl.parser import Parser

from ge.registry import make_context
from gedialects.errors import UnsupportedError
from gedialects.interpreter import run_reference
from gedialects.npu.launch import KernelOp
from lowering.convert_kernel_to_npu import lower_module
from lowering.lower_group_norm import group_norm_tile
from runtime.npu_interpreter import NpuExecutable
from runtime.targets import default_target

DTYPES = {"f32": np.float32, "f16": np.float16, "f64": np.float64}

ACTIVATIONS = [None, "relu", "silu", "sigmoid", "gelu", "tanh", "hard_swish", "leaky_relu"]


def _t(shape: tuple[int, ...], dtype: str = "f32") -> str:
    return f"tensor<{'x'.join(map(str, shape))}x{dtype}>"


def _module(shape: tuple[int, ...], groups: int, activation: str | None, dtype: str = "f32"):
    x, v = _t(shape, dtype), _t(shape[1:2], dtype)
    act = f', activation = "{activation}"' if activation else ""
    fused = '"ge.group_norm"' + (f', "ge.{activation}"' if activation else "")
    attrs = f"num_groups = {groups} : i64, epsilon = 1.0e-05 : f64{act}, fused_from = [{fused}]"
    text = f"""func.func @main(%x: {x}, %s: {v}, %b: {v}) -> {x} {{
  %y = kernel.group_norm %x, %s, %b {{{attrs}}} : ({x}, {v}, {v}) -> {x}
  func.return %y : {x}
}}"""
    return Parser(make_context(), text).parse_module()


def _check(shape, groups, activation=None, dtype="f32", offset=0.0):  # noqa: ANN001, ANN202
    module = _module(tuple(shape), groups, activation, dtype)
    rng, np_type = np.random.default_rng(0), DTYPES[dtype]
    x = (rng.standard_normal(shape) * 2 + offset).astype(np_type)
    scale, bias = (rng.standard_normal(shape[1:2]).astype(np_type) for _ in range(2))
    want = run_reference(module, [x, scale, bias])[0]
    lowered = lower_module(module)
    assert sum(isinstance(op, KernelOp) for op in lowered.walk()) in (1, 2)  # 2: split groups
    result = NpuExecutable(lowered).run([x, scale, bias])  # flags, races, capacities checked
    tol = 2e-2 if dtype == "f16" else 1e-4
    np.testing.assert_allclose(result.outputs[0].astype(np.float64), want, rtol=tol, atol=tol)
    kernel = result.profile.kernels[-1]
    assert 0 < kernel.roofline_cycles <= kernel.cycles
    return lowered, kernel


def test_whole_groups_with_silu() -> None:
    lowered, _ = _check((2, 8, 5, 5), 4, "silu")
    loops = [op for op in lowered.walk() if op.name == "scf.for"]
    assert len(loops) == 1  # the items only: each tile holds whole groups


def test_streamed_groups_of_a_diffusion_vae() -> None:
    """A (1, 256, 96, 96) f32 map in 32 groups: 1.2 MB a group, larger than UB, so each group
    is walked twice in chunks, pipelined; offset by 50 to show cancellation if the shifted
    one-pass variance did not shift."""
    lowered, kernel = _check((1, 256, 96, 96), 32, "silu", offset=50.0)
    loops = [op for op in lowered.walk() if op.name == "scf.for"]
    assert len(loops) == 3  # the items, then the sums and the normalize walks over chunks
    assert kernel.cycles < 1.3 * kernel.roofline_cycles  # two reads and one write: bound 1.5


def test_few_groups_share_the_cores() -> None:
    """GroupNorm(1, 128) at 128x128 is one group of 8 MB: its chunks are split over the
    cores in two kernels (partial sums, then the normalize walks), where one core took
    428,002 cycles for it."""
    lowered, kernel = _check((1, 128, 128, 128), 1, "silu", offset=20.0)
    kernels = [op for op in lowered.walk() if isinstance(op, KernelOp)]
    assert [k.sym_name.data for k in kernels] == ["group_norm_0_stats", "group_norm_0"]
    assert all(k.blocks >= 16 for k in kernels)


def test_few_groups_that_fit_ub_share_the_cores_too() -> None:
    """Four groups of 16,000 values fit UB whole, but on 4 of 32 cores they took 6,048 cycles:
    they are walked in chunks split over the cores as well (2,386 through ge-run)."""
    lowered, kernel = _check((1, 4, 16000), 4, "gelu")
    kernels = [op for op in lowered.walk() if isinstance(op, KernelOp)]
    assert len(kernels) == 2 and all(k.blocks >= 12 for k in kernels)


def test_a_first_chunk_far_from_the_rest_keeps_the_variance() -> None:
    """The shift K is the first chunk's mean: a group whose first channel sits 1000 above the
    others (the worst case for a one-pass variance) still matches the two-pass reference."""
    shape = (1, 4, 300, 300)
    module = _module(shape, 1, None)
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape).astype(np.float32)
    x[:, 0] += 1000.0
    scale, bias = np.ones(4, np.float32), np.zeros(4, np.float32)
    want = run_reference(module, [x, scale, bias])[0]
    got = NpuExecutable(lower_module(module)).run([x, scale, bias]).outputs[0]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3)


def test_pixel_chunks_when_a_channel_is_larger_than_ub() -> None:
    """One channel of 300x300 f32 (360 KB) per group: chunks of pixels, the last one padded."""
    tiling = group_norm_tile(default_target(), (1, 2, 1, 300 * 300), 4, [])
    assert tiling.kc == 1 and tiling.hs < 300 * 300
    _check((1, 2, 300, 300), 2, None, offset=100.0)


def test_f16_computes_in_f32() -> None:
    """f16 tiles are widened to f32 for the statistics: a group of 4 x 128 x 128 values near
    1 (whose sum of squares, 65536, is past f16's largest finite 65504) streams, and one
    that fits UB does not."""
    _check((2, 20, 9, 9), 5, "relu", "f16")
    lowered, _ = _check((1, 4, 128, 128), 1, "silu", "f16", offset=1.0)
    assert any(op.name == "npu.vec_cast" for op in lowered.walk())


def test_f64_is_refused() -> None:
    module = _module((1, 2, 3, 3), 1, None, "f64")
    with pytest.raises(UnsupportedError, match="'kernel.group_norm' on f64 has no npu lowering"):
        lower_module(module)


@settings(deadline=None)
@given(
    st.integers(1, 3),
    st.integers(1, 6),
    st.integers(1, 4),
    st.lists(st.integers(1, 9), min_size=1, max_size=2),
    st.sampled_from(ACTIVATIONS),
)
def test_random_shapes_match_the_reference(n, groups, per, spatial, activation) -> None:
    _check((n, groups * per, *spatial), groups, activation)


@settings(deadline=None, max_examples=20)
@given(
    st.integers(1, 2),
    st.sampled_from([1, 2, 4]),
    st.integers(60, 120),
    st.sampled_from(ACTIVATIONS),
)
def test_random_streamed_groups_match_the_reference(n, groups, side, activation) -> None:
    """Groups of 8 channels of side x side f32 (115-460 KB): chunked, sides that divide no
    power of two."""
    _check((n, 8 * groups, side, side), groups, activation, offset=10.0)
