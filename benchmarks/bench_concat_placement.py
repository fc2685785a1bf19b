"""Concats whose pieces other kernels read too: placed (read in the concat's result) vs copied.

A UNet's skip feature is read by the next encoder stage and by the decoder's concat; YOLO's
SPPF concatenates a feature with the pools that read it. Since session 29 such a piece is
placed (`memory_rules.placed_offsets`): its producer writes it into the concat's result and
its other readers read it there. Before, any second reader kept it apart, and
`copy-concat-operands` gave it a copy kernel. Each case, an ONNX model, is compiled for the
npu (`ge.compile(level="npu")`) with the rule of today and with the old one (the peer,
measured in the same run by patching `memory_rules._reads_in_place`), and run: the table
gives the modeled makespan, the kernels launched, their HBM bytes and the arena's peak.

    .venv/bin/python benchmarks/bench_concat_placement.py
"""

from __future__ import annotations

from unittest import mock

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

import ge
from ge.frontends.onnx import import_onnx_model
from passes.memory import memory_rules


def _graph(nodes, inits, shape):  # noqa: ANN001, ANN202
    graph = helper.make_graph(
        nodes, "net", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits,
    )  # fmt: skip
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


class _Net:
    def __init__(self) -> None:
        self.rng, self.nodes, self.inits, self.count = np.random.default_rng(0), [], [], 0

    def node(self, op: str, inputs: list[str], out: str | None = None, **attrs) -> str:
        self.count += 1
        out = out or f"{op.lower()}{self.count}"
        self.nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    def weight(self, shape: tuple[int, ...]) -> str:
        self.count += 1
        fan_in = int(np.prod(shape[1:]))
        array = (self.rng.standard_normal(shape) / np.sqrt(fan_in)).astype(np.float32)
        self.inits.append(numpy_helper.from_array(array, f"w{self.count}"))
        return f"w{self.count}"

    def conv(self, x: str, c: int, o: int, k: int = 3) -> str:
        return self.node("Relu", [self.node("Conv", [x, self.weight((o, c, k, k))],
                                            pads=[k // 2] * 4)])  # fmt: skip


def _unet(size: int, c: int = 16):  # noqa: ANN202
    """Three levels: conv pairs, 2x2 max pools, 2x2 s2 transposed convs, skip concats."""
    n = _Net()
    a = n.conv(n.conv("x", 3, c), c, c)
    b = n.conv(n.conv(n.node("MaxPool", [a], kernel_shape=[2, 2], strides=[2, 2]), c, 2 * c),
               2 * c, 2 * c)  # fmt: skip
    m = n.conv(n.node("MaxPool", [b], kernel_shape=[2, 2], strides=[2, 2]), 2 * c, 4 * c)
    for skip, ch in ((b, 2 * c), (a, c)):
        up = n.node("ConvTranspose", [m, n.weight((2 * ch, ch, 2, 2))], strides=[2, 2])
        m = n.conv(n.node("Concat", [up, skip], axis=1), 2 * ch, ch)
    n.node("Conv", [m, n.weight((2, c, 1, 1))], out="y")
    return _graph(n.nodes, n.inits, [1, 3, size, size]), (1, 3, size, size)


def _sppf(size: int, c: int = 128):  # noqa: ANN202
    """YOLOv5's SPPF: a 1x1 conv, three 5x5 stride-1 max pools in a chain, all four joined."""
    n = _Net()
    x = n.conv("x", c, c // 2, 1)
    pools = [x]
    for _ in range(3):
        pools.append(n.node("MaxPool", [pools[-1]], kernel_shape=[5, 5], pads=[2] * 4))
    n.node("Conv", [n.node("Concat", pools, axis=1), n.weight((c, 2 * c, 1, 1))], out="y")
    return _graph(n.nodes, n.inits, [1, c, size, size]), (1, c, size, size)


CASES = [("unet 3 levels 128^2", lambda: _unet(128)), ("unet 3 levels 256^2", lambda: _unet(256)),
         ("yolov5 sppf 128ch 20^2", lambda: _sppf(20))]  # fmt: skip


def _run(model, x: np.ndarray):  # noqa: ANN001, ANN202
    compiled = ge.compile(import_onnx_model(model), level="npu", cache=False)
    out = compiled.run(x)[0]
    profile = compiled.last_profile
    kernels = profile["kernels"]
    moved = sum(k["hbm_bytes_read"] + k["hbm_bytes_written"] for k in kernels)
    return profile["makespan_cycles"], len(kernels), moved, profile["memory"]["peak_bytes"], out


def main() -> None:
    print(f"{'case':<24} {'copied':>9} {'placed':>9} {'ratio':>6} kernels {'HBM MB':>13} "
          f"{'arena MiB':>13}  error")  # fmt: skip
    for name, build in CASES:
        model, shape = build()
        x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
        (want,) = ort.InferenceSession(model.SerializeToString()).run(None, {"x": x})
        old_rule = lambda user, concat: user is concat  # noqa: E731
        with mock.patch.object(memory_rules, "_reads_in_place", old_rule):
            before, k0, moved0, arena0, _ = _run(model, x)
        after, k1, moved1, arena1, out = _run(model, x)
        err = float(np.abs(out - want).max() / np.abs(want).max())
        print(f"{name:<24} {before:>9,.0f} {after:>9,.0f} {after / before:>6.2f} {k0:>3}->{k1:<3} "
              f"{moved0 / 1e6:>6.1f}->{moved1 / 1e6:<6.1f} {arena0 / 2**20:>6.2f}->"
              f"{arena1 / 2**20:<6.2f} {err:.1e}")  # fmt: skip


if __name__ == "__main__":
    main()
