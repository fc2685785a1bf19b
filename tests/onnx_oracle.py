"""Independent expectations for op semantics: one-node ONNX models run by ONNX's reference.

`run_onnx("Conv", [x, w], {"pads": [1, 1, 1, 1]})` builds a one-node model with
`onnx.helper` and runs it with `onnx.reference.ReferenceEvaluator`; `run_ge_op(Conv2DOp,
[x, w], pads=...)` builds `func.func @main` around one `ge` op and runs it with the
reference interpreter. Tests compare the two.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Block

from ge.testing import run
from gedialects.ge.types import tensor_like

OPSET = 21


def run_onnx(
    op_type: str,
    inputs: Sequence[np.ndarray],
    attrs: dict[str, Any] | None = None,
    extra: Sequence[np.ndarray | None] = (),
    outputs: int = 1,
    opset: int = OPSET,
    engine: str = "reference",
) -> list[np.ndarray]:
    """Run one ONNX node on `inputs` (graph inputs) and `extra` (initializers; None: absent).

    `engine` is "reference" (onnx.reference) or "ort" (onnxruntime), for the few ops whose
    reference implementation is wrong (LRN mixes batch and channels) or partial.
    """
    names = [f"x{i}" for i in range(len(inputs))]
    node_inputs = list(names)
    initializers = []
    for j, value in enumerate(extra):
        if value is None:
            node_inputs.append("")
            continue
        name = f"c{j}"
        initializers.append(numpy_helper.from_array(np.asarray(value), name))
        node_inputs.append(name)
    out_names = [f"y{k}" for k in range(outputs)]
    node = helper.make_node(op_type, node_inputs, out_names, **(attrs or {}))
    graph = helper.make_graph(
        [node],
        "oracle",
        [
            helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
            for n, a in zip(names, inputs)
        ],
        [helper.make_tensor_value_info(n, TensorProto.UNDEFINED, None) for n in out_names],
        initializer=initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    feeds = dict(zip(names, inputs))
    if engine == "ort":
        return _run_onnxruntime(model, feeds)
    return [np.asarray(r) for r in ReferenceEvaluator(model).run(None, feeds)]


def _run_onnxruntime(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    import onnxruntime

    first = model.graph.input[0].type.tensor_type.elem_type
    for output in model.graph.output:  # every op run this way returns its input's dtype
        output.type.tensor_type.elem_type = first
    model.ir_version = min(model.ir_version, 10)
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = onnxruntime.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    return [np.asarray(r) for r in session.run(None, feeds)]


def one_op_module(op_cls: type, inputs: Sequence[np.ndarray], **props: Any) -> ModuleOp:
    """`func.func @main` whose arguments are `inputs` and whose body is one `op_cls`."""
    block = Block(arg_types=[tensor_like(np.asarray(a)) for a in inputs])
    op = op_cls(*block.args, **props)
    block.add_ops([op, func.ReturnOp(*op.results)])
    fn = func.FuncOp("main", ([a.type for a in block.args], [r.type for r in op.results]))
    fn.body.detach_block(0)
    fn.body.add_block(block)
    module = ModuleOp([fn])
    module.verify()
    return module


def run_ge_op(op_cls: type, inputs: Sequence[np.ndarray], **props: Any) -> list[np.ndarray]:
    """Interpret one `ge` op on `inputs` through the reference interpreter."""
    return run(one_op_module(op_cls, inputs, **props), [np.asarray(a) for a in inputs])


__all__ = ["OPSET", "one_op_module", "run_ge_op", "run_onnx"]
