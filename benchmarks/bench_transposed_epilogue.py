"""A transposed conv's activation in its kernel vs as a kernel of its own, on ascend910a.

Each case is a decoder layer (a ConvTranspose with a bias, then an activation), or DCGAN's
whole generator, as an ONNX model, compiled by `ge-optimize` with
`fuse-conv-bias-activation` (the activation in `kernel.conv_transpose2d {activation}`) and
without it and `fuse-elementwise` (the activation a `kernel.elementwise` after the conv),
then `split-wide-convs`, lowered and run on the npu interpreter. The table gives the
kernels' summed modeled cycles and HBM bytes of both, their ratio, the kernels run (npu
launches, the filters' layout kernels included), and the fused output's distance from
onnxruntime's.

    .venv/bin/python benchmarks/bench_transposed_epilogue.py
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper, numpy_helper
from pipeline_ab import compare

from passes.pipelines import GE_OPTIMIZE

CASES = [  # (name, C, H, W, O, k, stride, pad, activation)
    ("dcgan 512->256 4x4 relu", 512, 4, 4, 256, 4, 2, 1, "Relu"),
    ("dcgan 128->64 16x16 relu", 128, 16, 16, 64, 4, 2, 1, "Relu"),
    ("dcgan 64->3 32x32 tanh", 64, 32, 32, 3, 4, 2, 1, "Tanh"),
    ("pix2pix 128->64 64x64 leaky", 128, 64, 64, 64, 4, 2, 1, "LeakyRelu"),
    ("unet 128->64 32x32 k2 relu", 128, 32, 32, 64, 2, 2, 0, "Relu"),
    ("unet 64->32 256x256 k2 relu", 64, 256, 256, 32, 2, 2, 0, "Relu"),
]

FUSED = ",".join(GE_OPTIMIZE) + ",split-wide-convs"
UNFUSED = FUSED.replace("fuse-conv-bias-activation,", "").replace("fuse-elementwise,", "")
"""Without the passes that fuse an activation into its conv (`fuse-elementwise` runs the
epilogue patterns first too); nothing else in a one-layer model is theirs."""


def _model(c: int, h: int, w: int, o: int, k: int, s: int, p: int, act: str):  # noqa: ANN202
    rng = np.random.default_rng(0)
    weight = (rng.standard_normal((c, o, k, k)) / np.sqrt(c * k * k)).astype(np.float32)
    bias = rng.standard_normal(o).astype(np.float32)
    nodes = [
        helper.make_node("ConvTranspose", ["x", "w", "b"], ["t"], strides=[s, s], pads=[p] * 4),
        helper.make_node(act, ["t"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes, "layer", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, h, w])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(weight, "w"), numpy_helper.from_array(bias, "b")],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    return model, rng.standard_normal((1, c, h, w)).astype(np.float32)


def _dcgan():  # noqa: ANN202
    """DCGAN's generator (100 -> 64x64x3, ngf 64), batch 1: ConvTranspose, BatchNorm, ReLU
    four times (the BN folds into the filters), then ConvTranspose and Tanh."""
    rng = np.random.default_rng(0)
    nodes, inits, last = [], [], "x"
    layers = [(100, 512, 1, 0), (512, 256, 2, 1), (256, 128, 2, 1), (128, 64, 2, 1), (64, 3, 2, 1)]
    for i, (c, o, s, p) in enumerate(layers):
        w = (rng.standard_normal((c, o, 4, 4)) / np.sqrt(c * 16)).astype(np.float32)
        inits.append(numpy_helper.from_array(w, f"w{i}"))
        nodes.append(helper.make_node("ConvTranspose", [last, f"w{i}"], [f"t{i}"],
                                      strides=[s, s], pads=[p] * 4))  # fmt: skip
        last = f"t{i}"
        if i == len(layers) - 1:
            nodes.append(helper.make_node("Tanh", [last], ["y"]))
            break
        bn = [rng.uniform(0.5, 1.5, o), rng.uniform(-0.3, 0.3, o), rng.uniform(-0.5, 0.5, o),
              rng.uniform(0.5, 2.0, o)]  # fmt: skip
        names = [f"{n}{i}" for n in ("g", "b", "m", "v")]
        inits += [numpy_helper.from_array(a.astype(np.float32), n) for a, n in zip(bn, names)]
        nodes.append(helper.make_node("BatchNormalization", [last, *names], [f"n{i}"]))
        nodes.append(helper.make_node("Relu", [f"n{i}"], [f"r{i}"]))
        last = f"r{i}"
    graph = helper.make_graph(
        nodes, "dcgan", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 100, 1, 1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits,
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    return model, rng.standard_normal((1, 100, 1, 1)).astype(np.float32)


def main() -> None:
    cases = [(name, lambda shape=shape: _model(*shape)) for name, *shape in CASES]
    compare([*cases, ("dcgan generator (5 layers)", _dcgan)], UNFUSED, FUSED,
            ("layer", "unfused", "fused"))  # fmt: skip


if __name__ == "__main__":
    main()
