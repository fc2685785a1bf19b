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
