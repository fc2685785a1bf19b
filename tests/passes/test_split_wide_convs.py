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
from gedialects.kernel.mirrored import ConcatKernelOp, SliceKernelOp
from gedialects.kernel.ops import Conv2DKernelOp
from passes.integer_values import IntegerValues
from passes.split_wide_convs import ConvCosting, split_conv, strips
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
