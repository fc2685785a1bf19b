"""The PyTorch frontend (needs the `[torch]` extra): `torch.export` programs into `ge`,
and the `torch.compile` backend `ge.torch_backend`.

`import_module(module, example_inputs)` exports and imports a module;
`import_exported_program(ep)` imports a program; `torch_backend` compiles the FX graphs
that `torch.compile` hands it and runs them on the reference interpreter.
"""

try:
    import torch  # noqa: F401
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "the PyTorch frontend needs torch: pip install 'gedialects[torch]' (torch==2.13.0)"
    ) from error

from ge.frontends.torch.backend import make_backend, torch_backend
from ge.frontends.torch.importer import import_exported_program, import_graph, import_module

__all__ = [
    "import_exported_program",
    "import_graph",
    "import_module",
    "make_backend",
    "torch_backend",
]
