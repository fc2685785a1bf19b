"""kernel.conv_transpose2d on the modeled NPU equals the kernel dialect's reference semantics."""

from __future__ import annotations

import math
import os
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from xdsl.parser import Parser

from ge.registry import make_context
from gedialects.errors import UnsupportedError
from gedialects.ge.constant import ConstantOp, print_constants_in_full
from gedialects.interpreter import run_reference
from gedialects.npu.img2col import Img2ColOp
from gedialects.npu.launch import KernelOp
from lowering.convert_kernel_to_npu import lower_module
from lowering.lower_conv_transpose import ROUTE_ENV, route_costs
from runtime.npu_interpreter import NpuExecutable
from runtime.targets import default_target

BASE = dict(n=1, c=3, h=5, w=5, og=4, k=(3, 3), s=(2, 2), p=(1, 1, 1, 1), d=(1, 1), g=1, e=(0, 0))


def _t(shape: tuple[int, ...], dtype: str = "f32") -> str:
    return f"tensor<{'x'.join(map(str, shape))}x{dtype}>"


def _out_shape(geo: dict) -> tuple[int, ...]:
    (pt, pl, pb, pr), dims = geo["p"], []
    for axis, size, lo, hi in ((0, geo["h"], pt, pb), (1, geo["w"], pl, pr)):
        k, s, d, e = geo["k"][axis], geo["s"][axis], geo["d"][axis], geo["e"][axis]
        dims.append(s * (size - 1) + e + (k - 1) * d + 1 - lo - hi)
    return (geo["n"], geo["og"] * geo["g"], *dims)


def _module(geo: dict, dtype: str = "f32", bias: bool = True, weights=None, activation=""):
    """A one-kernel program and its input shapes; `weights` (an array) makes them a constant,
    `activation` (its properties as text, e.g. `activation = "relu"`) its epilogue."""
    n, c, h, w, og, (kh, kw), g = (geo[key] for key in ("n", "c", "h", "w", "og", "k", "g"))
    x, wt, y = _t((n, c, h, w), dtype), _t((c, og, kh, kw), dtype), _t(_out_shape(geo), dtype)
    bt = _t((og * g,), dtype)
    params, operands, types, body = [f"%x: {x}"], "%x, %w", [x, wt], ""
    if weights is None:
        params.append(f"%w: {wt}")
    else:
        with print_constants_in_full():
            body = str(ConstantOp.from_array(weights)).replace("%0", "%w", 1) + "\n  "
    if bias:
        params.append(f"%b: {bt}")
        operands, types = operands + ", %b", [*types, bt]
    s, p, d, e = geo["s"], geo["p"], geo["d"], geo["e"]
    attrs = (
        f"strides = array<i64: {s[0]}, {s[1]}>, pads = array<i64: {', '.join(map(str, p))}>, "
        f"dilations = array<i64: {d[0]}, {d[1]}>, output_padding = array<i64: {e[0]}, {e[1]}>, "
        f'groups = {g} : i64, fused_from = ["ge.conv_transpose2d"]'
        + (f", {activation}" if activation else "")
    )
    text = f"""func.func @main({", ".join(params)}) -> {y} {{
  {body}%y = kernel.conv_transpose2d {operands} {{{attrs}}} : ({", ".join(types)}) -> {y}
  func.return %y : {y}
}}"""
    shapes = [(n, c, h, w)] + ([(c, og, kh, kw)] if weights is None else [])
    shapes += [(og * g,)] if bias else []
    return Parser(make_context(), text).parse_module(), shapes


@contextmanager
def _route(route: str | None):
    """Force `lower_conv_transpose`'s route ("zeros", "col2im"), or None: its own choice."""
    old = os.environ.pop(ROUTE_ENV, None)
    if route is not None:
        os.environ[ROUTE_ENV] = route
    try:
        yield
    finally:
        os.environ.pop(ROUTE_ENV, None)
        if old is not None:
            os.environ[ROUTE_ENV] = old


def _check(
    geo: dict, dtype=np.float32, bias: bool = True, constant: bool = False, route="zeros",
    activation: str = "",
):  # fmt: skip
    rng = np.random.default_rng(0)
    shape = (geo["c"], geo["og"], *geo["k"])
    weights = rng.standard_normal(shape).astype(dtype) if constant else None
    name = "f16" if dtype == np.float16 else "f32"
    module, shapes = _module(geo, name, bias, weights, activation)
    inputs = [rng.standard_normal(s).astype(dtype) for s in shapes]
    want = run_reference(module, inputs)[0]
    with _route(route):
        lowered = lower_module(module)
    result = NpuExecutable(lowered).run(inputs)  # verifies the program (capacities included)
    tol = 2e-2 if dtype == np.float16 else 1e-4
    np.testing.assert_allclose(result.outputs[0].astype(np.float32), want, rtol=tol, atol=tol)
    if route is not None:
        by_img2col = any(isinstance(op, Img2ColOp) for op in lowered.walk())
        assert by_img2col == (route == "zeros")
    kernels = [op.sym_name.data for op in lowered.walk() if isinstance(op, KernelOp)]
    return lowered, kernels, result


