"""kernel.pool max/avg on the modeled NPU equals the kernel dialect's reference semantics."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from padding_windows import reads_only_padding
from xdsl.parser import Parser

from ge.registry import make_context
from gedialects.errors import GeVerifyError, UnsupportedError
from gedialects.interpreter import run_reference
from gedialects.npu.window import VecWindowOp
from lowering.convert_kernel_to_npu import lower_module
from runtime.npu_interpreter import NpuExecutable


def _t(shape: tuple[int, ...], dtype: str = "f32") -> str:
    return f"tensor<{'x'.join(map(str, shape))}x{dtype}>"


def _out(size: int, k: int, s: int, lo: int, hi: int, d: int, ceil: bool) -> int:
    """Output length as ge infers it (ceil_mode: the last window starts inside image or pad)."""
    num = size + lo + hi - d * (k - 1) - 1
    n = (-(-num // s) if ceil else num // s) + 1
    return n - 1 if ceil and (n - 1) * s >= size + lo else n


def _module(kind: str, shape, k, s, pads, d=(1, 1), ceil=0, cip=0, dtype="f32"):  # noqa: ANN001, ANN202
    hw = [_out(shape[2 + i], k[i], s[i], pads[i], pads[i + 2], d[i], ceil) for i in (0, 1)]
    out = (*shape[:2], *hw)
    attrs = (
        f'kind = "{kind}", kernel_shape = array<i64: {k[0]}, {k[1]}>, '
        f"strides = array<i64: {s[0]}, {s[1]}>, pads = array<i64: {', '.join(map(str, pads))}>, "
        f"dilations = array<i64: {d[0]}, {d[1]}>, ceil_mode = {ceil} : i64, "
        f'count_include_pad = {cip} : i64, fused_from = ["ge.{kind}_pool2d"]'
    )
    x, y = _t(shape, dtype), _t(out, dtype)
    text = f"""func.func @main(%x: {x}) -> {y} {{
  %y = kernel.pool %x {{{attrs}}} : ({x}) -> {y}
  func.return %y : {y}
}}"""
    return Parser(make_context(), text).parse_module()


def _check(kind: str, shape, k, s, pads, d=(1, 1), ceil=0, cip=0, dtype="f32", tol=1e-5):  # noqa: ANN001, ANN202
    module = _module(kind, shape, k, s, pads, d, ceil, cip, dtype)
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype.replace("f", "float"))
    want = run_reference(module, [x])[0]
    if reads_only_padding(shape[2:], want.shape[2:], k, s, pads[:2], d):  # found by the soak
        with pytest.raises(UnsupportedError, match="padding"):
            lower_module(module)
        return None, None
    lowered = lower_module(module)
    result = NpuExecutable(lowered).run([x])  # verifies capacities, flags and races
    np.testing.assert_allclose(result.outputs[0], want, rtol=tol, atol=tol)
    assert any(isinstance(op, VecWindowOp) for op in lowered.walk())
    kernel = result.profile.kernels[0]
    assert 0 < kernel.roofline_cycles <= kernel.cycles
    return lowered, kernel


def test_resnet_stem_maxpool_spread_over_cores_and_double_buffered():
    lowered, kernel = _check("max", (1, 64, 112, 112), (3, 3), (2, 2), (1, 1, 1, 1))
    npu_kernel = next(op for op in lowered.walk() if op.name == "npu.kernel")
    assert npu_kernel.blocks == 32
    assert sum(op.name == "npu.set_flag" and op.event == 1 for op in lowered.walk()) > 0
    assert kernel.cycles < 1.15 * kernel.roofline_cycles  # 0.92 of the roofline when written


def test_image_larger_than_ub_is_banded():
    """8 planes of 300x300 f32 (2.9 MB): row bands with a halo, each band fits UB."""
    _check("avg", (1, 8, 300, 300), (3, 3), (1, 1), (1, 1, 1, 1))


@pytest.mark.parametrize("cip", [0, 1])
def test_avg_divisors_at_borders(cip: int):
    _check("avg", (2, 3, 9, 7), (3, 2), (2, 3), (1, 0, 2, 1), cip=cip)


def test_ceil_mode_partial_windows():
    _check("avg", (1, 2, 10, 8), (3, 3), (2, 2), (0, 0, 0, 0), ceil=1)
    _check("max", (1, 2, 10, 8), (3, 3), (2, 2), (1, 1, 1, 1), ceil=1)


def test_f16_max_and_avg():
    _check("max", (1, 4, 9, 9), (3, 3), (1, 1), (1, 1, 1, 1), dtype="f16")
    _check("avg", (1, 4, 9, 9), (3, 3), (2, 2), (1, 1, 1, 1), dtype="f16", tol=2e-3)


@st.composite
def pools(draw):  # noqa: ANN201
    k = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    pads = [draw(st.integers(0, k[i % 2] - 1)) for i in range(4)]
    least = [max(1, d[i] * (k[i] - 1) + 1 - pads[i] - pads[i + 2]) for i in (0, 1)]
    size = [draw(st.integers(least[i], 12)) for i in (0, 1)]
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 5)), *size)
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    kind = draw(st.sampled_from(["max", "avg"]))
    ceil, cip = draw(st.booleans()), draw(st.booleans())
    return kind, shape, k, s, tuple(pads), d, int(ceil), int(cip)


@given(pools())
def test_random_pools_match_reference(case):  # noqa: ANN001
    _check(*case)


def test_integer_pool_is_refused():
    module = _module("max", (1, 1, 4, 4), (2, 2), (2, 2), (0, 0, 0, 0), dtype="i32")
    with pytest.raises(UnsupportedError, match="kernel.pool' max on i32"):
        lower_module(module)


def test_row_wider_than_ub_is_refused():
    module = _module("max", (1, 1, 3, 100000), (3, 3), (1, 1), (0, 0, 0, 0))
    with pytest.raises(UnsupportedError, match="does not fit UB"):
        lower_module(module)


def test_vec_window_past_its_source_is_a_verify_error():
    text = """npu.kernel "k" block_dim = 1 {
^bb0(%i: index):
  %a = npu.alloc : !npu.buffer<1x5x5xf32, ub>
  %b = npu.alloc : !npu.buffer<1x3x3xf32, ub>
  npu.vec_window "max" %a [0, 1, 0] step [1, 2, 2] -> %b : !npu.buffer<1x5x5xf32, ub> -> !npu.buffer<1x3x3xf32, ub>
}"""  # noqa: E501
    op = Parser(make_context(), text).parse_op()
    with pytest.raises(GeVerifyError, match="past dim 1"):
        op.verify()


def test_vec_window_charges_blocks_of_a_strided_last_axis():
    kernel = _check("max", (1, 1, 8, 64), (1, 1), (1, 4), (0, 0, 0, 0))[1]
    assert kernel.vector_bytes == 4 * 8 * 16 * 4  # stride 4 reads 4x the 8x16 f32 output


def test_a_dilated_window_of_padding_alone_is_refused():
    """Found by the soak profile: a dilated (2, 1) max window on a one-pixel image with one
    row of padding on each side reads rows -1 and 1 only: refused, it runs by reference."""
    assert _check("max", (1, 1, 1, 1), (2, 1), (1, 1), (1, 0, 1, 0), (2, 1)) == (None, None)
