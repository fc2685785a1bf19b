"""Converter of ONNX If: inlined when the condition is known at import, else `scf.if`.

Both branches are imported (they see the enclosing graph's values); each must give its
outputs the same static types, since `scf.if` has one result type per output.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import onnx
from xdsl.dialects import scf, tensor
from xdsl.dialects.builtin import i1
from xdsl.ir import Block, SSAValue

from ge.frontends.onnx.context import Node
from ge.frontends.onnx.recurrence import index_constant
from gedialects.ge.types import format_type

Converter = Callable[[Node], list[SSAValue]]


def import_subgraph(
    n: Node, graph: onnx.GraphProto, inputs: Sequence[SSAValue] = ()
) -> list[SSAValue]:
    """Convert a subgraph's nodes in the current block, its inputs bound to `inputs`."""
    state = n.state
    if len(graph.input) != len(inputs):
        raise n.error(f"subgraph '{graph.name}' takes {len(graph.input)} inputs, not {len(inputs)}")
    with state.scope():
        for info, value in zip(graph.input, inputs):
            state.values[info.name] = value
        for t in graph.initializer:
            state.values[t.name] = state.constant(onnx.numpy_helper.to_array(t))
        for proto in graph.node:
            assert state.convert is not None
            state.convert(proto)
        missing = [o.name for o in graph.output if o.name not in state.values]
        if missing:
            raise n.error(f"subgraph '{graph.name}' never computes {missing}")
        return [state.values[o.name] for o in graph.output]


def if_(n: Node) -> list[SSAValue]:
    then_graph, else_graph = n.attrs["then_branch"], n.attrs["else_branch"]
    if n.is_const(0):
        return import_subgraph(n, then_graph if bool(n.const(0).reshape(-1)[0]) else else_graph)
    cond = n.value(0)
    if int(np.prod(n.shape(0))) != 1 or n.dtype(0) != np.bool_:
        raise n.error(f"the condition must be one boolean, got {format_type(cond.type)}")
    pred = tensor.ExtractOp(cond, [index_constant(n, 0) for _ in n.shape(0)], i1)
    n.state.block.add_op(pred)
    blocks, outputs = [], []
    for graph in (then_graph, else_graph):
        block = Block()
        with n.state.building(block):
            values = import_subgraph(n, graph)
            if not all(isinstance(v, SSAValue) for v in values):  # a list known at import
                raise n.data_dependent("a branch on a run-time condition that gives a sequence")
            block.add_op(scf.YieldOp(*values))
        blocks.append(block)
        outputs.append([v.type for v in values])
    if outputs[0] != outputs[1]:
        shown = [", ".join(format_type(t) for t in types) for types in outputs]
        raise n.data_dependent(f"the branches give different types: ({shown[0]}) vs ({shown[1]})")
    op = scf.IfOp(pred.result, outputs[0], [blocks[0]], [blocks[1]])
    n.state.block.add_op(op)
    return list(op.results)


CONVERTERS: dict[str, Converter] = {"If": if_}
