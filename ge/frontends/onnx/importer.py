"""The ONNX importer: a checked, static-shaped ONNX graph into `func.func @main` of `ge` ops.

Graph inputs become the function's arguments and graph outputs its results, each with
`{"ge.name" = <onnx name>}`; initializers and Constant nodes become `ge.constant`. Nodes
are converted in order by the tables of the `convert_*` modules. Our own shape inference
is authoritative: where ONNX's shape inference (or the model) states a static type for a
value, it must agree with ours, or the import fails naming the node.

Dynamic dims: every graph input gets a static shape, from `input_shapes` when given, else
the model's dims with every symbolic or unknown dim (typically the batch) set to 1.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper
from xdsl.dialects import arith, func, scf
from xdsl.dialects.builtin import ArrayAttr, DictionaryAttr, ModuleOp, StringAttr
from xdsl.ir import Block, Region, SSAValue

from ge.frontends.onnx import (
    convert_bitwise,
    convert_col2im,
    convert_composite,
    convert_control,
    convert_deform_conv,
    convert_einsum,
    convert_fourier,
    convert_grid_sample,
    convert_index,
    convert_inverse_trig,
    convert_loop,
    convert_math,
    convert_ms_contrib,
    convert_ms_llm,
    convert_nn,
    convert_pool,
    convert_pool_extra,
    convert_qlinear,
    convert_qlinear_contrib,
    convert_quant,
    convert_quant_integer,
    convert_quant_lstm,
    convert_quant_nbits,
    convert_reduce,
    convert_rms_norm,
    convert_rnn,
    convert_scan,
    convert_select,
    convert_sequence,
    convert_tensor,
)
from ge.frontends.onnx.context import (
    GraphState,
    NoConverterError,
    Node,
    RuntimeConditionError,
    numpy_dtype,
    onnx_element_type,
)
from ge.frontends.onnx.fold_node import can_fold, fold_constant_node
from ge.frontends.onnx.free_dims import import_with_free_dims
from ge.frontends.onnx.loading import (
    default_opset,
    load_external_data,
    parse_model,
    prepare,
)
from ge.frontends.onnx.staging import host_can_run
from gedialects.errors import (
    FrontendError,
    GeError,
    GeVerifyError,
    InterpretationError,
    UnsupportedError,
)
from gedialects.ge.base import GeOp
from gedialects.ge.constant import ConstantOp
from gedialects.ge.types import format_type, tensor
from gedialects.interpreter import NAME_ATTR
from passes.emulate_narrow_types import emulate_narrow_types

CONVERTERS = {
    **convert_math.CONVERTERS,
    **convert_nn.CONVERTERS,
    **convert_pool.CONVERTERS,
    **convert_reduce.CONVERTERS,
    **convert_tensor.CONVERTERS,
    **convert_rnn.CONVERTERS,
    **convert_control.CONVERTERS,
    **convert_scan.CONVERTERS,
    **convert_composite.CONVERTERS,
    **convert_deform_conv.CONVERTERS,
    **convert_quant.CONVERTERS,
    **convert_quant_integer.CONVERTERS,
    **convert_qlinear.CONVERTERS,
    **convert_qlinear_contrib.CONVERTERS,
    **convert_quant_lstm.CONVERTERS,
    **convert_index.CONVERTERS,
    **convert_einsum.CONVERTERS,
    **convert_grid_sample.CONVERTERS,
    **convert_inverse_trig.CONVERTERS,
    **convert_select.CONVERTERS,
    **convert_bitwise.CONVERTERS,
    **convert_pool_extra.CONVERTERS,
    **convert_fourier.CONVERTERS,
    **convert_col2im.CONVERTERS,
    **convert_loop.CONVERTERS,
    **convert_sequence.CONVERTERS,
    **convert_rms_norm.CONVERTERS,
    **convert_ms_contrib.CONVERTERS,
    **convert_ms_llm.CONVERTERS,
    **convert_quant_nbits.CONVERTERS,
}
SUPPORTED_OPS: tuple[str, ...] = tuple(sorted(CONVERTERS))


def _hint(name: str) -> str | None:
    hint = re.sub(r"[^A-Za-z0-9_]", "_", name)
    return None if not hint or hint[0].isdigit() else hint


INFERENCE_DIFFERS = frozenset({"Resize"})
"""Ops whose outputs ONNX's shape inference types otherwise than onnxruntime runs them: a
Resize's size from float32 scales is computed in float64 there (12 rows x 1.6666666 = 19),
in float32 by onnxruntime and torch (20). The type a model itself states is still checked."""


def inference_differs(proto: onnx.NodeProto) -> bool:
    """Whether ONNX's shape inference may type `proto`'s outputs otherwise than onnxruntime
    runs it: an op of `INFERENCE_DIFFERS`, or a ConvTranspose with auto_pad SAME_* and an
    output_padding, whose output the spec makes input x stride (the padding absorbs the
    output_padding; onnxruntime: 5 rows at stride 3 give 15) where the inference adds the
    output_padding to it (16)."""
    if proto.op_type in INFERENCE_DIFFERS:
        return True
    if proto.op_type != "ConvTranspose":
        return False
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in proto.attribute}
    same = attrs.get("auto_pad", b"NOTSET") in (b"SAME_UPPER", b"SAME_LOWER")
    return same and any(attrs.get("output_padding", ()))


def _declared(info: onnx.ValueInfoProto) -> str | None:
    """A printable static type the model states for a value, or None when not static."""
    t = info.type.tensor_type
    if not t.HasField("shape") or not t.elem_type:
        return None
    if any(not d.HasField("dim_value") for d in t.shape.dim):
        return None
    try:
        element = onnx_element_type(t.elem_type, info.name)
    except UnsupportedError:
        return None
    return format_type(tensor([d.dim_value for d in t.shape.dim], element))


def _check_type(where: str, name: str, value: SSAValue, info: onnx.ValueInfoProto | None):
    """Our type of `name` must be the static type the model (or ONNX's inference) states."""
    if info is None:
        return
    declared = _declared(info)
    ours = format_type(value.type)
    if declared is not None and declared != ours:
        raise FrontendError(
            f"{where}: inconsistent shapes: '{name}' is {ours} by ge's inference but "
            f"{declared} in the model"
        )


def convert_node(
    state: GraphState, proto: onnx.NodeProto, opset: int, known: Mapping[str, onnx.ValueInfoProto]
) -> None:
    """Convert one node and bind its outputs by name."""
    node = Node(state, proto, opset)
    domain = "" if proto.domain in ("", "ai.onnx") else f"{proto.domain}."
    converter = CONVERTERS.get(domain + proto.op_type)  # other domains' keys are qualified
    if domain and converter is None:
        error = NoConverterError(
            f"{state.source}: {node.describe()}: op type '{proto.op_type}' of domain "
            f"'{proto.domain}' is not supported"
        )
        error.op_type = proto.op_type
        raise error
    if converter is None:
        converter = fold_constant_node if can_fold(node) else None
    if converter is None:
        staged = (
            " in one graph (ge-run and ge.compile run it on the host between compiled stages)"
            if host_can_run(proto, {"": opset})
            else ""
        )
        error = NoConverterError(
            f"{state.source}: op type '{proto.op_type}' of node '{node.name}' is not "
            f"supported{staged}; supported ops: {', '.join(SUPPORTED_OPS)}"
        )
        error.op_type = proto.op_type
        raise error
    try:
        results = converter(node)
    except (GeVerifyError, InterpretationError) as error:  # a fold of constants refused too
        raise node.error(str(error)) from None
    except GeError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, ArithmeticError) as error:
        # An attribute or input the converter did not expect: still one line, naming the node.
        raise node.error(f"cannot convert: {type(error).__name__}: {error}") from None
    results = [results] if isinstance(results, SSAValue) else list(results)
    for index, name in enumerate(proto.output):
        if not name:
            continue
        if index >= len(results):
            raise node.unsupported(f"output {index} ('{name}') is not supported")
        _check_type(f"{state.source}: {node.describe()}", name, results[index], known.get(name))
        state.values[name] = results[index]
        if results[index].name_hint is None:
            results[index].name_hint = _hint(name)


