"""kernel.conv2d {algorithm = "fft"} on the modeled NPU equals the kernel's reference semantics."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from xdsl.dialects.builtin import ModuleOp
from xdsl.parser import Parser

from ge.registry import make_context
from gedialects.errors import UnsupportedError
from gedialects.ge.constant import ConstantOp
from gedialects.interpreter import run_reference
from gedialects.kernel.conv_algorithms import ALGORITHMS
from gedialects.npu.buffers import HbmConstantOp
from gedialects.npu.cube import MmadOp
from gedialects.npu.launch import KernelOp
from gedialects.npu.vector import BINARY_OPS
from lowering.convert_kernel_to_npu import lower_module
from runtime.npu_interpreter import NpuExecutable

RTOL = ALGORITHMS["fft"].rtol
RELU6 = ', activation = "clip", activation_attrs = {min = 0.0 : f64, max = 6.0 : f64}'


def _t(shape: tuple[int, ...], dtype: str = "f32") -> str:
    return f"tensor<{'x'.join(map(str, shape))}x{dtype}>"


def _out(size: int, k: int, s: int, p: int, d: int) -> int:
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def _module(geo: dict, epilogue: str = "", full: bool = False, dtype: str = "f32"):
    n, c, h, w, o, k = (geo[key] for key in ("n", "c", "h", "w", "o", "k"))
    s, p, d, g = geo["s"], geo["p"], geo["d"], geo["g"]
    out = (n, o, _out(h, k, s, p, d), _out(w, k, s, p, d))
    x, wt, y, vec = _t((n, c, h, w), dtype), _t((o, c // g, k, k), dtype), _t(out, dtype), None
    vec = _t((o,), dtype)
    params, operands = [f"%x: {x}", f"%w: {wt}"], ""
    if full:
        params += [f"%b: {vec}", f"%s: {vec}", f"%h: {vec}", f"%r: {y}"]
        operands = f"bias %b : {vec} scale %s : {vec} shift %h : {vec} residual %r : {y}"
        epilogue += ', post_activation = "relu"'
    attrs = (
        f"strides = array<i64: {s}, {s}>, pads = array<i64: {p}, {p}, {p}, {p}>, "
        f'dilations = array<i64: {d}, {d}>, groups = {g} : i64, algorithm = "fft"'
    )
    text = f"""func.func @main({", ".join(params)}) -> {y} {{
  %y = kernel.conv2d %x, %w {operands} {{{attrs}{epilogue}, fused_from = ["ge.conv2d"]}}
    : {x}, {wt} -> {y}
  func.return %y : {y}
}}"""
    shapes = [(n, c, h, w), (o, c // g, k, k)] + ([(o,), (o,), (o,), out] if full else [])
    return Parser(make_context(), text).parse_module(), shapes


def _constant_weights(module: ModuleOp, weights: np.ndarray) -> None:
    """Make the conv read `weights` from a ge.constant (the function keeps an unused %w)."""
    block = next(iter(module.ops)).body.block
    const = ConstantOp(weights)
    block.insert_op_before(const, block.first_op)
    block.args[1].replace_all_uses_with(const.output)


def _run(module: ModuleOp, inputs: list[np.ndarray], scale: float = 1.0):
    want = run_reference(module, inputs)[0]
    lowered = lower_module(module)
    result = NpuExecutable(lowered).run(inputs)  # verifies the program, reports races
    got = result.outputs[0]
    assert got.dtype == want.dtype
    atol = scale * RTOL * max(1.0, float(np.abs(want).max()))
    np.testing.assert_allclose(got, want, rtol=scale * RTOL, atol=atol)
    return lowered, result


def _check(geo: dict, epilogue: str = "", full: bool = False, constant: bool = False):
    module, shapes = _module(geo, epilogue, full)
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    if constant:
        _constant_weights(module, inputs[1])
    lowered, result = _run(module, inputs)
    kernels = [op for op in lowered.walk() if isinstance(op, KernelOp)]
    names = [k.sym_name.data for k in kernels]
    assert ("conv2d_0_w_rows" in names) != constant  # weights' DFT on the cube only at runtime
    assert any(isinstance(op, MmadOp) for op in kernels[0].walk())
    return lowered, result


@st.composite
def geometries(draw):
    """Every geometry fft accepts, kernels 1..9, with at least one output pixel."""
    k, s, d = draw(st.integers(1, 9)), draw(st.integers(1, 3)), draw(st.integers(1, 2))
    p = draw(st.integers(0, 3))
    span = d * (k - 1) + 1
    h = draw(st.integers(max(1, span - 2 * p), 18))
    w = draw(st.integers(max(1, span - 2 * p), 18))
    g = draw(st.sampled_from([1, 1, 2, 3]))
    c = g * draw(st.integers(1, 6 // g))
    o = g * draw(st.integers(1, 6 // g))
    return dict(n=draw(st.integers(1, 2)), c=c, h=h, w=w, o=o, k=k, s=s, p=p, d=d, g=g)


@settings(max_examples=15, deadline=None)  # ~0.5 s each: the file stays under 30 s
@given(geometries(), st.booleans(), st.booleans())
def test_fft_conv_equals_reference(geo: dict, full: bool, constant: bool) -> None:
    _check(geo, RELU6 if full else ', activation = "relu"', full, constant)


@pytest.mark.parametrize("constant", [False, True])
def test_large_kernel_on_a_small_image(constant: bool) -> None:
    """15x15 taps: the case fft is for; weights' spectra at compile time or on the cube."""
    geo = dict(n=1, c=8, h=20, w=20, o=8, k=15, s=1, p=7, d=1, g=1)
    lowered, _ = _check(geo, RELU6, full=True, constant=constant)
    spectra = [op for op in lowered.walk() if isinstance(op, HbmConstantOp)]
    assert any(op.buffer.type.dims == (8, 8, 2, 34 * 18) for op in spectra) == constant


