"""Import-time evaluation of nodes that ge has no converter for, when every input is a constant.

Exporters leave constant subgraphs in models (torch's opset-9 `masked_fill` builds a
`NonZero` of a `ConstantOfShape`; detection heads build anchor grids with `Range`/`NonZero`
chains). Such a node computes a constant, whatever its op, so it is evaluated once with
ONNX's own reference implementation (`onnx.reference`) and becomes a `ge.constant`, as
onnxruntime's constant folding would do. Nodes with random outputs are never folded.
"""

from __future__ import annotations

import numpy as np
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


def fold_constant_node(node: Node) -> list[SSAValue]:
    """The node's outputs as constants (`can_fold(node)` must hold); unsupported on failure."""
    proto = node.proto
    arrays = constant_inputs(node)
    assert arrays is not None, "fold_constant_node needs constant inputs"
    inputs = [
        helper.make_tensor_value_info(
            name, helper.np_dtype_to_tensor_dtype(array.dtype), list(array.shape)
        )
        for name, array in zip(proto.input, arrays)
        if name
    ]
    outputs = [helper.make_empty_tensor_value_info(name) for name in proto.output if name]
    graph = helper.make_graph([proto], "fold", inputs, outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", node.opset)])
    feeds = {name: array for name, array in zip(proto.input, arrays) if name}
    try:
        values = ReferenceEvaluator(model).run(None, feeds)
    except Exception as error:  # onnx.reference raises whatever its op code raises
        raise node.unsupported(
            f"op type '{proto.op_type}' is not supported, and evaluating it on its constant "
            f"inputs failed ({type(error).__name__}: {str(error).splitlines()[0][:120]})"
        ) from None
    produced = iter(values)
    results: list[SSAValue] = []
    for name in proto.output:
        array = np.asarray(next(produced)) if name else np.zeros(0, np.float32)
        results.append(node.constant(array))
    return results
