"""`ge.torch_backend`: a `torch.compile` backend that runs graphs on the `ge` interpreter.

`torch.compile(model, backend=ge.torch_backend)` hands the backend each FX graph dynamo
captured, with example inputs (the model's parameters arrive as inputs too). The backend
exports the graph with `torch.export` (which lowers the torch-level calls to aten and
functionalizes in-place ops), imports it into `ge`, and returns a function that converts
its torch arguments to numpy, runs `main` on the reference interpreter and hands torch
tensors back in the graph's output structure. Between import and run the module goes
through the project's compile pipeline (`ge.pipeline.pipeline_spec`, the same passes
`ge.compile` runs); `make_backend(pipeline=...)` picks another. The results carry no
autograd history: this backend is for inference.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import fx
from torch.utils import _pytree as pytree
from xdsl.dialects.builtin import ModuleOp

from ge.frontends.torch.convert import to_numpy, to_torch
from ge.frontends.torch.importer import import_exported_program
from gedialects.errors import UnsupportedError


def compile_graph(gm: fx.GraphModule, example_inputs: Sequence[Any]) -> tuple[ModuleOp, Any]:
    """The `ge` module of a dynamo graph, and the graph's output tree structure."""
    for i, x in enumerate(example_inputs):
        if not isinstance(x, torch.Tensor):
            raise UnsupportedError(
                f"torch_backend: graph input {i} is {type(x).__name__}, not a tensor "
                "(dynamic shapes are not supported; compile with dynamic=False)"
            )
    with torch.no_grad():
        ep = torch.export.export(gm, tuple(example_inputs), strict=False)
    return import_exported_program(ep), ep.call_spec.out_spec


def make_backend(pipeline: str | None = None) -> Callable[..., Callable[..., Any]]:
    """A `torch.compile` backend running `pipeline` (None: the default compile pipeline,
    "": no passes) on each imported graph."""

    def backend(gm: fx.GraphModule, example_inputs: Sequence[Any]) -> Callable[..., Any]:
        from ge.pipeline import CompileOptions, apply_pipeline, pipeline_spec
        from ge.testing import run

        module, out_spec = compile_graph(gm, example_inputs)
        apply_pipeline(module, pipeline_spec(CompileOptions()) if pipeline is None else pipeline)

        def run_on_ge(*args: torch.Tensor) -> Any:
            outputs = run(module, [to_numpy(a) for a in args])
            return pytree.tree_unflatten([to_torch(o) for o in outputs], out_spec)

        run_on_ge.ge_module = module  # type: ignore[attr-defined]
        return run_on_ge

    backend.__name__ = "ge_torch_backend"
    return backend


torch_backend = make_backend()
"""`torch.compile(model, backend=ge.torch_backend)`: the default compile pipeline, run on
the reference interpreter."""
