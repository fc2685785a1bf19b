"""`ge-optimize` on the zoo models: outputs equal onnxruntime's on the original model.

Each model is exported with `torch.onnx.export`, imported, optimized to kernels and run
on the reference interpreter; onnxruntime runs the exported file unoptimized. Also
checks that the result is all kernels, and that the CNNs fuse as GE fuses them (every
BN and ReLU inside a conv kernel).
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")
onnx_frontend = pytest.importorskip("ge.frontends.onnx")

from ge.testing import run  # noqa: E402
from ge.testing.equivalence import apply_pipeline  # noqa: E402
from ge.testing.models import MODELS, build, export_onnx  # noqa: E402
from passes.pipelines import is_kernel_level, op_counts  # noqa: E402

TOLERANCE = {"resnet50": (1e-3, 5e-4), "mobilenet_v2": (1e-3, 1e-4)}
"""Deep CNNs whose f32 rounding alone exceeds rtol 1e-4 (as in test_onnx_models.py);
folding BN into weights reassociates the same sums."""


def onnxruntime_outputs(proto, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(
        proto.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    return session.run(None, feeds)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(MODELS))
def test_optimized_model_matches_onnxruntime(name: str) -> None:
    model, inputs = build(name)
    proto = export_onnx(model, inputs, input_names=MODELS[name].input_names)
    feeds = {n: x.numpy() for n, x in zip(MODELS[name].input_names, inputs)}
    module = onnx_frontend.import_onnx_model(proto)
    apply_pipeline("ge-optimize", module)
    module.verify()
    left = [
        op.name
        for op in module.walk()
        if not is_kernel_level(op) and op.parent_op().name != "kernel.elementwise"
    ]
    assert not left, f"not kernels after ge-optimize: {sorted(set(left))}"
    counts = op_counts(module)
    if name.startswith("resnet"):
        assert not {"ge.batch_norm", "ge.relu", "kernel.batch_norm"} & set(counts)
        assert counts["kernel.elementwise"] == 0  # every add and relu is a conv epilogue
    got = run(module, feeds)
    expected = onnxruntime_outputs(proto, feeds)
    rtol, atol = TOLERANCE.get(name, (1e-4, 1e-5))
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert g.shape == e.shape and g.dtype == e.dtype
        np.testing.assert_allclose(g, e, rtol=rtol, atol=atol)
