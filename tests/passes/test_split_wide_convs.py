"""`split-wide-convs`: strips of a conv's output columns, each from the input columns it
reads, compute what the whole conv computed (any stride, dilation, padding, grouping and
epilogue, a residual sliced like the output); the pass cuts exactly the convs that no
direct-summing lowering plans whole and strips make plannable; on the modeled NPU a wide
image's conv runs in strips on the cube, equal to the reference and to onnxruntime."""

from __future__ import annotations

import numpy as np
from conv_programs import ConvCase, conv_cases, soak
from hypothesis import given, settings
from hypothesis import strategies as st
from xdsl.rewriter import Rewriter

from ge.pipeline import apply_pipeline
from ge.testing.equivalence import assert_preserves_semantics
from gedialects.interpreter import run_reference
from gedialects.kernel.conv_algorithms import ConvGeometry
from gedialects.kernel.mirrored import ConcatKernelOp, ConvTranspose2DKernelOp, SliceKernelOp
from gedialects.kernel.ops import Conv2DKernelOp
from lowering.lower_conv_transpose import route_costs
from passes.integer_values import IntegerValues
from passes.split_wide_convs import ConvCosting, split_conv, strips
from passes.split_wide_transposed import exact_strips, grid_strips, split_transposed
from runtime.targets import default_target

TOLERANCE = {"rtol": 1e-5, "atol": 1e-5}
"""The same products summed in the same order (the reference conv of either form)."""

WIDE = ConvGeometry(1, 3, 12, 4096, 16, 9, 9, pads=(4, 4, 4, 4))
"""A style-transfer net's first conv (3 -> 16, 9x9) on a 4096-pixel-wide image: 9 input
rows of 4096 pixels in 16 lanes each fill L1 twice over; FFT was its only candidate."""


def _ops(module, kind) -> list:  # noqa: ANN001
    return [op for op in module.walk() if isinstance(op, kind)]


@settings(max_examples=soak(60), deadline=None)
@given(conv_cases(one_dimensional=False, widths=(1, 40)), st.integers(2, 12))
def test_strips_compute_the_same(case: ConvCase, count: int) -> None:
    module, inputs = case.module(), case.inputs()
    (want,) = run_reference(module.clone(), inputs)
    (conv,) = _ops(module, Conv2DKernelOp)
    split_conv(conv, count, Rewriter())
    module.verify()
    pieces = strips(case.g.out_hw[1], count)
    assert len(_ops(module, Conv2DKernelOp)) == len(pieces)
    (got,) = run_reference(module, inputs)
    np.testing.assert_allclose(got, want, **TOLERANCE)


@settings(max_examples=soak(10), deadline=None)
@given(st.sampled_from([False, True]), st.sampled_from([None, "relu"]), st.integers(0, 99))
def test_the_pass_cuts_a_conv_no_direct_sum_plans(residual: bool, act, seed: int) -> None:  # noqa: ANN001
    case = ConvCase(WIDE, bias=True, activation=act, residual=residual, seed=seed)
    module = case.module()
    costing = ConvCosting.of(
        _ops(module, Conv2DKernelOp)[0], default_target(), IntegerValues(module)
    )
    assert not costing.plannable(WIDE)
    module = assert_preserves_semantics("split-wide-convs", module, case.inputs(), **TOLERANCE)
    convs = _ops(module, Conv2DKernelOp)
    assert len(convs) > 1 and len(_ops(module, ConcatKernelOp)) == 1
    assert len(_ops(module, SliceKernelOp)) == len(convs) * (2 if residual else 1)


def test_a_conv_a_lowering_plans_whole_stays() -> None:
    case = ConvCase(ConvGeometry(1, 16, 8, 200, 16, 3, 3, pads=(1, 1, 1, 1)), bias=True)
    module = case.module()
    apply_pipeline(module, "split-wide-convs")
    assert len(_ops(module, Conv2DKernelOp)) == 1 and not _ops(module, SliceKernelOp)


