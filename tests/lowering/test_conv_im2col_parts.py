"""How many K parts an im2col conv unit comes in (`ConvShape.max_parts`, `PART_COUNTS`).

A unit's loads land part by part, so the cube starts after the first part and only the last
part's K steps are left after the last load. Deep convs (C >= 256) are bound by those loads:
16 parts shorten what nothing overlaps, and the tile search takes them where its estimate
says so by more than `MORE_PARTS_GAIN`; shallow ones keep 8 (each part costs instructions).
"""

from __future__ import annotations

import dataclasses
from contextlib import AbstractContextManager
from unittest import mock

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, f32
from xdsl.ir import Block, Region

from ge.pipeline import apply_pipeline
from gedialects.ge import ConstantOp, Conv2DOp
from gedialects.ge.types import tensor
from gedialects.interpreter import run_reference
from lowering import conv_tiling, tile_tuning
from lowering.conv_tiling import ConvShape, choose_conv_tile, folded, parts
from lowering.convert_kernel_to_npu import lower_module
from runtime.npu_interpreter import NpuExecutable
from runtime.targets import load_target

TARGET = load_target("ascend910a")
DEEP = ConvShape(256, 14, 14, 9, 196, 256, 1, 4, (), 14, 1, 3, (1, 1), True, 4, 3)
"""ResNet-50's stage-3 3x3 conv: 16 C1 slices."""


def _conv(c: int, h: int, o: int, k: int, s: int) -> tuple[ModuleOp, list[np.ndarray]]:
    """A ge conv with constant weights (laid out at compile time, as in a model), im2col."""
    block = Block(arg_types=[tensor([1, c, h, h], f32)])
    rng = np.random.default_rng(c * 1000 + h)
    w = ConstantOp(rng.standard_normal((o, c, k, k)).astype(np.float32))
    conv = Conv2DOp(block.args[0], w, strides=[s, s], pads=[k // 2] * 4)
    block.add_ops([w, conv, func.ReturnOp(conv)])
    fn = func.FuncOp("main", ((block.args[0].type,), (conv.output.type,)), Region(block))
    module = ModuleOp([fn])
    apply_pipeline(module, "convert-ge-to-kernel,select-implementations{conv-algorithm=im2col}")
    return module, [rng.standard_normal((1, c, h, h)).astype(np.float32)]


def _cycles(module: ModuleOp, inputs: list[np.ndarray]) -> float:
    """The conv's modeled cycles; its output must equal the reference's."""
    result = NpuExecutable(lower_module(module, TARGET), TARGET).run(inputs)
    np.testing.assert_allclose(
        result.outputs[0], run_reference(module, inputs)[0], rtol=1e-4, atol=1e-4
    )
    return result.profile.kernels[0].cycles


def _fresh_search(**patches: object) -> AbstractContextManager[object]:
    """The tile search with `patches` applied to `conv_tiling` and an empty memo of its own,
    so that no answer found under them outlives the test."""
    return mock.patch.multiple(conv_tiling, _CONV_TILES={}, **patches)


def test_deep_conv_takes_sixteen_parts_shallow_keeps_eight() -> None:
    tiling = choose_conv_tile(TARGET, DEEP)
    assert tiling.parts == 16
    assert parts(dataclasses.replace(DEEP, max_parts=tiling.parts)) == [1] * 16
    with _fresh_search(PART_COUNTS=(8,)):
        eight = choose_conv_tile(TARGET, DEEP)
    assert eight.parts == 8
    assert tiling.estimate < conv_tiling.MORE_PARTS_GAIN * eight.estimate
    shallow = dataclasses.replace(DEEP, c=64)  # 4 C1 slices: one part each either way
    assert choose_conv_tile(TARGET, shallow).parts == 8


def test_sixteen_parts_run_faster_than_eight() -> None:
    """What the estimate promised, on the interpreter (3,943 -> 3,793 cycles in ResNet-50,
    where the input activation is staged too)."""
    module, inputs = _conv(256, 14, 256, 3, 1)
    sixteen = _cycles(module, inputs)
    with _fresh_search(PART_COUNTS=(8,)):
        module, inputs = _conv(256, 14, 256, 3, 1)
        eight = _cycles(module, inputs)
    assert sixteen < 0.98 * eight


@settings(deadline=None, max_examples=12)
@given(
    c=st.integers(129, 300),
    h=st.integers(2, 9),
    o=st.integers(1, 40),
    k=st.sampled_from([1, 3]),
    s=st.integers(1, 2),
)
def test_uneven_parts_equal_reference(c: int, h: int, o: int, k: int, s: int) -> None:
    """9-19 C1 slices in up to 16 parts (some of one slice, some of two), the more-parts
    tiling forced wherever it exists."""
    with _fresh_search(MORE_PARTS_GAIN=float("inf")):
        module, inputs = _conv(c, h, o, k, s)
        _cycles(module, inputs)


def _input_reads(
    module: ModuleOp, inputs: list[np.ndarray], parts_at_most: int
) -> tuple[int, bool]:
    """(HBM bytes the conv reads from its input, whether its tile folds rows) with the
    search's tile cut into at most `parts_at_most` K parts (the tile itself fixed: a table
    decides the search's site); the output must equal the reference's."""
    table = tile_tuning.Decisions()
    with tile_tuning.record(table) as seen:
        lower_module(module, TARGET)
    site = next(s for s in seen if s[0] == "conv")
    tile = choose_conv_tile(TARGET, ConvShape(*site[3][0]))
    shape = dataclasses.replace(ConvShape(*site[3][0]), max_parts=parts_at_most)
    shape = folded(shape) if tile.fold else shape
    table.chosen[site] = dataclasses.replace(
        tile, parts=parts_at_most, part=max(parts(shape))
    )
    with tile_tuning.use(table):
        lowered = lower_module(module, TARGET)
    result = NpuExecutable(lowered, TARGET).run(inputs)
    np.testing.assert_allclose(
        result.outputs[0], run_reference(module, inputs)[0], rtol=1e-4, atol=1e-4
    )
    image = inputs[0].nbytes
    traffic = result.profile.kernels[0].hbm_traffic.items()
    read = sum(n for (buf, rw), n in traffic if rw == "r" and buf.array.nbytes == image)
    return read, tile.fold


def test_an_uneven_part_reads_only_its_own_channels() -> None:
    """5 C1 slices in 4 K parts (2, 1, 1, 1): each part's rows DMA reads its own channels,
    as many input bytes as the same tile in 5 parts of one slice reads. (A one-slice part
    read as many channels as the widest part, its neighbour's too: Inception-v3's
    288-channel stride-2 conv, 18 slices in 16 parts, ran 14,283 cycles instead of 11,319.)"""
    module, inputs = _conv(80, 12, 32, 3, 1)
    (uneven, fold), (even, _) = _input_reads(module, inputs, 4), _input_reads(module, inputs, 8)
    assert not fold and uneven == even


def test_an_uneven_part_of_folded_rows_reads_only_its_own_channels() -> None:
    """The same with kernel rows folded into channels (`conv_im2col_fold`): 20 channels x 7
    rows = 140 folded channels, 9 slices in 8 parts (2, 1, ..., 1) or 9 of one."""
    module, inputs = _conv(20, 12, 16, 7, 1)
    (uneven, fold), (even, _) = _input_reads(module, inputs, 8), _input_reads(module, inputs, 16)
    assert fold and uneven == even
