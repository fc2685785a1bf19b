"""Ceil-mode pools whose last window ONNX's shape inference counts and onnxruntime drops.

onnxruntime (and torch) drop a ceil-mode pool's last window when it would start in the end
padding, (out - 1) * stride >= size + pad_begin; ONNX's shape inference (onnx 1.23) keeps
it, and onnxruntime only warns that the declared shape is wrong. The importer checks its
shapes against ONNX's, so such a pool (a stride-3 1x1 pool of a 3-wide map, say) would be
refused, and every value after it. Such a pool (and every ceil-mode LpPool, whose
converter composes floor mode only) is rewritten in floor mode with the end
padding that yields onnxruntime's count on every axis: the same windows, which pad with
values that never count (-inf for MaxPool, zeros of LpPool's sum, uncounted padding of an
AveragePool with count_include_pad=0; with count_include_pad=1 only when no axis needs more
padding). The shapes the model states past its inputs go too: ONNX's inference states
them again.
"""

from __future__ import annotations

import onnx
from onnx import helper

POOLS = ("MaxPool", "AveragePool", "LpPool")


def extra_end_pad(size: int, kernel: int, stride: int, pads: tuple[int, int], dil: int) -> tuple:
    """(the end padding floor mode needs for onnxruntime's ceil-mode count, whether
    onnxruntime drops the window ONNX's inference counts) along one axis."""
    span = size + pads[0] + pads[1] - ((kernel - 1) * dil + 1)
    floor, ceil = span // stride + 1, -(-span // stride) + 1
    dropped = ceil > floor and (ceil - 1) * stride >= size + pads[0]
    if dropped or ceil == floor:
        return 0, dropped
    return (ceil - 1) * stride - span, False


def floor_mode_pads(node: onnx.NodeProto, dims: list[int] | None) -> list[int] | None:
    """The pads of the floor-mode twin of `node`, a ceil-mode pool ONNX's inference
    miscounts on its input `dims` (or any ceil-mode LpPool); None when `node` needs none."""
    if node.op_type not in POOLS or dims is None:
        return None
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    if not attrs.get("ceil_mode") or attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        return None
    kernel, sizes = list(attrs["kernel_shape"]), dims[2:]
    rank = len(kernel)
    if len(sizes) != rank or any(d <= 0 for d in sizes):
        return None
    strides = list(attrs.get("strides", [1] * rank))
    pads = list(attrs.get("pads", [0] * 2 * rank))
    dil = list(attrs.get("dilations", [1] * rank))
    if (len(strides), len(pads), len(dil)) != (rank, 2 * rank, rank):
        return None  # malformed: the pool's converter names what is wrong
    axes = [
        extra_end_pad(sizes[i], kernel[i], strides[i], (pads[i], pads[i + rank]), dil[i])
        for i in range(rank)
    ]
    if not any(dropped for _, dropped in axes) and node.op_type != "LpPool":
        return None  # (an LpPool's converter takes floor mode only: every one goes)
    counted = node.op_type == "AveragePool" and attrs.get("count_include_pad", 0)
    if counted and any(extra for extra, _ in axes):
        return None  # the divisor would count the added padding
    return pads[:rank] + [p + extra for p, (extra, _) in zip(pads[rank:], axes)]


def exact_ceil_pools(model: onnx.ModelProto, inferred: onnx.ModelProto) -> onnx.ModelProto:
    """`model`, or a copy whose top-level ceil-mode pools that ONNX's inference miscounts
    are in floor mode (`inferred`: the model with ONNX's shapes, for the pools' inputs)."""
    dims = {}
    for info in [*inferred.graph.input, *inferred.graph.value_info]:
        t = info.type.tensor_type
        if t.HasField("shape") and all(d.HasField("dim_value") for d in t.shape.dim):
            dims[info.name] = [d.dim_value for d in t.shape.dim]
    twins = {
        i: pads
        for i, node in enumerate(model.graph.node)
        if node.input and (pads := floor_mode_pads(node, dims.get(node.input[0]))) is not None
    }
    if not twins:
        return model
    fixed = onnx.ModelProto()
    fixed.CopyFrom(model)
    for i, pads in twins.items():
        node = fixed.graph.node[i]
        kept = [a for a in node.attribute if a.name not in ("ceil_mode", "pads")]
        del node.attribute[:]
        node.attribute.extend([*kept, helper.make_attribute("pads", pads)])
    del fixed.graph.value_info[:]
    for info in fixed.graph.output:
        if info.type.HasField("tensor_type"):
            info.type.tensor_type.ClearField("shape")
    return fixed
