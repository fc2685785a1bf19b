"""The ONNX frontend: ONNX models (opsets 7 to the newest) into the `ge` dialect.

`import_onnx_model`, `import_onnx_file` and `import_onnx_bytes` return a module with
`func.func @main` whose arguments and results carry the ONNX names as `{"ge.name" = ...}`.
"""

from ge.frontends.onnx.context import NonConstantInputError
from ge.frontends.onnx.importer import (
    SUPPORTED_OPS,
    import_onnx_bytes,
    import_onnx_file,
    import_onnx_model,
)

__all__ = [
    "SUPPORTED_OPS",
    "NonConstantInputError",
    "import_onnx_bytes",
    "import_onnx_file",
    "import_onnx_model",
]
