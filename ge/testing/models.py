"""The test model zoo: plain-torch models with seeded random weights, and their inputs.

Every builder returns a model in eval mode whose batch norms carry non-trivial running
statistics (calibrated on a seeded random batch, then the affine weights randomized), so
folding batch norm changes the weights for real. `MODELS` names each model with a small
configuration for tests (`small=True`, 64x64 images, hidden size 64) and the real one for
benchmarks (224x224 images, hidden size 768). `export_onnx` writes a model with
`torch.onnx.export(dynamo=False)` keeping BatchNormalization nodes in the graph.

torch is imported inside the functions, so this module imports without it.
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import onnx
    import torch


def _seeded(seed: int) -> Any:
    import torch

    return torch.Generator().manual_seed(seed)


def randomize_batch_norms(model: torch.nn.Module, example: Sequence[torch.Tensor], seed: int):
    """Randomize scale and shift, then set the running stats from `example`'s statistics.

    Calibrating after the scales are drawn keeps activations normalized through depth, so
    f32 results stay comparable at rtol 1e-4 even in ResNet-50.
    """
    import torch

    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    g = _seeded(seed + 1)
    with torch.no_grad():
        for m in norms:
            m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
            m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
            m.momentum = 1.0
        model.train()
        model(*example)
    for m in norms:
        m.momentum = 0.1
    return model.eval()


def _image(batch: int, size: int, seed: int) -> tuple[torch.Tensor, ...]:
    import torch

    return (torch.randn(batch, 3, size, size, generator=_seeded(seed)),)


def _sequence(batch: int, length: int, hidden: int, seed: int) -> tuple[torch.Tensor, ...]:
    import torch

    return (torch.randn(batch, length, hidden, generator=_seeded(seed)),)


def _masked_sequence(batch: int, length: int, hidden: int, seed: int) -> tuple:
    import torch

    (x,) = _sequence(batch, length, hidden, seed)
    mask = torch.ones(batch, length)
    mask[:, length - max(1, length // 4) :] = 0.0  # padding at the end of each sequence
    return x, mask


@dataclass(frozen=True)
class ModelSpec:
    """How to build one zoo model and its inputs, at test size and at full size."""

    build: Callable[..., Any]
    inputs: Callable[..., tuple]
    small: dict[str, Any]
    full: dict[str, Any]
    small_inputs: dict[str, Any]
    full_inputs: dict[str, Any]
    input_names: tuple[str, ...] = ("input",)


def _calibrated(model: Any, seed: int) -> Any:
    """Seeded weights (already drawn) plus batch-norm stats from a 2x3x64x64 batch."""
    import torch

    if any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules()):
        randomize_batch_norms(model, _image(2, 64, seed + 3), seed)
    return model.eval()


def resnet18(*, width: int = 64, classes: int = 1000, seed: int = 0) -> Any:
    """ResNet-18: BasicBlocks [2, 2, 2, 2]."""
    import torch

    from ge.testing.torch_blocks import BasicBlock, ResNet

    torch.manual_seed(seed)
    return _calibrated(ResNet(BasicBlock, [2, 2, 2, 2], width, classes), seed)


def resnet50(*, width: int = 64, classes: int = 1000, seed: int = 0) -> Any:
    """ResNet-50: Bottlenecks [3, 4, 6, 3] (25.6M parameters at width 64)."""
    import torch

    from ge.testing.torch_blocks import Bottleneck, ResNet

    torch.manual_seed(seed)
    return _calibrated(ResNet(Bottleneck, [3, 4, 6, 3], width, classes), seed)


def mobilenet_v2(*, width_mult: float = 1.0, classes: int = 1000, seed: int = 0) -> Any:
    """MobileNetV2: inverted residual blocks, depthwise 3x3 convolutions, ReLU6."""
    import torch

    from ge.testing.torch_blocks import MobileNetV2

    torch.manual_seed(seed)
    return _calibrated(MobileNetV2(width_mult, classes), seed)


def inception(*, width: int = 64, classes: int = 1000, seed: int = 0) -> Any:
    """Two inception blocks (1x1, 3x3, 5x5 and pool branches) around an average pool."""
    import torch

    from ge.testing.torch_blocks import InceptionNet

    torch.manual_seed(seed)
    return _calibrated(InceptionNet(width, classes), seed)


def bert_layer(
    *, hidden: int = 768, heads: int = 12, intermediate: int | None = None, seed: int = 0
) -> Any:
    """A BERT encoder layer; forward(hidden_states, attention_mask of 1s and 0s)."""
    import torch

    from ge.testing.torch_blocks import BertLayer

    torch.manual_seed(seed)
    return BertLayer(hidden, heads, intermediate or 4 * hidden).eval()


def gpt_block(*, hidden: int = 768, heads: int = 12, max_len: int = 1024, seed: int = 0) -> Any:
    """A GPT-2 decoder block with a causal mask; forward(hidden_states)."""
    import torch

    from ge.testing.torch_blocks import GptBlock

    torch.manual_seed(seed)
    return GptBlock(hidden, heads, max_len).eval()


_IMAGE_SMALL = {"batch": 1, "size": 64}
_IMAGE_FULL = {"batch": 1, "size": 224}
_TOKENS_SMALL = {"batch": 2, "length": 16, "hidden": 64}
_TOKENS_FULL = {"batch": 1, "length": 128, "hidden": 768}

MODELS: dict[str, ModelSpec] = {
    "resnet18": ModelSpec(
        resnet18, _image, {"width": 32, "classes": 100}, {}, _IMAGE_SMALL, _IMAGE_FULL
    ),
    "resnet50": ModelSpec(
        resnet50, _image, {"width": 16, "classes": 100}, {}, _IMAGE_SMALL, _IMAGE_FULL
    ),
    "mobilenet_v2": ModelSpec(
        mobilenet_v2, _image, {"width_mult": 0.5, "classes": 100}, {}, _IMAGE_SMALL, _IMAGE_FULL
    ),
    "inception": ModelSpec(
        inception, _image, {"width": 16, "classes": 100}, {}, _IMAGE_SMALL, _IMAGE_FULL
    ),
    "bert_layer": ModelSpec(
        bert_layer,
        _masked_sequence,
        {"hidden": 64, "heads": 4},
        {},
        _TOKENS_SMALL,
        _TOKENS_FULL,
        ("hidden_states", "attention_mask"),
    ),
    "gpt_block": ModelSpec(
        gpt_block,
        _sequence,
        {"hidden": 64, "heads": 4, "max_len": 32},
        {},
        _TOKENS_SMALL,
        _TOKENS_FULL,
        ("hidden_states",),
    ),
}


def build(name: str, *, small: bool = True, seed: int = 0) -> tuple[Any, tuple]:
    """The zoo model `name` (eval mode, seeded weights) and seeded example inputs for it."""
    spec = MODELS[name]
    model = spec.build(seed=seed, **(spec.small if small else spec.full))
    inputs = spec.inputs(seed=seed + 2, **(spec.small_inputs if small else spec.full_inputs))
    return model, inputs


def export_onnx(
    model: torch.nn.Module,
    example_inputs: Sequence[torch.Tensor],
    path: str | os.PathLike | None = None,
    opset: int = 17,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] = ("output",),
) -> onnx.ModelProto:
    """Export with the TorchScript exporter (works offline), batch norm kept as a node.

    Inputs are named `input_names`, by default after the parameters of `model.forward`.
    """
    import onnx
    import torch

    names = list(input_names or _forward_names(model, len(example_inputs)))
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", "You are using the legacy TorchScript", DeprecationWarning
        )
        torch.onnx.export(
            model,
            tuple(example_inputs),
            buffer,
            dynamo=False,
            opset_version=opset,
            input_names=names,
            output_names=list(output_names),
            training=torch.onnx.TrainingMode.PRESERVE,
            do_constant_folding=False,
        )
    proto = onnx.load_from_string(buffer.getvalue())
    if path is not None:
        onnx.save(proto, os.fspath(path))
    return proto


def _forward_names(model: Any, count: int) -> list[str]:
    import inspect

    params = list(inspect.signature(model.forward).parameters)
    return params[:count] if len(params) >= count else [f"input{i}" for i in range(count)]


__all__ = [
    "MODELS",
    "ModelSpec",
    "bert_layer",
    "build",
    "export_onnx",
    "gpt_block",
    "inception",
    "mobilenet_v2",
    "randomize_batch_norms",
    "resnet18",
    "resnet50",
]
