"""Reading and preparing ONNX models: bytes, files, external data, checker, opsets, shapes.

Everything here happens before a single `ge` op is built: the model is parsed, checked
with `onnx.checker`, upgraded to opset 13 when older, given static input shapes, run
through `onnx.shape_inference` so the importer can check its own shapes against ONNX's,
and ops without a converter are replaced by their schema's function body (`expand`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import onnx
from google.protobuf.message import DecodeError
from onnx import external_data_helper, shape_inference

from ge.frontends.onnx.ceil_pools import exact_ceil_pools
from ge.frontends.onnx.expand import MAX_ROUNDS, expand_once, expandable
from ge.frontends.onnx.legacy_ops import (
    convert_version,
    keep_legacy_semantics,
    prepare_legacy,
    rewrite_legacy_ops,
)
from ge.frontends.onnx.repair import (
    align_legacy_broadcasts,
    explicit_stft_onesided,
    inline_functions,
    keep_legacy_resize_coordinates,
    legacy_resizes,
    ort_ops_to_their_domain,
    per_group_norms,
    sort_nodes,
    with_output_shapes,
)
from ge.frontends.onnx.skeleton import skeleton
from gedialects.errors import FrontendError, InvalidModelError, UnsupportedError

MIN_NATIVE_OPSET = 13
"""Models of older opsets (7 to 12) are upgraded to this one with onnx's version converter."""


def first_line(message: str) -> str:
    lines = [line.strip() for line in str(message).strip().splitlines() if line.strip()]
    return lines[0] if lines else "unknown error"


def parse_model(data: bytes, source: str) -> onnx.ModelProto:
    """Parse serialized ONNX bytes; a truncated or foreign file is a FrontendError."""
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError) as error:
        raise FrontendError(
            f"{source}: not a readable ONNX model ({first_line(str(error)) or 'truncated'})"
        ) from None
    if model.ir_version <= 0 or not model.HasField("graph"):
        raise FrontendError(f"{source}: not an ONNX model (no IR version or no graph)")
    return model


def _tensors(graph: onnx.GraphProto) -> Iterator[onnx.TensorProto]:
    yield from graph.initializer
    for node in graph.node:
        for attr in node.attribute:
            if attr.HasField("t"):
                yield attr.t
            yield from attr.tensors
            if attr.HasField("g"):
                yield from _tensors(attr.g)
            for g in attr.graphs:
                yield from _tensors(g)


def load_external_data(model: onnx.ModelProto, folder: Path | None, source: str) -> None:
    """Read external tensor data, only from files inside `folder`."""
    for tensor in _tensors(model.graph):
        if tensor.data_location != onnx.TensorProto.EXTERNAL:
            continue
        if folder is None:
            raise FrontendError(
                f"{source}: tensor '{tensor.name}' has external data; import the model file "
                "so its folder is known"
            )
        info = external_data_helper.ExternalDataInfo(tensor)
        root = folder.resolve()
        target = (root / info.location).resolve()
        if os.path.isabs(info.location) or not target.is_relative_to(root):
            raise FrontendError(
                f"{source}: external data '{info.location}' of tensor '{tensor.name}' is "
                "outside the model's folder; refused"
            )
        if not target.is_file():
            raise FrontendError(f"{source}: external data file '{info.location}' is missing")
        try:
            external_data_helper.load_external_data_for_tensor(tensor, str(root))
        except (OSError, ValueError) as error:
            raise FrontendError(
                f"{source}: cannot read external data: {first_line(error)}"
            ) from None


