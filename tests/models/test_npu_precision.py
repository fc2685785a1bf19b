"""Whole models in allow_fp32_to_fp16: the cube on fp16 operands, f32 accumulation.

Every zoo model of test_npu_models.py, compiled to the npu level with
precision_mode="allow_fp32_to_fp16", equals onnxruntime's f32 run on the same file, and
the reference level compiled in the same mode, within the fp16 bound derived in
docs/architecture.md ("Precision modes"): each cube layer rounds its operands to f16
(unit roundoff u = 2^-11) and its result to f16, accumulating in f32, so it adds at most
~3u of its output's scale, independent of K (the accumulation is f32); errors of L layers
in sequence add, so |got - expected| <= 3u (L + 1) max|expected| (+ 1: the input's own
rounding). L is the model's cube depth (longest chain of convs / matmuls). Measured worst
errors (max|err| / max|expected|, npu level): ResNet-18 2.6e-3, MobileNet-V2 3.6e-2, BERT
layer 1.9e-4, GPT block 1.8e-4; torch running the whole model in fp16 on CPU errs by
5.0e-3, 3.1e-2, 7.0e-4, 5.6e-4 on the same models.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")
onnx_frontend = pytest.importorskip("ge.frontends.onnx")

from test_npu_models import NPU_MODELS  # noqa: E402
from test_onnx_models import onnxruntime_outputs  # noqa: E402

import ge  # noqa: E402
from ge.testing.models import MODELS, build, export_onnx  # noqa: E402

U = 2.0**-11
CUBE_DEPTH = {"resnet18": 19, "mobilenet_v2": 53, "bert_layer": 6, "gpt_block": 6}
"""Longest chain of cube layers input -> output (convs + fc; QKV, Q.K, P.V, out, 2 FFN)."""

CUBE_OPS = ("kernel.conv2d", "kernel.matmul", "kernel.attention")


def bound(name: str, expected: np.ndarray) -> float:
    return 3 * U * (CUBE_DEPTH[name] + 1) * float(np.abs(expected).max())


@pytest.mark.slow
@pytest.mark.parametrize("name", NPU_MODELS)
def test_allow_fp32_to_fp16_within_the_fp16_bound(name: str) -> None:
    model, inputs = build(name)
    proto = export_onnx(model, inputs, input_names=MODELS[name].input_names)
    feeds = {n: x.numpy() for n, x in zip(MODELS[name].input_names, inputs)}
    module = onnx_frontend.import_onnx_model(proto)
    mode = "allow_fp32_to_fp16"
    npu = ge.compile(module, level="npu", cache=False, precision_mode=mode)
    got = npu.run(**feeds)
    reference = ge.compile(module, cache=False, precision_mode=mode).run(**feeds)
    for g, e, r in zip(got, onnxruntime_outputs(proto, feeds), reference, strict=True):
        assert g.shape == e.shape and g.dtype == e.dtype == np.float32
        err = np.abs(g.astype(np.float64) - e)
        assert err.max() <= bound(name, e), (name, err.max() / np.abs(e).max())
        assert err.max() > 1e-5 * np.abs(e).max()  # fp16 ran: f32 alone errs ~1e-6 here
        assert np.abs(g.astype(np.float64) - r).max() <= bound(name, r)
    # every cube kernel ran on the npu, on f16 data: its HBM traffic is half the f32 run's
    cube = [k for k in npu.last_profile["kernels"] if k["op"] in CUBE_OPS]
    assert cube and all(k["engine"] == "npu" for k in cube)
    f32 = ge.compile(module, level="npu", cache=False)
    f32.run(**feeds)
    bytes_of = {
        p: sum(k["hbm_bytes_read"] + k["hbm_bytes_written"] for k in prof["kernels"])
        for p, prof in (("f16", npu.last_profile), ("f32", f32.last_profile))
    }
    assert bytes_of["f16"] < 0.8 * bytes_of["f32"]
    assert npu.last_profile["makespan_cycles"] < f32.last_profile["makespan_cycles"]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["bert_layer", "gpt_block"])
def test_force_fp16_within_the_fp16_bound(name: str) -> None:
    """Every tensor in f16 (norms, softmax, GELU too: each rounds once more, ~u, so the
    same 3u per cube layer covers them here). Measured: BERT layer 1.2e-3, GPT 5.7e-4."""
    model, inputs = build(name)
    proto = export_onnx(model, inputs, input_names=MODELS[name].input_names)
    feeds = {n: x.numpy() for n, x in zip(MODELS[name].input_names, inputs)}
    module = onnx_frontend.import_onnx_model(proto)
    npu = ge.compile(module, level="npu", cache=False, precision_mode="force_fp16")
    got = npu.run(**feeds)
    for g, e in zip(got, onnxruntime_outputs(proto, feeds), strict=True):
        assert g.dtype == np.float32
        assert np.abs(g.astype(np.float64) - e).max() <= bound(name, e)
    kernels = [k for k in npu.last_profile["kernels"] if k["op"] != "kernel.elementwise"]
    assert kernels and all(k["engine"] == "npu" for k in kernels)
