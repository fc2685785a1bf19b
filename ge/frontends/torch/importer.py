"""PyTorch programs into the `ge` dialect: `torch.export` programs, modules, FX graphs.

`import_exported_program` reads the graph signature: user inputs become the arguments of
`func.func @main` (named after torch's placeholders, e.g. `x`), parameters, buffers and
lifted constants become `ge.constant`s, user outputs the results. The program is
functionalized first if it still mutates tensors in place. An op without a converter at
the level torch exported (`linear`, `conv2d`, ...) makes the import retry once on the
core-aten decomposition of the program; if that fails too, the first error is raised.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import fx
from torch.export import ExportedProgram
from torch.export.graph_signature import InputKind, OutputKind
from xdsl.dialects import func
from xdsl.dialects.builtin import ArrayAttr, DictionaryAttr, ModuleOp, StringAttr
from xdsl.ir import Block, Region

from ge.frontends.torch.convert import Converter, tensor_type
from ge.frontends.torch.table import IGNORED, converters
from gedialects.errors import UnsupportedError
from gedialects.interpreter import NAME_ATTR

_CONSTANT_KINDS = (InputKind.PARAMETER, InputKind.BUFFER, InputKind.CONSTANT_TENSOR)


def _names_attr(names: Sequence[str]) -> ArrayAttr[DictionaryAttr]:
    return ArrayAttr([DictionaryAttr({NAME_ATTR: StringAttr(n)}) for n in names])


def import_graph(
    graph: fx.Graph,
    constants: Mapping[str, torch.Tensor] | None = None,
    output_names: Sequence[str] | None = None,
) -> ModuleOp:
    """A `ge` module whose `main` computes `graph`; placeholders named in `constants` are
    weights, every other placeholder is an argument."""
    constants = constants or {}
    placeholders = [n for n in graph.nodes if n.op == "placeholder"]
    inputs = [n for n in placeholders if n.name not in constants]
    for n in inputs:
        if not isinstance(n.meta.get("val"), torch.Tensor):
            raise UnsupportedError(f"torch import: input '{n.name}' is not a tensor")
    block = Block(arg_types=[tensor_type(n.meta["val"]) for n in inputs])
    cx = Converter(block)
    for n, arg in zip(inputs, block.args):
        cx.env[n] = arg
        arg.name_hint = n.name
    for n in placeholders:
        if n.name in constants and n.users:
            cx.env[n] = cx.materialize(constants[n.name])  # complex weights: a pair
    table = converters()
    output = None
    for node in graph.nodes:
        if node.op == "call_function":
            cx.convert(node, table, IGNORED)
        elif node.op == "output":
            output = node
        elif node.op != "placeholder":
            raise UnsupportedError(f"torch import: node '{node.name}' ({node.op}) is not supported")
    assert output is not None
    results = _results(cx, output)
    block.add_op(func.ReturnOp(*results))
    out_names = (
        list(output_names)
        if output_names is not None
        else [f"output{i}" for i in range(len(results))]
    )
    fn = func.FuncOp(
        "main",
        ([a.type for a in block.args], [r.type for r in results]),
        Region(block),
        arg_attrs=_names_attr([n.name for n in inputs]),
        res_attrs=_names_attr(out_names),
    )
    return ModuleOp([fn])


def _results(cx: Converter, output: fx.Node) -> list[Any]:
    flat = output.args[0]
    flat = list(flat) if isinstance(flat, list | tuple) else [flat]
    results = []
    for i, v in enumerate(flat):
        if not isinstance(v, fx.Node):
            raise UnsupportedError(f"torch import: output {i} is {v!r}, not a tensor")
        results.append(cx.value(v))
    return results


def _is_functional(ep: ExportedProgram) -> bool:
    return not any(
        isinstance(n.target, torch._ops.OpOverload) and n.target._schema.is_mutable
        for n in ep.graph.nodes
    )


def _convert(ep: ExportedProgram) -> ModuleOp:
    constants: dict[str, torch.Tensor] = {}
    for spec in ep.graph_signature.input_specs:
        if spec.kind in _CONSTANT_KINDS:
            value = ep.state_dict.get(spec.target)
            constants[spec.arg.name] = value if value is not None else ep.constants[spec.target]
        elif spec.kind != InputKind.USER_INPUT:
            raise UnsupportedError(
                f"torch import: input '{spec.arg.name}' of kind {spec.kind.name}"
            )
    names = []
    for spec in ep.graph_signature.output_specs:
        if spec.kind != OutputKind.USER_OUTPUT:
            raise UnsupportedError(
                f"torch import: the program mutates '{spec.target}' ({spec.kind.name}); "
                "export the model in eval mode"
            )
        names.append(getattr(spec.arg, "name", f"output{len(names)}"))
    return import_graph(ep.graph, constants, names)


def import_exported_program(ep: ExportedProgram, *, decompose: bool | None = None) -> ModuleOp:
    """Import an exported program into `ge`.

    `decompose`: None tries the program as exported and falls back to its core-aten
    decomposition on an unsupported op; True decomposes first; False never does.
    """
    if not _is_functional(ep):
        ep = ep.run_decompositions({})
    if decompose:
        return _convert(ep.run_decompositions())
    try:
        return _convert(ep)
    except UnsupportedError as first:
        if decompose is False:
            raise
        try:
            return _convert(ep.run_decompositions())
        except UnsupportedError:
            raise first from None


def import_module(
    module: torch.nn.Module,
    example_inputs: Sequence[torch.Tensor] | torch.Tensor,
    *,
    decompose: bool | None = None,
) -> ModuleOp:
    """Export `module` with `torch.export` on `example_inputs` and import the program."""
    args = (example_inputs,) if isinstance(example_inputs, torch.Tensor) else tuple(example_inputs)
    try:
        with torch.no_grad():
            ep = torch.export.export(module, args)
    except Exception as error:  # data-dependent guards, untraceable Python: many kinds
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise UnsupportedError(
            f"torch.export of {type(module).__name__} failed: {type(error).__name__}: {first[:200]}"
        ) from None
    return import_exported_program(ep, decompose=decompose)
