"""Rewrites of retired ONNX ops and attributes that the opset converter cannot upgrade.

The model zoo's oldest vision files (tiny-YOLOv2, emotion-ferplus, caffe2 exports, opsets
1-9) carry forms that `onnx.version_converter` refuses while onnxruntime runs them:
- `ImageScaler` (experimental, removed in opset 10; no schema to convert): y = scale * x +
  bias[c], written here as a Mul by a scalar and an Add of a per-channel constant;
- `BatchNormalization` with `spatial=0` (opsets 6-8: statistics per activation, parameters
  of shape [C, D1, ...]); with constant parameters it is x * a + b with a = scale /
  sqrt(var + eps), b = bias - mean * a, both of the parameters' shape. Parameters of shape
  [C] with `spatial=0` are MXNet's mislabelled export (apache/mxnet#17711, the ArcFace and
  DUC files of the zoo before onnx/models#294): per-channel statistics, so `spatial` goes;
- the other experimental ops onnxruntime still runs at opsets 1-9: `Affine` (alpha * x +
  beta), `ScaledTanh` (alpha * tanh(beta * x)), `ParametricSoftplus` (alpha * softplus(beta
  * x)), `ThresholdedRelu` (x where x > alpha, else 0; standard from opset 10) and `Crop`
  (a Slice of H and W by `border` [left, top, right, bottom], or `scale` [h, w] from the
  top-left border).
Each rewrite runs on the model before it is checked and upgraded; a model without such
nodes is returned as it is. Models of opsets 1-5 (the zoo's opset-3 caffe2 files) first step
to opset 6: their ops (Relu-1, ...) have no shape inference, and the converter needs the
shapes of binary ops' inputs to upgrade them past opset 6. The converter also refuses symbolic dims
(a batch 'N') where it checks broadcasts: `convert_version` converts with those dims at 1
and puts the graph's own input and output types back (dropping the types it inferred).
After the upgrade, `keep_legacy_semantics` rewrites what the converter changes silently:
Hardmax's 2-D coercion before opset 13 and Dropout's mask typed as its input before 10.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper, version_converter

from ge.frontends.onnx.skeleton import skeleton, with_weights
from gedialects.errors import FrontendError

LEGACY_BROADCAST_OPSET = 7
"""Below this opset binary ops broadcast only with `broadcast=1` (and an `axis`)."""


SHAPED_OPSET = 6
"""The first opset whose ops all infer shapes (opsets 1-5 carry `consumed_inputs` ops)."""


def prepare_legacy(model: onnx.ModelProto, opset: int, source: str) -> tuple:
    """(model, opset): retired forms rewritten, and opsets 1-5 stepped to opset 6."""
    model = rewrite_legacy_ops(model, opset)
    if opset >= SHAPED_OPSET:
        return model, opset
    try:
        return convert_version(model, SHAPED_OPSET), SHAPED_OPSET
    except Exception as error:  # the converter raises bare RuntimeErrors and more
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error)
        raise FrontendError(
            f"{source}: cannot upgrade the opset {opset} model to {SHAPED_OPSET}: {message}"
        ) from None


def convert_version(model: onnx.ModelProto, opset: int) -> onnx.ModelProto:
    """`onnx.version_converter.convert_version` of the model's skeleton, its large weights
    put back after: the converter serializes what it converts, which protobuf refuses over
    2 GB ("Failed to serialize proto"), and costs two copies of the weights below that."""
    return with_weights(_convert_version(skeleton(model), opset), model)


def _convert_version(model: onnx.ModelProto, opset: int) -> onnx.ModelProto:
    """`onnx.version_converter.convert_version`, with the symbolic dims of the graph's inputs
    and outputs at 1 during the conversion (its broadcast checks need numbers)."""
    symbolic = [
        info
        for info in [*model.graph.input, *model.graph.output]
        if any(d.HasField("dim_param") for d in info.type.tensor_type.shape.dim)
    ]
    if not symbolic:
        converted = version_converter.convert_version(model, opset)
        # the graph's outputs as the model typed them, not as the converter inferred them
        # (its inference sizes a Resize otherwise than onnxruntime: `importer.INFERENCE_DIFFERS`)
        for info, own in zip(converted.graph.output, model.graph.output, strict=True):
            info.type.CopyFrom(own.type)
        return converted
    numeric = onnx.ModelProto()
    numeric.CopyFrom(model)
    for info in [*numeric.graph.input, *numeric.graph.output]:
        for dim in info.type.tensor_type.shape.dim:
            if dim.HasField("dim_param"):
                dim.dim_value = 1
    converted = version_converter.convert_version(numeric, opset)
    types = {info.name: info.type for info in symbolic}
    for info in [*converted.graph.input, *converted.graph.output]:
        if info.name in types:
            info.type.CopyFrom(types[info.name])
    # The model's own value types (symbolic too), not those the converter inferred at 1.
    del converted.graph.value_info[:]
    converted.graph.value_info.extend(model.graph.value_info)
    return converted


def rewrite_legacy_ops(model: onnx.ModelProto, opset: int) -> onnx.ModelProto:
    """`model`, or a copy whose ImageScaler and spatial=0 BatchNormalization nodes are
    replaced by Mul/Add of constants (what the opset converter can upgrade)."""
    if opset > 9 or not any(_rewritable(node, model.graph) for node in model.graph.node):
        return model
    fixed = onnx.ModelProto()
    fixed.CopyFrom(model)
    graph, nodes = fixed.graph, []
    for node in model.graph.node:
        if node.op_type == "ImageScaler":
            nodes += _image_scaler(node, graph, opset)
        elif node.op_type in EXPERIMENTAL and node.domain in ("", "ai.onnx"):
            nodes += EXPERIMENTAL[node.op_type](node, graph, opset)
        elif _rewritable(node, model.graph):
            nodes += _per_activation_batch_norm(node, graph, opset)
        else:
            nodes.append(node)
    del graph.node[:]
    graph.node.extend(nodes)
    return fixed


def _attrs(node: onnx.NodeProto) -> dict:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _initializers(graph: onnx.GraphProto) -> dict[str, onnx.TensorProto]:
    return {t.name: t for t in graph.initializer}


def _rewritable(node: onnx.NodeProto, graph: onnx.GraphProto) -> bool:
    if node.op_type == "ImageScaler":
        return True
    if node.op_type in EXPERIMENTAL and node.domain in ("", "ai.onnx"):
        return True
    if node.op_type != "BatchNormalization" or _attrs(node).get("spatial", 1) != 0:
        return False
    known, outputs = _initializers(graph), [name for name in node.output if name]
    return outputs == [node.output[0]] and all(name in known for name in node.input[1:5])


def _constant(graph: onnx.GraphProto, name: str, value: np.ndarray) -> str:
    """A new float initializer, also a graph input: IR version 3 requires it (and the
    converter then looks for it there), later versions allow it."""
    graph.initializer.append(numpy_helper.from_array(np.asarray(value, np.float32), name))
    graph.input.append(helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, value.shape))
    return name


def _binary(op: str, a: str, b: str, out: str, opset: int, axis: int | None = None):
    """A Mul/Add that broadcasts `b` as numpy does (with the legacy attributes below opset 7)."""
    legacy = {"broadcast": 1, **({} if axis is None else {"axis": axis})}
    return helper.make_node(op, [a, b], [out], **(legacy if opset < LEGACY_BROADCAST_OPSET else {}))


def _image_scaler(node: onnx.NodeProto, graph: onnx.GraphProto, opset: int) -> list:
    attrs, out = _attrs(node), node.output[0]
    bias = np.asarray(attrs.get("bias", []), np.float32)
    scaled = f"{out}__scaled" if bias.size else out
    scale = _constant(graph, f"{out}__scale", np.array(attrs.get("scale", 1.0), np.float32))
    nodes = [_binary("Mul", node.input[0], scale, scaled, opset)]
    if bias.size:
        shape = [bias.size] if opset < LEGACY_BROADCAST_OPSET else [1, bias.size, 1, 1]
        bias_name = _constant(graph, f"{out}__bias", bias.reshape(shape))
        nodes.append(_binary("Add", scaled, bias_name, out, opset, axis=1))
    return nodes


def _scaled(unary: str, inner: str, outer: str, default: float = 1.0):
    """outer * unary(inner * x) of a node's `alpha`/`beta` attributes (ScaledTanh, ...)."""

    def rewrite(node: onnx.NodeProto, graph: onnx.GraphProto, opset: int) -> list:
        attrs, x, y = _attrs(node), node.input[0], node.output[0]
        scale_in = _constant(graph, f"{y}__{inner}", np.array(attrs.get(inner, default)))
        scale_out = _constant(graph, f"{y}__{outer}", np.array(attrs.get(outer, default)))
        return [
            _binary("Mul", x, scale_in, f"{y}__in", opset),
            helper.make_node(unary, [f"{y}__in"], [f"{y}__un"]),
            _binary("Mul", f"{y}__un", scale_out, y, opset),
        ]

    return rewrite


