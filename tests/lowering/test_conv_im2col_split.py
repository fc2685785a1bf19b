"""A core's last im2col unit in two pixel pieces: the first piece's drain runs under the
second one's K steps (`Im2ColConv._k_loop`, `ChunkedDrain._drain`, `conv_tiling.last_split`).

- Forced on every tile (whole or short last tiles, one or several units a core, epilogue or
  not), the split kernel equals the reference and passes the race and flag checks.
- Where the estimate picks it (ResNet's 64ch 56x56 3x3), it saves modeled cycles, and the
  estimate stays near the modeled cycles.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gedialects.interpreter import run_reference
from lowering import conv_im2col
from lowering.conv_tiling import ConvShape, choose_conv_tile, last_split
from lowering.convert_kernel_to_npu import lower_module
from runtime.npu_interpreter import NpuExecutable
from tests.lowering.test_conv_im2col_pipeline import SMALL, TARGET, _conv, _ge_conv


def _run(module, inputs, target, split: bool | None):  # noqa: ANN001, ANN202
    """Lower with the last unit split (True), not split (False) or as the estimate picks
    (None); run on the modeled NPU and compare with the reference."""
    chosen = conv_im2col.choose_conv_tile
    picked = []

    def force(t, shape):  # noqa: ANN001, ANN202
        tiling = chosen(t, shape)
        if split is not None and tiling is not None:
            tiling = dataclasses.replace(tiling, split=last_split(tiling.tm) if split else 0)
        picked.append(tiling)
        return tiling

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(conv_im2col, "choose_conv_tile", force)
        lowered = lower_module(module.clone(), target)
    result = NpuExecutable(lowered, target).run(inputs)  # verifies capacities, races, flags
    np.testing.assert_allclose(
        result.outputs[0], run_reference(module, inputs)[0], rtol=1e-4, atol=1e-4
    )
    return result.profile.kernels[0], picked[0]


def test_last_split_cuts_at_a_drain_chunk() -> None:
    assert last_split(112) == 64  # chunks of 32 pixels: 64 + 48
    assert last_split(16) == 0  # one chunk: nothing to overlap
    assert last_split(224) == 128


def test_split_saves_the_drain_of_resnets_64ch_3x3() -> None:
    """64ch 56x56 3x3 f32: the last unit's drain (a 14 KiB store at the core's HBM share,
    ~470 cycles) was what nothing overlapped; split, about half of it runs under the cube
    (3,236 -> 3,102 cycles when written)."""
    module, inputs = _ge_conv(64, 56, 64, 3, 1, 1)
    profile, tiling = _run(module, inputs, TARGET, None)
    assert tiling.split > 0
    whole, _ = _run(module, inputs, TARGET, False)
    assert profile.cycles < whole.cycles - 100
    assert abs(tiling.estimate - profile.cycles) < 0.1 * profile.cycles


def test_estimate_keeps_one_piece_when_loads_bound_the_unit() -> None:
    """128ch 28x28 3x3 runs one unit a core whose K loop waits on its loads: a second piece
    would run all its K steps after the last load, so the estimate keeps one piece."""
    shape = ConvShape(128, 28, 28, 9, 784, 128, 1, 4, (), 28, 1, 3, (1, 1), True, 4)
    assert choose_conv_tile(TARGET, shape).split == 0


@st.composite
def _geometries(draw):  # noqa: ANN001, ANN202
    k = draw(st.sampled_from([1, 3]))
    s = 2 if k == 1 else draw(st.integers(1, 2))  # a 1x1 stride-1 conv is a GEMM
    p = draw(st.integers(0, k // 2))
    h, w = draw(st.integers(max(k - 2 * p, 1), 20)), draw(st.integers(max(k - 2 * p, 4), 24))
    c, o = draw(st.integers(1, 40)), draw(st.integers(1, 24))
    return dict(n=draw(st.integers(1, 2)), c=c, h=h, w=w, o=o, k=k, s=s, p=p, g=1)


@settings(deadline=None, max_examples=25)
@given(_geometries(), st.booleans(), st.booleans())
def test_split_last_units_equal_reference(geo: dict, epilogue: bool, small: bool) -> None:
    module, inputs = _conv(**geo, epilogue=epilogue)
    _run(module, inputs, SMALL if small else TARGET, True)


def test_split_with_several_units_a_core_and_a_short_last_tile() -> None:
    """On SMALL (3 cores) a core runs several units, the skewed loop's last-unit branches of
    both parities, and the last pixel tile (204 = 2 x 72 + 60) is no longer than the split:
    it has no second piece."""
    module, inputs = _conv(2, 40, 17, 12, 24, 3, 1, 1, 1, epilogue=True)
    _, tiling = _run(module, inputs, SMALL, True)
    assert tiling.per >= 2 and tiling.split > 0
    assert 0 < 204 % tiling.tm <= tiling.split