def default_opset(model: onnx.ModelProto) -> int:
    versions = [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")]
    if not versions:
        raise FrontendError("the model imports no version of the default ONNX opset")
    return versions[0]


def refuse_aborting_forms(model: onnx.ModelProto, source: str) -> None:
    """Refuse what makes onnx's C++ shape inference abort the process, before anything runs
    it (the opset converter, the function inliner, the checker's full check): an assertion
    there kills the command with no Python error to catch. Known: a Split with more outputs
    than its `num_outputs` (onnx 1.23; onnx/onnx#8255 adds the check)."""
    graphs = [model.graph, *model.functions]
    while graphs:
        graph = graphs.pop()
        for node in graph.node:
            if node.op_type == "Split" and node.domain in ("", "ai.onnx"):
                count = next((a.i for a in node.attribute if a.name == "num_outputs"), None)
                if count is not None and len(node.output) > count:
                    name = node.name or node.output[0]  # as the importer names nodes
                    raise FrontendError(
                        f"{source}: node '{name}' (Split): {len(node.output)} outputs "
                        f"for num_outputs {count}"
                    )
            for attr in node.attribute:
                graphs += [attr.g] if attr.HasField("g") else list(attr.graphs)


def check(model: onnx.ModelProto, source: str) -> None:
    try:
        onnx.checker.check_model(with_output_shapes(model))
    except (onnx.checker.ValidationError, ValueError) as error:
        message = f"{source}: the model fails onnx.checker: {_one_line(error)}"
        raise InvalidModelError(message) from None


def _one_line(error: Exception) -> str:
    """The checker's message on one line: it names the node on a line of its own after the
    first ('... of node:\nname: add_1 OpType: Add', '==> Context: ... Name: n OpType: X')."""
    text = " ".join(str(error).replace("==> Context:", "in").split())
    return text if len(text) <= 400 else text[:397] + "..."


def upgrade(model: onnx.ModelProto, source: str) -> onnx.ModelProto:
    """Bring an old-opset model to `MIN_NATIVE_OPSET`; newer ones pass through."""
    opset = default_opset(model)
    if opset > onnx.defs.onnx_opset_version():
        raise UnsupportedError(
            f"{source}: opset {opset} is newer than this onnx package knows "
            f"({onnx.defs.onnx_opset_version()})"
        )
    if opset >= MIN_NATIVE_OPSET:
        return model
    if opset < 9 and any(node.op_type == "Scan" for node in model.graph.node):
        # The converter drops Scan-8's batch axis from the graph's input shapes.
        raise UnsupportedError(f"{source}: opset {opset} Scan (with a batch axis) is not supported")
    retired = [n for n in model.graph.node if n.domain in ("", "ai.onnx")]
    retired = [n for n in retired if not onnx.defs.has(n.op_type)]
    if retired:  # the converter's message was an unformatted C++ assertion
        node = retired[0]
        raise UnsupportedError(
            f"{source}: node '{node.name}' ({node.op_type}): an experimental op that ONNX "
            "retired without a schema (opsets 1-9) is not supported"
        )
    model, opset = prepare_legacy(model, opset, source)
    model = align_legacy_broadcasts(model, opset)
    legacy = legacy_resizes(model, opset)
    try:
        upgraded = convert_version(model, MIN_NATIVE_OPSET)
    except Exception as error:  # the converter raises bare RuntimeErrors and more
        raise FrontendError(
            f"{source}: cannot upgrade the opset {opset} model to {MIN_NATIVE_OPSET}: "
            f"{first_line(error)}"
        ) from None
    keep_legacy_resize_coordinates(upgraded, legacy)
    keep_legacy_semantics(upgraded, opset)
    return upgraded


def declared_dims(info: onnx.ValueInfoProto) -> list[int | None] | None:
    """A graph input's dims as the model declares them (None: free); None without a shape."""
    t = info.type.tensor_type
    if not t.HasField("shape"):
        return None
    return [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim]


def misfit(info: onnx.ValueInfoProto, given: Sequence[int]) -> list[int | str] | None:
    """The input's declared shape (free dims as '?') when `given` does not fit it, else None."""
    dims = declared_dims(info)
    if dims is None:
        return None
    if len(given) == len(dims) and all(d is None or d == g for d, g in zip(dims, given)):
        return None
    return ["?" if d is None else d for d in dims]


def static_dims(info: onnx.ValueInfoProto, given: Sequence[int] | None, source: str) -> list[int]:
    """The static shape of a graph input: the model's dims, `given`, or 1 for unknown ones."""
    dims = declared_dims(info)
    if dims is None:
        if given is None:
            raise FrontendError(f"{source}: input '{info.name}' has no shape; pass input_shapes")
        return list(given)
    if given is not None:
        declared = misfit(info, given)
        if declared is not None:
            raise FrontendError(
                f"{source}: input_shapes gives {list(given)} for '{info.name}', which has "
                f"shape {declared}"
            )
        return list(given)
    return [1 if d is None else d for d in dims]


def fix_input_shapes(
    light: onnx.ModelProto,
    model: onnx.ModelProto,
    shapes: Mapping[str, Sequence[int]],
    source: str,
) -> dict[str, list[int]]:
    """Static shapes of the graph inputs of `model`, written into `light` for inference."""
    initialized = {t.name for t in model.graph.initializer}
    unknown = set(shapes) - {i.name for i in model.graph.input}
    if unknown:
        raise FrontendError(f"{source}: input_shapes names unknown inputs {sorted(unknown)}")
    result = {}
    for info in light.graph.input:
        if info.name in initialized:
            continue
        dims = static_dims(info, shapes.get(info.name), source)
        shape = info.type.tensor_type.shape
        del shape.dim[:]
        for d in dims:
            shape.dim.add().dim_value = d
        result[info.name] = dims
    return result


def infer(model: onnx.ModelProto, source: str) -> onnx.ModelProto:
    """ONNX's shape inference, not strict: its errors inside function bodies (e.g.
    MeanVarianceNormalization) are spurious; the importer's own inference decides, and
    checks its types against what this infers."""
    try:
        return shape_inference.infer_shapes(model, strict_mode=False, data_prop=True)
    except (shape_inference.InferenceError, onnx.checker.ValidationError) as error:
        raise FrontendError(f"{source}: inconsistent shapes: {first_line(error)}") from None


def prepare(
    model: onnx.ModelProto, input_shapes: Mapping[str, Sequence[int]] | None, source: str
) -> tuple[onnx.ModelProto, onnx.ModelProto, dict[str, list[int]]]:
    """The model upgraded to opset >= 13, with the function bodies of ops the importer does
    not convert expanded, and a checked, static, shape-inferred skeleton of it.

    Returns (model, inferred skeleton, static input shapes); `model` is not modified.
    """
    from ge.frontends.onnx.importer import CONVERTERS  # the importer imports this module

    refuse_aborting_forms(model, source)
    model = explicit_stft_onesided(sort_nodes(inline_functions(ort_ops_to_their_domain(model))))
    model = per_group_norms(model)  # GroupNormalization-18: the checker refuses it
    model = rewrite_legacy_ops(model, default_opset(model))  # experimental ops fail the checker
    light = skeleton(model)
    check(light, source)
    upgraded = upgrade(model, source)
    if upgraded is not model:
        light = skeleton(upgraded)
    shapes = fix_input_shapes(light, upgraded, input_shapes or {}, source)
    inferred = infer(light, source)
    if (fixed := exact_ceil_pools(upgraded, inferred)) is not upgraded:
        upgraded, light = fixed, skeleton(fixed)
        shapes = fix_input_shapes(light, upgraded, input_shapes or {}, source)
        inferred = infer(light, source)
    for _ in range(MAX_ROUNDS):
        if not expandable(upgraded, CONVERTERS.__contains__):
            break
        expanded = expand_once(upgraded, inferred, CONVERTERS.__contains__)
        if expanded is upgraded:
            break
        upgraded = sort_nodes(expanded)
        light = skeleton(upgraded)
        shapes = fix_input_shapes(light, upgraded, input_shapes or {}, source)
        inferred = infer(light, source)
    return upgraded, inferred, shapes
