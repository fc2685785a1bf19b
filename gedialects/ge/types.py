"""Element types and tensor types of the `ge` dialect, and their numpy counterparts.

The `ge` dialect works on builtin ranked tensors with static shapes. This module is the
one place that maps between xDSL element types and numpy dtypes, so the interpreter,
constant folding and the frontends agree on what `f16` or `i1` means.
"""

from __future__ import annotations

from collections.abc import Sequence

import ml_dtypes
import numpy as np
from xdsl.dialects.builtin import (
    BFloat16Type,
    Float4E2M1FNType,
    Float6E2M3FNType,
    Float6E3M2FNType,
    Float8E4M3FNType,
    Float8E4M3FNUZType,
    Float8E5M2FNUZType,
    Float8E5M2Type,
    Float8E8M0FNUType,
    Float16Type,
    Float32Type,
    Float64Type,
    IntegerType,
    Signedness,
    TensorType,
    bf16,
    f8E4M3FN,
    f8E4M3FNUZ,
    f8E5M2,
    f8E5M2FNUZ,
    f8E8M0FNU,
    f16,
    f32,
    f64,
    i1,
    i8,
    i16,
    i32,
    i64,
)
from xdsl.ir import Attribute

ui8 = IntegerType(8, Signedness.UNSIGNED)
ui16 = IntegerType(16, Signedness.UNSIGNED)
ui32 = IntegerType(32, Signedness.UNSIGNED)
ui64 = IntegerType(64, Signedness.UNSIGNED)
i2 = IntegerType(2)
i4 = IntegerType(4)
ui2 = IntegerType(2, Signedness.UNSIGNED)
ui4 = IntegerType(4, Signedness.UNSIGNED)
f4E2M1FN = Float4E2M1FNType()
f6E2M3FN = Float6E2M3FNType()
f6E3M2FN = Float6E3M2FNType()

_TO_NUMPY: dict[Attribute, np.dtype] = {
    f16: np.dtype(np.float16),
    f32: np.dtype(np.float32),
    f64: np.dtype(np.float64),
    i1: np.dtype(np.bool_),
    i8: np.dtype(np.int8),
    i16: np.dtype(np.int16),
    i32: np.dtype(np.int32),
    i64: np.dtype(np.int64),
    ui8: np.dtype(np.uint8),
    ui16: np.dtype(np.uint16),
    ui32: np.dtype(np.uint32),
    ui64: np.dtype(np.uint64),
}
NARROW_COMPUTE_TYPES: dict[Attribute, Attribute] = {
    bf16: f32,
    f8E4M3FN: f32,
    f8E4M3FNUZ: f32,
    f8E5M2: f32,
    f8E5M2FNUZ: f32,
    f4E2M1FN: f32,
    f6E2M3FN: f32,
    f6E3M2FN: f32,
    f8E8M0FNU: f32,
    i4: i8,
    i2: i8,
    ui4: ui8,
    ui2: ui8,
}
"""Storage-only element types (bfloat16, float8, float6, float4, 2/4-bit integers) and the type ge
computes them in: `passes/emulate_narrow_types.py` widens every op on them, as MLIR's
`arith-emulate-unsupported-floats` does, so only `ge.cast` and constants hold them."""

FLOAT8_TYPES = frozenset((f8E4M3FN, f8E4M3FNUZ, f8E5M2, f8E5M2FNUZ))
"""The float8 types, whose casts may saturate (ONNX Cast-19)."""

_TO_NUMPY.update(
    {
        bf16: np.dtype(ml_dtypes.bfloat16),
        f8E4M3FN: np.dtype(ml_dtypes.float8_e4m3fn),
        f8E4M3FNUZ: np.dtype(ml_dtypes.float8_e4m3fnuz),
        f8E5M2: np.dtype(ml_dtypes.float8_e5m2),
        f8E5M2FNUZ: np.dtype(ml_dtypes.float8_e5m2fnuz),
        f4E2M1FN: np.dtype(ml_dtypes.float4_e2m1fn),
        f8E8M0FNU: np.dtype(ml_dtypes.float8_e8m0fnu),
        f6E2M3FN: np.dtype(ml_dtypes.float6_e2m3fn),
        f6E3M2FN: np.dtype(ml_dtypes.float6_e3m2fn),
        i4: np.dtype(ml_dtypes.int4),
        i2: np.dtype(ml_dtypes.int2),
        ui4: np.dtype(ml_dtypes.uint4),
        ui2: np.dtype(ml_dtypes.uint2),
    }
)
_FROM_NUMPY: dict[np.dtype, Attribute] = {v: k for k, v in _TO_NUMPY.items()}

