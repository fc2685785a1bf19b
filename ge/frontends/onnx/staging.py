"""Models ge cannot compile whole: stages around a node that runs on the host (GE's AI CPU).

Some top-level nodes cannot be part of one statically shaped graph: an op whose output shape
depends on values (NonZero, Unique, NonMaxSuppression), a standard op ge has no converter
for (RoiAlign, Det, ...), or an op whose shape input only a run knows (a Reshape to a
shape computed from data, a TopK of a computed k). CANN's GE gives such ops to the AI CPU and
runs the graph around them as separate subgraphs; ge does the same. The top-level nodes before
the first such node are the first stage (imported, compiled and run as any model, taking every
graph input); the node runs on the host (`ge.staged.evaluate_host_node`: ge's semantics when
ge converts the op, else ONNX's reference implementation, which also runs `ai.onnx.ml`'s
classic-ML ops); the nodes after it are the rest, imported once a run knows the shapes of
what they read, and staged again if they hold another such node. When all the node lacks is
a small value it reads (a computed shape, an If's condition), it is not run on the host: it
starts the rest, compiled per value of it (`specialize`). Every top-level If on a run-time
condition is cut so (`RuntimeConditionError`), even when its branches share a type and one
module could hold it as an `scf.if`: the branch a run takes then runs on the npu, not on
the reference interpreter.

A node inside a subgraph (an If branch, a Loop body) is not split out: the whole If or Loop
node at the top level becomes the host node instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import helper, numpy_helper
from xdsl.dialects.builtin import ModuleOp

from ge.frontends.onnx.context import (
    DataDependentError,
    NoConverterError,
    NonConstantInputError,
    RuntimeConditionError,
)
from ge.frontends.onnx.loading import prepare
from ge.frontends.onnx.repair import used_names
from ge.frontends.onnx.skeleton import empty_like
from gedialects.errors import UnsupportedError

HOST_REASONS = (NoConverterError, NonConstantInputError, DataDependentError)
"""Import errors of a top-level node that make it a host node rather than a refusal."""


@dataclass
class StagedProgram:
    """A model as: the first stage, the node at the cut (run on the host, or the start of a
    rest compiled per value: `specialized`), and the rest (an ONNX graph)."""

    first: ModuleOp
    """The top-level nodes before the host node; takes every graph input of the model."""
    carried: list[str]
    """The first stage's outputs, by ONNX name: what the host node and the rest read."""
    host: onnx.NodeProto
    host_reads: list[str]
    """Every value the host node reads: its inputs, and outer values its subgraphs capture."""
    host_constants: dict[str, np.ndarray]
    """The initializers among `host_reads`."""
    opsets: dict[str, int]
    """The model's opset of each domain."""
    reason: str
    """Why the node runs on the host (the import error it gave), one line."""
    rest: onnx.ModelProto | None
    """The nodes after the host node with untyped inputs (`rest_inputs`); None when the
    model's outputs are all known once the host node ran."""
    rest_inputs: list[str]
    output_names: list[str]
    source: str
    specialized: list[str] = field(default_factory=list)
    """When not empty, the node is not run on the host: it starts the rest, which is compiled
    for each run's values of these (few, small) values, bound as constants: the shape a
    Reshape's computed input gives, the branch a run-time If condition takes."""

    def rest_model(self, arrays: Mapping[str, np.ndarray]) -> onnx.ModelProto:
        """The rest, its inputs typed by the arrays of one run (the specialized ones bound)."""
        assert self.rest is not None
        model = onnx.ModelProto()
        model.CopyFrom(self.rest)
        model.graph.input.extend(
            helper.make_tensor_value_info(
                name, helper.np_dtype_to_tensor_dtype(arrays[name].dtype), arrays[name].shape
            )
            for name in self.rest_inputs
            if name not in self.specialized
        )
        model.graph.initializer.extend(
            numpy_helper.from_array(np.asarray(arrays[name]), name) for name in self.specialized
        )
        return model

    def describe(self) -> str:
        """What the cut does, for a note: `host op NonZero 'n': why` or `compiled per ...`."""
        node = self.host
        what = f"{node.op_type} '{node.name}'" if node.name else node.op_type
        if self.specialized:
            values = ", ".join(f"'{v}'" for v in self.specialized)
            return f"the graph from {what} on is compiled per value of {values}: {self.reason}"
        return f"host op {what}: {self.reason}"


