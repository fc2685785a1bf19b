"""torch activations the torch.export importer converts itself, equal to torch's eager run.

Refused, they sent the whole module through torch.onnx's TorchScript exporter, which gets
some wrong; the converter that ignored softplus's threshold gave wrong numbers outright. So
every test here fails if `ge.compile` falls back to ONNX. Inputs reach both branches of each
activation: negative, zero, positive, past the threshold, and large (+-50, where a naive
softplus overflows).
"""

from __future__ import annotations

import numpy as np
import pytest

import ge
from gedialects.errors import UnsupportedError

torch = pytest.importorskip("torch")
nn, F = torch.nn, torch.nn.functional

VALUES = [-50.0, -21.0, -3.0, -1.5, -1.0, -0.6, -0.5, -0.3, -0.1, 0.0]
VALUES += [0.1, 0.3, 0.5, 0.6, 1.0, 1.5, 2.5, 3.0, 21.0, 50.0]
X = torch.tensor(VALUES).reshape(2, 2, 5)
"""NCHW-like (channels in dim 1, for prelu), every branch's values."""
PROBS = torch.tensor([0.0, 1e-4, 5e-4, 0.002, 0.1, 0.5, 0.9, 0.998, 0.9995, 1.0]).reshape(2, 5)


class Fn(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def _prelu(channels: int) -> nn.PReLU:
    layer = nn.PReLU(channels)
    with torch.no_grad():
        layer.weight.copy_(torch.linspace(-0.5, 0.7, channels))
    return layer


CASES = {
    "softplus": (Fn(lambda x: F.softplus(x)), X),
    "softplus_threshold": (Fn(lambda x: F.softplus(x, beta=1, threshold=2)), X),
    "softplus_beta": (Fn(lambda x: F.softplus(x, beta=2.0, threshold=3.0)), X),
    "softplus_big_beta": (Fn(lambda x: F.softplus(x, beta=10.0)), X),
    "elu": (Fn(lambda x: F.elu(x, alpha=0.7)), X),
    "selu": (Fn(lambda x: F.selu(x)), X),
    "celu": (Fn(lambda x: F.celu(x, alpha=0.4)), X),
    "prelu": (_prelu(2), X),
    "prelu_shared": (nn.PReLU(init=0.2), X),
    "glu": (Fn(lambda x: F.glu(x.reshape(2, 10), dim=1)), X),
    "glu_dim0": (Fn(lambda x: F.glu(x, dim=0)), X),
    "hardshrink": (Fn(lambda x: F.hardshrink(x, 0.5)), X),
    "softshrink": (Fn(lambda x: F.softshrink(x, 0.5)), X),
    "logsigmoid": (Fn(lambda x: F.logsigmoid(x)), X),
    "logit": (Fn(lambda x: torch.logit(x)), PROBS),
    "logit_eps": (Fn(lambda x: torch.logit(x, eps=1e-3)), PROBS),
    "rrelu": (nn.RReLU(0.1, 0.3), X),
    "threshold": (Fn(lambda x: F.threshold(x, 0.5, -2.0)), X),
    "mish": (Fn(lambda x: F.mish(x)), X),
    "silu": (Fn(lambda x: F.silu(x)), X),
    "hardsigmoid": (Fn(lambda x: F.hardsigmoid(x)), X),
    # elementwise ops that were refused too (logaddexp's decomposition multiplies masks)
    "trunc": (Fn(lambda x: torch.trunc(x * 0.7)), X),
    "frac": (Fn(lambda x: torch.frac(x * 0.7)), X),
    "hypot": (Fn(lambda x: torch.hypot(x, x.flip(-1))), X),
    "xlogy": (Fn(lambda x: torch.xlogy(x.clamp(min=0), x.abs() + 0.5)), X),
    "logaddexp": (Fn(lambda x: torch.logaddexp(x, x.flip(-1))), X),
    "logaddexp_infinities": (
        Fn(lambda x: torch.logaddexp(x, x)),
        torch.tensor([-np.inf, np.inf, -1.0, 0.0, 50.0]),
    ),
    "bool_add_mul": (Fn(lambda x: ((x > 0) + (x < -1)) * (x != 0.5) * x), X),
}


@pytest.fixture(autouse=True)
def no_onnx_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if `ge.compile` retries the module through torch.onnx."""
    from ge.frontends.torch import onnx_fallback

    def refuse(*args, **kwargs):
        raise AssertionError("the torch importer refused the module: ONNX fallback ran")

    monkeypatch.setattr(onnx_fallback, "export_onnx", refuse)


def _check(name: str, **options) -> None:
    module, x = CASES[name]
    module.eval()
    compiled = ge.compile(module, example_inputs=(x,), cache=False, **options)
    with torch.no_grad():
        want = module(x).numpy()
    got = compiled(x)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(CASES))
def test_activation_matches_torch(name: str) -> None:
    """Converted natively and equal to the module's output."""
    _check(name)


@pytest.mark.parametrize("name", ["softplus_beta", "selu", "prelu", "glu", "logit_eps", "mish"])
def test_activation_matches_torch_at_npu_level(name: str) -> None:
    """The npu level's kernels give the same numbers."""
    _check(name, level="npu")


@pytest.mark.parametrize("name", sorted(CASES))
def test_activation_imports_as_torch_exported_it(name: str) -> None:
    """No retry on the core-aten decomposition either: the op torch.export keeps converts."""
    from ge.frontends.torch import import_module

    module, x = CASES[name]
    import_module(module.eval(), (x,), decompose=False)


@pytest.mark.parametrize("name", ["selu", "celu", "rrelu"])
def test_core_aten_form_matches_torch(name: str) -> None:
    """Decomposed (as a model with an op converted only in core aten is), selu and celu
    are elu with scale or input_scale, rrelu is rrelu_with_noise_functional."""
    from ge.frontends.torch import import_module

    module, x = CASES[name]
    module.eval()
    program = import_module(module, (x,), decompose=True)
    got = ge.compile(program, cache=False)(x.numpy())
    with torch.no_grad():
        want = module(x).numpy()
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-6)


def test_softplus_threshold_is_honoured() -> None:
    """Past the threshold softplus is x itself (torch's, not log(1 + exp(x)))."""
    from ge.frontends.torch import import_module

    module, _ = CASES["softplus_threshold"]
    text = str(import_module(module, (X,)))
    assert "ge.where" in text and "ge.softplus" in text


def test_rrelu_in_training_mode_is_refused() -> None:
    """Training draws random slopes: no inference graph to build."""
    from ge.frontends.torch import import_module

    with pytest.raises(UnsupportedError, match="rrelu in training mode"):
        import_module(nn.RReLU().train(), (X,))
