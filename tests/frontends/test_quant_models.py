"""Real quantized models: small CNN and transformer-ish networks in plain torch.nn, exported to
ONNX, quantized offline by onnxruntime's own tools (static QOperator and QDQ, per-tensor and
per-channel; dynamic), and run through `ge.compile` at the reference and npu levels and
through `ge-run`, against onnxruntime.

Static models end in a DequantizeLinear of a uint8 tensor, so equal float outputs mean equal
quantized outputs: they must be exactly equal. (ORT runs QDQ models through its fused
QLinearConv/QLinearMatMul kernels; ours are exact too.) Dynamic models end in float math
after MatMulInteger/ConvInteger, which ORT fuses into kernels that round the scale products
in another order: float32 rounding apart. Weights are quantized with `reduce_range` (7 bits),
as ORT advises on AVX2 CPUs without VNNI, whose u8s8 kernels otherwise saturate int16 sums.
"""

from __future__ import annotations

import json
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnxruntime.quantization import (
    CalibrationDataReader,
    QuantFormat,
    quantize_dynamic,
    quantize_static,
)

import ge
from ge.cli.run import main as ge_run

QUANTIZED_OPS = ["Conv", "MatMul", "Gemm", "Add", "Mul", "GlobalAveragePool", "MaxPool", "Relu"]


