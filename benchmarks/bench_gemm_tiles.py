"""Every GEMM tile the search considers, forced one by one and run: how good is the choice?

For one matmul shape (M, K, N; bias, and with `--residual` a residual add, as BERT's layers
have), each (tm, tn, tk, output buffers) that `lowering.tiling` would consider is forced in
turn (by replacing `_choose_matmul_tile` for that shape), the model is compiled at the npu
level and run, and the kernel's modeled cycles are printed beside the cost model's estimate
and the roofline. The first line is the tile the search chose. It answers whether any tiling
reaches a roofline ratio (BERT's 128x768x768 projection: the best tile is within 1% of the
chosen one, under 0.8) and how well the estimate ranks the tiles.

    .venv/bin/python benchmarks/bench_gemm_tiles.py [M K N] [--residual] [--top 12]

(M K N default to 128 768 768; `make bench` runs it so, about 8 minutes.)

With `--conv H` the model is a 1x1 conv instead (ResNet's pointwise layers: K input
channels -> M output channels on an H x H image, N = H * H, a bias and a relu, with
`--residual` a residual added before the relu), whose GEMM is weights (M, K) @ image
(K, N): `256 1024 196 --conv 14 --residual` is ResNet-50's 256 -> 1024 expand conv.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
from onnx import TensorProto, helper, numpy_helper

import ge
import lowering.tiling as tiling
from gedialects.errors import GeError
from runtime.targets import load_target

F = TensorProto.FLOAT


def _model(m: int, k: int, n: int, residual: bool):  # noqa: ANN202
    rng = np.random.default_rng(0)
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["mm"]),
        helper.make_node("Add", ["mm", "b"], ["y0"]),
    ]
    inputs = [helper.make_tensor_value_info("x", F, [1, m, k])]
    feeds = {"x": rng.standard_normal((1, m, k)).astype(np.float32)}
    if residual:
        nodes.append(helper.make_node("Add", ["y0", "r"], ["y"]))
        inputs.append(helper.make_tensor_value_info("r", F, [1, m, n]))
        feeds["r"] = rng.standard_normal((1, m, n)).astype(np.float32)
    else:
        nodes.append(helper.make_node("Identity", ["y0"], ["y"]))
    graph = helper.make_graph(
        nodes,
        "gemm",
        inputs,
        [helper.make_tensor_value_info("y", F, [1, m, n])],
        [
            numpy_helper.from_array(rng.standard_normal((k, n)).astype(np.float32), "w"),
            numpy_helper.from_array(rng.standard_normal(n).astype(np.float32), "b"),
        ],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), feeds


def _conv_model(m: int, k: int, h: int, residual: bool):  # noqa: ANN202
    """A 1x1 conv k -> m channels on h x h, bias, relu (after a residual add)."""
    rng = np.random.default_rng(0)
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"])]
    inputs = [helper.make_tensor_value_info("x", F, [1, k, h, h])]
    feeds = {"x": rng.standard_normal((1, k, h, h)).astype(np.float32)}
    last = "c"
    if residual:
        nodes.append(helper.make_node("Add", ["c", "r"], ["s"]))
        inputs.append(helper.make_tensor_value_info("r", F, [1, m, h, h]))
        feeds["r"] = rng.standard_normal((1, m, h, h)).astype(np.float32)
        last = "s"
    nodes.append(helper.make_node("Relu", [last], ["y"]))
    weights = [
        numpy_helper.from_array(rng.standard_normal((m, k, 1, 1)).astype(np.float32) / k, "w"),
        numpy_helper.from_array(rng.standard_normal(m).astype(np.float32), "b"),
    ]
    out = [helper.make_tensor_value_info("y", F, [1, m, h, h])]
    graph = helper.make_graph(nodes, "conv1x1", inputs, out, weights)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), feeds


def _run(model, feeds, shape, force=None):  # noqa: ANN001, ANN202
    """(cycles, roofline, estimate) of the matmul kernel, the tile forced when given."""
    choose, found = tiling._choose_matmul_tile, {}

    def forced(target, m, n, k, itemsize, extra, exact, loads, passes):  # noqa: ANN001, ANN202
        if (m, n, k) != shape or force is None:
            chosen = choose(target, m, n, k, itemsize, extra, exact, loads, passes)
        else:
            tm, tn, tk, outs = force
            if not tiling._fits(target, (tm, tn, tk), itemsize, extra, outs):
                raise ValueError("does not fit")
            epilogue = (loads, passes)
            estimate, blocks = tiling._matmul_cycles(
                target, (m, n, k), (tm, tn, tk), itemsize, outs, epilogue
            )
            chosen = tiling.MatmulTiling(tm, tn, tk, blocks, estimate, outs == 2)
        if (m, n, k) == shape:
            found["tile"] = chosen
        return chosen

    tiling._MATMUL_TILES.clear()
    tiling._choose_matmul_tile = forced
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)  # a kernel run by reference: refused
            compiled = ge.compile(model, level="npu", cache=False)
            compiled.run(**feeds)
    except (ValueError, UserWarning, GeError):
        return None
    finally:
        tiling._choose_matmul_tile = choose
        tiling._MATMUL_TILES.clear()
    ops = ("kernel.matmul", "kernel.conv2d")
    (kernel,) = [k for k in compiled.last_profile["kernels"] if k["op"] in ops]
    tile = found["tile"]
    label = (tile.tm, tile.tn, tile.tk, 2 if tile.double_out else 1)
    return label, kernel["cycles"], kernel["roofline_cycles"], round(tile.estimate)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for dim, default in (("m", 128), ("k", 768), ("n", 768)):  # BERT's projection
        parser.add_argument(dim, type=int, nargs="?", default=default)
    parser.add_argument("--residual", action="store_true")
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--conv", type=int, metavar="H", help="a 1x1 conv on H x H (N = H * H)")
    args = parser.parse_args()
    if args.conv:
        assert args.n == args.conv**2, "a 1x1 conv's N is its H * H pixels"
        model, feeds = _conv_model(args.m, args.k, args.conv, args.residual)
    else:
        model, feeds = _model(args.m, args.k, args.n, args.residual)
    shape = (args.m, args.n, args.k)
    target = load_target("ascend910a")
    chosen = _run(model, feeds, shape)
    assert chosen is not None, "the chosen tile did not run"
    rows = []
    for tm in tiling._edge_options(args.m, target.ai_cores, True):
        for tn in tiling._edge_options(args.n, target.ai_cores, True):
            for tk in tiling._edge_options(args.k, 1):
                for outs in (1, 2):
                    row = _run(model, feeds, shape, (tm, tn, tk, outs))
                    if row is not None:
                        rows.append(row)
    rows.sort(key=lambda r: r[1])
    roofline = chosen[2]
    print(f"{'tile (tm, tn, tk, outs)':<26}{'cycles':>9}{'estimate':>10}{'ratio':>8}")
    for label, (tile, cycles, _, estimate) in [("chosen", chosen)] + [
        (f"#{i + 1}", r) for i, r in enumerate(rows[: args.top])
    ]:
        print(f"{label:<7}{tile!s:<19}{cycles:>9.0f}{estimate:>10}{roofline / cycles:>8.2f}")
    print(f"{len(rows)} tiles ran; roofline {roofline:.0f} cycles; 0.8 needs {roofline / 0.8:.0f}")


if __name__ == "__main__":
    main()
