"""kernel.conv2d by Winograd F(2x2,3x3) / F(4x4,3x3) on the modeled NPU equals the reference."""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from xdsl.parser import Parser

import lowering.lower_conv_winograd as winograd
from ge.registry import make_context
from gedialects.errors import UnsupportedError
from gedialects.ge.constant import ConstantOp, print_constants_in_full
from gedialects.interpreter import run_reference
from gedialects.kernel.conv_algorithms import ALGORITHMS
from gedialects.npu.buffers import HbmAllocOp, HbmConstantOp
from gedialects.npu.cube import MmadOp
from gedialects.npu.launch import KernelOp
from lowering.convert_kernel_to_npu import lower_module
from lowering.winograd_fused_tiling import _estimate as estimate
from runtime.npu_interpreter import NpuExecutable

RELU6 = ', activation = "clip", activation_attrs = {min = 0.0 : f64, max = 6.0 : f64}'
WINOGRAD = ["winograd_2x2", "winograd_4x4"]


def _t(shape: tuple[int, ...], dtype: str) -> str:
    return f"tensor<{'x'.join(map(str, shape))}x{dtype}>"


def _module(geo: dict, algorithm: str, epilogue: str = "", full=False, dtype="f32", weights=None):
    """A one-conv kernel-level program and its input shapes (weights aside); `weights` (an
    array) makes the weight a constant."""
    n, c, h, w, o, p, g = (geo[key] for key in ("n", "c", "h", "w", "o", "p", "g"))
    k, s, d = geo.get("k", 3), geo.get("s", 1), geo.get("d", 1)
    oh, ow = ((size + 2 * p - d * (k - 1) - 1) // s + 1 for size in (h, w))
    shapes = ((n, c, h, w), (o, c // g, k, k), (n, o, oh, ow), (o,))
    x, wt, y, vec = (_t(shape, dtype) for shape in shapes)
    params, operands, body = [f"%x: {x}"], "", ""
    if weights is None:
        params.append(f"%w: {wt}")
    else:
        with print_constants_in_full():
            body = str(ConstantOp.from_array(weights)).replace("%0", "%w", 1) + "\n"
    if full:
        params += [f"%b: {vec}", f"%s: {vec}", f"%h: {vec}", f"%r: {y}"]
        operands = f"bias %b : {vec} scale %s : {vec} shift %h : {vec} residual %r : {y}"
        epilogue += ', post_activation = "relu"'
    attrs = (
        f"strides = array<i64: {s}, {s}>, pads = array<i64: {p}, {p}, {p}, {p}>, "
        f'dilations = array<i64: {d}, {d}>, groups = {g} : i64, algorithm = "{algorithm}"'
    )
    props = f'{attrs}{epilogue}, fused_from = ["ge.conv2d"]'
    text = f"""func.func @main({", ".join(params)}) -> {y} {{
  {body}%y = kernel.conv2d %x, %w {operands} {{{props}}} : {x}, {wt} -> {y}
  func.return %y : {y}
}}"""
    shapes = [(n, c, h, w)] + ([(o,), (o,), (o,), (n, o, oh, ow)] if full else [])
    return Parser(make_context(), text).parse_module(), shapes


FORMS = {"fused": ("FUSED_SLACK", 0.0), "unfused": ("choose_fused_tile", lambda t, s: None)}


def _check(
    geo: dict,
    algorithm: str,
    epilogue="",
    full=False,
    dtype=np.float32,
    constant=False,
    form="fused",
):
    """Lower (forcing Winograd's fused or unfused form), run on the modeled NPU, compare."""
    rng = np.random.default_rng(1)
    weights = rng.standard_normal((geo["o"], geo["c"] // geo["g"], 3, 3)).astype(dtype)
    name = "f16" if dtype == np.float16 else "f32"
    module, shapes = _module(geo, algorithm, epilogue, full, name, weights if constant else None)
    inputs = [rng.standard_normal(s).astype(dtype) for s in shapes]
    if not constant:
        inputs.insert(1, weights)
    want = run_reference(module, inputs)[0].astype(np.float32)
    with mock.patch.object(winograd, *FORMS[form]):
        lowered = lower_module(module)
    result = NpuExecutable(lowered).run(inputs)  # verifies the program (capacities included)
    got = result.outputs[0].astype(np.float32)
    scale = max(1.0, float(np.abs(want).max()))
    rtol = ALGORITHMS[algorithm].rtol if dtype == np.float32 else 1e-2
    np.testing.assert_allclose(got / scale, want / scale, rtol=0, atol=10 * rtol)
    kernels = [op for op in lowered.walk() if isinstance(op, KernelOp)]
    assert all(k.algorithm is not None and k.algorithm.data == algorithm for k in kernels)
    assert sum(any(isinstance(i, MmadOp) for i in k.walk()) for k in kernels) == 1
    if form == "fused":  # one kernel, and a weight-transform kernel before it for runtime weights
        assert len(kernels) == (1 if constant else 2)
        allocs = [op for op in lowered.walk() if isinstance(op, HbmAllocOp)]
        assert len(allocs) == (1 if constant else 2)  # the output (and U): no V, no M
    else:
        assert len(kernels) == (3 if constant else 4)
    return lowered, result


@st.composite
def geometries(draw):
    """3x3 stride-1 convs the algorithms accept, with H/W rarely multiples of the tile."""
    p = draw(st.integers(0, 2))
    h, w = draw(st.integers(max(1, 3 - 2 * p), 13)), draw(st.integers(max(1, 3 - 2 * p), 13))
    g = draw(st.sampled_from([1, 1, 1, 2]))
    c, o = g * draw(st.integers(1, 20 // g)), g * draw(st.integers(1, 20 // g))
    return dict(n=draw(st.integers(1, 2)), c=c, h=h, w=w, o=o, p=p, g=g)


@settings(max_examples=10)
@given(geometries(), st.sampled_from(WINOGRAD), st.booleans())
@example(dict(n=1, c=1, h=3, w=3, o=1, p=0, g=1), "winograd_2x2", True)  # a residual of
# one column (OW 1) was taken for a channel vector (soak)
def test_winograd_equals_reference(geo: dict, algorithm: str, full: bool) -> None:
    _check(geo, algorithm, RELU6 if full else ', activation = "relu"', full)


@pytest.mark.parametrize("algorithm", WINOGRAD)
def test_constant_weights_are_transformed_at_compile_time(algorithm: str) -> None:
    geo = dict(n=1, c=6, h=9, w=7, o=5, p=1, g=1)
    lowered, _ = _check(geo, algorithm, full=True, constant=True)
    alpha2 = (int(algorithm[-1]) + 2) ** 2
    shapes = [op.buffer.type.dims for op in lowered.walk() if isinstance(op, HbmConstantOp)]
    assert (alpha2, 5, 6) in shapes


@pytest.mark.parametrize("algorithm", WINOGRAD)
def test_f16(algorithm: str) -> None:
    _check(dict(n=2, c=17, h=10, w=11, o=9, p=1, g=1), algorithm, RELU6, dtype=np.float16)


def test_depthwise_and_groups() -> None:
    _check(dict(n=1, c=4, h=6, w=6, o=4, p=1, g=4), "winograd_2x2", full=True)
    _check(dict(n=1, c=6, h=8, w=5, o=9, p=0, g=3), "winograd_4x4")


def test_data_larger_than_l1_and_ub() -> None:
    """A 1.3 MB f32 input and 1.3 MB of transformed tiles: many items on every core."""
    geo = dict(n=1, c=64, h=72, w=72, o=32, p=1, g=1)
    _, result = _check(geo, "winograd_2x2", ', activation = "relu"')
    conv = result.profile.kernels[-1]
    assert conv.block_dim > 16 and conv.cycles > 0


@pytest.mark.parametrize(
    ("geo", "message"),
    [
        (dict(s=2), "stride 1 and no dilation"),
        (dict(d=2), "stride 1 and no dilation"),
        (dict(k=5), "needs a 3x3 kernel"),
        (dict(p=3), "pads over 2"),
    ],
)
def test_geometries_winograd_cannot_take_are_refused(geo: dict, message: str) -> None:
    module, _ = _module(dict(n=1, c=4, h=12, w=12, o=4, p=1, g=1) | geo, "winograd_2x2")
    with pytest.raises(UnsupportedError, match=f"'kernel.conv2d' by winograd_2x2: .*{message}"):
        lower_module(module)


@pytest.mark.parametrize("algorithm", WINOGRAD)
def test_unfused_form(algorithm: str) -> None:
    """The three-kernel form, which the lowering keeps for layers where it is cheaper."""
    geo = dict(n=2, c=6, h=9, w=10, o=9, p=1, g=3)
    _check(geo, algorithm, RELU6, full=True, form="unfused")
    _check(dict(geo, g=1, p=2), algorithm, dtype=np.float16, constant=True, form="unfused")


@pytest.mark.parametrize(
    ("c", "hw", "algorithm", "kernels"),
    [(64, 56, "winograd_2x2", 1), (256, 14, "winograd_4x4", 3)],
)
def test_the_cheaper_form_is_picked(c: int, hw: int, algorithm: str, kernels: int) -> None:
    """ResNet-50's first 3x3 layer fused; a deep layer, where every core would read U's 4.7 MB
    from L2, through HBM temporaries (U read once). Lowered only, not run."""
    weights = np.full((c, c, 3, 3), 0.01, np.float16)
    module, _ = _module(dict(n=1, c=c, h=hw, w=hw, o=c, p=1, g=1), algorithm, "", False, "f16",
                        weights)  # fmt: skip
    lowered = lower_module(module)
    assert len([op for op in lowered.walk() if isinstance(op, KernelOp)]) == kernels


@pytest.mark.parametrize("algorithm", WINOGRAD)
@pytest.mark.parametrize("pad", [0, 1, 2])
def test_items_split_every_way(algorithm: str, pad: int) -> None:
    """A tiling with several tile-row bands, column runs, output blocks and input chunks (the
    zeroing of the left padding then depends on the run, the last items are partial)."""
    split = lambda target, s: estimate(target, s, 2, 2, 16, 16)  # noqa: E731
    with mock.patch.object(winograd, "choose_fused_tile", split):
        _check(dict(n=2, c=20, h=11, w=13, o=18, p=pad, g=1), algorithm, full=True)
