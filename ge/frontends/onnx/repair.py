"""Lenient repairs of ONNX models that onnxruntime runs as they are, made before import.

Models in the wild break rules that `onnx.checker` enforces, or carry forms that the opset
converter gets wrong: model-local functions (torch's dynamo exporter), STFT nodes whose
`onesided` default ONNX's shape inference gets wrong, nodes out of topological order,
graph outputs declared without a shape (older exporters), opset-1-6 `broadcast=1, axis=k`
binary ops, Upsample / Resize-10 nodes that the converter turns into Resize-11 with
other sampling, and GroupNormalization-18 (per-group scale and bias), which the checker
refuses as deprecated. Each repair copies nothing when a model does not need it.
"""

from __future__ import annotations

import heapq

import numpy as np
import onnx
from onnx import helper, inliner, numpy_helper, shape_inference


def inline_functions(model: onnx.ModelProto) -> onnx.ModelProto:
    """`model`, or a copy with calls of its model-local functions replaced by their bodies.

    torch's dynamo exporter and onnxscript emit such functions in a domain of their own; the
    importer converts standard ops only.
    """
    if not model.functions:
        return model
    return inliner.inline_local_functions(model)


ORT_DOMAIN = "com.microsoft"
ORT_OPS_IN_ONNX_DOMAIN = {"SimplifiedLayerNormalization": None, "LayerNormalization": 17}
"""onnxruntime's contrib ops that it registers in ONNX's own domain, with the opset from
which ONNX has an op of that name (None: never); its transformer optimizer writes them so."""


def ort_ops_to_their_domain(model: onnx.ModelProto) -> onnx.ModelProto:
    """`model`, or a copy whose top-level nodes of onnxruntime's contrib ops in ONNX's domain
    (`ORT_OPS_IN_ONNX_DOMAIN`) are in `com.microsoft`, where the checker lets them be and the
    importer has their converters."""
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)

    def foreign(node: onnx.NodeProto) -> bool:
        if node.domain not in ("", "ai.onnx") or node.op_type not in ORT_OPS_IN_ONNX_DOMAIN:
            return False
        since = ORT_OPS_IN_ONNX_DOMAIN[node.op_type]
        return since is None or opset < since

    if not any(foreign(node) for node in model.graph.node):
        return model
    fixed = onnx.ModelProto()
    fixed.CopyFrom(model)
    for node in fixed.graph.node:
        if foreign(node):
            node.domain = ORT_DOMAIN
    if not any(o.domain == ORT_DOMAIN for o in fixed.opset_import):
        fixed.opset_import.append(helper.make_opsetid(ORT_DOMAIN, 1))
    return fixed


PER_GROUP_NORM_OPSETS = range(18, 21)
"""Opsets whose GroupNormalization (version 18) took one scale and bias per group: onnx's
checker refuses it as deprecated, onnxruntime runs it."""


def per_group_norms(model: onnx.ModelProto) -> onnx.ModelProto:
    """`model`, or a copy whose top-level GroupNormalization-18 nodes are written as
    torch.onnx.export writes GroupNorm: Reshape to (N, G, -1), InstanceNormalization with the
    per-group scale and bias (exactly opset 18's meaning), Reshape back to x's shape. The
    checker accepts that form, and `recognize-group-norm` makes it one `ge.group_norm`."""
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)

    def per_group(node: onnx.NodeProto) -> bool:
        return node.op_type == "GroupNormalization" and node.domain in ("", "ai.onnx")

    if opset not in PER_GROUP_NORM_OPSETS or not any(map(per_group, model.graph.node)):
        return model
    fixed = onnx.ModelProto()
    fixed.CopyFrom(model)
    nodes = []
    for node in fixed.graph.node:
        if not per_group(node):
            nodes.append(node)
            continue
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        x, scale, bias = node.input[:3]
        name = node.output[0]
        grouping = f"{name}__grouping"
        fixed.graph.initializer.append(
            numpy_helper.from_array(np.array([0, attrs["num_groups"], -1], np.int64), grouping)
        )
        nodes += [
            helper.make_node("Reshape", [x, grouping], [f"{name}__grouped"]),
            helper.make_node(
                "InstanceNormalization",
                [f"{name}__grouped", scale, bias],
                [f"{name}__normed"],
                epsilon=attrs.get("epsilon", 1e-5),
            ),
            helper.make_node("Shape", [x], [f"{name}__shape"]),
            helper.make_node("Reshape", [f"{name}__normed", f"{name}__shape"], [name]),
        ]
    del fixed.graph.node[:]
    fixed.graph.node.extend(nodes)
    return fixed


