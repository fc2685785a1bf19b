"""Whole models through ONNX: every zoo model exported with `torch.onnx.export`, imported
with our ONNX frontend, run on the reference interpreter and compared with onnxruntime on
the same file (f32: rtol 1e-4, atol 1e-5)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")
onnx_frontend = pytest.importorskip("ge.frontends.onnx")

from ge.testing import run  # noqa: E402
from ge.testing.models import MODELS, build, export_onnx  # noqa: E402
from gedialects.interpreter import entry_function, input_names, output_names  # noqa: E402

TOLERANCE = {"resnet50": (1e-3, 5e-4), "mobilenet_v2": (1e-3, 1e-4)}
"""Deep CNNs whose f32 rounding alone exceeds rtol 1e-4 (see test_torch_import.py)."""


def onnxruntime_outputs(proto, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(
        proto.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    return session.run(None, feeds)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(MODELS))
def test_model_matches_onnxruntime(name: str) -> None:
    model, inputs = build(name)
    proto = export_onnx(model, inputs, input_names=MODELS[name].input_names)
    ops = {n.op_type for n in proto.graph.node}
    if any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules()):
        assert "BatchNormalization" in ops  # folding it is the compiler's job
    feeds = {n: x.numpy() for n, x in zip(MODELS[name].input_names, inputs)}
    module = onnx_frontend.import_onnx_model(proto)
    fn = entry_function(module)
    assert input_names(fn) == list(MODELS[name].input_names)
    assert output_names(fn) == ["output"]
    got = run(module, feeds)
    expected = onnxruntime_outputs(proto, feeds)
    rtol, atol = TOLERANCE.get(name, (1e-4, 1e-5))
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert g.shape == e.shape and g.dtype == e.dtype
        np.testing.assert_allclose(g, e, rtol=rtol, atol=atol)
