"""SiLU in its conv's or matmul's epilogue vs as kernels of its own, on ascend910a.

Exporters write `nn.SiLU` as x * Sigmoid(x); `recognize-silu` turns it into `ge.silu`, an
activation the conv before it applies while its tile is in UB. Each case, an ONNX model, is
compiled by `ge-optimize` with and without `recognize-silu` (without it the sigmoid and the
mul become one `kernel.elementwise` after the conv, which reads and writes the whole
activation in HBM), lowered and run on the npu interpreter. The table gives the kernels'
summed modeled cycles and HBM bytes of both, their ratio, the kernels run and the fused
output's distance from onnxruntime's. The layers are YOLOv5's Conv-BN-SiLU at 320x320, an
EfficientNet depthwise conv (the direct algorithm), a LLaMA-sized MLP projection with a
bias, CLIP's MLP projection with QuickGELU (x * sigmoid(1.702 x)), and a YOLOv5n-style
backbone (stem, strided convs, C3 blocks with residual
bottlenecks and their concats).

    .venv/bin/python benchmarks/bench_silu_epilogue.py
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper, numpy_helper
from pipeline_ab import compare

from passes.pipelines import GE_OPTIMIZE

FUSED = ",".join(GE_OPTIMIZE)
UNFUSED = FUSED.replace("recognize-silu,", "")


class Graph:
    """An ONNX graph built layer by layer: Conv (+ BN) + SiLU written as Sigmoid and Mul."""

    def __init__(self, shape: tuple[int, ...]):
        self.rng = np.random.default_rng(0)
        self.nodes: list = []
        self.inits: list = []
        self.shape = shape
        self.count = 0

    def _name(self, hint: str) -> str:
        self.count += 1
        return f"{hint}{self.count}"

    def _init(self, array: np.ndarray, hint: str) -> str:
        name = self._name(hint)
        self.inits.append(numpy_helper.from_array(array.astype(np.float32), name))
        return name

    def node(self, op: str, inputs: list[str], **attrs) -> str:
        out = self._name(op.lower())
        self.nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    def silu(self, x: str, alpha: float = 1.0) -> str:
        """x * Sigmoid(alpha x); alpha 1.702 is CLIP's QuickGELU."""
        gated = x if alpha == 1.0 else self.node("Mul", [x, self._init(np.float32(alpha), "a")])
        return self.node("Mul", [x, self.node("Sigmoid", [gated])])

    def conv(self, x: str, c: int, o: int, k: int, s: int = 1, groups: int = 1) -> str:
        """Conv (no bias), BatchNorm, SiLU: YOLOv5's `Conv`."""
        w = self.rng.standard_normal((o, c // groups, k, k)) / np.sqrt(c // groups * k * k)
        y = self.node("Conv", [x, self._init(w, "w")], strides=[s, s], pads=[k // 2] * 4,
                      group=groups)  # fmt: skip
        bn = [self.rng.uniform(0.5, 1.5, o), self.rng.uniform(-0.3, 0.3, o),
              self.rng.uniform(-0.5, 0.5, o), self.rng.uniform(0.5, 2.0, o)]  # fmt: skip
        return self.silu(self.node("BatchNormalization", [y, *(self._init(a, "bn") for a in bn)]))

    def c3(self, x: str, c: int, o: int, blocks: int) -> str:
        """YOLOv5's C3: two 1x1 branches, residual bottlenecks on one, concat, a 1x1."""
        h = o // 2
        a, b = self.conv(x, c, h, 1), self.conv(x, c, h, 1)
        for _ in range(blocks):
            a = self.node("Add", [a, self.conv(self.conv(a, h, h, 1), h, h, 3)])
        return self.conv(self.node("Concat", [a, b], axis=1), 2 * h, o, 1)

    def model(self, y: str):  # noqa: ANN201
        self.nodes[-1].output[0] = "y"
        graph = helper.make_graph(
            self.nodes, "net", [helper.make_tensor_value_info("x", TensorProto.FLOAT, self.shape)],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], self.inits,
        )  # fmt: skip
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        return model, self.rng.standard_normal(self.shape).astype(np.float32)


def _layer(c: int, h: int, o: int, k: int, s: int, groups: int = 1):  # noqa: ANN202
    g = Graph((1, c, h, h))
    return g.model(g.conv("x", c, o, k, s, groups))


def _mlp(tokens: int, d: int, hidden: int, alpha: float = 1.0):  # noqa: ANN202
    g = Graph((1, tokens, d))
    w = g._init(g.rng.standard_normal((d, hidden)) / np.sqrt(d), "w")
    b = g._init(g.rng.standard_normal(hidden), "b")
    return g.model(g.silu(g.node("Add", [g.node("MatMul", ["x", w]), b]), alpha))


def _backbone():  # noqa: ANN202
    """YOLOv5n's backbone to stride 16 at 320x320: 6x6 s2 stem, then conv s2 + C3 stages."""
    g = Graph((1, 3, 320, 320))
    x = g.conv("x", 3, 16, 6, 2)
    for c, o, blocks in ((16, 32, 1), (32, 64, 2), (64, 128, 3)):
        x = g.c3(g.conv(x, c, o, 3, 2), o, o, blocks)
    return g.model(x)


CASES = [
    ("yolo 3x3 s2 16->32 160^2", lambda: _layer(16, 160, 32, 3, 2)),
    ("yolo 1x1 64->64 40^2", lambda: _layer(64, 40, 64, 1, 1)),
    ("yolo 3x3 128->128 20^2", lambda: _layer(128, 20, 128, 3, 1)),
    ("effnet dw 3x3 96 56^2", lambda: _layer(96, 56, 96, 3, 1, groups=96)),
    ("mlp 128x512 -> 1376 silu", lambda: _mlp(128, 512, 1376)),
    ("clip mlp 77x512->2048 qgelu", lambda: _mlp(77, 512, 2048, 1.702)),
    ("yolov5n backbone 320^2", _backbone),
]


def main() -> None:
    compare(CASES, UNFUSED, FUSED, ("case", "unfused", "fused"))


if __name__ == "__main__":
    main()
