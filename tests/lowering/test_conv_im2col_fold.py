"""Kernel rows folded into channels (`lowering.conv_im2col_fold`): convs on few channels.

The folded conv must equal the reference for any geometry it takes (strides, dilations,
pads that put whole kernel rows in the padding, groups, epilogue), the tile choice must take
it only when it needs fewer C1 slices of K, and ResNet's stem must get the cube time back.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, f32
from xdsl.ir import Block, Region

from ge.pipeline import apply_pipeline
from gedialects.ge import BatchNormOp, ConstantOp, Conv2DOp, ReluOp
from gedialects.ge.types import tensor
from gedialects.interpreter import run_reference
from gedialects.npu.launch import KernelOp
from lowering.conv_im2col_fold import refolded_weights
from lowering.conv_tiling import ConvShape, choose_conv_tile, folded, folds_rows
from lowering.convert_kernel_to_npu import lower_module
from runtime.npu_interpreter import NpuExecutable
from runtime.targets import load_target

TARGET = load_target("ascend910a")
SMALL = dataclasses.replace(
    TARGET, ai_cores=3, capacity={**TARGET.capacity, "l1": 96 * 1024, "ub": 160 * 1024}
)
"""Few cores and little L1/UB: several units per core and tiles of a few rows."""


def _module(n, c, h, w, o, k, s, p, d=1, g=1, epilogue=False):  # noqa: ANN001, ANN202
    """A ge conv with constant weights (a model's: the fold needs them), im2col."""
    rng = np.random.default_rng(0)
    block = Block(arg_types=[tensor([n, c, h, w], f32)])
    weights = ConstantOp(rng.standard_normal((o, c // g, k, k)).astype(np.float32))
    conv = Conv2DOp(
        block.args[0], weights, strides=[s, s], pads=[p] * 4, dilations=[d, d], groups=g
    )
    ops = [weights, conv]
    if epilogue:
        stats = [ConstantOp(rng.uniform(0.5, 1.5, o).astype(np.float32)) for _ in range(4)]
        ops += [*stats, BatchNormOp(conv.output, *(x.output for x in stats))]
        ops.append(ReluOp(ops[-1].results[0]))
    block.add_ops([*ops, func.ReturnOp(ops[-1].results[0])])
    signature = ((block.args[0].type,), (ops[-1].results[0].type,))
    module = ModuleOp([func.FuncOp("main", signature, Region(block))])
    apply_pipeline(module, "ge-optimize,select-implementations{conv-algorithm=im2col}")
    return module, [rng.standard_normal((n, c, h, w)).astype(np.float32)]


def _run(module, inputs, target=TARGET):  # noqa: ANN001, ANN202
    lowered = lower_module(module, target)
    result = NpuExecutable(lowered, target).run(inputs)  # verifies capacities, races, flags
    np.testing.assert_allclose(
        result.outputs[0], run_reference(module, inputs)[0], rtol=1e-4, atol=1e-4
    )
    return result.profile.kernels[0], lowered


def _shape(c, h, o, k, s, p, n=1) -> ConvShape:  # noqa: ANN001
    ho = (h + 2 * p - k) // s + 1
    return ConvShape(c, h, h, k * k, ho * ho, o, n, 4, (), ho, s, k, (p, p), True, 4, k)


def test_refolded_weights_hold_kernel_row_i_of_channel_c_at_channel_i_c() -> None:
    w = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
    folded_w = refolded_weights(w)
    assert folded_w.shape == (2, 12, 1, 5)
    for i in range(4):
        for c in range(3):
            np.testing.assert_array_equal(folded_w[:, i * 3 + c, 0], w[:, c, i])


def test_fold_only_where_it_needs_fewer_channel_slices() -> None:
    assert folds_rows(_shape(3, 224, 64, 7, 2, 3))  # 1 x 49 slices -> 2 x 7
    assert not folds_rows(_shape(64, 56, 64, 3, 1, 1))  # 4 x 3 slices either way
    assert not folds_rows(dataclasses.replace(_shape(3, 32, 16, 3, 1, 1), laid=False))
    assert not folds_rows(_shape(3, 33, 16, 3, 2, 1))  # odd rows: no (H / 2, 2W) view
    stem = folded(_shape(3, 224, 64, 7, 2, 3))
    assert (stem.c, stem.h, stem.taps, stem.stride, stem.pads) == (21, 112, 7, 1, (0, 0))
    assert stem.reads == 3 * 224 * 224 * 4  # the input's bytes, not the folded rows'


def test_stem_folds_its_kernel_rows() -> None:
    """ResNet's stem (3x224x224, 7x7/2, bn, relu) ran 12,145 cycles with 3 of 16 cube lanes
    used (K 784); folded, K is 224 and the cube's time falls 3.5x (6,088 when written: now
    the output's 3.2 MB store and the folded rows' UB -> L1 moves bound it)."""
    module, inputs = _module(1, 3, 224, 224, 64, 7, 2, 3, epilogue=True)
    profile, lowered = _run(module, inputs)
    busy = {pipe: cycles / profile.cores for pipe, cycles in profile.busy.items()}
    assert busy["M"] <= 2 * 16 * 4 * 14 * 7 + 1  # 7 units of 112 x 32 x 224 per core, f32
    assert profile.cycles < 7_000
    tiling = choose_conv_tile(TARGET, _shape(3, 224, 64, 7, 2, 3))
    assert tiling.fold
    assert abs(tiling.estimate - profile.cycles) < 0.15 * profile.cycles
    assert any(isinstance(op, KernelOp) for op in lowered.walk())


@st.composite
def _geometries(draw):  # noqa: ANN001, ANN202
    k, s, d = draw(st.sampled_from([2, 3, 5, 7])), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    p, span = draw(st.integers(0, (k - 1) * d)), d * (k - 1) + 1
    least = max(-(-(span - 2 * p) // s), 1)
    h = s * draw(st.integers(least, least + 8))  # whole rows of the (H / 2, 2W) view
    w = draw(st.integers(max(span - 2 * p, 1), 20))
    g = draw(st.sampled_from([1, 1, 2]))
    c, o = g * draw(st.integers(1, 5)), g * draw(st.integers(1, 12))
    return dict(n=draw(st.integers(1, 2)), c=c, h=h, w=w, o=o, k=k, s=s, p=p, d=d, g=g)


@settings(deadline=None, max_examples=30)
@given(_geometries(), st.booleans(), st.booleans())
def test_folded_convs_equal_reference(geo: dict, epilogue: bool, small: bool) -> None:
    """Pads up to (k - 1) * d put whole kernel rows of the first and last rows in the padding
    (their lanes are zeroed); SMALL makes tiles of a few rows, several per core."""
    module, inputs = _module(**geo, epilogue=epilogue)
    _run(module, inputs, SMALL if small else TARGET)


def test_fold_with_rows_in_several_chunks() -> None:
    """A 5x5 conv on 4 channels of 64x64 on SMALL: each unit's folded rows come in several
    UB chunks, and the first and last chunks reach rows in the padding."""
    module, inputs = _module(1, 4, 64, 64, 24, 5, 1, 2, epilogue=True)
    shape = ConvShape(4, 64, 64, 25, 4096, 24, 1, 4, (), 64, 1, 5, (2, 2), True, 4, 5)
    assert choose_conv_tile(SMALL, shape).fold
    _run(module, inputs, SMALL)
