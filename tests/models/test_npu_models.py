"""Whole models on the modeled NPU: every zoo model (small size) exported to ONNX, imported,
compiled to the npu level and executed by the npu interpreter, equal to onnxruntime on the same
file and to our reference interpreter (f32: rtol 1e-4 as for the reference level, looser only
where the reference level is looser too: deep CNNs, whose f32 rounding alone exceeds it).

The suite runs with GE_NPU_STRICT=1 (tests/conftest.py): a kernel whose lowering or run fails
for any reason but "unsupported" fails the test instead of falling back.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")
onnx_frontend = pytest.importorskip("ge.frontends.onnx")

from test_onnx_models import TOLERANCE, onnxruntime_outputs  # noqa: E402

import ge  # noqa: E402
from ge.testing import run  # noqa: E402
from ge.testing.models import MODELS, build, export_onnx  # noqa: E402

NPU_MODELS = ["resnet18", "mobilenet_v2", "bert_layer", "gpt_block"]


@pytest.mark.slow
@pytest.mark.parametrize("name", NPU_MODELS)
def test_npu_level_matches_onnxruntime_and_the_reference(name: str) -> None:
    model, inputs = build(name)
    proto = export_onnx(model, inputs, input_names=MODELS[name].input_names)
    feeds = {n: x.numpy() for n, x in zip(MODELS[name].input_names, inputs)}
    module = onnx_frontend.import_onnx_model(proto)
    compiled = ge.compile(module, level="npu", cache=False)
    got = compiled.run(**feeds)
    profile = compiled.last_profile
    rtol, atol = TOLERANCE.get(name, (1e-4, 1e-5))
    for g, e, r in zip(got, onnxruntime_outputs(proto, feeds), run(module, feeds), strict=True):
        assert g.shape == e.shape and g.dtype == e.dtype
        np.testing.assert_allclose(g, e, rtol=rtol, atol=atol)
        np.testing.assert_allclose(g, r, rtol=rtol, atol=atol)
    on_npu = [k for k in profile["kernels"] if k["engine"] == "npu"]
    assert on_npu and all(k["cycles"] > 0 for k in on_npu if k["block_dim"])
    # the heavy kernels run on the npu, not as reference fallbacks
    heavy = [k for k in profile["kernels"] if k["op"] in ("kernel.conv2d", "kernel.matmul")]
    assert heavy and all(k["engine"] == "npu" for k in heavy), [
        (k["name"], k.get("fallback_reason")) for k in heavy if k["engine"] != "npu"
    ]
    # later runs replay each kernel's captured work, a wave of blocks per numpy call
    # (`runtime.npu_replay`): the same outputs, bit for bit, and the same modeled cycles
    for _ in range(2):
        again = compiled.run(**feeds)
        for g, a in zip(got, again, strict=True):
            np.testing.assert_array_equal(g, a)
        cycles = [k["cycles"] for k in compiled.last_profile["kernels"]]
        assert cycles == [k["cycles"] for k in profile["kernels"]]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2", "inception", "gpt_block"])
def test_tuned_compiles_match_onnxruntime_and_are_no_slower(name: str, tmp_path) -> None:  # noqa: ANN001
    """Op tuning (`ge.compile(tune=N)`) changes only tiles: the same outputs as onnxruntime,
    no kernel slower than with the estimate's tiles, and its table reproduces the tuned run."""
    model, inputs = build(name)
    proto = export_onnx(model, inputs, input_names=MODELS[name].input_names)
    feeds = {n: x.numpy() for n, x in zip(MODELS[name].input_names, inputs)}
    module = onnx_frontend.import_onnx_model(proto)
    plain = ge.compile(module.clone(), level="npu", cache=False)
    plain.run(**feeds)
    db = tmp_path / "tiles.json"
    tuned = ge.compile(module.clone(), level="npu", cache=False, tune=3, tune_db=str(db))
    got = tuned.run(**feeds)
    rtol, atol = TOLERANCE.get(name, (1e-4, 1e-5))
    for g, e in zip(got, onnxruntime_outputs(proto, feeds), strict=True):
        np.testing.assert_allclose(g, e, rtol=rtol, atol=atol)
    before = {k["name"]: k["cycles"] for k in plain.last_profile["kernels"]}
    after = {k["name"]: k["cycles"] for k in tuned.last_profile["kernels"]}
    assert after.keys() == before.keys()
    assert all(after[k] <= before[k] for k in after), [
        (k, before[k], after[k]) for k in after if after[k] > before[k]
    ]
    assert tuned.plan().stats["npu_program"].tuning.sites
    replayed = ge.compile(module.clone(), level="npu", cache=False, tune_db=str(db))
    replayed.run(**feeds)
    assert [k["cycles"] for k in replayed.last_profile["kernels"]] == list(after.values())
