"""The exporter's driver: walks a function and asks one emitter per op for ONNX nodes.

`EMITTERS` maps an op class to a function `emit(builder, op, inputs, outputs)` that adds
the ONNX nodes computing `op`: `inputs` are the ONNX names of the op's operands (in
operand order, absent optional operands left out) and `outputs` the names its results
must get. A dialect makes itself exportable by registering emitters with `@emits(...)`;
a fused mid-level op can add an ONNX function (`GraphBuilder.add_function`) in its own
domain and emit a call to it, so onnxruntime can run the exported model.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Attribute, Operation, SSAValue

from gedialects.errors import UnsupportedError
from gedialects.ge.constant import ConstantOp
from gedialects.ge.types import element_of, format_type, shape_of, to_numpy_dtype
from gedialects.interpreter import entry_function, input_names, output_names

OPSET = 21
"""The default-domain opset of exported models (Gelu needs 20; onnxruntime runs 21)."""
IR_VERSION = 10
"""The ONNX IR version that goes with opset 21."""

EMITTER_MODULES: tuple[str, ...] = (
    "ge.frontends.onnx_export.ge_math",
    "ge.frontends.onnx_export.ge_nn",
    "ge.frontends.onnx_export.ge_pool",
    "ge.frontends.onnx_export.ge_tensor",
    "ge.frontends.onnx_export.kernel_ops",
)
"""Modules whose import registers emitters; a dialect adds its module here."""

Emitter = Callable[["GraphBuilder", Any, list[str], list[str]], None]
EMITTERS: dict[type[Operation], Emitter] = {}


def emits(*op_types: type[Operation]) -> Callable[[Emitter], Emitter]:
    """Register `emit` as the ONNX form of each op type."""

    def register(emit: Emitter) -> Emitter:
        for op_type in op_types:
            EMITTERS[op_type] = emit
        return emit

    return register


def onnx_dtype(t: Attribute) -> int:
    """The ONNX element type (TensorProto.DataType) of a tensor type."""
    try:
        return helper.np_dtype_to_tensor_dtype(to_numpy_dtype(element_of(t)))
    except (TypeError, KeyError, AssertionError):
        raise UnsupportedError(f"type {format_type(t)} has no ONNX counterpart") from None


def element_dtype(value: SSAValue) -> np.dtype:
    """The numpy dtype of a tensor value's elements."""
    return to_numpy_dtype(element_of(value.type))


def value_info(name: str, t: Attribute) -> onnx.ValueInfoProto:
    try:
        shape = shape_of(t)
    except AssertionError:
        raise UnsupportedError(f"type {t} is not a ranked tensor; ONNX export needs one") from None
    return helper.make_tensor_value_info(name, onnx_dtype(t), list(shape))


def _empty_list(value: Any) -> bool:
    return isinstance(value, list | tuple) and not value


class GraphBuilder:
    """Collects the nodes, initializers and functions of one ONNX graph; names are unique."""

    def __init__(self, reserved: Sequence[str] = (), constants_as_nodes: bool = False):
        self.constants_as_nodes = constants_as_nodes
        """Constants as `Constant` nodes, as an ONNX function body needs, not initializers."""
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.functions: dict[tuple[str, str], onnx.FunctionProto] = {}
        self.opsets: dict[str, int] = {"": OPSET}
        self._used: set[str] = set(reserved)

    def fresh(self, hint: str = "t") -> str:
        """A name not used before, built from `hint`."""
        name, n = hint, 0
        while name in self._used:
            n += 1
            name = f"{hint}_{n}"
        self._used.add(name)
        return name

    def constant(self, array: np.ndarray, hint: str = "const", name: str | None = None) -> str:
        """Add `array` as an initializer (raw little-endian bytes) and return its name."""
        name = name or self.fresh(hint)
        tensor = numpy_helper.from_array(np.asarray(array, order="C"), name)
        if self.constants_as_nodes:
            self.nodes.append(helper.make_node("Constant", [], [name], value=tensor))
        else:
            self.initializers.append(tensor)
        return name

    def ints(self, values: Sequence[int], hint: str = "ints") -> str:
        """An int64 1-D initializer, the form ONNX takes for shapes, axes and pads."""
        return self.constant(np.asarray(values, dtype=np.int64).reshape(-1), hint)

    def node(
        self,
        op_type: str,
        inputs: Sequence[str],
        outputs: Sequence[str],
        domain: str = "",
        **attrs: Any,
    ) -> list[str]:
        """Add one node; attributes whose value is None are left out."""
        kept = {k: v for k, v in attrs.items() if v is not None and not _empty_list(v)}
        name = self.fresh(f"{op_type}_{len(self.nodes)}")
        node = helper.make_node(op_type, list(inputs), list(outputs), name, domain=domain, **kept)
        for key in (k for k, v in attrs.items() if _empty_list(v)):  # e.g. perm of a scalar
            empty = helper.make_attribute(key, [], attr_type=onnx.AttributeProto.INTS)
            node.attribute.append(empty)
        self.nodes.append(node)
        return list(outputs)

    def temp(self, op_type: str, inputs: Sequence[str], **attrs: Any) -> str:
        """Add a one-result node whose result is an intermediate; return its name."""
        return self.node(op_type, inputs, [self.fresh(op_type.lower())], **attrs)[0]

    def add_function(self, function: onnx.FunctionProto, domain_version: int = 1) -> None:
        """Make an ONNX function (e.g. a fused kernel's body) callable from the graph."""
        self.functions[(function.domain, function.name)] = function
        self.opsets.setdefault(function.domain, domain_version)


