"""Import-time evaluation of nodes that ge has no converter for, when every input is a constant.

Exporters leave constant subgraphs in models (torch's opset-9 `masked_fill` builds a
`NonZero` of a `ConstantOfShape`; detection heads build anchor grids with `Range`/`NonZero`
chains). Such a node computes a constant, whatever its op, so it is evaluated once with
ONNX's own reference implementation (`onnx.reference`) and becomes a `ge.constant`, as
onnxruntime's constant folding would do. Nodes with random outputs are never folded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import onnx
from onnx import helper
from onnx.reference import ReferenceEvaluator
from xdsl.ir import SSAValue

from ge.frontends.onnx.context import Node

NONDETERMINISTIC = ("RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike")
NONDETERMINISTIC += ("Multinomial", "Bernoulli")


def constant_inputs(node: Node) -> list[np.ndarray] | None:
    """The values of the node's inputs if every present one is a known constant, else None."""
    if not any(node.has(i) for i in range(node.num_inputs)):
        return None
    arrays = []
    for i in range(node.num_inputs):
        if node.has(i) and not node.is_const(i):
            return None
        arrays.append(node.const(i) if node.has(i) else None)
    return arrays


def can_fold(node: Node) -> bool:
    """Whether the node computes a constant: deterministic, no subgraphs, constant inputs."""
    proto = node.proto
    if proto.op_type in NONDETERMINISTIC:
        return False
    if any(a.HasField("g") or a.graphs for a in proto.attribute):
        return False
    return constant_inputs(node) is not None


Opsets = int | Mapping[str, int]
"""The default domain's opset, or a version per domain (for a node of another domain)."""


def single_node_model(
    proto: onnx.NodeProto, opsets: Opsets, inputs: Sequence[tuple[str, np.ndarray]]
) -> onnx.ModelProto:
    """A model of `proto` alone whose graph inputs are `inputs` (its operands and, for a node
    with subgraphs, the outer values they read), typed by the arrays."""
    versions = {"": opsets} if isinstance(opsets, int) else dict(opsets)
    infos = [
        helper.make_tensor_value_info(
            name, helper.np_dtype_to_tensor_dtype(array.dtype), list(array.shape)
        )
        for name, array in inputs
    ]
    outputs = [helper.make_empty_tensor_value_info(name) for name in proto.output if name]
    graph = helper.make_graph([proto], "node", infos, outputs)
    imports = [helper.make_opsetid(domain, version) for domain, version in versions.items()]
    return helper.make_model(graph, opset_imports=imports)


OLD_DEFAULTS: dict[str, tuple[int, str, str]] = {
    "RoiAlign": (16, "coordinate_transformation_mode", "output_half_pixel"),
}
"""Attributes that opset `since` added with a default other than what the op did before:
`onnx.reference` implements the op once, with the newest default, so an older node gets
its old behaviour spelled out (RoiAlign-10 samples as opset 16's 'output_half_pixel')."""


def _with_old_defaults(proto: onnx.NodeProto, opsets: Opsets) -> onnx.NodeProto:
    rule = OLD_DEFAULTS.get(proto.op_type) if proto.domain in ("", "ai.onnx") else None
    version = opsets if isinstance(opsets, int) else opsets.get("", opsets.get("ai.onnx", 0))
    if rule is None or version >= rule[0] or any(a.name == rule[1] for a in proto.attribute):
        return proto
    spelled = onnx.NodeProto()
    spelled.CopyFrom(proto)
    spelled.attribute.append(helper.make_attribute(rule[1], rule[2]))
    return spelled


def evaluate_node(
    proto: onnx.NodeProto,
    opsets: Opsets,
    arrays: Sequence[np.ndarray | None],
    outer: Mapping[str, np.ndarray] | None = None,
) -> list[np.ndarray | None]:
    """The node's outputs (None for an unnamed one) by ONNX's reference implementation;
    `arrays` are its inputs in order (None for an absent one), `outer` the values its
    subgraphs read from the enclosing graph."""
    feeds = {name: a for name, a in zip(proto.input, arrays) if name and a is not None}
    feeds.update(outer or {})
    model = single_node_model(_with_old_defaults(proto, opsets), opsets, list(feeds.items()))
    results = [np.asarray(v) for v in ReferenceEvaluator(model).run(None, feeds)]
    if proto.op_type == "Loop":
        results = _stacked_scan_outputs(proto, results)
    values = iter(results)
    return [next(values) if name else None for name in proto.output]


def _stacked_scan_outputs(proto: onnx.NodeProto, results: list[np.ndarray]) -> list[np.ndarray]:
    """A Loop's scan outputs as the spec stacks them, (iterations, *step shape):
    onnx.reference concatenates the steps (`np.vstack`), which gives (N, 1) for scalar
    steps and (N * a, b) for (a, b) steps. The body's declared step shape undoes it; an
    undeclared one is left as computed."""
    body = next(a.g for a in proto.attribute if a.name == "body")
    carried = len(proto.input) - 2
    for k in range(carried, len(results)):
        declared = body.output[1 + k].type.tensor_type  # after the condition
        if not declared.HasField("shape"):
            continue
        dims = [d.dim_value if d.HasField("dim_value") else None for d in declared.shape.dim]
        if None in dims or results[k].size % max(int(np.prod(dims)), 1):
            continue
        results[k] = results[k].reshape(-1, *dims)
    return results


def fold_constant_node(node: Node) -> list[SSAValue]:
    """The node's outputs as constants (`can_fold(node)` must hold); unsupported on failure."""
    proto = node.proto
    arrays = constant_inputs(node)
    assert arrays is not None, "fold_constant_node needs constant inputs"
    try:
        values = evaluate_node(proto, node.opset, arrays)
    except Exception as error:  # onnx.reference raises whatever its op code raises
        raise node.unsupported(
            f"op type '{proto.op_type}' is not supported, and evaluating it on its constant "
            f"inputs failed ({type(error).__name__}: {str(error).splitlines()[0][:120]})"
        ) from None
    return [node.constant(np.zeros(0, np.float32) if v is None else v) for v in values]
