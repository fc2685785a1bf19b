"""ONNX RMSNormalization (opset 23) -> `ge.rms_norm`, one op rather than its function body
(`expand.py` would otherwise write it out as Pow/ReduceMean/Add/Sqrt/Reciprocal/Mul)."""

from __future__ import annotations

from collections.abc import Callable

from xdsl.ir import SSAValue

from ge.frontends.onnx.context import Node
from gedialects.errors import UnsupportedError
from gedialects.ge import ops

Converter = Callable[[Node], SSAValue]


def rms_norm(n: Node) -> SSAValue:
    stash = int(n.attr("stash_type", 1))
    if stash != 1:
        raise UnsupportedError(f"RMSNormalization with stash_type {stash} (not 1, f32)")
    axis, eps = int(n.attr("axis", -1)), float(n.attr("epsilon", 1e-5))
    return n.emit(ops.RMSNormOp(n.value(0), n.value(1), axis=axis, epsilon=eps))


CONVERTERS: dict[str, Converter] = {"RMSNormalization": rms_norm}
