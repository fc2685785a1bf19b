"""Conv algorithm selection on real models, and the algorithms' numpy speed (issue 6).

Per distinct conv layer of a ResNet-50-sized model and MobileNetV2 (224x224): the modeled
cycles on ascend910a of every algorithm that accepts it, the chosen one, and the whole
model's conv cycles with selection vs with im2col everywhere. Then, for a few shapes, the
host wall time of each algorithm's numpy implementation beside onnxruntime's Conv on the
same shape, and each algorithm's worst error against float64 direct convolution (the
measured basis of the per-algorithm tolerances in the tests).

Run: `.venv/bin/python benchmarks/bench_conv_algorithms.py [--small]`
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import Counter

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper

from ge.frontends.onnx import import_onnx_model
from ge.pipeline import apply_pipeline
from ge.testing.models import build, export_onnx
from gedialects.ge.semantics import conv2d_nchw
from gedialects.kernel.conv_algorithms import ALGORITHMS, ConvGeometry
from gedialects.kernel.ops import Conv2DKernelOp
from passes.select_implementations import COSTS_ATTR, conv_geometry


def conv_layers(name: str, small: bool) -> Counter:
    model, example = build(name, small=small)
    module = import_onnx_model(export_onnx(model, example), source=name)
    apply_pipeline(module, "ge-optimize,select-implementations")
    layers: Counter = Counter()
    for op in module.walk():
        if isinstance(op, Conv2DKernelOp):
            costs = {k: v.value.data for k, v in op.attributes[COSTS_ATTR].data.items()}
            layers[(conv_geometry(op), op.algorithm.data, tuple(sorted(costs.items())))] += 1
    return layers


def describe(g: ConvGeometry) -> str:
    dw = " dw" if g.is_depthwise else ""
    return f"{g.c}->{g.o} {g.kh}x{g.kw}/{g.strides[0]} {g.h}x{g.w}{dw}"


def selection_table(name: str, small: bool) -> None:
    layers = conv_layers(name, small)
    print(f"\n{name}: {sum(layers.values())} convs, {len(layers)} distinct")
    names = list(ALGORITHMS)
    print(f"{'layer':<28}{'n':>3} " + "".join(f"{a:>14}" for a in names) + "   chosen")
    chosen_total = im2col_total = 0.0
    for (g, chosen, costs), count in sorted(layers.items(), key=lambda kv: -kv[0][0].macs):
        costs = dict(costs)
        cells = "".join(f"{costs[a]:>14,.0f}" if a in costs else f"{'-':>14}" for a in names)
        print(f"{describe(g):<28}{count:>3} {cells}   {chosen}")
        chosen_total += count * costs[chosen]
        im2col_total += count * costs["im2col"]
    print(
        f"conv cycles: selected {chosen_total:,.0f}, im2col everywhere {im2col_total:,.0f}, "
        f"ratio {chosen_total / im2col_total:.3f}"
    )


def ort_conv_seconds(g: ConvGeometry, x: np.ndarray, w: np.ndarray) -> float:
    node = helper.make_node(
        "Conv", ["x", "w"], ["y"], strides=list(g.strides), pads=list(g.pads),
        dilations=list(g.dilations), group=g.groups,
    )  # fmt: skip
    graph = helper.make_graph(
        [node],
        "conv",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x.shape)),
         helper.make_tensor_value_info("w", TensorProto.FLOAT, list(w.shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return median_seconds(lambda: session.run(None, {"x": x, "w": w}))


def median_seconds(fn, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


SHAPES = {
    "resnet 3x3 64ch 56x56": ConvGeometry(1, 64, 56, 56, 64, 3, 3, (1, 1), (1, 1, 1, 1)),
    "resnet 3x3 256ch 14x14": ConvGeometry(1, 256, 14, 14, 256, 3, 3, (1, 1), (1, 1, 1, 1)),
    "resnet 1x1 256->1024": ConvGeometry(1, 256, 14, 14, 1024, 1, 1),
    "mobilenet dw 3x3 144": ConvGeometry(
        1, 144, 56, 56, 144, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1), 144
    ),
    "stem 7x7/2 3->64": ConvGeometry(1, 3, 224, 224, 64, 7, 7, (2, 2), (3, 3, 3, 3)),
    "large 15x15 32ch 64x64": ConvGeometry(1, 32, 64, 64, 32, 15, 15, (1, 1), (7, 7, 7, 7)),
}


def speed_table() -> None:
    print("\nhost wall time (ms) of each algorithm's numpy implementation vs onnxruntime Conv,")
    print("and worst |error| / max|y| against float64 direct convolution")
    print(f"{'shape':<26}{'ort':>8}" + "".join(f"{a:>20}" for a in ALGORITHMS))
    rng = np.random.default_rng(0)
    for label, g in SHAPES.items():
        x = rng.standard_normal((g.n, g.c, g.h, g.w)).astype(np.float32)
        w = (rng.standard_normal((g.o, g.c // g.groups, g.kh, g.kw)) * 0.1).astype(np.float32)
        exact = conv2d_nchw(x.astype(np.float64), w.astype(np.float64), g.strides, g.pads,
                            g.dilations, g.groups)  # fmt: skip
        scale = float(np.abs(exact).max())
        cells = []
        for algo in ALGORITHMS.values():
            if algo.unsupported_reason(g) is not None:
                cells.append(f"{'-':>20}")
                continue
            seconds = median_seconds(lambda algo=algo: algo.run(x, w, g), 3)
            error = float(np.abs(algo.run(x, w, g) - exact).max()) / scale
            cells.append(f"{seconds * 1e3:>10.1f} ({error:.0e})")
        print(f"{label:<26}{ort_conv_seconds(g, x, w) * 1e3:>8.1f}" + "".join(cells), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="test-size models (fast)")
    args = parser.parse_args()
    for name in ("resnet50", "mobilenet_v2"):
        selection_table(name, args.small)
    speed_table()


if __name__ == "__main__":
    main()
