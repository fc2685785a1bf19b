"""`torch.compile(model, backend=ge.torch_backend)` computes what eager torch computes."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import ge  # noqa: E402
from ge.frontends.torch import make_backend  # noqa: E402
from ge.testing.models import build  # noqa: E402
from gedialects.errors import UnsupportedError  # noqa: E402

RTOL, ATOL = 1e-4, 1e-5


@pytest.fixture(autouse=True)
def fresh_dynamo():
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


def assert_same(got, expected) -> None:
    got = got if isinstance(got, tuple | list) else (got,)
    expected = expected if isinstance(expected, tuple | list) else (expected,)
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert isinstance(g, torch.Tensor) and g.dtype == e.dtype and g.shape == e.shape
        np.testing.assert_allclose(g.numpy(), e.detach().numpy(), rtol=RTOL, atol=ATOL)


class Block(torch.nn.Module):
    """Conv, batch norm, in-place ops, a tuple of outputs."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(4)
        self.fc = torch.nn.Linear(4, 2)

    def forward(self, x):
        y = self.bn(self.conv(x))
        y += 1.0
        y = torch.relu_(y)
        pooled = y.mean(dim=(2, 3))
        return self.fc(pooled), pooled


def test_backend_matches_eager_and_reuses_the_compiled_graph() -> None:
    torch.manual_seed(0)
    model = Block().eval()
    model.bn.running_mean.uniform_(-1, 1)
    compiled = torch.compile(model, backend=ge.torch_backend)
    for seed in range(2):
        x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(seed))
        with torch.no_grad():
            expected = model(x)
        assert_same(compiled(x), expected)


def test_backend_with_grad_enabled_returns_plain_tensors() -> None:
    torch.manual_seed(0)
    model = Block().eval()
    x = torch.randn(1, 3, 6, 6)
    out, _ = torch.compile(model, backend=ge.torch_backend)(x)
    assert not out.requires_grad
    assert_same(out, model(x)[0])


def test_graph_breaks_give_several_graphs() -> None:
    compiled_graphs = []
    backend = make_backend(pipeline="")

    def counting(gm, example_inputs):
        compiled_graphs.append(gm)
        return backend(gm, example_inputs)

    def f(x):
        y = torch.tanh(x) * 2
        torch._dynamo.graph_break()
        return torch.softmax(y + 1, dim=-1)

    x = torch.randn(3, 5)
    assert_same(torch.compile(f, backend=counting)(x), f(x))
    assert len(compiled_graphs) == 2


def test_backend_runs_the_given_pipeline() -> None:
    """Called directly on a traced module (weights as attributes, so constants after
    export), the backend's pipeline folds batch norm away and the result still matches."""
    torch.manual_seed(0)
    model = Block().eval()
    model.bn.running_mean.uniform_(-1, 1)
    x = torch.randn(1, 3, 6, 6)
    traced = torch.fx.symbolic_trace(model)
    unfolded = make_backend(pipeline="")(traced, [x])
    folded = make_backend(pipeline="fold-batch-norm")(traced, [x])
    assert "ge.batch_norm" in {op.name for op in unfolded.ge_module.walk()}
    assert "ge.batch_norm" not in {op.name for op in folded.ge_module.walk()}
    with torch.no_grad():
        assert_same(folded(x), model(x))


def test_dynamic_shapes_are_refused() -> None:
    f = torch.compile(lambda x: x * 2, backend=ge.torch_backend, dynamic=True)
    with pytest.raises(torch._dynamo.exc.BackendCompilerFailed) as info:
        f(torch.randn(3, 4))
    assert isinstance(info.value.inner_exception, UnsupportedError)
    assert "dynamic shapes are not supported" in str(info.value)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["bert_layer", "gpt_block", "inception"])
def test_zoo_model_through_torch_compile(name: str) -> None:
    model, inputs = build(name)
    with torch.no_grad():
        expected = model(*inputs)
        got = torch.compile(model, backend=ge.torch_backend)(*inputs)
    assert_same(got, expected)