def _affine(node: onnx.NodeProto, graph: onnx.GraphProto, opset: int) -> list:
    attrs, x, y = _attrs(node), node.input[0], node.output[0]
    alpha = _constant(graph, f"{y}__alpha", np.array(attrs.get("alpha", 1.0)))
    beta = _constant(graph, f"{y}__beta", np.array(attrs.get("beta", 0.0)))
    return [
        _binary("Mul", x, alpha, f"{y}__scaled", opset),
        _binary("Add", f"{y}__scaled", beta, y, opset),
    ]


def _thresholded_relu(node: onnx.NodeProto, graph: onnx.GraphProto, opset: int) -> list:
    attrs, x, y = _attrs(node), node.input[0], node.output[0]
    alpha = _constant(graph, f"{y}__alpha", np.array(attrs.get("alpha", 1.0)))
    to = "FLOAT" if opset < 6 else onnx.TensorProto.FLOAT  # Cast-1 named its type
    return [
        _binary("Greater", x, alpha, f"{y}__kept", opset),
        helper.make_node("Cast", [f"{y}__kept"], [f"{y}__mask"], to=to),
        helper.make_node("Mul", [x, f"{y}__mask"], [y]),
    ]


def _crop(node: onnx.NodeProto, graph: onnx.GraphProto, opset: int) -> list:
    attrs = _attrs(node)
    left, top, right, bottom = [int(v) for v in attrs.get("border", [0, 0, 0, 0])]
    scale = [int(v) for v in attrs.get("scale", [])]
    everything = 2**62
    ends = [top + scale[0], left + scale[1]] if scale else [
        -bottom if bottom else everything, -right if right else everything
    ]  # fmt: skip
    slice_1 = {"starts": [top, left], "ends": ends, "axes": [2, 3]}  # Slice-1's attributes
    return [helper.make_node("Slice", [node.input[0]], [node.output[0]], **slice_1)]