def test_a_wide_image_conv_runs_in_strips_on_the_npu() -> None:
    """The wide conv through the npu level's passes: im2col or direct strips (no FFT, no
    reference kernel), equal to the reference of the conv as written."""
    from runtime.kernel_runner import KernelRunner

    case = ConvCase(WIDE, bias=True, activation="relu")
    module, inputs = case.module(), case.inputs()
    (want,) = run_reference(module.clone(), inputs)
    apply_pipeline(module, "split-wide-convs,select-implementations")
    algorithms = {op.algorithm.data for op in _ops(module, Conv2DKernelOp)}
    assert algorithms <= {"im2col", "direct"}
    run = KernelRunner(module).run(inputs)
    assert not run.fallbacks
    np.testing.assert_allclose(run.outputs[0], want, rtol=1e-4, atol=1e-4)


@settings(max_examples=soak(30), deadline=None)
@given(conv_cases(one_dimensional=False, widths=(1, 120)), st.integers(2, 6))
def test_strips_run_on_the_npu_equal_to_the_reference(case: ConvCase, count: int) -> None:
    """Strips of any geometry, their slices and their concat lowered and run on the modeled
    NPU: equal to the reference of the conv as written."""
    from runtime.kernel_runner import KernelRunner

    module, inputs = case.module(), case.inputs()
    (want,) = run_reference(module.clone(), inputs)
    (conv,) = _ops(module, Conv2DKernelOp)
    split_conv(conv, count, Rewriter())
    apply_pipeline(module, "select-implementations")
    run = KernelRunner(module).run(inputs)
    kinds = {name for name, _ in run.fallbacks}
    assert kinds <= {"kernel.conv2d"}, run.fallbacks  # (a strip of padding alone, say)
    np.testing.assert_allclose(run.outputs[0], want, rtol=1e-4, atol=1e-4)


