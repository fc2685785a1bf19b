"""The IR of gedialects: the `ge`, `kernel` and `npu` dialects and their semantics."""
