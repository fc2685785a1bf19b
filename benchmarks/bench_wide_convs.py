"""Convs whose rows are too wide for the cube's tiles, with and without the passes that
reshape them (`turn-1d-convs`, `split-wide-convs`; both runs keep ge-optimize's
`sink-conv1d-reshapes`), on ascend910a.

Each case is an ONNX model built here (random weights), imported and compiled to kernels
twice: with ge-run's passes, and without them (`before`). Both run on the npu interpreter;
the table gives the summed kernel cycles, the kernels' algorithms and the wall time, and
checks the outputs against onnxruntime. A `before` whose only candidate is FFT on a long
row is not run (the wav2vec2 stem's took 22 GB): its modeled estimate (`ge.costs`) is
shown instead, marked `est`. A `before` that the npu level leaves to the reference engine
(a transposed conv that fits no route whole) is marked `reference`.

    .venv/bin/python benchmarks/bench_wide_convs.py [--cases NAME,...]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from ge.frontends.onnx import import_onnx_model
from ge.pipeline import apply_pipeline
from gedialects.kernel.ops import Conv2DKernelOp
from passes.select_implementations import COSTS_ATTR
from runtime.kernel_runner import KernelRunner

AFTER = "ge-optimize,turn-1d-convs,split-wide-convs,select-implementations"
BEFORE = AFTER.replace("turn-1d-convs,split-wide-convs,", "")
EST_ONLY_BEFORE = {"wav2vec2_stem", "whisper_conv", "wide_9x9"}
"""Cases whose `before` is FFT on a long row: estimated, not run."""


def _transposed_model(x_shape, w_shape, attrs, act=None):  # noqa: ANN001, ANN202
    """A ConvTranspose (weights (C, O, kh, kw), a bias) and an optional activation."""
    model, x = _conv_model(x_shape, w_shape, attrs, act, channels=w_shape[1])
    model.graph.node[0].op_type = "ConvTranspose"
    return model, x


def _conv_model(x_shape, w_shape, attrs, act=None, residual=False, channels=0):  # noqa: ANN001, ANN202
    rng = np.random.default_rng(0)
    w = (rng.standard_normal(w_shape) / np.sqrt(np.prod(w_shape[1:]))).astype(np.float32)
    b = rng.standard_normal(channels or w_shape[0]).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], **attrs)]
    last = "c"
    if act:
        nodes.append(helper.make_node(act, [last], ["a"]))
        last = "a"
    if residual:
        nodes.append(helper.make_node("Add", [last, "x"], ["r"]))
        last = "r"
    nodes.append(helper.make_node("Identity", [last], ["y"]))
    graph = helper.make_graph(
        nodes, "case", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    return model, rng.standard_normal(x_shape).astype(np.float32)


CASES = {
    "wav2vec2_stem": lambda: _conv_model((1, 1, 16000), (512, 1, 10), {"strides": [5]}),
    "whisper_conv": lambda: _conv_model((1, 80, 3000), (384, 80, 3), {"pads": [1, 1]}, "Relu"),
    "conv1d_256x500": lambda: _conv_model((1, 256, 500), (256, 256, 3), {"pads": [1, 1]}),
    "conv1d_128x1000_b4": lambda: _conv_model((4, 128, 1000), (128, 128, 7), {"pads": [3, 3]}),
    "conv1d_block": lambda: _conv_model(
        (2, 64, 997), (64, 64, 3), {"pads": [1, 1]}, "Relu", residual=True
    ),
    "wide_9x9": lambda: _conv_model((1, 3, 32, 4096), (16, 3, 9, 9), {"pads": [4, 4, 4, 4]}),
    "deep_strided": lambda: _conv_model(
        (1, 256, 100, 168), (256, 256, 3, 3), {"strides": [2, 2], "pads": [1, 1, 1, 1]}
    ),
    "unet_upsampling": lambda: _transposed_model(
        (1, 64, 256, 256), (64, 32, 2, 2), {"strides": [2, 2]}
    ),
    "dcgan_wide": lambda: _transposed_model(
        (1, 64, 64, 1024), (64, 32, 4, 4), {"strides": [2, 2], "pads": [1, 1, 1, 1]}, "Relu"
    ),
}


def _compile(model, spec: str):  # noqa: ANN001, ANN202
    module = import_onnx_model(model)
    apply_pipeline(module, spec)
    return module


def _estimate(module) -> float:  # noqa: ANN001
    total = 0.0
    for op in module.walk():
        if isinstance(op, Conv2DKernelOp):
            costs = op.attributes[COSTS_ATTR].data
            total += float(costs[op.algorithm.data].value.data)
    return total


def _run(module, x: np.ndarray, want: np.ndarray):  # noqa: ANN001, ANN202
    """(cycles, what ran, wall s, error, whether a kernel fell back)."""
    start = time.perf_counter()
    run = KernelRunner(module).run([x])
    wall = time.perf_counter() - start
    err = float(np.abs(run.outputs[0] - want).max() / np.abs(want).max())
    algorithms = sorted({k.algorithm for k in run.profile.kernels if k.algorithm})
    kinds = [k.kind or "" for k in run.profile.kernels]
    cycles = sum(k.cycles for k in run.profile.kernels)
    what = [*algorithms, f"{len(kinds)} kernels"]
    return cycles, what, wall, err, bool(run.fallbacks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(CASES))
    args = parser.parse_args()
    print(f"{'case':<20} {'before':>16} {'after':>10} {'ratio':>7}  after: algorithms, wall, error")
    for name in args.cases.split(","):
        model, x = CASES[name]()
        (want,) = ort.InferenceSession(model.SerializeToString()).run(None, {"x": x})
        after = _compile(model, AFTER)
        cycles, what, wall, err, _ = _run(after, x, want)
        before_module = _compile(model, BEFORE)
        if name in EST_ONLY_BEFORE:
            shown = f"{_estimate(before_module):>12,.0f} est"
            ratio = f"{_estimate(before_module) / cycles:>6.1f}x"
        else:
            before, _, _, _, fell_back = _run(before_module, x, want)
            shown = f"{'reference':>16}" if fell_back else f"{before:>12,.0f}    "
            ratio = f"{'-':>7}" if fell_back else f"{before / cycles:>6.1f}x"
        print(
            f"{name:<20} {shown} {cycles:>10,.0f} {ratio}  "
            f"{', '.join(what)}, {wall:.1f} s, {err:.1e}"
        )


if __name__ == "__main__":
    main()