def import_program(
    model: onnx.ModelProto,
    *,
    input_shapes: Mapping[str, Sequence[int]] | None = None,
    source: str = "<model>",
) -> ModuleOp | StagedProgram:
    """`import_onnx_model`, except that a model holding a host node comes back staged."""
    from ge.frontends.onnx.free_dims import import_with_free_dims
    from ge.frontends.onnx.importer import build_module

    def build(given: Mapping[str, Sequence[int]] | None) -> ModuleOp | StagedProgram:
        prepared, inferred, shapes = prepare(model, given, source)
        stage_ifs = True  # a top-level If on a run-time condition: compiled per value
        while True:
            try:
                return build_module(prepared, inferred, shapes, source, stage_ifs)
            except UnsupportedError as error:
                index = getattr(error, "node_index", None)
                host = None if index is None else prepared.graph.node[index].op_type
                reason = host_reason(error, source, host)
                specialized = None if index is None else specialize(prepared, inferred, error)
                if specialized:
                    return split(prepared, inferred, index, shapes, source, reason, specialized)
                if isinstance(error, RuntimeConditionError) and stage_ifs:
                    stage_ifs = False  # no condition value to compile per: Ifs stay scf.if
                    continue
                index = host_node_index(prepared, error)
                if index is None:
                    raise
                return split(prepared, inferred, index, shapes, source, reason)

    return import_with_free_dims(model, input_shapes, build)


def host_reason(error: UnsupportedError, source: str, host: str | None = None) -> str:
    """Why a node (of op type `host`) runs on the host, in a few words (not the list of
    supported ops); the op without a converter may be inside its subgraph."""
    if isinstance(error, NoConverterError):
        if host is not None and error.op_type and error.op_type != host:
            return f"ge has no converter for the {error.op_type} inside it"
        return "ge has no converter for this op"
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text.removeprefix(f"{source}: ")


SPECIALIZE_LIMIT = 64
"""The most elements a value may have for the rest to be compiled per value of it."""


def specialize(
    model: onnx.ModelProto, inferred: onnx.ModelProto, error: UnsupportedError
) -> list[str]:
    """The values to compile the rest per value of, instead of running the failing top-level
    node on the host: a shape-fixing input only a run knows (`NonConstantInputError` names
    it), or the condition of an If whose branches differ in shape; only values the node
    reads directly, of at most `SPECIALIZE_LIMIT` elements by ONNX's shape inference."""
    node = model.graph.node[error.node_index]
    if isinstance(error, NonConstantInputError):
        wanted = error.value_name
    elif isinstance(error, DataDependentError) and node.op_type == "If":
        wanted = node.input[0]
    else:
        return []
    if wanted not in node.input or wanted in {t.name for t in model.graph.initializer}:
        return []  # produced inside a subgraph, or a constant the importer already had
    typed = {v.name: v for v in [*inferred.graph.value_info, *inferred.graph.input]}
    info = typed.get(wanted)
    shape = info.type.tensor_type.shape if info is not None else None
    if shape is None or any(not d.HasField("dim_value") for d in shape.dim):
        return []
    if int(np.prod([d.dim_value for d in shape.dim], dtype=np.int64)) > SPECIALIZE_LIMIT:
        return []
    return [wanted]


def host_node_index(model: onnx.ModelProto, error: UnsupportedError) -> int | None:
    """The index of the top-level node `error` came from, if the host can run that node."""
    index = getattr(error, "node_index", None)
    if index is None or not isinstance(error, HOST_REASONS):
        return None
    node = model.graph.node[index]
    return index if host_can_run(node, opsets_of(model)) else None


def opsets_of(model: onnx.ModelProto) -> dict[str, int]:
    """The model's opset version per domain ("" for ONNX's own)."""
    return {"" if o.domain == "ai.onnx" else o.domain: o.version for o in model.opset_import}


def host_can_run(node: onnx.NodeProto, opsets: Mapping[str, int]) -> bool:
    """Whether ONNX's reference implementation has the node's op at the model's opset: ONNX's
    own ops, and the classic-ML ones of `ai.onnx.ml` (scikit-learn conversions)."""
    domain = "" if node.domain == "ai.onnx" else node.domain
    if domain not in ("", ML_DOMAIN) or domain not in opsets:
        return False
    from onnx.reference.ops import load_op
    from onnx.reference.ops.aionnxml import load_op as load_ml_op

    try:
        (load_op if domain == "" else load_ml_op)(domain, node.op_type, opsets[domain])
    except Exception:  # onnx.reference has no implementation of this op (version)
        return False
    return True


