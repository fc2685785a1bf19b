"""A torch module the torch.export importer refuses compiles through ONNX instead: boolean
mask indexing (staged around NonZero), a 3-D convolution; equal to torch's eager run."""

from __future__ import annotations

import numpy as np
import pytest

import ge
from gedialects.errors import UnsupportedError

torch = pytest.importorskip("torch")


class MaskedSum(torch.nn.Module):
    def forward(self, x):
        return (x[x > 0] * 2).sum() + x


class Video(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv3d(2, 3, 3, padding=1)

    def forward(self, clip):
        return torch.relu(self.conv(clip))


def test_boolean_mask_indexing_runs_in_stages_and_matches_eager() -> None:
    model = MaskedSum()
    x = torch.randn(3, 4)
    compiled = ge.compile(model, example_inputs=(x,), level="npu", cache=False)
    assert compiled.input_names == ["x"]
    for seed in range(3):
        x = torch.randn(3, 4, generator=torch.Generator().manual_seed(seed))
        got = compiled(x)
        assert isinstance(got, torch.Tensor)
        np.testing.assert_allclose(got.numpy(), model(x).numpy(), rtol=1e-5, atol=1e-5)


def test_a_3d_convolution_compiles_through_onnx() -> None:
    model = Video().eval()
    clip = torch.randn(1, 2, 4, 6, 6)
    compiled = ge.compile(model, example_inputs=(clip,), level="npu", cache=False)
    with torch.no_grad():
        want = model(clip).numpy()
    np.testing.assert_allclose(compiled(clip).numpy(), want, rtol=1e-4, atol=1e-5)


def test_a_module_neither_route_takes_names_both_refusals() -> None:
    class Complex(torch.nn.Module):  # a complex input: ge and ONNX have no complex type
        def forward(self, x):
            return torch.view_as_real(x * 2).sum(-1)

    with pytest.raises(UnsupportedError, match=r"(?i)complex64.*through ONNX"):
        ge.compile(Complex(), example_inputs=(torch.randn(2, 3, dtype=torch.cfloat),), cache=False)


class BranchOnData(torch.nn.Module):
    """Python control flow on a tensor's value: torch.export stops at the guard."""

    def forward(self, x):
        if x.sum() > 0:
            return torch.relu(x) * 2
        return x - 1


def test_a_module_torch_export_fails_on_is_traced_through_onnx() -> None:
    """torch.export raises on a data-dependent guard (Hugging Face's LED and EnCodec do
    this): the importer refuses with the reason, so `ge.compile` retries through the ONNX
    exporter, whose trace keeps the branch the example input takes, as torch's tracer does."""
    from ge.frontends.torch import import_module

    x = torch.rand(2, 3) + 0.1
    with pytest.raises(UnsupportedError, match="torch.export of BranchOnData failed"):
        import_module(BranchOnData(), (x,))
    compiled = ge.compile(BranchOnData(), example_inputs=(x,), cache=False)
    np.testing.assert_allclose(compiled(x).numpy(), BranchOnData()(x).numpy(), rtol=1e-6)


def test_the_fallback_warns_and_leaves_the_module_s_mode_alone() -> None:
    """The fallback called `module.eval()` on the user's module and never restored it, and
    said nothing, though its numbers are the TorchScript exporter's (which differ from the
    module's on a few ops)."""
    model = Video().train()
    clip = torch.randn(1, 2, 4, 6, 6)
    with pytest.warns(UserWarning, match="conv3d.*through torch.onnx.export"):
        ge.compile(model, example_inputs=(clip,), cache=False)
    assert model.training


def test_a_layer_in_training_mode_is_refused_not_retried_through_onnx() -> None:
    """Dropout in training mode: the importer asks for model.eval(); the fallback took the
    module to ONNX anyway and ran it in eval mode, silently."""

    class Dropping(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc, self.drop = torch.nn.Linear(4, 4), torch.nn.Dropout(0.5)

        def forward(self, x):
            return self.drop(self.fc(x))

    with pytest.raises(UnsupportedError, match=r"dropout in training mode \(call model.eval"):
        ge.compile(Dropping().train(), example_inputs=(torch.randn(2, 4),), cache=False)


def test_an_eval_transformer_with_a_causal_mask_compiles_through_onnx() -> None:
    """torch.export stops at the encoder's causal-mask check; the fallback then exported
    under no_grad, where an eval-mode encoder takes torch's fused fast path, which the
    exporter cannot trace. With grad on it exports the plain layers."""
    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, batch_first=True)
    encoder = torch.nn.TransformerEncoder(layer, 2, enable_nested_tensor=False).eval()

    class Causal(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = encoder

        def forward(self, x):
            length = x.shape[1]
            return self.encoder(x, mask=torch.triu(torch.full((length, length), -np.inf), 1))

    model = Causal().eval()
    x = torch.randn(2, 5, 16)
    with pytest.warns(UserWarning, match="through torch.onnx.export"):
        compiled = ge.compile(model, example_inputs=(x,), cache=False)
    with torch.no_grad():
        want = model(x).numpy()
    np.testing.assert_allclose(compiled(x).numpy(), want, rtol=1e-4, atol=1e-5)


def test_a_value_the_trace_froze_is_a_warning() -> None:
    """k = int((x > 0).sum()) is the example input's count in the exported graph: topk of
    five positive values gave three, silently (the exporter's TracerWarning was muted)."""

    class CountedTopK(torch.nn.Module):
        def forward(self, x):
            return torch.topk(x, int((x > 0).sum())).values

    with pytest.warns(UserWarning, match="trace kept the example input's value"):
        ge.compile(CountedTopK(), example_inputs=(torch.tensor([1.0, -2.0, 3.0]),), cache=False)