class Cnn(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.c1 = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.c2 = torch.nn.Conv2d(8, 8, 3, padding=1, groups=2)
        self.c3 = torch.nn.Conv2d(8, 8, 1, stride=1)
        self.fc = torch.nn.Linear(8, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.c1(x))
        z = torch.relu(self.c2(y)) + self.c3(y)
        z = torch.nn.functional.max_pool2d(z, 2)
        return self.fc(torch.nn.functional.adaptive_avg_pool2d(z, 1).flatten(1))


class Encoder(torch.nn.Module):
    def __init__(self, d: int = 16) -> None:
        super().__init__()
        self.q, self.k, self.v, self.o = (torch.nn.Linear(d, d) for _ in range(4))
        self.norm = torch.nn.LayerNorm(d)
        self.up, self.down = torch.nn.Linear(d, 2 * d), torch.nn.Linear(2 * d, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scores = self.q(x) @ self.k(x).transpose(1, 2) / 4.0
        x = self.norm(x + self.o(torch.softmax(scores, -1) @ self.v(x)))
        return x + self.down(torch.nn.functional.gelu(self.up(x)))


class Lstm(torch.nn.Module):
    """quantize_dynamic turns every ONNX LSTM into com.microsoft.DynamicQuantizeLSTM."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm = torch.nn.LSTM(6, 8, num_layers=2, bidirectional=True, batch_first=True)
        self.fc = torch.nn.Linear(16, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.lstm(x)[0])


SHAPES = {"cnn": (1, 3, 8, 8), "encoder": (1, 6, 16), "lstm": (1, 9, 6)}
"""Batch 1: ORT quantizes an LSTM's hidden states per thread's share of a larger batch."""


class Calibration(CalibrationDataReader):
    def __init__(self, shape: tuple[int, ...]) -> None:
        rng = np.random.default_rng(1)
        batches = [{"x": rng.standard_normal(shape).astype(np.float32)} for _ in range(4)]
        self.batches = iter(batches)

    def get_next(self) -> dict | None:
        return next(self.batches, None)


@pytest.fixture(scope="module")
def float_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("float")
    paths = {}
    for name, model in (("cnn", Cnn()), ("encoder", Encoder()), ("lstm", Lstm())):
        paths[name] = folder / f"{name}.onnx"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(
                model.eval(),
                (torch.randn(SHAPES[name]),),
                str(paths[name]),
                dynamo=False,
                opset_version=13,
                input_names=["x"],
                output_names=["y"],
            )
    return paths


def quantized(float_path: Path, name: str, variant: str, folder: Path) -> Path:
    out = folder / f"{name}_{variant}.onnx"
    if variant == "dynamic":
        quantize_dynamic(str(float_path), str(out), reduce_range=True)
        return out
    fmt, per_channel = variant.split("_")
    op_types = None if per_channel == "all" else QUANTIZED_OPS  # None: every op ORT can
    quantize_static(
        str(float_path),
        str(out),
        Calibration(SHAPES[name]),
        quant_format=QuantFormat.QOperator if fmt == "qop" else QuantFormat.QDQ,
        per_channel=per_channel == "channel",
        reduce_range=True,
        op_types_to_quantize=op_types,
    )
    return out


def onnxruntime_output(path: Path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


def assert_matches(got: np.ndarray, want: np.ndarray, variant: str) -> None:
    if variant == "dynamic":
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    else:
        np.testing.assert_array_equal(got, want)


VARIANTS = [
    ("cnn", "qop_tensor"),
    ("cnn", "qop_channel"),
    ("cnn", "qdq_tensor"),
    ("cnn", "qdq_channel"),
    ("cnn", "dynamic"),
    ("encoder", "qop_tensor"),
    ("encoder", "qop_all"),
    ("encoder", "qdq_channel"),
    ("encoder", "dynamic"),
    ("lstm", "dynamic"),
]


@pytest.mark.parametrize(("name", "variant"), VARIANTS)
def test_quantized_model_matches_onnxruntime_at_both_levels(
    float_models: dict[str, Path], tmp_path: Path, name: str, variant: str
) -> None:
    path = quantized(float_models[name], name, variant, tmp_path)
    x = np.random.default_rng(7).standard_normal(SHAPES[name]).astype(np.float32)
    want = onnxruntime_output(path, x)
    (got,) = ge.compile(str(path), level="reference", cache=False).run(x=x)
    assert_matches(got, want, variant)
    compiled = ge.compile(str(path), level="npu", cache=False)
    (got,) = compiled.run(x=x)
    assert_matches(got, want, variant)
    kernels = compiled.last_profile["kernels"]
    fallbacks = [k for k in kernels if k.get("estimated")]
    assert len(fallbacks) < len(kernels)  # the float and elementwise parts lower
    assert all(k.get("fallback_reason") for k in fallbacks)


def test_quantized_graphs_hold_the_ops_under_test(
    float_models: dict[str, Path], tmp_path: Path
) -> None:
    def ops(variant: str, name: str = "cnn") -> Counter:
        graph = onnx.load(quantized(float_models[name], name, variant, tmp_path)).graph
        return Counter(f"{n.domain}:{n.op_type}" for n in graph.node)

    qop = ops("qop_channel")
    assert qop[":QLinearConv"] == 3 and qop["com.microsoft:QLinearAdd"] == 1
    assert qop["com.microsoft:QLinearGlobalAveragePool"] and qop["com.microsoft:QGemm"]
    assert ops("qdq_tensor")[":DequantizeLinear"] > 10
    assert ops("dynamic")[":ConvInteger"] == 3 and ops("dynamic")[":DynamicQuantizeLinear"]
    encoder = ops("qop_tensor", "encoder")
    assert encoder[":QLinearMatMul"] >= 6 and encoder["com.microsoft:QLinearMul"]
    assert ops("qop_all", "encoder")["com.microsoft:QLinearSoftmax"] == 1
    assert ops("dynamic", "encoder")[":MatMulInteger"] == 6  # the six Linear layers
    assert ops("dynamic", "lstm")["com.microsoft:DynamicQuantizeLSTM"] == 2


@pytest.mark.parametrize("level", ["reference", "npu"])
def test_ge_run_runs_a_quantized_model(
    float_models: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, level: str
) -> None:
    monkeypatch.setenv("GE_CACHE_DIR", str(tmp_path / "cache"))
    path = quantized(float_models["cnn"], "cnn", "qop_channel", tmp_path)
    x = np.random.default_rng(8).standard_normal(SHAPES["cnn"]).astype(np.float32)
    np.savez(tmp_path / "in.npz", x=x)
    report = tmp_path / "report.json"
    args = [str(path), "--inputs", str(tmp_path / "in.npz"), "--output", str(tmp_path / "out.npz")]
    assert ge_run([*args, "--level", level, "--report", str(report)]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "out.npz")["y"], onnxruntime_output(path, x))
    figures = json.loads(report.read_text())
    if level == "npu":
        kinds = Counter(k.get("engine") for k in figures["kernels"])
        # the quantized convs and GEMMs lower too: their sums stay below 2^24, so they are
        # built in f32 and run on the cube (im2col or direct, exact), none by reference
        assert kinds["npu"] and not kinds["reference"]
        algorithms = {k.get("algorithm") for k in figures["kernels"]} - {None}
        assert algorithms and algorithms <= {"im2col", "direct"}


def test_qdq_encoder_of_every_op_equals_the_model_and_is_a_step_from_ort_fusions(
    float_models: dict[str, Path], tmp_path: Path
) -> None:
    """With every op quantized, ORT's optimizer fuses the QDQ softmax, add and mul groups
    into its QLinear kernels (fixed-point and lookup tables), which round some values a step
    away from the model's float definition: its unoptimized run, which we equal exactly."""
    path = quantized(float_models["encoder"], "encoder", "qdq_all", tmp_path)
    x = np.random.default_rng(7).standard_normal(SHAPES["encoder"]).astype(np.float32)
    plain = ort.SessionOptions()
    plain.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(str(path), plain, providers=["CPUExecutionProvider"])
    (unfused,) = session.run(None, {"x": x})
    fused = onnxruntime_output(path, x)
    model = onnx.load(path)
    (last,) = [n for n in model.graph.node if n.output[0] == "y"]  # y = DequantizeLinear(q)
    (scale,) = [t for t in model.graph.initializer if t.name == last.input[1]]
    step = float(onnx.numpy_helper.to_array(scale))
    assert np.abs(unfused - fused).max() > 0  # the fusions do differ here
    for level in ("reference", "npu"):
        (got,) = ge.compile(str(path), level=level, cache=False).run(x=x)
        np.testing.assert_array_equal(got, unfused)
        assert np.abs(got - fused).max() <= step * 1.0001