ML_DOMAIN = "ai.onnx.ml"


def split(
    model: onnx.ModelProto,
    inferred: onnx.ModelProto,
    index: int,
    shapes: Mapping[str, Sequence[int]],
    source: str,
    reason: str,
    specialized: Sequence[str] = (),
) -> StagedProgram:
    """Cut the (prepared, topologically sorted) `model` at its top-level node `index`: the
    node runs on the host, or, with `specialized` values, starts the rest."""
    from ge.frontends.onnx.importer import import_onnx_model

    graph = model.graph
    nodes = list(graph.node)
    before, host, after = nodes[:index], nodes[index], nodes[index + 1 :]
    if specialized:
        after = [host, *after]
    outputs = [o.name for o in graph.output]
    later = set(outputs).union(used_names(host), *(used_names(n) for n in after))
    carried = _ordered(o for n in before for o in n.output if o and o in later)
    typed = {v.name: v for v in [*inferred.graph.value_info, *inferred.graph.output]}
    first = _subgraph(
        model,
        before,
        [typed.get(n) or helper.make_empty_tensor_value_info(n) for n in carried],
        keep_inputs=True,
    )
    initialized = {t.name for t in graph.initializer}
    produced_after = {o for n in after for o in n.output if o}
    rest_outputs = [o for o in graph.output if o.name in produced_after]
    rest = rest_inputs = None
    if rest_outputs:
        read = set().union(*(used_names(n) for n in after)) | {o.name for o in rest_outputs}
        defined_before = {i.name for i in graph.input} | set(carried)
        if not specialized:
            defined_before |= set(host.output)
        rest_inputs = [n for n in _ordered(_reads_in_order(after)) if n in read]
        rest_inputs = [n for n in rest_inputs if n in defined_before and n not in initialized]
        rest = _subgraph(model, after, [_unshaped(o) for o in rest_outputs], keep_inputs=False)
    known = {i.name for i in graph.input} | set(carried) | initialized
    given = {k: list(v) for k, v in shapes.items()}
    return StagedProgram(
        first=import_onnx_model(first, input_shapes=given, source=source),
        carried=carried,
        host=host,
        host_reads=(reads := [n for n in _ordered(_reads_in_order([host])) if n in known]),
        host_constants={
            t.name: numpy_helper.to_array(t) for t in graph.initializer if t.name in reads
        },
        opsets=opsets_of(model),
        reason=reason,
        rest=rest,
        rest_inputs=rest_inputs or [],
        output_names=outputs,
        source=source,
        specialized=list(specialized),
    )


def _subgraph(
    model: onnx.ModelProto,
    nodes: Sequence[onnx.NodeProto],
    outputs: Sequence[onnx.ValueInfoProto],
    *,
    keep_inputs: bool,
) -> onnx.ModelProto:
    """`model` with only `nodes`, `outputs` and the initializers the nodes read; the graph
    inputs too if `keep_inputs` (else none: the caller types them per run)."""
    read = set().union(*(used_names(n) for n in nodes)) | {o.name for o in outputs}
    part = empty_like(model)
    graph, g = model.graph, part.graph
    g.node.extend(nodes)
    g.output.extend(outputs)
    initializers = [t for t in graph.initializer if t.name in read]
    g.initializer.extend(initializers)
    if keep_inputs:
        kept = {t.name for t in initializers}
        dropped = {t.name for t in graph.initializer} - kept
        g.input.extend(i for i in graph.input if i.name not in dropped)
    return part


def _unshaped(info: onnx.ValueInfoProto) -> onnx.ValueInfoProto:
    """`info` without its shape: the rest's shapes follow each run's host results."""
    if not info.type.HasField("tensor_type"):
        return info
    return helper.make_tensor_value_info(info.name, info.type.tensor_type.elem_type, None)


def _reads_in_order(nodes: Iterable[onnx.NodeProto]) -> Iterable[str]:
    for node in nodes:
        yield from (n for n in node.input if n)
        yield from sorted(used_names(node) - set(node.input))


def _ordered(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(names))
