"""ONNX export: a `ge` program as a standard ONNX model that onnxruntime and Netron open.

`export_onnx(module)` is the entry point; `graph` holds the driver and the emitter table
(`EMITTERS`, `emits`, `EMITTER_MODULES`) that other dialects extend; `ge_math`, `ge_nn`
and `ge_tensor` hold the emitters of the `ge` ops.
"""

from ge.frontends.onnx_export.graph import (
    EMITTERS,
    IR_VERSION,
    OPSET,
    GraphBuilder,
    emits,
    export_onnx,
)

__all__ = ["EMITTERS", "IR_VERSION", "OPSET", "GraphBuilder", "emits", "export_onnx"]
