"""Tiled copies (`lowering.lower_movement.copy_kernel`: transpose, concat, slice) spread their
tiles over the vector cores by the whole count of tiles, leading axes included: a
DepthToSpace's 6-D transpose, whose (rows, cols) tile is the whole last-two-axes window,
ran on one core before (16,149 cycles on 910A for 1x9x112x112 -> 1x1x336x336, 990 now)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from npu_diff import check, t

RNG = np.random.default_rng(11)


def transpose(shape: tuple[int, ...], perm: tuple[int, ...]) -> str:
    out = tuple(shape[p] for p in perm)
    props = f'perm = array<i64: {", ".join(map(str, perm))}>, fused_from = ["ge.transpose"]'
    return f"""func.func @main(%x: {t(shape)}) -> {t(out)} {{
  %y = kernel.transpose %x {{{props}}} : ({t(shape)}) -> {t(out)}
  func.return %y : {t(out)}
}}"""


def concat(shapes: list[tuple[int, ...]], axis: int) -> str:
    out = list(shapes[0])
    out[axis] = sum(s[axis] for s in shapes)
    args = ", ".join(f"%x{i}: {t(s)}" for i, s in enumerate(shapes))
    names = ", ".join(f"%x{i}" for i in range(len(shapes)))
    types = ", ".join(t(s) for s in shapes)
    props = f'axis = {axis} : i64, fused_from = ["ge.concat"]'
    return f"""func.func @main({args}) -> {t(out)} {{
  %y = kernel.concat {names} {{{props}}} : ({types}) -> {t(tuple(out))}
  func.return %y : {t(tuple(out))}
}}"""


def blocks(result) -> int:  # noqa: ANN001
    return max(k.block_dim for k in result.profile.kernels)


def test_depth_to_space_transpose_uses_every_core():
    """DepthToSpace(CRD, 3) of 1x9x112x112: (1, 1, 3, 3, 112, 112) -> (0, 1, 4, 2, 5, 3)."""
    x = RNG.standard_normal((1, 1, 3, 3, 112, 112)).astype(np.float32)
    result = check(transpose(x.shape, (0, 1, 4, 2, 5, 3)), [x], exact=True)
    assert blocks(result) == 32
    assert result.profile.kernels[0].cycles < 2000


def test_channel_concat_of_feature_maps_spreads():
    """DenseNet's channel concat: leading (batch, channel) planes of 16x16 maps."""
    xs = [RNG.standard_normal((2, c, 16, 16)).astype(np.float32) for c in (8, 4)]
    result = check(concat([x.shape for x in xs], 1), xs, exact=True)
    assert blocks(result) > 4


@settings(max_examples=15, deadline=None)
@given(
    shape=st.lists(st.integers(1, 7), min_size=3, max_size=5).map(tuple),
    data=st.data(),
)
def test_random_transposes_with_leading_axes(shape, data):
    perm = tuple(data.draw(st.permutations(range(len(shape)))))
    x = RNG.standard_normal(shape).astype(np.float32)
    check(transpose(shape, perm), [x], exact=True)
