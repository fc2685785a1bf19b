"""bfloat16 torch modules through `ge.compile`, against torch's own bf16 CPU result.

torch computes a bf16 Linear / conv with f32 accumulation and rounds its output, and its
elementwise ops op by op; ge computes each chain of ops in f32 and rounds where it ends
(`emulate-narrow-types`): both land within a couple of bf16 ulps (2^-8 relative) of each
other, while a wrong op is off by far more.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

import ge  # noqa: E402
from ge.frontends.torch.convert import to_numpy, to_torch  # noqa: E402

LEVELS = ("reference", "npu")
BF16_ULPS = 4 * 2**-8


def _close(got: torch.Tensor, want: torch.Tensor) -> None:
    assert got.dtype == want.dtype == torch.bfloat16 and got.shape == want.shape
    scale = want.float().abs().max().item()
    err = (got.float() - want.float()).abs().max().item()
    assert err <= BF16_ULPS * max(scale, 1e-3), (err, scale)


def _mlp() -> nn.Module:
    return nn.Sequential(
        nn.Linear(16, 32), nn.GELU(), nn.LayerNorm(32), nn.Linear(32, 8), nn.Softmax(-1)
    )


class ConvBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(torch.relu(self.bn(self.conv(x)))).flatten(1) * 0.5


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize(
    "build, shape", [(_mlp, (4, 16)), (ConvBlock, (2, 3, 12, 12))], ids=["mlp", "conv"]
)
def test_bf16_module_equals_torch(build, shape, level):
    torch.manual_seed(0)
    model = build().to(torch.bfloat16).eval()
    x = torch.randn(*shape, dtype=torch.bfloat16)
    with torch.no_grad():
        want = model(x)
    got = ge.compile(model, example_inputs=(x,), level=level)(x)
    _close(got, want)


def test_bf16_and_float8_tensors_cross_to_numpy_and_back_bit_for_bit():
    for dtype in (torch.bfloat16, torch.float8_e4m3fn, torch.float8_e5m2):
        t = (torch.randn(5, 3) * 10).to(dtype)
        array = to_numpy(t)
        assert array.dtype.itemsize == t.element_size()
        np.testing.assert_array_equal(array.astype(np.float32), t.float().numpy())
        back = to_torch(array)
        assert back.dtype == dtype and torch.equal(back.view(torch.uint8), t.view(torch.uint8))
