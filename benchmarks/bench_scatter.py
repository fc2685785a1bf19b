"""Scatters at the npu level: modeled cycles beside the roofline, and the interpreter's warm
wall time beside onnxruntime's in the same process, for the forms real models export.

    .venv/bin/python benchmarks/bench_scatter.py

- YOLOv5's in-place Detect head (40x40 grid, `y[..., 0:2] = ...` and `y[..., 2:4] = ...`):
  two ScatterND of constant box indices, which import as a pad and a where;
- a KV-cache write at run-time positions (ScatterND of 4 rows of 1x8x1024x64 f16): a copy
  kernel and row stores;
- torch.scatter_add (ScatterElements, reduction add, 640 updates into 64x100): one-element
  read-modify-writes, in order on one core.
"""

from __future__ import annotations

import io
import time
import warnings

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper

import ge


def _yolo_head() -> tuple[onnx.ModelProto, dict]:
    import torch

    class Head(torch.nn.Module):
        def forward(self, x):  # noqa: ANN001, ANN202
            y = x.sigmoid()
            y[..., 0:2] = y[..., 0:2] * 2.0 - 0.5
            y[..., 2:4] = (y[..., 2:4] * 2) ** 2
            return y

    x = torch.randn(1, 3, 40, 40, 85)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(Head(), (x,), buffer, opset_version=12, dynamo=False)
    model = onnx.load_from_string(buffer.getvalue())
    return model, {model.graph.input[0].name: x.numpy()}


def _model(node: onnx.NodeProto, inputs: list, output: tuple) -> onnx.ModelProto:
    values = [helper.make_tensor_value_info(n, t, s) for n, t, s in inputs]
    graph = helper.make_graph([node], "g", values, [helper.make_tensor_value_info(*output)])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])


def _kv_cache_write() -> tuple[onnx.ModelProto, dict]:
    f16, i64 = TensorProto.FLOAT16, TensorProto.INT64
    cache, rows = [1, 8, 1024, 64], [4, 3]
    node = helper.make_node("ScatterND", ["cache", "at", "new"], ["y"])
    inputs = [("cache", f16, cache), ("at", i64, rows), ("new", f16, [4, 64])]
    rng = np.random.default_rng(0)
    at = np.array([[0, 0, 17], [0, 3, 17], [0, 5, 17], [0, 7, 17]], np.int64)
    feeds = {
        "cache": rng.standard_normal(cache).astype(np.float16),
        "at": at,
        "new": rng.standard_normal((4, 64)).astype(np.float16),
    }
    return _model(node, inputs, ("y", f16, cache)), feeds


def _scatter_add() -> tuple[onnx.ModelProto, dict]:
    f32, i64 = TensorProto.FLOAT, TensorProto.INT64
    node = helper.make_node("ScatterElements", ["x", "i", "u"], ["y"], axis=1, reduction="add")
    inputs = [("x", f32, [64, 100]), ("i", i64, [64, 10]), ("u", f32, [64, 10])]
    rng = np.random.default_rng(0)
    feeds = {
        "x": rng.standard_normal((64, 100)).astype(np.float32),
        "i": rng.integers(0, 100, (64, 10)),
        "u": rng.standard_normal((64, 10)).astype(np.float32),
    }
    return _model(node, inputs, ("y", f32, [64, 100])), feeds


def _best(fn, repeats: int = 5) -> float:  # noqa: ANN001
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    cases = {
        "YOLO head 40x40 (2 box ScatterND)": _yolo_head,
        "KV-cache write 4 rows (ScatterND)": _kv_cache_write,
        "scatter_add 640 into 64x100": _scatter_add,
    }
    print(f"{'case':36} {'kernels':>7} {'cycles':>8} {'roofline':>8} {'ratio':>6} "
          f"{'ge ms':>7} {'ort ms':>7} {'x ort':>6}")  # fmt: skip
    for name, make in cases.items():
        model, feeds = make()
        session = ort.InferenceSession(
            model.SerializeToString(), providers=["CPUExecutionProvider"]
        )
        want = session.run(None, feeds)[0]
        compiled = ge.compile(model, level="npu", cache=False)
        got = compiled(*feeds.values())
        np.testing.assert_allclose(np.asarray(got, np.float32), want.astype(np.float32), atol=1e-3)
        kernels = compiled.last_profile["kernels"]
        cycles = sum(k["cycles"] for k in kernels)
        roofline = sum(k["roofline_cycles"] for k in kernels)
        ge_s = _best(lambda: compiled(*feeds.values()))  # noqa: B023
        ort_s = _best(lambda: session.run(None, feeds))  # noqa: B023
        print(f"{name:36} {len(kernels):7d} {cycles:8.0f} {roofline:8.0f} {roofline / cycles:6.2f} "
              f"{ge_s * 1e3:7.1f} {ort_s * 1e3:7.2f} {ge_s / ort_s:6.0f}")  # fmt: skip


if __name__ == "__main__":
    main()