SUB_BYTE = frozenset(
    (
        onnx.TensorProto.INT4,
        onnx.TensorProto.UINT4,
        onnx.TensorProto.INT2,
        onnx.TensorProto.UINT2,
        onnx.TensorProto.FLOAT4E2M1,
        onnx.TensorProto.FLOAT6E2M3,
        onnx.TensorProto.FLOAT6E3M2,
    )
)
"""Types ONNX packs several to a byte (numpy_helper unpacks them, one a byte)."""


def _tensor_value(t: onnx.TensorProto, source: str) -> np.ndarray:
    """The initializer's value; raw little-endian data is viewed, not copied again."""
    if t.HasField("raw_data") and sys.byteorder == "little" and t.data_type not in SUB_BYTE:
        dtype = numpy_dtype(t.data_type, f"{source}: initializer '{t.name}'")
        raw = t.raw_data
        if len(raw) == dtype.itemsize * int(np.prod(t.dims, dtype=np.int64)):
            return np.frombuffer(raw, dtype).reshape(tuple(t.dims))
    try:
        return numpy_helper.to_array(t)
    except (ValueError, TypeError) as error:
        raise FrontendError(f"{source}: initializer '{t.name}' is unreadable: {error}") from None


def _erase_dead_ops(block: Block) -> None:
    """Drop pure ops nothing uses: folded shape arithmetic, unused initializers and outputs."""
    for op in reversed(list(block.ops)):
        pure = isinstance(op, GeOp | ConstantOp | arith.ConstantOp)
        if pure and all(not r.uses for r in op.results):
            block.erase_op(op)


