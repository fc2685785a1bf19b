"""Random ge programs, fused into kernels, run on the modeled NPU equal the reference."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from xdsl.passes import PassPipeline

from ge.registry import all_passes, make_context
from ge.testing.strategies import programs_with_inputs, smooth_ops
from gedialects.interpreter import run_reference
from runtime.kernel_runner import KernelRunner


@given(programs_with_inputs(ops=smooth_ops(), max_ops=6))
def test_random_programs_run_on_the_npu_as_the_reference(case):
    module, inputs = case
    want = run_reference(module, inputs)
    spec = "convert-ge-to-kernel,fuse-elementwise"
    PassPipeline.parse_spec(dict(all_passes()), spec).apply(make_context(), module)
    run = KernelRunner(module).run(inputs)
    for got, ref in zip(run.outputs, want, strict=True):
        assert got.shape == ref.shape and got.dtype == ref.dtype
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-5, equal_nan=True)
    for kernel in run.profile.kernels:
        assert 0 < kernel.roofline_cycles <= kernel.cycles