def test_stride_two_padded_with_bias() -> None:
    _, kernels, result = _check(BASE)
    assert [k.rsplit("_", 1)[-1] for k in kernels] == ["zeros", "weights", "0"]
    assert all(k.cycles > 0 for k in result.profile.kernels)


def test_stride_one_needs_no_zero_insertion() -> None:
    _, kernels, _ = _check({**BASE, "s": (1, 1), "p": (0, 0, 0, 0)})
    assert not any(k.endswith("_zeros") for k in kernels)


def test_groups_dilation_output_padding_asymmetric() -> None:
    geo = dict(n=2, c=4, h=3, w=4, og=3, k=(2, 3), s=(3, 2), p=(0, 2, 1, 0), d=(2, 1), g=2,
               e=(2, 1))  # fmt: skip
    _check(geo, bias=False)


def test_constant_weights_are_laid_out_at_compile_time() -> None:
    _, kernels, _ = _check({**BASE, "g": 1}, constant=True)
    assert not any(k.endswith("_weights") for k in kernels)


def test_f16() -> None:
    _check({**BASE, "c": 20, "og": 18}, dtype=np.float16)


def test_image_larger_than_ub() -> None:
    """Z is 16 x 96 x 96 f32 (590 KB, over UB's 256 KiB): tiles of rows over the vector cores."""
    lowered, _, _ = _check({**BASE, "c": 16, "h": 48, "w": 48, "og": 8, "k": (4, 4)})
    zeros = next(op for op in lowered.walk() if isinstance(op, KernelOp))
    assert zeros.sym_name.data.endswith("_zeros") and zeros.block_dim.value.data > 1
    tiles = [op.results[0].type for op in zeros.walk() if op.name == "npu.alloc"]
    assert all(math.prod(t.dims) * 4 < 16 * 96 * 96 * 4 for t in tiles)


def test_padding_past_the_kernel_goes_to_col2im() -> None:
    """Pads above dilation * (k - 1) are a negative padding of the zero-inserted conv, which
    that route refuses; col2im crops any pads from its canvas."""
    module, _ = _module({**BASE, "p": (3, 0, 0, 0)})
    with _route("zeros"), pytest.raises(UnsupportedError, match="kernel.conv_transpose2d.*pads"):
        lower_module(module)
    _check({**BASE, "p": (3, 0, 0, 0)}, route=None)


@st.composite
def geometries(draw):
    """Transposed conv geometries with at least one output pixel; pads up to d * (k - 1)."""
    geo = dict(n=draw(st.integers(1, 2)), g=draw(st.sampled_from([1, 1, 2])))
    geo["c"] = geo["g"] * draw(st.integers(1, 12))
    geo["og"] = draw(st.integers(1, 10))
    geo["h"], geo["w"] = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    geo["k"] = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    geo["s"] = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    geo["d"] = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    geo["e"] = tuple(draw(st.integers(0, max(geo["s"][a], geo["d"][a]) - 1)) for a in (0, 1))
    span = [geo["d"][a] * (geo["k"][a] - 1) for a in (0, 1)]
    p = [draw(st.integers(0, span[a % 2])) for a in range(4)]
    geo["p"] = tuple(p)
    if min(_out_shape(geo)[2:]) < 1:
        geo["p"] = (0, 0, 0, 0)
    return geo


@given(geometries(), st.booleans(), st.sampled_from(["zeros", "col2im"]))
def test_random_geometries_match_the_reference(geo: dict, bias: bool, route: str) -> None:
    _check(geo, bias=bias, route=route)


EPILOGUES = (
    'activation = "relu"',
    'activation = "tanh"',
    'activation = "sigmoid"',
    'activation = "leaky_relu", activation_attrs = {alpha = 2.000000e-01 : f64}',
    'activation = "clip", activation_attrs = {min = -1.000000e+00 : f64, max = 1.000000e+00 : f64}',
    'activation = "gelu"',
    'activation = "hard_swish"',
    'activation = "elu", activation_attrs = {alpha = 5.000000e-01 : f64}',
)
"""Epilogue activations of a transposed conv (`fuse-conv-bias-activation`), as text: the
one-instruction ones and those that keep a scratch copy of the tile (gelu, hard_swish, elu)."""