EXPERIMENTAL = {
    "Affine": _affine,
    "ScaledTanh": _scaled("Tanh", "beta", "alpha"),
    "ParametricSoftplus": _scaled("Softplus", "beta", "alpha"),
    "ThresholdedRelu": _thresholded_relu,
    "Crop": _crop,
}
"""Experimental ops of opsets 1-9 (no schema to check or upgrade), as standard ones."""


def _per_activation_batch_norm(node: onnx.NodeProto, graph: onnx.GraphProto, opset: int):
    known, out = _initializers(graph), node.output[0]
    scale, bias, mean, var = (numpy_helper.to_array(known[n]) for n in node.input[1:5])
    if scale.ndim == 1:  # MXNet's per-channel statistics labelled spatial=0
        fixed = onnx.NodeProto()
        fixed.CopyFrom(node)
        del fixed.attribute[:]
        fixed.attribute.extend(a for a in node.attribute if a.name != "spatial")
        return [fixed]
    a = scale / np.sqrt(var + np.float32(_attrs(node).get("epsilon", 1e-5)))
    b = bias - mean * a
    scaled = f"{out}__scaled"
    return [
        _binary("Mul", node.input[0], _constant(graph, f"{out}__a", a), scaled, opset),
        _binary("Add", scaled, _constant(graph, f"{out}__b", b), out, opset),
    ]


COERCING_HARDMAX_OPSET = 13
"""Below this opset Hardmax coerces its input to 2-D at `axis` (default 1): one 1 per
flattened row. The version converter keeps the node as it is (Softmax and LogSoftmax it
rewrites), which would take one per slice along `axis`."""

TYPED_MASK_OPSET = 10
"""Below this opset Dropout's mask has the input's type; from it on, bool."""


def keep_legacy_semantics(model: onnx.ModelProto, opset: int) -> None:
    """Rewrite, in the converter's output `model` of an opset-`opset` model, the nodes whose
    old meaning the converter did not carry over (Hardmax, Dropout's mask)."""
    if opset >= COERCING_HARDMAX_OPSET:
        return
    graph, nodes = model.graph, []
    declared = {v.name: v.type.tensor_type.elem_type for v in [*graph.value_info, *graph.output]}
    for node in graph.node:
        if node.op_type == "Hardmax" and node.domain in ("", "ai.onnx"):
            nodes += _coerced_hardmax(node)
            continue
        nodes.append(node)
        mask = node.output[1] if node.op_type == "Dropout" and len(node.output) > 1 else ""
        typed = declared.get(mask, onnx.TensorProto.BOOL)
        if mask and opset < TYPED_MASK_OPSET and typed not in (0, onnx.TensorProto.BOOL):
            node.output[1] = f"{mask}__bool"
            nodes.append(helper.make_node("Cast", [node.output[1]], [mask], to=typed))
    del graph.node[:]
    graph.node.extend(nodes)


def _coerced_hardmax(node: onnx.NodeProto) -> list[onnx.NodeProto]:
    """Shape, Flatten at the node's axis, Hardmax of the last axis, Reshape back (as the
    converter rewrites a Softmax)."""
    axis = int(_attrs(node).get("axis", 1))
    x, y = node.input[0], node.output[0]
    shape, flat, hard = f"{y}__shape", f"{y}__flat", f"{y}__hardmax"
    return [
        helper.make_node("Shape", [x], [shape]),
        helper.make_node("Flatten", [x], [flat], axis=axis),
        helper.make_node("Hardmax", [flat], [hard], axis=-1),
        helper.make_node("Reshape", [hard, shape], [y]),
    ]