def _emit_op(builder: GraphBuilder, op: Operation, names: dict[SSAValue, str]) -> None:
    emit = EMITTERS.get(type(op))
    if emit is None:
        raise UnsupportedError(
            f"'{op.name}' has no ONNX form yet; the exporter handles the ge and kernel "
            f"dialects ({len(EMITTERS)} op kinds)"
        )
    inputs = [names[v] for v in op.operands]
    for r in op.results:
        names.setdefault(r, builder.fresh(r.name_hint or op.name.split(".")[-1]))
    emit(builder, op, inputs, [names[r] for r in op.results])


def emit_ops(
    builder: GraphBuilder,
    ops: Iterable[Operation],
    names: dict[SSAValue, str],
    results: Sequence[SSAValue],
    out_names: Sequence[str],
) -> None:
    """Emit `ops` (their operands named in `names`) so that `results` end up `out_names`.

    An op result takes its output's name directly where that is unambiguous; an input,
    a constant or a value returned twice is copied out through Identity.
    """
    for value, name in zip(results, out_names):
        if value not in names and not isinstance(value.owner, ConstantOp):
            names[value] = name
    for op in ops:
        _emit_op(builder, op, names)
    for value, name in zip(results, out_names):
        if names[value] != name:
            builder.node("Identity", [names[value]], [name])


def export_graph(fn: func.FuncOp, graph_name: str = "main") -> tuple[onnx.GraphProto, GraphBuilder]:
    """The ONNX graph of one function, and the builder that holds its functions and opsets."""
    in_names, out_names = input_names(fn), output_names(fn)
    for kind, listed in (("input", in_names), ("output", out_names)):
        if len(set(listed)) != len(listed):
            raise UnsupportedError(f"the function has repeated {kind} names {listed}")
    builder = GraphBuilder(reserved=[*in_names, *out_names])
    names: dict[SSAValue, str] = dict(zip(fn.body.block.args, in_names))
    ret = fn.body.block.last_op
    assert isinstance(ret, func.ReturnOp)
    body = [op for op in fn.body.block.ops if op is not ret]
    emit_ops(builder, body, names, ret.arguments, out_names)
    types = fn.function_type
    internal = [
        value_info(names[r], r.type)
        for op in fn.body.block.ops
        for r in op.results
        if names[r] not in out_names and not isinstance(op, ConstantOp)
    ]
    graph = helper.make_graph(
        builder.nodes,
        graph_name,
        [value_info(n, t) for n, t in zip(in_names, types.inputs.data)],
        [value_info(n, t) for n, t in zip(out_names, types.outputs.data)],
        initializer=builder.initializers,
        value_info=internal,
    )
    return graph, builder


def export_onnx(module: ModuleOp, entry: str | None = None, check: bool = False) -> onnx.ModelProto:
    """The ONNX model (opset 21) of `entry` (default `main`) of a `ge` / `kernel` module.

    Constants become initializers, input and output names come from the `ge.name`
    argument and result attributes, kernels become calls of ONNX functions; an op
    without an ONNX form raises `UnsupportedError`. `check` runs onnx's full checker.
    Calls of the module's own functions are inlined first (on a copy), as a compile does.
    """
    for name in EMITTER_MODULES:
        importlib.import_module(name)
    from passes.inline_calls import with_calls_inlined

    module = with_calls_inlined(module)
    fn = entry_function(module, entry)
    graph, builder = export_graph(fn, fn.sym_name.data)
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid(d, v) for d, v in builder.opsets.items()],
        functions=list(builder.functions.values()),
        producer_name="gedialects",
        ir_version=IR_VERSION,
    )
    if check:
        onnx.checker.check_model(model, full_check=True)
    return model
