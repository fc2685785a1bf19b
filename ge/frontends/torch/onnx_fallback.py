"""A torch module the `torch.export` importer refuses, compiled through ONNX instead.

The torch frontend imports `torch.export` programs op by op; a module using what it has no
converter for (a 3-D convolution) or what no static graph can hold (boolean-mask indexing,
`nonzero`, `unique`) is refused there. The ONNX frontend covers more: it converts more ops,
and cuts a model into stages around data-dependent nodes (`ge.frontends.onnx.staging`). So
`ge.compile(module, example_inputs=...)` retries such a module through
`torch.onnx.export(..., dynamo=False)` (TorchScript tracing, offline: the dynamo exporter
needs onnxscript), in memory, with the inputs named as `forward`'s parameters.
"""

from __future__ import annotations

import inspect
import io
import warnings
from collections.abc import Sequence

import onnx
import torch

from ge.frontends.onnx.loading import parse_model
from gedialects.errors import UnsupportedError

OPSET = 17
"""The opset the fallback exports at: supported by torch's TorchScript exporter and by ge."""


def export_onnx(module: torch.nn.Module, example_inputs: Sequence[torch.Tensor]) -> onnx.ModelProto:
    """`module` traced on `example_inputs` into an ONNX model (inputs named as `forward`'s)."""
    names = [
        p.name
        for p in inspect.signature(module.forward).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ][: len(example_inputs)]
    buffer = io.BytesIO()
    try:
        # The module's own mode (a module in training mode keeps its dropout, which the
        # ONNX frontend then refuses as the torch one does), and never left changed; grad
        # on, or an eval-mode TransformerEncoder takes torch's fused fast path, which the
        # exporter cannot trace (aten::_transformer_encoder_layer_fwd).
        with warnings.catch_warnings(record=True) as caught, torch.enable_grad():
            warnings.simplefilter("always")
            torch.onnx.export(
                module,
                tuple(example_inputs),
                buffer,
                opset_version=OPSET,
                dynamo=False,
                input_names=names or None,
                training=torch.onnx.TrainingMode.PRESERVE,
            )
    except Exception as error:  # the exporter raises many kinds
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise UnsupportedError(
            f"torch.onnx.export failed: {type(error).__name__}: {first[:200]}"
        ) from None
    for warning in caught:  # a value the trace froze (`int(t.sum())`, an `if` on data)
        if issubclass(warning.category, torch.jit.TracerWarning):
            first = str(warning.message).strip().splitlines()[0][:200]
            warnings.warn(
                f"torch.onnx.export's trace kept the example input's value: {first}",
                stacklevel=3,
            )
    return parse_model(buffer.getvalue(), f"<{type(module).__name__} exported to ONNX>")