SUPPORTED_ELEMENT_TYPES: tuple[Attribute, ...] = tuple(_TO_NUMPY)


def from_records(array: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """`array` as `dtype` when it holds that type's bytes as raw records: numpy's .npz files
    give ml_dtypes' types (bf16, float8, int4 ...) back so."""
    if array.dtype.kind == "V" and array.dtype.itemsize == dtype.itemsize:
        return array.view(dtype)
    return array


def is_narrow(element_type: Attribute) -> bool:
    """Whether `element_type` is a storage-only type ge computes in a wider one."""
    return element_type in NARROW_COMPUTE_TYPES


def compute_type(element_type: Attribute) -> Attribute:
    """The type ge computes values of `element_type` in (itself unless it is narrow)."""
    return NARROW_COMPUTE_TYPES.get(element_type, element_type)


def to_numpy_dtype(element_type: Attribute) -> np.dtype:
    """The numpy dtype that holds values of `element_type`."""
    try:
        return _TO_NUMPY[element_type]
    except KeyError:
        raise TypeError(f"element type {element_type} has no numpy counterpart") from None


def from_numpy_dtype(dtype: np.dtype | type) -> Attribute:
    """The xDSL element type of a numpy dtype."""
    try:
        return _FROM_NUMPY[np.dtype(dtype)]
    except KeyError:
        raise TypeError(f"numpy dtype {np.dtype(dtype)} is not supported by ge") from None


_NARROW_FLOATS = (
    BFloat16Type,
    Float8E4M3FNType,
    Float8E4M3FNUZType,
    Float8E5M2Type,
    Float8E5M2FNUZType,
    Float4E2M1FNType,
    Float6E2M3FNType,
    Float6E3M2FNType,
    Float8E8M0FNUType,
)


def is_float(element_type: Attribute) -> bool:
    return isinstance(element_type, (Float16Type, Float32Type, Float64Type, *_NARROW_FLOATS))


def is_float_dtype(dtype: np.dtype | type) -> bool:
    """Whether a numpy dtype holds floats, ml_dtypes' bfloat16 and float8 included (numpy
    files those under kind 'V', so `np.issubdtype(dtype, np.floating)` says no)."""
    dtype = np.dtype(dtype)
    return dtype.kind == "f" or (dtype in _FROM_NUMPY and is_float(_FROM_NUMPY[dtype]))


def is_integer_dtype(dtype: np.dtype | type) -> bool:
    """Whether a numpy dtype holds integers, ml_dtypes' 2- and 4-bit ones included."""
    dtype = np.dtype(dtype)
    return dtype.kind in "iu" or (dtype in _FROM_NUMPY and is_integer(_FROM_NUMPY[dtype]))


def is_integer(element_type: Attribute) -> bool:
    return isinstance(element_type, IntegerType) and element_type != i1


def is_bool(element_type: Attribute) -> bool:
    return element_type == i1


def tensor(shape: Sequence[int], element_type: Attribute) -> TensorType:
    """A static-shaped builtin tensor type."""
    return TensorType(element_type, [int(d) for d in shape])


def tensor_like(array: np.ndarray) -> TensorType:
    """The tensor type that holds `array`."""
    return tensor(array.shape, from_numpy_dtype(array.dtype))


def shape_of(t: Attribute) -> tuple[int, ...]:
    assert isinstance(t, TensorType), t
    return tuple(t.get_shape())


def element_of(t: Attribute) -> Attribute:
    assert isinstance(t, TensorType), t
    return t.get_element_type()


def num_elements(t: Attribute) -> int:
    return int(np.prod(shape_of(t), dtype=np.int64))


def format_type(t: Attribute) -> str:
    """A short text form of a type for error messages, e.g. `tensor<1x3xf32>`."""
    if isinstance(t, TensorType):
        dims = "x".join(str(d) for d in t.get_shape())
        return f"tensor<{dims + 'x' if dims else ''}{t.get_element_type()}>"
    return str(t)
