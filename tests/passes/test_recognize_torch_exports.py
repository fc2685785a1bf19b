"""The recognizers find LayerNorm and GELU in what torch.onnx.export really writes."""

import io
from collections import Counter

import pytest

torch = pytest.importorskip("torch")

from ge.frontends.onnx.importer import import_onnx_bytes  # noqa: E402
from ge.testing.equivalence import assert_preserves_semantics  # noqa: E402


class Block(torch.nn.Module):
    """LayerNorm, Linear and both GELUs, as in a transformer MLP."""

    def __init__(self) -> None:
        super().__init__()
        self.norm = torch.nn.LayerNorm(16)
        self.linear = torch.nn.Linear(16, 16)
        self.gelu = torch.nn.GELU()
        self.gelu_tanh = torch.nn.GELU(approximate="tanh")

    def forward(self, x):
        y = self.norm(x)
        return self.gelu(self.linear(y)) + self.gelu_tanh(y)


@pytest.mark.parametrize("opset", [13, 16])
def test_layer_norm_and_gelu_from_torch_export(opset):
    torch.manual_seed(0)
    x = torch.randn(2, 5, 16)
    buffer = io.BytesIO()
    torch.onnx.export(Block().eval(), (x,), buffer, opset_version=opset, dynamo=False)
    module = import_onnx_bytes(buffer.getvalue())
    pipeline = "recognize-layer-norm,recognize-gelu"
    after = assert_preserves_semantics(pipeline, module, [x.numpy()], rtol=1e-4, atol=1e-4)
    counts = Counter(op.name for op in after.walk())
    assert counts["ge.layer_norm"] == 1 and counts["ge.gelu"] == 2
    assert not {"ge.reduce_mean", "ge.erf", "ge.tanh", "ge.pow", "ge.div"} & set(counts)
    gelus = sorted(op.get_str("approximate") for op in after.walk() if op.name == "ge.gelu")
    assert gelus == ["none", "tanh"]
