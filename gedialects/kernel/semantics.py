"""Reference semantics of every `kernel` op, built from the `ge` reference functions.

A kernel means what the `ge` ops it was fused from mean, so each function here composes
`gedialects.ge.semantics` rather than restating it: epilogue activations, softmax inside
attention and the ops of an elementwise body all run the `ge` op's own reference
function. `kernel.elementwise` evaluates its body once over whole arrays (each body op
applied to numpy arrays), never element by element. Importing this module registers the
functions with every reference interpreter.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np
from xdsl.dialects.builtin import DictionaryAttr, IntegerAttr, TensorType, i64
from xdsl.ir import Attribute, SSAValue

from gedialects.ge import ops as ge
from gedialects.ge import semantics as ges
from gedialects.ge.base import GeOp, to_attr
from gedialects.ge.types import element_of, from_numpy_dtype, to_numpy_dtype
from gedialects.interpreter import reference_functions, register_reference_functions
from gedialects.kernel import ops as k
from gedialects.kernel.base import ACTIVATIONS, KernelOp
from gedialects.kernel.casting import CastingKernelOp
from gedialects.kernel.conv_algorithms import ALGORITHMS, ConvGeometry
from gedialects.kernel.elementwise import ElementwiseOp
from gedialects.kernel.mirrored import ActivatedMirrorKernelOp

KERNEL_REFERENCE: dict[type, Callable[..., Any]] = {}


def kernel_reference(op_type: type) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        KERNEL_REFERENCE[op_type] = fn
        return fn

    return register


@lru_cache(maxsize=512)
def ge_stand_in(ge_cls: type[GeOp], result_type: Attribute, props: DictionaryAttr | None) -> GeOp:
    """A detached `ge` op of this type and properties, whose reference function we call."""
    values = {name: to_attr(v) for name, v in ge_cls.DEFAULTS.items()}
    values.update(props.data if props is not None else {})
    return ge_cls.create(result_types=[result_type], properties=values)


def run_ge(
    ge_cls: type[GeOp], x: np.ndarray, props: DictionaryAttr | None = None, *rest: np.ndarray
) -> np.ndarray:
    """The `ge` op's meaning on arrays (the result has x's element type)."""
    shape = np.broadcast_shapes(x.shape, *(r.shape for r in rest))
    result_type = TensorType(from_numpy_dtype(x.dtype), list(shape))
    return ges.evaluate(ge_stand_in(ge_cls, result_type, props), x, *rest)[0]


def apply_activation(op: KernelOp, key: str, y: np.ndarray) -> np.ndarray:
    """Apply the epilogue activation stored under `key` (identity when absent)."""
    name = op.properties.get(key)
    if name is None:
        return y
    attrs = op.properties.get(f"{key}_attrs")
    assert isinstance(attrs, DictionaryAttr | None)
    return run_ge(ACTIVATIONS[name.data], y, attrs)  # type: ignore[attr-defined]


@kernel_reference(k.Conv2DKernelOp)
def conv2d(op: k.Conv2DKernelOp, x: np.ndarray, w: np.ndarray, *rest: np.ndarray):
    extra = op.present(("bias", "scale", "shift", "residual"), rest)
    x = apply_activation(op, "input_activation", x)
    if op.algorithm is not None:
        geometry = ConvGeometry.of(
            x.shape, w.shape, op.ints("strides"), op.ints("pads"), op.ints("dilations"),
            op.get_int("groups"),
        )  # fmt: skip
        y = ALGORITHMS[op.algorithm.data].run(x, w, geometry)
        if "bias" in extra:
            y = y + _channel(extra["bias"]).astype(y.dtype)
    else:
        y = ges.conv2d(op, x, w, extra.get("bias"))
    if "scale" in extra:
        y = run_ge(ge.AddOp, run_ge(ge.MulOp, y, None, _channel(extra["scale"])), None,
                   _channel(extra["shift"]))  # fmt: skip
    y = apply_activation(op, "activation", y)
    if "residual" in extra:
        y = run_ge(ge.AddOp, y, None, extra["residual"])
    return apply_activation(op, "post_activation", y)


def _channel(v: np.ndarray) -> np.ndarray:
    return v.reshape(1, -1, 1, 1)


@kernel_reference(k.MatMulKernelOp)
def matmul(op: k.MatMulKernelOp, a: np.ndarray, b: np.ndarray, *rest: np.ndarray):
    extra = op.present(op.OPTIONAL, rest)
    if op.get_flag("transpose_a"):
        a = np.swapaxes(a, -1, -2)
    if op.get_flag("transpose_b"):
        b = np.swapaxes(b, -1, -2)
    y = ges.matmul(op, a, b)
    y = _scaled(y, op.get_float("alpha"))
    if "bias" in extra:
        y = run_ge(ge.AddOp, y, None, extra["bias"])
    y = apply_activation(op, "activation", y)
    if "multiplier" in extra:
        y = run_ge(ge.MulOp, y, None, extra["multiplier"])
    if "residual" in extra:
        y = run_ge(ge.AddOp, y, None, extra["residual"])
    return y


def _scaled(y: np.ndarray, scale: float) -> np.ndarray:
    if scale == 1.0:
        return y
    return run_ge(ge.MulOp, y, None, np.asarray(scale, dtype=y.dtype))


@kernel_reference(k.SoftmaxKernelOp)
def softmax(op: k.SoftmaxKernelOp, x: np.ndarray) -> np.ndarray:
    return ges.softmax(op, _scaled(x, op.get_float("scale")))


def _last_axis() -> DictionaryAttr:
    return DictionaryAttr({"axis": IntegerAttr(-1, i64)})


@kernel_reference(k.AttentionKernelOp)
def attention(op: k.AttentionKernelOp, q, key, v, mask=None) -> np.ndarray:
    q, key, v = op.read_in_place([q, key, v], np.transpose)
    if op.get_flag("key_transposed"):
        key = np.swapaxes(key, -1, -2)
    scores = _scaled(np.matmul(q, key).astype(q.dtype), op.get_float("scale"))
    if mask is not None:
        scores = run_ge(ge.AddOp, scores, None, mask)
    probs = run_ge(ge.SoftmaxOp, scores, _last_axis())
    out = np.matmul(probs, v).astype(q.dtype)
    perm = op.perm("output_perm")
    return out if perm is None else np.ascontiguousarray(np.transpose(out, perm))


@kernel_reference(k.PoolKernelOp)
def pool(op: k.PoolKernelOp, x: np.ndarray) -> np.ndarray:
    return ges.REFERENCE[k.POOL_KINDS[op.get_str("kind")]](op, x)


@kernel_reference(k.ReduceKernelOp)
def reduce(op: k.ReduceKernelOp, x: np.ndarray) -> np.ndarray:
    return ges.REFERENCE[k.REDUCE_KINDS[op.get_str("kind")]](op, x)


def _mirrored(ge_cls: type) -> Callable[..., Any]:
    def run(op: KernelOp, *args: np.ndarray) -> Any:
        return ges.REFERENCE[ge_cls](op, *args)

    return run


def _activated(ge_cls: type) -> Callable[..., Any]:
    """A mirrored kernel with an epilogue activation: the `ge` op's meaning, then it."""

    def run(op: KernelOp, *args: np.ndarray) -> Any:
        return apply_activation(op, "activation", ges.REFERENCE[ge_cls](op, *args))

    return run


