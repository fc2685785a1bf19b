"""Squeeze-excitation's gate in the next conv's weights vs as a kernel of its own, ascend910a.

An SE block ends in y * g, g = sigmoid(...) of shape (1, C, 1, 1), read by the block's 1x1
projection. `fold-channel-gates` multiplies the projection's weights by g instead (O x C
elements, not C x H x W), so the activation is not read and written once more in HBM.
Each case, an ONNX model of an inverted-residual block with SE (EfficientNet-B0's MBConv
with SiLU, MobileNetV3's with ReLU and a hard-sigmoid gate, a RegNetY block), is compiled
by `ge-optimize` with and without the pass (the peer, same run), lowered and run on the
npu interpreter. The table gives the kernels' summed modeled cycles and HBM bytes of both,
their ratio, the kernels run and the output's distance from onnxruntime's.

    .venv/bin/python benchmarks/bench_channel_gates.py
"""

from __future__ import annotations

import numpy as np
from bench_silu_epilogue import Graph
from pipeline_ab import compare

from passes.pipelines import GE_OPTIMIZE

FOLDED = ",".join(GE_OPTIMIZE)
UNFOLDED = FOLDED.replace("fold-channel-gates,", "")


def _mbconv(c: int, size: int, expand: int, k: int, stride: int, gate: str, act: str):  # noqa: ANN202
    """1x1 expand + act, kxk depthwise + act, SE (pool, 1x1, act, 1x1, gate), 1x1 project."""
    g = Graph((1, c, size, size))
    h = c * expand
    activate = g.silu if act == "silu" else (lambda v: g.node("Relu", [v]))
    x = activate(_conv_bn(g, "x", c, h, 1, 1, 1))
    y = activate(_conv_bn(g, x, h, h, k, stride, h))
    pooled = g.node("GlobalAveragePool", [y])
    squeezed = activate(_conv_bias(g, pooled, h, max(1, c // 4)))
    excited = _conv_bias(g, squeezed, max(1, c // 4), h)
    gated = g.node("Sigmoid" if gate == "sigmoid" else "HardSigmoid", [excited])
    out = _conv_bn(g, g.node("Mul", [y, gated]), h, c, 1, 1, 1)
    return g.model(g.node("Add", [out, "x"]) if stride == 1 else out)


def _conv_bn(g: Graph, x: str, c: int, o: int, k: int, s: int, groups: int) -> str:
    w = g.rng.standard_normal((o, c // groups, k, k)) / np.sqrt(c // groups * k * k)
    y = g.node("Conv", [x, g._init(w, "w")], strides=[s, s], pads=[k // 2] * 4, group=groups)
    bn = [g.rng.uniform(0.5, 1.5, o), g.rng.uniform(-0.3, 0.3, o),
          g.rng.uniform(-0.5, 0.5, o), g.rng.uniform(0.5, 2.0, o)]  # fmt: skip
    return g.node("BatchNormalization", [y, *(g._init(a, "bn") for a in bn)])


def _conv_bias(g: Graph, x: str, c: int, o: int) -> str:
    w, b = g.rng.standard_normal((o, c, 1, 1)) / np.sqrt(c), g.rng.standard_normal(o)
    return g.node("Conv", [x, g._init(w, "w"), g._init(b, "b")])


CASES = [
    ("effnet-b0 mbconv 24ch 56^2", lambda: _mbconv(24, 56, 6, 3, 1, "sigmoid", "silu")),
    ("effnet-b0 mbconv 40ch 28^2 k5", lambda: _mbconv(40, 28, 6, 5, 1, "sigmoid", "silu")),
    ("effnet-b0 mbconv 16ch 112^2 s2", lambda: _mbconv(16, 112, 6, 3, 2, "sigmoid", "silu")),
    ("mobilenetv3 bneck 40ch 28^2", lambda: _mbconv(40, 28, 3, 5, 1, "hard", "relu")),
    ("effnet-b0 mbconv 192ch 7^2", lambda: _mbconv(192, 7, 6, 3, 1, "sigmoid", "silu")),
]


def main() -> None:
    compare(CASES, UNFOLDED, FOLDED, ("case", "unfolded", "folded"))


if __name__ == "__main__":
    main()
