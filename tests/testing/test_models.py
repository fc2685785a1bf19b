"""The model zoo: importable without torch, seeded, in eval mode, with batch-norm
statistics that make folding matter, and exportable to ONNX with BatchNormalization."""

from __future__ import annotations

import subprocess
import sys

import pytest


def test_zoo_module_imports_without_torch() -> None:
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import ge.testing.models as m\n"
        "print(sorted(m.MODELS))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "resnet18" in out.stdout and "gpt_block" in out.stdout


torch = pytest.importorskip("torch")

from ge.testing.models import MODELS, build, export_onnx, resnet18  # noqa: E402


def test_builds_are_seeded_and_in_eval_mode() -> None:
    (m1, x1), (m2, x2) = build("inception"), build("inception")
    (m3, _) = build("inception", seed=1)
    assert not m1.training
    assert torch.equal(x1[0], x2[0])
    s1, s2, s3 = (m.state_dict() for m in (m1, m2, m3))
    for key, value in s1.items():
        assert torch.equal(value, s2[key]), key
    assert not all(torch.equal(v, s3[k]) for k, v in s1.items())


def test_batch_norms_have_non_trivial_statistics() -> None:
    model = resnet18(width=8, classes=10)
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(norms) == 20
    for bn in norms:
        assert bn.running_mean.abs().max() > 1e-3
        assert (bn.running_var - 1).abs().max() > 1e-2
        assert (bn.weight - 1).abs().max() > 1e-2


@pytest.mark.parametrize("name", ["gpt_block", "bert_layer"])
def test_example_inputs_fit_the_model(name: str) -> None:
    model, inputs = build(name)
    with torch.no_grad():
        y = model(*inputs)
    assert y.shape == inputs[0].shape and torch.isfinite(y).all()
    assert len(inputs) == len(MODELS[name].input_names)


def test_export_keeps_batch_norm_and_names(tmp_path) -> None:
    model = resnet18(width=8, classes=10)
    path = tmp_path / "r18.onnx"
    proto = export_onnx(model, (torch.randn(1, 3, 32, 32),), path)
    assert path.exists()
    assert sum(n.op_type == "BatchNormalization" for n in proto.graph.node) == 20
    assert [i.name for i in proto.graph.input] == ["x"]
    assert [o.name for o in proto.graph.output] == ["output"]
