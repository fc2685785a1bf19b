"""Small torch.nn models of the shapes the model zoo has, exported as users export them and
run through `ge-run` (npu level, with REPORT.json) against onnxruntime.

Each model carries something that once failed: opset-9 bilinear Upsample (wrong values),
torch's opset-9 masked_fill (a NonZero of a constant), topk / cumsum / gather / scatter /
one_hot / einsum / bicubic interpolate / grid_sample (refused), a masked_fill of scores that
are no matmul (a compile failure).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

torch = pytest.importorskip("torch")
nn, F = torch.nn, torch.nn.functional

from ge.cli.run import main as ge_run  # noqa: E402

REPORT_KEYS = {"target", "mode", "cache", "compile_seconds", "run_seconds", "outputs"}
REPORT_KEYS |= {"kernels", "memory", "makespan_cycles", "critical_path_cycles", "streams"}


class UNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.down = nn.Conv2d(3, 8, 3, padding=1)
        self.up = nn.ConvTranspose2d(8, 4, 2, stride=2)

    def forward(self, x):
        a = F.relu(self.down(x))
        b = F.interpolate(F.max_pool2d(a, 2), scale_factor=2, mode="bilinear")
        return torch.cat([self.up(F.max_pool2d(a, 2)), b[:, :4]], 1)


class CausalLM(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(20, 16)
        self.qkv = nn.Linear(16, 48)
        self.register_buffer("mask", torch.tril(torch.ones(6, 6)).view(1, 6, 6))

    def forward(self, ids):
        q, k, v = self.qkv(self.emb(ids)).split(16, dim=2)
        att = (q @ k.transpose(1, 2)).masked_fill(self.mask == 0, float("-inf"))
        return F.softmax(att, -1) @ v


class Indexing(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(6, 4))

    def forward(self, x, labels):
        values, index = torch.topk(x, 3, dim=1)
        picked = torch.gather(x, 1, index)
        hot = F.one_hot(labels, 6).float()
        spread = torch.zeros_like(x).scatter(1, index, 1.0)
        return values + picked, torch.cumsum(hot + spread, 1), torch.einsum("bi,ij->bj", x, self.w)


class Warp(nn.Module):
    def forward(self, x, grid):
        smooth = F.interpolate(x, size=(7, 9), mode="bicubic", align_corners=False)
        return F.grid_sample(smooth, grid, mode="bilinear", align_corners=False)


class DenseGat(nn.Module):
    """A dense GAT layer: attention over a run-time adjacency, non-edges filled with -inf
    through an inverted mask; the scores are no matmul, so no attention kernel takes it
    (the failed match once left a mask op behind that failed a later pass)."""

    def __init__(self):
        super().__init__()
        self.w = nn.Linear(8, 16, bias=False)
        self.a = nn.Parameter(torch.randn(2, 16))

    def forward(self, x, adjacency):
        h = self.w(x)
        e = F.leaky_relu((h @ self.a[0])[:, None] + (h @ self.a[1])[None, :], 0.2)
        return torch.softmax(e.masked_fill(~adjacency, float("-inf")), -1) @ h


def _adjacency(g):  # noqa: ANN001, ANN202
    edges = torch.rand(10, 10, generator=g) > 0.6
    return edges | torch.eye(10, dtype=torch.bool)  # every node sees itself


CASES = {
    "unet-opset9": (UNet, 9, lambda g: [torch.randn(1, 3, 8, 8, generator=g)]),
    "causal-lm-opset9": (CausalLM, 9, lambda g: [torch.randint(0, 20, (2, 6), generator=g)]),
    "indexing-opset13": (
        Indexing,
        13,
        lambda g: [torch.randn(3, 6, generator=g), torch.randint(0, 6, (3,), generator=g)],
    ),
    "dense-gat-opset17": (DenseGat, 17, lambda g: [torch.randn(10, 8, generator=g), _adjacency(g)]),
    "warp-opset17": (
        Warp,
        17,
        lambda g: [
            torch.randn(1, 2, 4, 5, generator=g),
            torch.rand(1, 3, 4, 2, generator=g) * 2 - 1,
        ],
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_zoo_model_runs_on_the_npu_level_like_onnxruntime(case: str, tmp_path: Path):
    cls, opset, make_inputs = CASES[case]
    torch.manual_seed(0)
    model = cls().eval()
    inputs = make_inputs(torch.Generator().manual_seed(0))
    names = [f"in{i}" for i in range(len(inputs))]
    path = tmp_path / "model.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model, tuple(inputs), str(path), opset_version=opset, dynamo=False, input_names=names
        )
    feeds = {n: t.numpy() for n, t in zip(names, inputs)}
    np.savez(tmp_path / "in.npz", **feeds)
    want = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feeds)
    out, report = tmp_path / "out.npz", tmp_path / "report.json"
    argv = [str(path), "--inputs", str(tmp_path / "in.npz"), "--output", str(out)]
    assert ge_run([*argv, "--report", str(report), "--no-cache"]) == 0
    got = np.load(out)
    for name, expected in zip(got.files, want):
        np.testing.assert_allclose(got[name], expected, rtol=1e-4, atol=1e-5, err_msg=name)
    figures = json.loads(report.read_text())
    assert REPORT_KEYS <= set(figures)
    assert figures["outputs"] == got.files
    assert all(k["cycles"] >= 0 for k in figures["kernels"])
    assert figures["memory"]["peak_bytes"] >= figures["memory"]["lower_bound_bytes"]
