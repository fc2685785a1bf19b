"""A fix to xDSL 0.74 that the project's text IR depends on, applied once on import.

`FloatAttr.parse_with_type`, which reads a float property whose type a declarative format
fixes (`npu.vec_dup`'s f64 scalar, the vector ops' scalars), accepts only float literals,
while xDSL's printer writes infinities and NaNs as hexadecimal bit patterns, as mlir-opt
does: a max pool's -inf padding printed by `ge-opt` did not parse back. xDSL's builtin
attribute parser already reads such a literal as the float's bits
(`parse_optional_builtin_int_or_float_attr`); this makes the typed path do the same.
Upstream: xdslproject/xdsl#3370 (its parsing half, #3378, is not merged).
"""

from __future__ import annotations

from xdsl.dialects.builtin import AnyFloat, FloatAttr, TypedAttribute
from xdsl.parser import AttrParser

_PARSE_FLOAT_ALONE = FloatAttr.parse_with_type


def _parse_with_type(parser: AttrParser, type: AnyFloat) -> TypedAttribute:
    """A float literal, or a hexadecimal literal read as the bits of a float of `type`."""
    if parser._current_token.text[:2] not in ("0x", "0X"):  # noqa: SLF001 (as xDSL's own)
        return _PARSE_FLOAT_ALONE(parser, type)
    bits = parser.parse_integer(allow_boolean=False, allow_negative=False)
    raw = bits.to_bytes(type.compile_time_size, "little")
    return FloatAttr(next(type.iter_unpack(raw)), type)


FloatAttr.parse_with_type = staticmethod(_parse_with_type)  # type: ignore[method-assign]
