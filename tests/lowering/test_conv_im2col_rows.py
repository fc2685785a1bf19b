"""Which input rows and pixels an im2col conv unit reads.

- A 1-row kernel with a vertical stride (ResNet's 1x1 stride-2 downsampling convs) reads
  only every stride-th input row: an (N, C, H / s, s * W) view of the input, img2col with a
  vertical stride of 1; the bytes through MTE2 drop accordingly.
- A pixel tile may be whole output rows that are not whole fractals (14, 28, 56 pixels): it
  reads exactly its rows; its L0 buffers are rounded up to 16.
Both must equal the kernel's reference semantics, fit the target (the interpreter verifies
capacities, flags and races) and keep the tile estimate near the modeled cycles.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from xdsl.parser import Parser

from ge.registry import make_context
from gedialects.interpreter import run_reference
from gedialects.npu.buffers import ReshapeOp
from gedialects.npu.img2col import Img2ColOp
from lowering import conv_im2col, conv_tiling
from lowering.conv_tiling import ConvShape, choose_conv_tile, skips_rows
from lowering.convert_kernel_to_npu import lower_module
from runtime.npu_interpreter import NpuExecutable
from runtime.targets import load_target

TARGET = load_target("ascend910a")
SMALL = dataclasses.replace(
    TARGET, ai_cores=3, capacity={**TARGET.capacity, "l1": 96 * 1024, "ub": 160 * 1024}
)
"""Few cores and little L1/UB: several units per core and row tiles at test sizes."""


def _module(n, c, h, w, o, k, s, p, epilogue):  # noqa: ANN001, ANN202
    ho, wo = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1

    def t(shape):  # noqa: ANN001, ANN202
        return f"tensor<{'x'.join(map(str, shape))}xf32>"

    x, wt, y, b = t((n, c, h, w)), t((o, c, k, k)), t((n, o, ho, wo)), t((o,))
    params, operands, act = f"%x: {x}, %w: {wt}", "", ""
    shapes = [(n, c, h, w), (o, c, k, k)]
    if epilogue:
        params += f", %b: {b}, %r: {y}"
        operands, act = f"bias %b : {b} residual %r : {y}", ', activation = "relu"'
        shapes += [(o,), (n, o, ho, wo)]
    attrs = (
        f"strides = array<i64: {s}, {s}>, pads = array<i64: {p}, {p}, {p}, {p}>, "
        f'dilations = array<i64: 1, 1>, groups = 1 : i64{act}, fused_from = ["ge.conv2d"]'
    )
    text = f"""func.func @main({params}) -> {y} {{
  %y = kernel.conv2d %x, %w {operands} {{{attrs}}} : {x}, {wt} -> {y}
  func.return %y : {y}
}}"""
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal(shape).astype(np.float32) for shape in shapes]
    return Parser(make_context(), text).parse_module(), inputs


def _run(module, inputs, target):  # noqa: ANN001, ANN202
    lowered = lower_module(module, target)
    result = NpuExecutable(lowered, target).run(inputs)
    want = run_reference(module, inputs)[0]
    np.testing.assert_allclose(result.outputs[0], want, rtol=1e-4, atol=1e-4)
    return lowered, result.profile.kernels[0]


def _shape(c, h, w, o, k, s, p, n=1) -> ConvShape:  # noqa: ANN001
    ho, wo = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    return ConvShape(c, h, w, k * k, ho * wo, o, n, 4, (), wo, s, k, (p, p), False, 4)


@st.composite
def _strided(draw):  # noqa: ANN001, ANN202
    """1-row kernels with a vertical stride, heights that divide by it or not, padded or not."""
    k, s = draw(st.sampled_from([1, 1, 1, 3])), draw(st.integers(2, 3))
    p = draw(st.sampled_from([0, 0, 0, 1]))
    h, w = draw(st.integers(max(k - 2 * p, 1), 18)), draw(st.integers(max(k - 2 * p, 1), 18))
    c, o = draw(st.integers(1, 40)), draw(st.integers(1, 40))
    return dict(n=draw(st.integers(1, 2)), c=c, h=h, w=w, o=o, k=k, s=s, p=p)


@settings(deadline=None, max_examples=25)
@given(_strided(), st.booleans(), st.booleans())
def test_strided_convs_equal_reference(geo: dict, epilogue: bool, small: bool) -> None:
    """Skipped rows or not, on the full target and on a small one (row tiles, several units
    per core): the outputs equal the reference; when rows are skipped the kernel reads the
    input through the (N, C, H / s, s * W) view and img2col strides 1 vertically."""
    module, inputs = _module(**geo, epilogue=epilogue)
    lowered, _ = _run(module, inputs, SMALL if small else TARGET)
    n, c, h, w, s = (geo[key] for key in ("n", "c", "h", "w", "s"))
    views = [op.result.type.dims for op in lowered.walk() if isinstance(op, ReshapeOp)]
    strides = {tuple(op.strides.get_values()) for op in lowered.walk() if isinstance(op, Img2ColOp)}
    skipped = skips_rows(geo["k"], s, (geo["p"], geo["p"]), h)
    assert ((n, c, h // s, s * w) in views) == skipped
    assert strides == {(1 if skipped else s, s)}


def test_skipped_rows_halve_the_input_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    """ResNet-50's 512 -> 1024 1x1 stride-2 conv on 28x28 at a quarter of its channels: fewer
    bytes of the input are read than when every row is (odd rows never are; each run picks
    its own tiles), the kernel is faster, and the tile estimate stays within 15% of the
    modeled cycles."""
    module, inputs = _module(1, 128, 28, 28, 256, 1, 2, 0, epilogue=False)
    _, skipped = _run(module, inputs, TARGET)
    tiling = choose_conv_tile(TARGET, _shape(128, 28, 28, 256, 1, 2, 0))
    assert abs(tiling.estimate - skipped.cycles) < 0.15 * skipped.cycles
    for where in (conv_im2col, conv_tiling):
        monkeypatch.setattr(where, "skips_rows", lambda *_: False)
    monkeypatch.setattr(conv_tiling, "_CONV_TILES", {})  # forget the tiles chosen skipping
    _, every = _run(module, inputs, TARGET)
    image = inputs[0].nbytes

    def input_bytes(profile) -> int:  # noqa: ANN001
        return sum(n for (buf, rw), n in profile.hbm_traffic.items() if buf.array.nbytes == image)

    assert input_bytes(skipped) < 0.75 * input_bytes(every)  # 0.67 when written
    assert skipped.cycles < 0.9 * every.cycles  # 1,140 against 1,368 when written


def test_pixel_tiles_of_whole_output_rows() -> None:
    """A 14-wide output: the chosen pixel tile is whole output rows and not whole fractals
    (28 or 56 pixels), L0 buffers rounded up to 16; equal to the reference, estimate within
    15% of the modeled cycles."""
    shape = _shape(256, 14, 14, 256, 3, 1, 1)  # with the epilogue's bias and residual tiles
    shape = dataclasses.replace(shape, operands=((True, False), (True, True)))
    tiling = choose_conv_tile(TARGET, shape)
    assert tiling.tm % 14 == 0 and tiling.tm % 16 != 0
    module, inputs = _module(1, 256, 14, 14, 256, 3, 1, 1, epilogue=True)
    lowered, profile = _run(module, inputs, TARGET)
    l0a = [
        op.buffer.type for op in lowered.walk() if op.name == "npu.alloc"
        and op.buffer.type.space_name == "l0a"
    ]  # fmt: skip
    assert l0a and all(t.dims[0] == -(-tiling.tm // 16) * 16 for t in l0a)
    assert abs(tiling.estimate - profile.cycles) < 0.15 * profile.cycles