@settings(deadline=None)
@given(
    geometries(), st.booleans(), st.sampled_from(["zeros", "col2im"]), st.sampled_from(EPILOGUES)
)
def test_an_epilogue_activation_matches_the_reference(
    geo: dict, bias: bool, route: str, activation: str
) -> None:
    """Each route applies the activation where it adds the bias (the im2col conv's epilogue;
    col2im's canvas, before the store), equal to the reference of conv then activation."""
    _check(geo, bias=bias, route=route, activation=activation)


def test_col2im_route_kernels_and_features() -> None:
    """GEMM Wᵀ @ X then col2im: groups, dilation, output_padding, pads, bias, f16."""
    _, kernels, _ = _check(BASE, route="col2im")
    assert [k.rsplit("_", 1)[-1] for k in kernels] == ["wt", "gemm", "0"]
    geo = dict(n=2, c=4, h=3, w=4, og=3, k=(2, 3), s=(3, 2), p=(0, 2, 1, 0), d=(2, 1), g=2,
               e=(2, 1))  # fmt: skip
    _check(geo, route="col2im")
    _, kernels, _ = _check({**BASE, "c": 20, "og": 18}, np.float16, constant=True, route="col2im")
    assert [k.rsplit("_", 1)[-1] for k in kernels] == ["gemm", "0"]


def test_col2im_image_larger_than_ub() -> None:
    """A 1x16x48x48 -> 96x96 f32 output (590 KB per image): items of few channels each."""
    _check({**BASE, "c": 16, "h": 48, "w": 48, "og": 8, "k": (4, 4)}, route="col2im")


def test_route_is_chosen_by_estimated_cycles() -> None:
    """A UNet 2x2 stride-2 up-conv goes to GEMM + col2im (4x fewer cube flops than the conv of
    the zero-inserted image), a 3x3 stride-1 one to the plain conv (no zeros to skip, and
    col2im would add nine taps' blocks)."""
    unet = dict(n=1, c=128, h=32, w=32, og=64, k=(2, 2), s=(2, 2), p=(0,) * 4, d=(1, 1), g=1,
                e=(0, 0))  # fmt: skip
    fcn = {**unet, "c": 64, "h": 28, "w": 28, "k": (3, 3), "s": (1, 1), "p": (1, 1, 1, 1)}
    for geo, want in ((unet, "col2im"), (fcn, "zeros")):
        module, _ = _module(geo, "f16", bias=False)
        op = next(op for op in module.walk() if op.name == "kernel.conv_transpose2d")
        costs = route_costs(op, default_target())
        assert min(costs, key=costs.get) == want, costs


@pytest.mark.parametrize("constant", [False, True])
def test_few_channels_and_tall_kernels_do_not_fold_the_flipped_weights(constant: bool) -> None:
    """Three input channels and a 7-row kernel: an im2col conv would fold its kernel rows
    into channels (refolding its constant weights), but the transposed conv lays out flipped
    or runtime weights of its own, which must not be refolded from the unflipped input."""
    geo = dict(n=1, c=3, h=9, w=9, og=4, k=(7, 7), s=(1, 1), p=(3, 3, 3, 3), d=(1, 1), g=1,
               e=(0, 0))  # fmt: skip
    _check(geo, bias=False, constant=constant)


def test_a_scratch_activation_counts_its_copy_in_col2ims_ub() -> None:
    """A 64 -> 32 2x2 stride-2 upsampling of 64x64 images: col2im holds 224 KB a channel
    with a relu (taps, phases, canvas and its copy), 288 KB with a gelu's scratch copy, over
    UB's 256 KiB: the gelu one fits no col2im item (why the fusion leaves such activations
    apart), the relu one does."""
    from gedialects.kernel.mirrored import ConvTranspose2DKernelOp
    from lowering.conv_transpose_col2im import col2im_geometry

    geo = dict(n=1, c=64, h=64, w=64, og=32, k=(2, 2), s=(2, 2), p=(0, 0, 0, 0), d=(1, 1),
               g=1, e=(0, 0))  # fmt: skip
    for activation, per_channel, fits in (("relu", 224, True), ("gelu", 288, False)):
        module, _ = _module(geo, activation=f'activation = "{activation}"')
        (op,) = [o for o in module.walk() if isinstance(o, ConvTranspose2DKernelOp)]
        assert col2im_geometry(op).unit_bytes(4) == per_channel * 1024
        col2im = route_costs(op, default_target())["col2im"]
        assert (col2im < float("inf")) == fits
