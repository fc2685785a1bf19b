"""A model's skeleton: its graph with the data of large initializers left out.

Checking, shape inference and the opset converter serialize the model they are given; on a
100 MB model that costs more than the whole import, and protobuf cannot serialize one over
2 GB at all. The data of large tensors never matters to any of them.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper

SMALL_INITIALIZER = 4096
"""Initializers of at most this many elements keep their data in `skeleton` (shape values)."""


def is_large(tensor: onnx.TensorProto) -> bool:
    """Whether the skeleton leaves `tensor`'s data out (`SMALL_INITIALIZER`)."""
    return int(np.prod(tensor.dims, dtype=np.int64)) > SMALL_INITIALIZER


def empty_like(model: onnx.ModelProto) -> onnx.ModelProto:
    """A model with `model`'s versions, opsets, functions and graph name, and no graph."""
    empty = onnx.ModelProto()
    for field in ("ir_version", "producer_name", "producer_version", "domain", "model_version"):
        setattr(empty, field, getattr(model, field))
    empty.opset_import.extend(model.opset_import)
    empty.functions.extend(model.functions)
    empty.graph.name = model.graph.name
    return empty


def skeleton(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of `model` whose large initializers are typed graph inputs without data."""
    light = empty_like(model)
    graph, lg = model.graph, light.graph
    for field in ("node", "input", "output", "value_info", "sparse_initializer"):
        getattr(lg, field).extend(getattr(graph, field))
    inputs = {i.name for i in graph.input}
    for t in graph.initializer:
        if not is_large(t):
            lg.initializer.append(t)
        elif t.name not in inputs:
            lg.input.append(helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)))
    return light


def with_weights(light: onnx.ModelProto, model: onnx.ModelProto) -> onnx.ModelProto:
    """`light`, a transform of `skeleton(model)` that kept its graph inputs, with the large
    initializers of `model` back: the inputs the skeleton made of them are initializers
    again."""
    declared = {i.name for i in model.graph.input}
    weights = [t for t in model.graph.initializer if is_large(t)]
    made = {t.name for t in weights} - declared
    inputs = [i for i in light.graph.input if i.name not in made]
    del light.graph.input[:]
    light.graph.input.extend(inputs)
    light.graph.initializer.extend(weights)
    return light
