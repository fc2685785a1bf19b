"""Nodes of ops the importer has no converter for, replaced by their ONNX function bodies.

Many ONNX ops are defined by a function body in their schema (Attention, RMSNormalization,
RotaryEmbedding, GroupNormalization, Mish, the window functions, ...); onnxruntime runs
that body when it has no kernel for the op. The importer does the same before converting:
each such node (in the graph or its subgraphs) becomes a model-local function built from
the schema at the model's opset, context-dependent bodies from the node and the element
types of its inputs, and onnx's inliner replaces the call by the body with unique names
and bound attributes. Bodies may call other such ops, so expansion repeats (`MAX_ROUNDS`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import onnx
from google.protobuf.descriptor import FieldDescriptor
from onnx import defs, helper, inliner, shape_inference

EXPANDED_DOMAIN = "ge.expanded"
"""The domain of the temporary functions (one per expanded node)."""

MAX_ROUNDS = 6
"""Function bodies that call ops with bodies are expanded again, at most this many times."""


def function_body(
    node: onnx.NodeProto, opset: int, types: dict[str, onnx.TypeProto]
) -> onnx.FunctionProto | None:
    """The body the schema of `node`'s op defines at `opset`, or None (no body, or a
    context-dependent body whose input types are not all known)."""
    if node.domain not in ("", "ai.onnx"):
        return None
    try:
        schema = defs.get_schema(node.op_type, opset, "")
    except defs.SchemaError:
        return None
    if schema.has_function:
        version = max(v for v in schema.function_opset_versions if v <= opset)
        data = schema.get_function_with_opset_version(version)
    elif schema.has_context_dependent_function:
        data = _context_dependent(schema, node, opset, types)
    else:
        return None
    if not data:
        return None
    body = onnx.FunctionProto()
    body.ParseFromString(data)
    return body


def _context_dependent(
    schema: defs.OpSchema, node: onnx.NodeProto, opset: int, types: dict[str, onnx.TypeProto]
) -> bytes | None:
    inputs = []
    for name in node.input:
        if name and name not in types:
            return None
        inputs.append(types[name].SerializeToString() if name else b"")
    version = max(v for v in schema.context_dependent_function_opset_versions if v <= opset)
    try:
        return schema.get_context_dependent_function_with_opset_version(
            version, node.SerializeToString(), inputs
        )
    except Exception:  # a node its body builder refuses (bad attributes): left to convert
        return None


def with_defaults(node: onnx.NodeProto, opset: int) -> None:
    """Give `node` the schema's default of each attribute it leaves out: the inliner binds
    a body's `@name` references to the node's attributes only (HannWindow's `periodic`)."""
    schema = defs.get_schema(node.op_type, opset, "")
    present = {a.name for a in node.attribute}
    for name, attr in schema.attributes.items():
        default = attr.default_value
        if name not in present and default.name:
            node.attribute.append(default)


def value_types(graph: onnx.GraphProto) -> dict[str, onnx.TypeProto]:
    """The types shape inference found for the values of `graph` and its subgraphs."""
    types = {
        t.name: helper.make_tensor_type_proto(t.data_type, list(t.dims)) for t in graph.initializer
    }
    for info in [*graph.input, *graph.value_info, *graph.output]:
        if info.type.HasField("tensor_type") and info.type.tensor_type.elem_type:
            types[info.name] = info.type
    for g in _subgraphs(graph):
        types.update(value_types(g))
    return types


def _subgraphs(graph: onnx.GraphProto) -> Iterator[onnx.GraphProto]:
    for node in graph.node:
        for attr in node.attribute:
            if attr.HasField("g"):
                yield attr.g
            yield from attr.graphs


def _default_opset(model: onnx.ModelProto) -> int:
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)


