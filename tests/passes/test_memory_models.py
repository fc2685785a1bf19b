"""Model-level memory planning: every zoo model plans at the lower bound and runs right.

The planned run keeps every tensor in the NaN-poisoned arena; it must equal bit for bit
the run where no tensor shares memory, and match the plain reference interpreter (up to
the rounding that numpy's operand layouts cause).
"""

from __future__ import annotations

import numpy as np
import pytest

from ge.pipeline import apply_pipeline
from ge.testing import run
from gedialects.interpreter import entry_function
from passes.memory.arena_run import run_in_arena
from passes.memory.assign import plan_function
from passes.memory.stats import ratio

models = pytest.importorskip("ge.testing.models")
pytest.importorskip("torch")
onnx_frontend = pytest.importorskip("ge.frontends.onnx")


FUSION = (
    "fold-batch-norm,fuse-conv-bn-relu,fuse-conv-bias-activation,fuse-conv-residual-add,"
    "fuse-matmul-add-gelu,fuse-matmul-scale,fuse-softmax-dropout,fuse-attention,"
    "recognize-layer-norm,fuse-elementwise,convert-ge-to-kernel"
)


@pytest.mark.slow
@pytest.mark.parametrize("level", ["ge", "kernel"])
@pytest.mark.parametrize("name", sorted(models.MODELS))
def test_zoo_model_plans_at_the_bound_and_runs_in_the_poisoned_arena(name, level):
    model, example = models.build(name, small=True)
    proto = models.export_onnx(model, example, input_names=models.MODELS[name].input_names)
    module = onnx_frontend.import_onnx_model(proto)
    if level == "kernel":
        apply_pipeline(module, FUSION)  # fused kernels: residual and epilogue in-place
    inputs = [t.numpy() for t in example]
    fn = entry_function(module)
    memory_plan = plan_function(fn)
    assert ratio(memory_plan) <= 1.02
    separate = run_in_arena(module, inputs, memory_plan=plan_function(fn, reuse=False))
    planned = run_in_arena(module, inputs, memory_plan=memory_plan)
    for want, got, ref in zip(separate, planned, run(module, inputs), strict=True):
        np.testing.assert_array_equal(got, want)
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-5)