def test_data_larger_than_ub_and_l1_is_tiled_over_the_cores() -> None:
    """16x16 9x9 kernels on 32x32 images: 1.7 MiB of weight spectra, more than L1 and UB."""
    geo = dict(n=1, c=16, h=32, w=32, o=16, k=9, s=1, p=4, d=1, g=1)
    lowered, result = _check(geo, constant=True)
    kernels = {k.sym_name.data: k for k in lowered.walk() if isinstance(k, KernelOp)}
    assert kernels["conv2d_0_mix"].blocks > 1 and kernels["conv2d_0"].blocks > 1
    assert all(k.cycles >= k.roofline_cycles > 0 for k in result.profile.kernels)


def test_channel_sum_runs_on_the_vector_unit() -> None:
    lowered, _ = _check(dict(n=1, c=4, h=8, w=8, o=4, k=5, s=1, p=2, d=1, g=1))
    kernels = {k.sym_name.data: k for k in lowered.walk() if isinstance(k, KernelOp)}
    mix = kernels["conv2d_0_mix"]
    assert all(k.algorithm.data == "fft" for k in kernels.values())
    assert not any(isinstance(op, MmadOp) for op in mix.walk())
    ops = [op for op in mix.walk() if isinstance(op, tuple(BINARY_OPS.values()))]
    assert {op.name for op in ops} == {"npu.vec_mul", "npu.vec_add", "npu.vec_sub"}


@pytest.mark.parametrize("constant", [False, True])
def test_f16_conv_transforms_in_f32(constant: bool) -> None:
    geo = dict(n=1, c=6, h=12, w=10, o=5, k=5, s=2, p=2, d=1, g=1)
    module, shapes = _module(geo, ', activation = "relu"', dtype="f16")
    rng = np.random.default_rng(1)
    inputs = [rng.standard_normal(s).astype(np.float16) for s in shapes]
    if constant:
        _constant_weights(module, inputs[1])
    lowered, _ = _run(module, inputs, scale=10.0)  # f16 output: its own rounding dominates
    casts = [k for k in lowered.walk() if isinstance(k, KernelOp) and k.kind.data == "cast"]
    assert len(casts) == (1 if constant else 2)


def test_f64_conv_is_refused() -> None:
    module, _ = _module(dict(n=1, c=2, h=6, w=6, o=2, k=3, s=1, p=0, d=1, g=1), dtype="f64")
    with pytest.raises(UnsupportedError, match=r"kernel.conv2d \(algorithm=fft\) on f64"):
        lower_module(module)