@st.composite
def transposed_2d(draw):  # noqa: ANN201
    """A 2-D transposed conv of any stride, dilation, padding, output padding and grouping,
    with constant filters (a bias or none), and its input."""
    from xdsl.dialects import func
    from xdsl.dialects.builtin import ModuleOp, f32
    from xdsl.ir import Block, Region

    from gedialects.ge.constant import ConstantOp
    from gedialects.ge.types import tensor

    groups = draw(st.sampled_from([1, 1, 2]))
    c, og = groups * draw(st.integers(1, 4)), draw(st.integers(1, 4))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 6))
    sh, sw, dh, dw = (draw(st.integers(1, top)) for top in (4, 4, 2, 2))
    spans = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    pads = [draw(st.integers(0, spans[i % 2] - 1)) for i in range(4)]
    extra = [draw(st.integers(0, max(s, d) - 1)) for s, d in ((sh, dh), (sw, dw))]
    lowest = 1 + max(0, -(-(1 + pads[0] + pads[2] - spans[0] - extra[0]) // sh))
    h = draw(st.integers(lowest, lowest + 4))
    shortest = 1 + max(0, -(-(1 + pads[1] + pads[3] - spans[1] - extra[1]) // sw))
    w = draw(st.integers(shortest, 30))
    n, rng = draw(st.integers(1, 2)), np.random.default_rng(draw(st.integers(0, 2**16)))
    block = Block(arg_types=[tensor((n, c, h, w), f32)])
    weight = ConstantOp(rng.standard_normal((c, og, kh, kw)).astype(np.float32))
    bias = ConstantOp(rng.standard_normal((og * groups,)).astype(np.float32))
    conv = ConvTranspose2DKernelOp(
        block.args[0], weight.output, bias.output if draw(st.booleans()) else None,
        fused_from=["ge.conv_transpose2d"], strides=[sh, sw], pads=pads,
        dilations=[dh, dw], output_padding=extra, groups=groups,
    )  # fmt: skip
    block.add_ops([weight, bias, conv, func.ReturnOp(conv.output)])
    module = ModuleOp(
        [func.FuncOp("main", ([block.args[0].type], [conv.output.type]), Region(block))]
    )
    return module, [rng.standard_normal((n, c, h, w)).astype(np.float32)]


@settings(max_examples=soak(60), deadline=None)
@given(transposed_2d(), st.integers(2, 12))
def test_transposed_strips_compute_the_same(case, count: int) -> None:  # noqa: ANN001
    """Strips of a transposed conv's output columns on the stride's grid, each from the
    input columns that reach it with its own width padding: the same output."""
    module, inputs = case
    (want,) = run_reference(module.clone(), inputs)
    (op,) = _ops(module, ConvTranspose2DKernelOp)
    ranges = grid_strips(op, count)
    assert ranges[0][0] == 0 and all(b == a for (_, b), (a, _) in zip(ranges, ranges[1:]))
    pieces = exact_strips(op, ranges)
    assert split_transposed(op, count, Rewriter())
    module.verify()
    assert len(_ops(module, ConvTranspose2DKernelOp)) == len(pieces) >= len(ranges) - 1
    (got,) = run_reference(module, inputs)
    np.testing.assert_allclose(got, want, **TOLERANCE)


@settings(max_examples=soak(15), deadline=None)
@given(transposed_2d(), st.integers(2, 5))
def test_transposed_strips_run_on_the_npu_equal_to_the_reference(case, count: int) -> None:  # noqa: ANN001
    from runtime.kernel_runner import KernelRunner

    module, inputs = case
    (want,) = run_reference(module.clone(), inputs)
    (op,) = _ops(module, ConvTranspose2DKernelOp)
    assert split_transposed(op, count, Rewriter())
    run = KernelRunner(module).run(inputs)
    assert {name for name, _ in run.fallbacks} <= {"kernel.conv_transpose2d"}
    np.testing.assert_allclose(run.outputs[0], want, rtol=1e-4, atol=1e-4)


def _unet_upsampling(size: int = 256) -> tuple:
    """A UNet's last upsampling, ConvTranspose2d 64 -> 32, 2x2, stride 2, from `size`: at
    256 (to 512x512) a phase image of 256x256 f32 fills UB (col2im) and the zero-inserted
    rows L1 (zeros)."""
    from xdsl.dialects import func
    from xdsl.dialects.builtin import ModuleOp, f32
    from xdsl.ir import Block, Region

    from gedialects.ge.constant import ConstantOp
    from gedialects.ge.types import tensor

    rng = np.random.default_rng(5)
    block = Block(arg_types=[tensor((1, 64, size, size), f32)])
    weight = ConstantOp((rng.standard_normal((64, 32, 2, 2)) * 0.1).astype(np.float32))
    bias = ConstantOp(rng.standard_normal((32,)).astype(np.float32))
    conv = ConvTranspose2DKernelOp(
        block.args[0], weight.output, bias.output, fused_from=["ge.conv_transpose2d"],
        strides=[2, 2], pads=[0, 0, 0, 0], dilations=[1, 1], output_padding=[0, 0], groups=1,
    )  # fmt: skip
    block.add_ops([weight, bias, conv, func.ReturnOp(conv.output)])
    module = ModuleOp(
        [func.FuncOp("main", ([block.args[0].type], [conv.output.type]), Region(block))]
    )
    return module, [rng.standard_normal((1, 64, size, size)).astype(np.float32)]


def test_a_wide_transposed_conv_runs_in_strips_on_the_npu() -> None:
    """The UNet upsampling fitted no route and ran by reference; the pass cuts it into
    strips that run on the npu, equal to the reference of the conv as written."""
    from runtime.kernel_runner import KernelRunner

    module, inputs = _unet_upsampling()
    (op,) = _ops(module, ConvTranspose2DKernelOp)
    assert min(route_costs(op, default_target()).values()) == float("inf")
    (want,) = run_reference(module.clone(), inputs)
    apply_pipeline(module, "split-wide-convs")
    assert len(_ops(module, ConvTranspose2DKernelOp)) > 1 and _ops(module, ConcatKernelOp)
    run = KernelRunner(module).run(inputs)
    assert not run.fallbacks
    np.testing.assert_allclose(run.outputs[0], want, rtol=1e-4, atol=1e-4)


def test_a_transposed_conv_a_route_fits_stays_whole() -> None:
    module, _ = _unet_upsampling(64)
    apply_pipeline(module, "split-wide-convs")
    assert len(_ops(module, ConvTranspose2DKernelOp)) == 1 and not _ops(module, SliceKernelOp)
