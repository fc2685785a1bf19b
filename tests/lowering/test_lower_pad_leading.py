"""kernel.pad with pads on axes before the last two on the modeled NPU equals the kernel
dialect's reference semantics (np.pad) exactly, in every mode, crops included."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from npu_diff import Checked, check
from test_lower_pad import _module

from gedialects.errors import UnsupportedError
from gedialects.npu.buffers import HbmConstantOp
from lowering.convert_kernel_to_npu import lower_module

MODES = ["constant", "reflect", "edge", "wrap"]


def _check(shape: tuple[int, ...], pads: tuple[int, ...], mode: str, value: float = 0.0) -> Checked:
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    return check(_module(shape, pads, mode, value), [x], exact=True)


def test_channel_pad_is_one_copy_kernel_with_a_fill_constant() -> None:
    checked = _check((1, 3, 4, 5), (0, 1, 0, 0, 0, 2, 0, 0), "constant", 1.5)
    assert checked.kernel_names == ["pad_0"]
    fills = [op for op in checked.lowered.walk() if isinstance(op, HbmConstantOp)]
    assert len(fills) == 2  # before, after


def test_every_axis_reflected_goes_axis_by_axis() -> None:
    checked = _check((2, 3, 4, 5), (1, 1, 1, 2, 0, 2, 2, 1), "reflect")
    assert checked.kernel_names == ["pad_0_hw", "pad_0_axis0", "pad_0_axis1"]


def test_edge_wrap_and_crops() -> None:
    _check((2, 3, 4, 5), (0, 2, 0, 0, 2, 1, 0, 0), "edge")
    _check((3, 4, 5), (1, -1, 0, 2, 1, 0), "wrap")
    _check((3, 4, 5), (-1, 0, 0, 0, 0, 0), "constant")


def test_larger_than_ub() -> None:
    """Channels of 1x8x128x128 f32 (512 KB) reflected by 2: slabs tiled through UB."""
    _check((1, 8, 128, 128), (0, 2, 0, 0, 0, 2, 0, 0), "reflect")


@st.composite
def pads(draw):  # noqa: ANN201
    rank = draw(st.integers(3, 4))
    shape = tuple(draw(st.lists(st.integers(1, 5), min_size=rank, max_size=rank)))
    mode = draw(st.sampled_from(MODES))
    low = -1 if mode == "constant" else 0  # crops, where the axis keeps an element
    values = []
    for side in range(2 * rank):
        dim = shape[side % rank]
        top = dim - 1 if mode == "reflect" else 2  # np.pad reflect needs pad < dim (one pass)
        values.append(draw(st.integers(low if dim > 2 else 0, max(0, min(2, top)))))
    if not any(values[a] or values[a + rank] for a in range(rank - 2)):
        values[0] = 1 if mode != "reflect" or shape[0] > 1 else 0
        if mode == "reflect" and shape[0] == 1:
            mode = "edge"
            values[0] = 1
    return shape, tuple(values), mode


@given(pads(), st.floats(-2, 2))
@example(((1, 1, 1), (1, 0, 0, 0, 0, 0), "constant"), 1e-12)  # soak: "1e-12" is no MLIR float
def test_random_pads_match_the_reference(case, value: float) -> None:  # noqa: ANN001
    shape, pad, mode = case
    _check(shape, pad, mode, value if mode == "constant" else 0.0)


def test_a_leading_axis_cropped_away_is_refused() -> None:
    with pytest.raises(UnsupportedError, match="'kernel.pad' crops axis 1 away"):
        lower_module(_module((1, 2, 3, 3), (0, -2, 0, 0, 0, 2, 0, 0), "constant"))