def _names(names: Sequence[str]) -> ArrayAttr:
    return ArrayAttr([DictionaryAttr({NAME_ATTR: StringAttr(n)}) for n in names])


def _made_scf_if(state: GraphState, proto: onnx.NodeProto) -> bool:
    """Whether the If node just converted became an `scf.if` (not inlined on a condition
    known at import): the block's last op is one, and its results are the node's outputs."""
    last = state.block.last_op
    return isinstance(last, scf.IfOp) and all(
        state.values.get(name) is result for name, result in zip(proto.output, last.results)
    )


def build_module(
    model: onnx.ModelProto,
    inferred: onnx.ModelProto,
    shapes: Mapping[str, list[int]],
    source: str,
    stage_runtime_ifs: bool = False,
) -> ModuleOp:
    """The module of `model`, checked against the types in `inferred` (its skeleton).

    With `stage_runtime_ifs`, a top-level If on a run-time condition raises
    `RuntimeConditionError` (naming the node) instead of becoming an `scf.if`, for a staged
    compile to compile the rest per value of the condition."""
    graph = model.graph
    if len(graph.sparse_initializer):
        raise UnsupportedError(f"{source}: sparse initializers are not supported")
    initializers = {t.name: t for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in initializers]
    arg_types = [
        tensor(
            shapes[i.name],
            onnx_element_type(i.type.tensor_type.elem_type, f"{source}: input '{i.name}'"),
        )
        for i in inputs
    ]
    block = Block(arg_types=arg_types)
    state = GraphState(block, source)
    for info, arg in zip(inputs, block.args):
        state.values[info.name] = arg
        arg.name_hint = _hint(info.name)
    for name, t in initializers.items():
        state.values[name] = state.constant(_tensor_value(t, source))
        state.values[name].name_hint = _hint(name)
    known = {v.name: v for v in [*inferred.graph.value_info, *inferred.graph.output]}
    declared = {v.name for v in [*graph.value_info, *graph.output] if _declared(v)}
    for proto in graph.node:
        if inference_differs(proto):
            for name in set(proto.output) - declared:
                known.pop(name, None)
    opset = default_opset(model)
    state.convert = lambda proto: convert_node(state, proto, opset, {})
    for index, proto in enumerate(graph.node):
        try:
            convert_node(state, proto, opset, known)
            if stage_runtime_ifs and proto.op_type == "If" and _made_scf_if(state, proto):
                name = proto.name or (proto.output[0] if proto.output else "?")
                raise RuntimeConditionError(
                    f"{source}: node '{name}' (If): a branch on a run-time condition"
                )
        except UnsupportedError as error:
            error.node_index = index  # a top-level node: `staging` may run it between stages
            raise
    missing = [o.name for o in graph.output if o.name not in state.values]
    if missing:
        raise FrontendError(f"{source}: graph outputs {missing} are never computed")
    results = [state.values[o.name] for o in graph.output]
    for o, value in zip(graph.output, results):
        if not isinstance(value, SSAValue):  # a sequence (a list at import): no ge type
            raise UnsupportedError(f"{source}: graph output '{o.name}' is a sequence")
        _check_type(f"{source}: graph output", o.name, value, o)
    block.add_op(func.ReturnOp(*results))
    _erase_dead_ops(block)
    fn = func.FuncOp(
        "main",
        (arg_types, [r.type for r in results]),
        Region(block),
        arg_attrs=_names([i.name for i in inputs]),
        res_attrs=_names([o.name for o in graph.output]),
    )
    try:
        emulate_narrow_types(fn)
    except UnsupportedError as error:
        raise UnsupportedError(f"{source}: {error}") from None
    return ModuleOp([fn])