def explicit_stft_onesided(model: onnx.ModelProto) -> onnx.ModelProto:
    """`model`, or a copy whose top-level STFT nodes state `onesided` (default 1).

    ONNX's shape inference takes a missing `onesided` as 0 (n bins, not n // 2 + 1), unlike
    the schema, onnxruntime and ONNX's reference; the importer checks its shapes against it.
    """
    if not any(
        node.op_type == "STFT" and all(a.name != "onesided" for a in node.attribute)
        for node in model.graph.node
    ):
        return model
    fixed = onnx.ModelProto()
    fixed.CopyFrom(model)
    for node in fixed.graph.node:
        if node.op_type == "STFT" and all(a.name != "onesided" for a in node.attribute):
            node.attribute.append(helper.make_attribute("onesided", 1))
    return fixed


def sort_nodes(model: onnx.ModelProto) -> onnx.ModelProto:
    """`model`, or a copy with its top-level nodes in topological order (stable).

    A node waits for the top-level values its inputs and its subgraphs name; names no node
    produces (graph inputs, initializers, outer scope) are ready from the start. A cycle
    leaves the remaining nodes in file order, for the checker to report.
    """
    nodes = list(model.graph.node)
    produced = {out: i for i, node in enumerate(nodes) for out in node.output if out}
    needs = [
        {produced[name] for name in used_names(node) if name in produced and produced[name] != i}
        for i, node in enumerate(nodes)
    ]
    if all(max(deps, default=-1) < i for i, deps in enumerate(needs)):
        return model
    users: list[list[int]] = [[] for _ in nodes]
    waiting = [len(deps) for deps in needs]
    for i, deps in enumerate(needs):
        for d in deps:
            users[d].append(i)
    ready = [i for i, w in enumerate(waiting) if w == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for u in users[i]:
            waiting[u] -= 1
            if waiting[u] == 0:
                heapq.heappush(ready, u)
    placed = set(order)
    order += [i for i in range(len(nodes)) if i not in placed]
    sorted_model = onnx.ModelProto()
    sorted_model.CopyFrom(model)
    del sorted_model.graph.node[:]
    sorted_model.graph.node.extend(nodes[i] for i in order)
    return sorted_model


def used_names(node: onnx.NodeProto) -> set[str]:
    """The names a node reads: its inputs and every input of its subgraphs (their own
    values included: a superset of the outer values they capture)."""
    names = {name for name in node.input if name}
    for attr in node.attribute:
        for graph in [attr.g] if attr.HasField("g") else list(attr.graphs):
            for inner in graph.node:
                names |= used_names(inner)
    return names


def with_output_shapes(model: onnx.ModelProto) -> onnx.ModelProto:
    """`model` as the checker should see it: graph outputs declared without a shape get
    ONNX's inferred one, and those inference cannot shape are declared as value_info.

    The checker requires a shape on graph outputs; onnxruntime does not, and exporters
    leave it out. Inference cannot shape an output computed through a shape only a run
    knows (a Reshape to a computed shape at opset 11), which the importer shapes as it
    converts; a stage cut from such a model (`staging`) has such outputs.
    """

    def shapeless(o: onnx.ValueInfoProto) -> bool:
        return o.type.HasField("tensor_type") and not o.type.tensor_type.HasField("shape")

    if not any(shapeless(o) for o in model.graph.output):
        return model
    try:
        inferred = shape_inference.infer_shapes(model, strict_mode=False)
        found = {o.name: o for o in [*inferred.graph.output, *inferred.graph.value_info]}
    except (shape_inference.InferenceError, onnx.checker.ValidationError):
        found = {}
    fixed = onnx.ModelProto()
    fixed.CopyFrom(model)
    for o in fixed.graph.output:
        known = found.get(o.name)
        if shapeless(o) and known is not None and not shapeless(known):
            o.type.tensor_type.shape.CopyFrom(known.type.tensor_type.shape)
    unknown = [o for o in fixed.graph.output if shapeless(o)]
    fixed.graph.value_info.extend(unknown)
    kept = [o for o in fixed.graph.output if not shapeless(o)]
    del fixed.graph.output[:]
    fixed.graph.output.extend(kept)
    return fixed


LEGACY_BROADCAST = ("Add", "Sub", "Mul", "Div", "Pow", "And", "Or", "Xor", "Equal", "Greater")
LEGACY_BROADCAST += ("Less",)


def align_legacy_broadcasts(model: onnx.ModelProto, opset: int) -> onnx.ModelProto:
    """`model`, or a copy whose opset-1-6 `broadcast=1, axis=k` binary nodes (and PRelu
    slopes) broadcast as numpy.

    Before opset 7, B of shape [3] with axis=1 matched dim 1 of an A of shape [N, 3, H, W];
    the version converter only handles B already aligned with A's trailing dims (it fails
    on the caffe2-converted bias adds of old model-zoo files). An Unsqueeze-1 of B to
    [3, 1, 1] makes the two rules agree, and the node loses its `axis`.
    """
    if opset >= 7:
        return model
    if not any(_legacy_axis(node) is not None for node in model.graph.node):
        return model
    try:
        inferred = shape_inference.infer_shapes(model, strict_mode=False)
    except (shape_inference.InferenceError, onnx.checker.ValidationError):
        return model
    ranks = {t.name: len(t.dims) for t in model.graph.initializer}
    for info in [*inferred.graph.input, *inferred.graph.value_info]:
        if info.type.tensor_type.HasField("shape"):
            ranks[info.name] = len(info.type.tensor_type.shape.dim)
    fixed = onnx.ModelProto()
    fixed.CopyFrom(model)
    nodes = []
    for i, node in enumerate(fixed.graph.node):
        axis = _legacy_axis(node)
        a, b = (ranks.get(name) for name in node.input[:2]) if axis is not None else (None, None)
        if a is not None and b is not None and a - (axis % a) - b > 0:
            aligned = f"{node.input[1]}__broadcast_{i}"
            axes = list(range(b, a - axis % a))
            nodes.append(helper.make_node("Unsqueeze", [node.input[1]], [aligned], axes=axes))
            node.input[1] = aligned
            kept = [attr for attr in node.attribute if attr.name != "axis"]
            del node.attribute[:]
            node.attribute.extend(kept)
        nodes.append(node)
    del fixed.graph.node[:]
    fixed.graph.node.extend(nodes)
    return fixed


def _legacy_axis(node: onnx.NodeProto) -> int | None:
    """The `axis` of a legacy-broadcasting binary node, if it has one; 1 for a PRelu, whose
    slope was per channel (axis 1) before opset 7 (torch's multi-parameter PReLU)."""
    if node.op_type == "PRelu" and len(node.input) == 2:
        return 1
    if node.op_type not in LEGACY_BROADCAST or len(node.input) < 2:
        return None
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    return int(attrs["axis"]) if attrs.get("broadcast") and "axis" in attrs else None


def _const_floats(graph: onnx.GraphProto, name: str) -> list[float] | None:
    for t in graph.initializer:
        if t.name == name:
            return [float(v) for v in numpy_helper.to_array(t).reshape(-1)]
    for node in graph.node:
        if node.op_type == "Constant" and node.output[0] == name and node.attribute:
            attr = node.attribute[0]
            if attr.name == "value":
                return [float(v) for v in numpy_helper.to_array(attr.t).reshape(-1)]
    return None


def legacy_resizes(model: onnx.ModelProto, opset: int) -> list[list[float] | None]:
    """The scales of each Upsample (opsets 7-9) or Resize-10 node (None where computed), in
    graph order.

    Those ops sample at `x_out / scale` ('asymmetric') and take the nearest pixel per axis
    by ceil on a shrinking axis and floor on a growing one, as onnxruntime does; the version
    converter turns them into Resize-11 with its defaults ('half_pixel', rounding),
    which computes other values for linear modes and non-integer scales. The converter
    keeps the order of nodes but not always their output names, so order pairs them.
    """
    if opset > 10:
        return []
    found = []
    for node in model.graph.node:
        if node.op_type not in ("Upsample", "Resize"):
            continue
        scales = [a.floats for a in node.attribute if a.name == "scales"]
        values = list(scales[0]) if scales else None
        if values is None and len(node.input) > 1:
            values = _const_floats(model.graph, node.input[-1])
        found.append(values or None)
    return found


def keep_legacy_resize_coordinates(model: onnx.ModelProto, legacy: list) -> None:
    """Give the Resize nodes the converter made from `legacy` their old sampling rule: a
    nearest Resize that shrinks some axes and grows others becomes two, the shrinking one
    (nearest pixel by ceil) then the growing one (by floor); nearest is separable by axis."""
    resizes = [node for node in model.graph.node if node.op_type == "Resize"]
    if len(resizes) != len(legacy):  # not the converter's one-for-one output: leave it
        return
    nodes = list(model.graph.node)
    for node, scales in zip(resizes, legacy):
        modes = [helper.get_attribute_value(a) for a in node.attribute if a.name == "mode"]
        kept = [
            a
            for a in node.attribute
            if a.name not in ("coordinate_transformation_mode", "nearest_mode")
            and not (a.name == "mode" and modes == [b"bilinear"])
        ]
        del node.attribute[:]
        node.attribute.extend(kept)
        if modes == [b"bilinear"]:  # Upsample-7 still took the experimental op's name
            node.attribute.append(helper.make_attribute("mode", "linear"))
        node.attribute.append(helper.make_attribute("coordinate_transformation_mode", "asymmetric"))
        shrinks = bool(scales) and any(s < 1 for s in scales)
        grows = bool(scales) and any(s > 1 for s in scales)
        nearest = modes in ([], [b"nearest"])
        if shrinks and grows and nearest and len(node.input) == 3:
            nodes.insert(nodes.index(node), _shrinking_half(model.graph, node, scales))
        node.attribute.append(
            helper.make_attribute("nearest_mode", "ceil" if shrinks and not grows else "floor")
        )
    del model.graph.node[:]
    model.graph.node.extend(nodes)


def _shrinking_half(graph: onnx.GraphProto, node: onnx.NodeProto, scales: list[float]):
    """A nearest Resize of `node`'s input over its shrinking axes (by ceil); `node` then
    takes its output and grows the other axes (by floor)."""
    shrunk = f"{node.output[0]}__shrunk"
    down = [min(s, 1.0) for s in scales]
    up = [max(s, 1.0) for s in scales]
    first = helper.make_node(
        "Resize",
        [node.input[0], node.input[1], _scales(graph, f"{shrunk}__scales", down)],
        [shrunk],
        mode="nearest",
        coordinate_transformation_mode="asymmetric",
        nearest_mode="ceil",
    )
    node.input[0], node.input[2] = shrunk, _scales(graph, f"{node.output[0]}__scales", up)
    return first


def _scales(graph: onnx.GraphProto, name: str, values: list[float]) -> str:
    """A new float32 initializer (a graph input too, as IR version 3 requires)."""
    array = np.asarray(values, np.float32)
    graph.initializer.append(numpy_helper.from_array(array, name))
    graph.input.append(helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, array.shape))
    return name
