"""Byte sizes of tensor and buffer types, and GE's 512-byte alignment of HBM tensors."""

from __future__ import annotations

import numpy as np
from xdsl.ir import Attribute

from gedialects.ge.types import to_numpy_dtype

MEM_ALIGN_SIZE = 512
"""GE aligns every HBM tensor to 512 bytes."""


def align(size: int) -> int:
    """`size` rounded up to MEM_ALIGN_SIZE; an empty tensor still takes one block."""
    return max(-(-size // MEM_ALIGN_SIZE), 1) * MEM_ALIGN_SIZE


def dtype_of(t: Attribute) -> np.dtype:
    """The numpy dtype of a shaped type's elements (tensor or memref)."""
    return to_numpy_dtype(t.get_element_type())  # type: ignore[attr-defined]


def shape_of(t: Attribute) -> tuple[int, ...]:
    return tuple(int(d) for d in t.get_shape())  # type: ignore[attr-defined]


def nbytes(t: Attribute) -> int:
    """Unaligned bytes of a static shaped type, or of a scalar (an `scf.if` condition, a loop
    index: 8 bytes, a machine word, where numpy has no dtype for it)."""
    if not hasattr(t, "get_shape"):
        try:
            return to_numpy_dtype(t).itemsize
        except Exception:  # noqa: BLE001 (index and other scalar types without a dtype)
            return 8
    return int(np.prod(shape_of(t), dtype=np.int64)) * dtype_of(t).itemsize


def same_layout(a: Attribute, b: Attribute) -> bool:
    """Same shape and element width: one can be written elementwise over the other."""
    return shape_of(a) == shape_of(b) and dtype_of(a).itemsize == dtype_of(b).itemsize
