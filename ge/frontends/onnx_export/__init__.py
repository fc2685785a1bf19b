"""ONNX export: a `ge` or `kernel` program as an ONNX model that onnxruntime and Netron open.

`export_onnx(module)` is the entry point; `graph` holds the driver and the emitter table
(`EMITTERS`, `emits`, `EMITTER_MODULES`) that other dialects extend; `ge_math`, `ge_nn`,
`ge_pool` and `ge_tensor` hold the emitters of the `ge` ops, `kernel_ops` those of the
fused kernels (calls of model-local ONNX functions).
"""

from ge.frontends.onnx_export.graph import (
    EMITTER_MODULES,
    EMITTERS,
    IR_VERSION,
    OPSET,
    GraphBuilder,
    emits,
    export_onnx,
)

__all__ = [
    "EMITTER_MODULES",
    "EMITTERS",
    "IR_VERSION",
    "OPSET",
    "GraphBuilder",
    "emits",
    "export_onnx",
]
