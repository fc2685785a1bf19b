"""kernel.conv2d {algorithm = "direct"} on the modeled NPU's vector unit equals the kernel
dialect's reference semantics; `npu.vec_window_mla` verifies and costs one pass."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_lower_conv import RELU6, _module, _out_size, padding_only
from xdsl.parser import Parser

from ge.registry import make_context
from gedialects.errors import GeVerifyError, UnsupportedError
from gedialects.interpreter import run_reference
from gedialects.npu.img2col import Img2ColOp
from gedialects.npu.launch import KernelOp
from gedialects.npu.window_mla import VecWindowMlaOp
from lowering.convert_kernel_to_npu import lower_module
from runtime.npu_interpreter import NpuExecutable
from runtime.targets import default_target


def _check(geo: dict, epilogue: str = "", full: bool = False, dtype=np.float32):
    module, shapes = _module(geo, epilogue, full, "direct")
    if dtype == np.float16:
        module = Parser(make_context(), str(module).replace("xf32>", "xf16>")).parse_module()
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal(s).astype(dtype) for s in shapes]
    want = run_reference(module, inputs)[0]
    if padding_only(geo, want.shape[2:]):  # found by the soak profile: an empty DMA
        with pytest.raises(UnsupportedError, match="reads only padding"):
            lower_module(module)
        return None, None
    lowered = lower_module(module)
    result = NpuExecutable(lowered).run(inputs)  # verifies the program (capacities included)
    got = result.outputs[0]
    assert got.dtype == dtype
    tol = 1e-4 if dtype == np.float32 else 1e-2
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    assert not any(isinstance(op, Img2ColOp) for op in lowered.walk())
    taps = [op for op in lowered.walk() if isinstance(op, VecWindowMlaOp)]
    assert len(taps) == 2 * geo["k"] ** 2  # one vmla per tap in the ping and pong units
    kernel = result.profile.kernels[0]
    assert kernel.cube_flops == 0 and kernel.vector_flops > 0
    assert 0 < kernel.roofline_cycles <= kernel.cycles
    return lowered, result


@st.composite
def geometries(draw):
    """Depthwise (with a channel multiplier), grouped and ordinary convs; kernel 1-7, stride
    1-3, padding, dilation 1-2; at least one output pixel."""
    k, s, d = draw(st.integers(1, 7)), draw(st.integers(1, 3)), draw(st.integers(1, 2))
    p = draw(st.integers(0, 3))
    span = d * (k - 1) + 1
    h = draw(st.integers(max(1, span - 2 * p), 14))
    w = draw(st.integers(max(1, span - 2 * p), 14))
    kind = draw(st.sampled_from(["depthwise", "depthwise", "multiplier", "groups", "ordinary"]))
    if kind in ("depthwise", "multiplier"):
        c = g = draw(st.integers(1, 20))
        o = c * (1 if kind == "depthwise" else draw(st.integers(2, 3)))
    else:
        g = 1 if kind == "ordinary" else draw(st.sampled_from([2, 3]))
        c, o = g * draw(st.integers(1, 3)), g * draw(st.integers(1, 4))
    return dict(n=draw(st.integers(1, 2)), c=c, h=h, w=w, o=o, k=k, s=s, p=p, d=d, g=g)


@given(geometries(), st.sampled_from(["none", "relu", "full"]))
def test_direct_conv_equals_reference(geo: dict, epilogue: str) -> None:
    if epilogue == "full":
        _check(geo, RELU6, full=True)
    else:
        _check(geo, ', activation = "relu"' if epilogue == "relu" else "")


@pytest.mark.parametrize(
    "geo",
    [
        dict(n=1, c=32, h=12, w=12, o=32, k=3, s=1, p=1, d=1, g=32),  # MobileNetV2-like
        dict(n=2, c=20, h=11, w=9, o=40, k=3, s=2, p=1, d=1, g=20),  # multiplier 2, 3 blocks
        dict(n=1, c=6, h=9, w=9, o=4, k=5, s=1, p=2, d=2, g=2),  # groups, 3 inputs per lane
        dict(n=1, c=3, h=1, w=1, o=3, k=7, s=1, p=3, d=1, g=3),  # one pixel, all padding
        dict(n=1, c=2, h=1, w=1, o=2, k=1, s=2, p=3, d=1, g=2),  # bands of padding only
    ],
)
def test_direct_conv_edge_geometries(geo: dict) -> None:
    _check(geo, RELU6, full=True)


def test_direct_conv_f16() -> None:
    geo = dict(n=1, c=24, h=10, w=10, o=24, k=3, s=2, p=1, d=1, g=24)
    _check(geo, RELU6, full=True, dtype=np.float16)


def test_image_larger_than_ub_goes_in_row_bands_over_the_cores() -> None:
    """16 channels of 160x160 f32 (1.6 MB) is 6x UB: bands of rows with their halo."""
    geo = dict(n=1, c=32, h=160, w=160, o=32, k=3, s=1, p=1, d=1, g=32)
    lowered, result = _check(geo, ', activation = "relu"')
    kernel = next(op for op in lowered.walk() if isinstance(op, KernelOp))
    assert kernel.blocks == default_target().vector_cores
    assert result.profile.kernels[0].cores == default_target().vector_cores


def test_integer_conv_is_unsupported() -> None:
    module, _ = _module(dict(n=1, c=4, h=6, w=6, o=4, k=3, s=1, p=0, d=1, g=4), algorithm="direct")
    text = str(module).replace("f32", "i32")
    module = Parser(make_context(), text).parse_module()
    with pytest.raises(UnsupportedError, match="algorithm=direct.*i32"):
        lower_module(module)


def test_row_wider_than_ub_is_unsupported() -> None:
    module, _ = _module(
        dict(n=1, c=1, h=7, w=60000, o=1, k=7, s=1, p=3, d=1, g=1), "", False, "direct"
    )
    with pytest.raises(UnsupportedError, match="direct.*does not fit UB"):
        lower_module(module)


def test_vec_window_mla_past_its_source_is_a_verify_error() -> None:
    text = """npu.kernel "k" block_dim = 1 {
^bb0(%i: index):
  %a = npu.alloc : !npu.buffer<1x5x5x16xf32, ub>
  %w = npu.alloc : !npu.buffer<9x16xf32, ub>
  %c = npu.alloc : !npu.buffer<1x3x3x16xf32, ub>
  npu.vec_window_mla %a [0, 1, 0, 0] step [1, 2, 2, 1], %w row 4 -> %c : !npu.buffer<1x5x5x16xf32, ub>, !npu.buffer<9x16xf32, ub> -> !npu.buffer<1x3x3x16xf32, ub>
}"""  # noqa: E501
    op = Parser(make_context(), text).parse_op()
    with pytest.raises(GeVerifyError, match="past dim 1"):
        op.verify()
    with pytest.raises(GeVerifyError, match="row 9 is past"):
        Parser(
            make_context(), text.replace("[0, 1, 0, 0]", "[0, 0, 0, 0]").replace("row 4", "row 9")
        ).parse_op().verify()


def test_a_window_of_padding_alone_is_refused():
    """Found by the soak profile: a 1x1 kernel with padding 1 and stride 3 on a one-row
    image has a window of padding alone (an empty DMA): refused, so it runs by reference."""
    lowered, result = _check(dict(n=1, c=1, h=1, w=2, o=1, k=1, s=3, p=1, d=1, g=1))
    assert lowered is None and result is None


@given(geometries())
def test_a_replayed_direct_conv_equals_its_first_run(geo: dict) -> None:
    """Warm runs replay a wave's `vec_window_mla` taps stacked (every block its own row of
    its own weights): bit for bit what a first, fully interpreted run gives."""
    module, shapes = _module(geo, RELU6, True, "direct")
    rng = np.random.default_rng(1)
    inputs = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    out = [_out_size(geo[a], geo["k"], geo["s"], geo["p"], geo["d"]) for a in ("h", "w")]
    if padding_only(geo, out):  # refused: `test_direct_conv_equals_reference`
        return
    executable = NpuExecutable(lower_module(module))
    for _ in range(3):  # capture; merge the waves' blocks; drop dead poison
        warm = executable.run(inputs)
    first = NpuExecutable(lower_module(_module(geo, RELU6, True, "direct")[0])).run(inputs)
    np.testing.assert_array_equal(warm.outputs[0], first.outputs[0])


def test_a_waves_taps_replay_in_one_call_each() -> None:
    """MobileNetV2's depthwise 3x3 on 32 channels of 28x28, its blocks over the cores: the
    merged replay makes a fraction of the first run's `vec_window_mla` calls."""
    geo = dict(n=1, c=96, h=28, w=28, o=96, k=3, s=1, p=1, d=1, g=96)
    module, shapes = _module(geo, RELU6, True, "direct")
    rng = np.random.default_rng(2)
    executable = NpuExecutable(lower_module(module))
    inputs = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    executable.run(inputs)
    (replay,) = executable.replays.values()
    captured = sum(getattr(fn, "__name__", "") == "mla" for fn, _ in replay.actions)
    executable.run(inputs)
    merged = sum(getattr(fn, "__name__", "") == "mla" for fn, _ in replay.actions)
    assert captured >= 9 * replay.cores > 0
    assert merged * 4 <= captured