def expand_once(
    model: onnx.ModelProto, inferred: onnx.ModelProto, converts: Callable[[str], bool]
) -> onnx.ModelProto:
    """`model`, or a copy with every node of an op that `converts` refuses and whose schema
    gives a body replaced by that body (one level; see `expand`)."""
    opset = _default_opset(model)
    types = value_types(inferred.graph)
    expanded = _without_initializers(model)
    functions: list[onnx.FunctionProto] = []

    def visit(graph: onnx.GraphProto) -> None:
        for node in graph.node:
            for attr in node.attribute:
                for g in [attr.g] if attr.HasField("g") else list(attr.graphs):
                    visit(g)
            if node.domain not in ("", "ai.onnx") or converts(node.op_type):
                continue
            body = function_body(node, opset, types)
            if body is None:
                continue
            with_defaults(node, opset)
            body.domain = EXPANDED_DOMAIN
            body.name = f"{node.op_type}_{len(functions)}"
            node.domain, node.op_type = EXPANDED_DOMAIN, body.name
            functions.append(body)

    visit(expanded.graph)
    if not functions:
        return model
    expanded.functions.extend(functions)
    expanded.opset_import.append(helper.make_opsetid(EXPANDED_DOMAIN, 1))
    try:
        inlined = inliner.inline_local_functions(expanded, convert_version=True)
    except Exception:  # onnx's C++ inliner raises bare errors: import then refuses the op
        return model
    inlined.graph.initializer.extend(model.graph.initializer)
    kept = [o for o in inlined.opset_import if o.domain != EXPANDED_DOMAIN]
    del inlined.opset_import[:]
    inlined.opset_import.extend(kept)
    return inlined


def _copy_except(message, skip: str):
    """A copy of a protobuf message without its field `skip`."""
    copy = type(message)()
    for field, value in message.ListFields():
        if field.name == skip:
            continue
        if field.is_repeated:
            getattr(copy, field.name).extend(value)
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            getattr(copy, field.name).CopyFrom(value)
        else:
            setattr(copy, field.name, value)
    return copy


def _without_initializers(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of `model` without its top-level initializers: the inliner serializes the
    model, and on a large one the weights would cost more than the rest of the import."""
    copy = _copy_except(model, "graph")
    copy.graph.CopyFrom(_copy_except(model.graph, "initializer"))
    return copy


def expandable(model: onnx.ModelProto, converts: Callable[[str], bool]) -> bool:
    """Whether some node of `model` (or its subgraphs) is of an op that `converts` refuses
    and whose schema at the model's opset defines a body (a cheap test: no inference)."""
    opset = _default_opset(model)
    if not opset:
        return False

    def has_body(node: onnx.NodeProto) -> bool:
        if node.domain not in ("", "ai.onnx") or converts(node.op_type):
            return False
        try:
            schema = defs.get_schema(node.op_type, opset, "")
        except defs.SchemaError:
            return False
        return schema.has_function or schema.has_context_dependent_function

    def visit(graph: onnx.GraphProto) -> bool:
        return any(has_body(node) for node in graph.node) or any(
            visit(g) for g in _subgraphs(graph)
        )

    return visit(model.graph)


def expand(
    model: onnx.ModelProto,
    infer: Callable[[onnx.ModelProto], onnx.ModelProto],
    converts: Callable[[str], bool],
) -> onnx.ModelProto:
    """`model` with function bodies expanded until none is left to expand (`MAX_ROUNDS`).

    `infer(model)` gives the types of the values (context-dependent bodies need them).
    """
    for _ in range(MAX_ROUNDS):
        if not expandable(model, converts):
            break
        expanded = expand_once(model, infer(model), converts)
        if expanded is model:
            break
        model = expanded
    return model


def onnx_inference(model: onnx.ModelProto) -> onnx.ModelProto:
    """ONNX's shape inference, or `model` itself where it fails (types then stay unknown)."""
    try:
        return shape_inference.infer_shapes(model, strict_mode=False)
    except (shape_inference.InferenceError, onnx.checker.ValidationError):
        return model
