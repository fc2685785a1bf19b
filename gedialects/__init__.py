"""The IR of gedialects: the `ge`, `kernel` and `npu` dialects and their semantics."""

from gedialects import xdsl_compat  # noqa: F401 (fixes xDSL's parsing of special floats)
