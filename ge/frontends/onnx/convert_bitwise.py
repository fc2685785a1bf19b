"""Converters of ONNX's bitwise ops, composed from integer `ge` arithmetic (no bit ops in ge).

BitwiseNot is -1 - x (two's complement; max - x unsigned). And, Or and Xor split both
operands, viewed unsigned of the same width, into their bits along a new last axis
(x mod 2^(k+1) >= 2^k), combine the bits arithmetically and sum them back weighted by 2^k:
the bits are disjoint, so the sum cannot overflow. BitShift multiplies or divides by 2^shift
from a table, with ONNX's (opset 28) sign fill for shifts out of range. The right shift
divides with `ge.div`, whose reference divides in float64: 64-bit values above 2^53 may round.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from xdsl.dialects.builtin import i64
from xdsl.ir import SSAValue

from ge.frontends.onnx.context import Node
from gedialects.ge import ops
from gedialects.ge.types import from_numpy_dtype, is_integer_dtype

Converter = Callable[[Node], SSAValue]


def _integer(n: Node, value: SSAValue) -> np.dtype:
    dtype = n.dtype_of(value)
    if not is_integer_dtype(dtype):
        raise n.unsupported(f"input of type {dtype} is not an integer")
    return dtype


def _cast(n: Node, value: SSAValue, dtype: np.dtype) -> SSAValue:
    if n.dtype_of(value) == dtype:
        return value
    return n.emit(ops.CastOp(value, to=from_numpy_dtype(dtype)))


def bitwise_not(n: Node) -> SSAValue:
    x = n.value(0)
    dtype = _integer(n, x)
    top = -1 if np.issubdtype(dtype, np.signedinteger) else np.iinfo(dtype).max
    return n.emit(ops.SubOp(n.constant(np.asarray(top, dtype)), x))


def _bits(n: Node, x: SSAValue, powers: np.ndarray) -> SSAValue:
    """Unsigned x's bits (0 or 1, x's type) along a new last axis, least significant first:
    bit k is x mod 2^(k+1) >= 2^k (integer mod and compare only, exact at every width)."""
    widened = n.emit(ops.ReshapeOp(x, shape=[*n.shape_of(x), 1]))
    moduli = np.append(
        powers[1:], np.ones(1, powers.dtype)
    )  # 2^width does not fit: the top bit compares x itself
    low = n.emit(ops.ModOp(widened, n.constant(moduli)))
    top = np.arange(powers.size) == powers.size - 1
    low = n.emit(ops.WhereOp(n.constant(top), widened, low))
    bit = n.emit(ops.GreaterEqualOp(low, n.constant(powers)))
    return n.emit(ops.CastOp(bit, to=from_numpy_dtype(powers.dtype)))


def _bitwise(combine: Callable[[Node, SSAValue, SSAValue], SSAValue]) -> Converter:
    def convert(n: Node) -> SSAValue:
        a, b = n.value(0), n.value(1)
        dtype = _integer(n, a)
        unsigned = np.dtype(f"u{dtype.itemsize}")
        powers = (np.uint64(1) << np.arange(8 * dtype.itemsize, dtype=np.uint64)).astype(unsigned)
        x, y = _bits(n, _cast(n, a, unsigned), powers), _bits(n, _cast(n, b, unsigned), powers)
        weighted = n.emit(ops.MulOp(combine(n, x, y), n.constant(powers)))
        rank = len(n.shape_of(weighted))
        total = n.emit(ops.ReduceSumOp(weighted, axes=[rank - 1], keepdims=False))
        return _cast(n, total, dtype)

    return convert


def _and(n: Node, x: SSAValue, y: SSAValue) -> SSAValue:
    return n.emit(ops.MulOp(x, y))


def _or(n: Node, x: SSAValue, y: SSAValue) -> SSAValue:
    return n.emit(ops.MaximumOp(x, y))


def _xor(n: Node, x: SSAValue, y: SSAValue) -> SSAValue:
    return n.emit(ops.SubOp(n.emit(ops.MaximumOp(x, y)), n.emit(ops.MinimumOp(x, y))))


def bit_shift(n: Node) -> SSAValue:
    """x * 2^s (wrapping) or floor(x / 2^s) (arithmetic, for signed x); a shift out of range
    (negative, or past the bits a result can keep) gives the sign fill: -1 for a right shift
    of a negative x, else 0."""
    x, shift = n.value(0), n.value(1)
    dtype = _integer(n, x)
    direction = n.attr("direction")
    if direction not in ("LEFT", "RIGHT"):
        raise n.error(f"direction must be LEFT or RIGHT, got {direction!r}")
    signed = np.issubdtype(dtype, np.signedinteger)
    limit = 8 * dtype.itemsize - (1 if signed and direction == "RIGHT" else 0)
    amount = n.emit(ops.CastOp(shift, to=i64)) if n.dtype_of(shift) != np.int64 else shift
    valid = n.emit(
        ops.LogicalAndOp(
            n.emit(ops.GreaterEqualOp(amount, n.constant(np.int64(0)))),
            n.emit(ops.LessOp(amount, n.constant(np.int64(limit)))),
        )
    )
    index = n.emit(ops.WhereOp(valid, amount, n.constant(np.int64(0))))
    table = (np.uint64(1) << np.arange(limit, dtype=np.uint64)).astype(dtype)  # 2^(w-1) wraps
    power = n.emit(ops.GatherOp(n.constant(table), index, axis=0))
    zero = n.constant(np.asarray(0, dtype))
    if direction == "LEFT":
        return n.emit(ops.WhereOp(valid, n.emit(ops.MulOp(x, power)), zero))
    exact = n.emit(ops.SubOp(x, n.emit(ops.ModOp(x, power))))  # a multiple of 2^s: no rounding
    shifted = n.emit(ops.DivOp(exact, power))
    fill = zero
    if signed:
        negative = n.emit(ops.LessOp(x, zero))
        fill = n.emit(ops.WhereOp(negative, n.constant(np.asarray(-1, dtype)), zero))
    return n.emit(ops.WhereOp(valid, shifted, fill))


CONVERTERS: dict[str, Converter] = {
    "BitwiseNot": bitwise_not,
    "BitwiseAnd": _bitwise(_and),
    "BitwiseOr": _bitwise(_or),
    "BitwiseXor": _bitwise(_xor),
    "BitShift": bit_shift,
}
