"""Frontends: models from ONNX and PyTorch into the `ge` dialect, and `ge` back to ONNX."""