def import_onnx_model(
    model: onnx.ModelProto,
    *,
    input_shapes: Mapping[str, Sequence[int]] | None = None,
    source: str = "<model>",
) -> ModuleOp:
    """Import an in-memory ONNX model into a module with `func.func @main` of `ge` ops.

    Symbolic or unknown input dims take their value from `input_shapes` if given, else 1
    (the usual batch dim; a time axis longer where 1 cannot run, see `free_dims`). Raises
    `UnsupportedError` for ops, dtypes or non-constant shape inputs ge does not support, and
    `FrontendError` for invalid or inconsistent models.
    """

    def build(given: Mapping[str, Sequence[int]] | None) -> ModuleOp:
        return build_module(*prepare(model, given, source), source)

    return import_with_free_dims(model, input_shapes, build)  # free dims: 1, else longer


def import_onnx_bytes(
    data: bytes, *, source: str = "<bytes>", input_shapes: Mapping[str, Sequence[int]] | None = None
) -> ModuleOp:
    """Import serialized ONNX; external data is read from `source`'s folder if it is a file."""
    model = parse_model(data, source)
    folder = Path(source).parent if Path(source).is_file() else None
    load_external_data(model, folder, source)
    return import_onnx_model(model, input_shapes=input_shapes, source=source)


def import_onnx_file(
    path: str | Path, *, input_shapes: Mapping[str, Sequence[int]] | None = None
) -> ModuleOp:
    """Import an ONNX file; external data is read only from inside the file's folder."""
    model = read_onnx_file(path)
    return import_onnx_model(model, input_shapes=input_shapes, source=str(path))


def read_onnx_file(path: str | Path) -> onnx.ModelProto:
    """The model of an ONNX file with its external data (read only from the file's folder)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise FrontendError(f"{path}: cannot read the model: {error.strerror}") from None
    model = parse_model(data, str(path))
    del data  # parsed: the proto holds its own copy (a second model's worth of memory)
    load_external_data(model, path.parent, str(path))
    return model