for _ge_cls, _kernel_cls in k.MIRRORED.items():
    activated = issubclass(_kernel_cls, ActivatedMirrorKernelOp)
    KERNEL_REFERENCE[_kernel_cls] = (_activated if activated else _mirrored)(_ge_cls)


@kernel_reference(ElementwiseOp)
def elementwise(op: ElementwiseOp, *inputs: np.ndarray) -> np.ndarray:
    """Run the body once, on whole arrays, then broadcast to the result shape."""
    env: dict[SSAValue, np.ndarray] = dict(zip(op.block.args, inputs))
    for body_op in op.block.ops:
        if body_op is op.block.last_op:
            break
        results = ges.evaluate(body_op, *[env[v] for v in body_op.operands])
        env.update(zip(body_op.results, results))
    out = env[op.yielded]
    shape = op.output.type.get_shape()
    dtype = to_numpy_dtype(element_of(op.output.type))
    return np.broadcast_to(np.asarray(out, dtype=dtype), shape).copy()


def _casting(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A casting kernel's meaning: with `cast_to`, `fn` on the input converted to f32 (exact
    from f16), its result rounded to `cast_to`; the unfused cast(kernel(cast(x)))."""

    def run(op: CastingKernelOp, x: np.ndarray, *rest: np.ndarray) -> Any:
        if op.cast_to is None:
            return fn(op, x, *rest)
        y = fn(op, x.astype(np.float32), *rest)
        return np.asarray(y, dtype=np.float32).astype(to_numpy_dtype(op.cast_to))

    return run


for _cls in list(KERNEL_REFERENCE):
    if issubclass(_cls, CastingKernelOp):
        KERNEL_REFERENCE[_cls] = _casting(KERNEL_REFERENCE[_cls])


def evaluate(op: KernelOp, *args: np.ndarray) -> tuple[np.ndarray, ...]:
    """Run one kernel's reference semantics; always returns a tuple of results."""
    out = KERNEL_REFERENCE[type(op)](op, *args)
    return out if isinstance(out, tuple) else (out,)


KernelFunctions = reference_functions(KERNEL_REFERENCE, "KernelFunctions")
register_reference_functions(KernelFunctions)
