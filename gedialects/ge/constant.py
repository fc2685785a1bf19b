"""`ge.constant`: dense tensors built from numpy bytes, printed elided when large.

Weights are held as `DenseIntOrFPElementsAttr` over raw bytes (never Python lists). The
printer elides any constant with more than `elide_limit()` elements, as MLIR's
`--mlir-elide-elementsattrs-if-larger` does: the text keeps the type and a content digest
(`elided<"sha256:…">`), so elided IR stays readable, diffs and CSEs correctly, but cannot
be executed. `print_constants_in_full()` switches elision off; the full form is a hex
string that parses back bit-exactly.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import weakref
from collections.abc import Iterator

import numpy as np
from xdsl.dialects.builtin import (
    BytesAttr,
    DenseIntOrFPElementsAttr,
    Signedness,
    StringAttr,
    TensorType,
)
from xdsl.ir import Attribute
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    prop_def,
    result_def,
    traits_def,
)
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.traits import ConstantLike, Pure

from gedialects.errors import GeVerifyError, InterpretationError
from gedialects.ge.types import (
    SUPPORTED_ELEMENT_TYPES,
    format_type,
    from_numpy_dtype,
    is_float_dtype,
    is_integer,
    is_narrow,
    to_numpy_dtype,
)

DEFAULT_ELIDE_LIMIT = 64
_elide_limit: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "ge_elide_limit", default=DEFAULT_ELIDE_LIMIT
)


def elide_limit() -> int | None:
    """Constants with more elements than this print elided; None prints all in full."""
    return _elide_limit.get()


@contextlib.contextmanager
def constant_elision(limit: int | None) -> Iterator[None]:
    """Print constants larger than `limit` elements elided (None: never elide)."""
    token = _elide_limit.set(limit)
    try:
        yield
    finally:
        _elide_limit.reset(token)


def print_constants_in_full() -> contextlib.AbstractContextManager[None]:
    return constant_elision(None)


def dense_from_numpy(array: np.ndarray) -> DenseIntOrFPElementsAttr:
    """A dense attribute over the bytes of `array` (C order, native little-endian).

    `tobytes` copies a strided view (a folded transpose of a weight) into C order itself:
    making it contiguous first would copy a large weight twice."""
    array = np.asarray(array)
    element = from_numpy_dtype(array.dtype)
    if is_narrow(element) and is_integer(element):  # xDSL's byte: the value sign-extended
        unsigned = element.signedness.data == Signedness.UNSIGNED
        array = array.astype(np.uint8 if unsigned else np.int8)
    return DenseIntOrFPElementsAttr(
        TensorType(element, list(array.shape)), BytesAttr(array.tobytes(order="C"))
    )


def dense_to_numpy(attr: DenseIntOrFPElementsAttr) -> np.ndarray:
    """The numpy array a dense attribute holds (a read-only view of its bytes)."""
    dtype = to_numpy_dtype(attr.get_element_type())
    shape = tuple(attr.get_shape())
    if dtype == np.bool_:  # xDSL's parser stores `true` as 0xFF: normalize to 0 / 1
        raw = np.frombuffer(attr.data.data, dtype=np.uint8)
        data = raw.view(np.bool_) if raw.max(initial=0) <= 1 else raw != 0
        data.flags.writeable = False
    else:
        data = np.frombuffer(attr.data.data, dtype=dtype)
    if data.size == 1 and int(np.prod(shape)) != 1:
        data = np.broadcast_to(data, shape)  # a splat
    return data.reshape(shape)


LIST_LIMIT = 100
"""Up to this many elements print as a readable list when that is exact (xDSL's limit)."""


def print_dense(printer: Printer, attr: DenseIntOrFPElementsAttr) -> None:
    """Print `dense<...> : type` so that it parses back bit-exactly, and fast when large.

    xDSL's own printer turns every element into a Python value first (seconds for 10M
    elements), prints NaN / inf in list form as integers its parser reads back as numbers,
    and prints [0.0, -0.0] as the splat 0.0. Large data and these cases print as raw
    hex (one element's hex for a bit-level splat); small exact cases keep xDSL's list.
    """
    raw = attr.data.data
    count = int(np.prod(attr.get_shape(), dtype=np.int64))
    itemsize = to_numpy_dtype(attr.get_element_type()).itemsize
    bit_splat = count > 0 and _is_bit_splat(raw, itemsize)
    if count == 0 or (count <= LIST_LIMIT and _list_form_is_exact(attr, bit_splat)):
        printer.print_attribute(attr)
        return
    if bit_splat and _print_splat(printer, attr, raw[:itemsize]):
        return
    data = raw[:itemsize] if bit_splat else raw
    printer.print_string('dense<"0x')
    printer.print_string(data.hex())  # lower case: .upper() would double the time
    printer.print_string('"> : ')
    printer.print_attribute(attr.type)


def _is_bit_splat(raw: bytes, itemsize: int) -> bool:
    """Whether every element has the same bytes (compares two elements first: O(1) mostly)."""
    if len(raw) < itemsize:
        return False
    if len(raw) >= 2 * itemsize and raw[:itemsize] != raw[itemsize : 2 * itemsize]:
        return False
    return raw == raw[:itemsize] * (len(raw) // itemsize)


def _print_splat(printer: Printer, attr: DenseIntOrFPElementsAttr, element: bytes) -> bool:
    """Print `dense<value> : type` for a splat of a finite value; False if it cannot."""
    element_type = attr.get_element_type()
    dtype = to_numpy_dtype(element_type)
    (value,) = np.frombuffer(element, dtype=dtype)
    floating = is_float_dtype(dtype)
    if floating and not _short_float_is_exact(value):
        return False
    printer.print_string("dense<")
    if floating:
        printer.print_float(float(value), element_type)
    else:
        printer.print_int(int(value), element_type)
    printer.print_string("> : ")
    printer.print_attribute(attr.type)
    return True


def _list_form_is_exact(attr: DenseIntOrFPElementsAttr, bit_splat: bool) -> bool:
    """Whether xDSL's list (or splat) text of `attr` parses back to the same bits.

    xDSL prints a float as `%.5e` when that is lossless, else in forms its parser misreads
    (`1000001` becomes hex bits read back as an integer); NaN and inf likewise.
    """
    values = dense_to_numpy(attr)
    if is_float_dtype(values.dtype) and not all(map(_short_float_is_exact, values.ravel())):
        return False
    return bit_splat or not attr.is_splat()


def _short_float_is_exact(value: np.floating) -> bool:
    """Whether `value` is finite and its `%.5e` text (xDSL's usual form) is lossless."""
    if not np.isfinite(float(value)):
        return False
    short = np.asarray(float(f"{float(value):.5e}")).astype(value.dtype)
    return short.tobytes() == np.asarray(value).tobytes()


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()[:16]


_DIGESTS: dict[int, str] = {}
MEMO_BYTES = 1 << 16
"""Data from this size on has its digest kept while its attribute lives."""


def data_digest(attr: BytesAttr) -> str:
    """`digest(attr.data)`, computed once per attribute object: a model's weights are
    hashed for the compile cache's key, then for the cache entry's text and weights file
    (a second each for VGG-16's 528 MB)."""
    if len(attr.data) < MEMO_BYTES:
        return digest(attr.data)
    key = id(attr)
    known = _DIGESTS.get(key)
    if known is None:
        known = _DIGESTS[key] = digest(attr.data)
        weakref.finalize(attr, _DIGESTS.pop, key, None)
    return known


@irdl_op_definition
class ConstantOp(IRDLOperation):
    """A tensor constant; `value` is dense data or, after elided printing, a digest."""

    name = "ge.constant"
    value = prop_def(Attribute)
    output = result_def()
    traits = traits_def(Pure(), ConstantLike())

    def __init__(self, value: np.ndarray | DenseIntOrFPElementsAttr):
        attr = value if isinstance(value, DenseIntOrFPElementsAttr) else dense_from_numpy(value)
        super().__init__(properties={"value": attr}, result_types=[attr.type])

    @staticmethod
    def from_array(array: np.ndarray) -> ConstantOp:
        return ConstantOp(np.asarray(array))

    @property
    def is_elided(self) -> bool:
        return isinstance(self.value, StringAttr)

    def to_numpy(self) -> np.ndarray:
        if not isinstance(self.value, DenseIntOrFPElementsAttr):
            raise InterpretationError(
                f"'ge.constant' of type {format_type(self.output.type)} was printed elided "
                f"({self.value.data}); print IR in full to execute it"
            )
        return dense_to_numpy(self.value)

    def verify_(self) -> None:
        if isinstance(self.value, StringAttr):
            return
        if not isinstance(self.value, DenseIntOrFPElementsAttr):
            raise GeVerifyError("'ge.constant': value must be a dense elements attribute")
        if self.value.type != self.output.type:
            raise GeVerifyError(
                f"'ge.constant': value type {format_type(self.value.type)} does not match "
                f"result type {format_type(self.output.type)}"
            )

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        if not print_constant_value(printer, self.value):
            printer.print_string(" : ")
            printer.print_attribute(self.output.type)

    @classmethod
    def parse(cls, parser: Parser) -> ConstantOp:
        value = parse_constant_value(parser, cls.name)
        if isinstance(value, DenseIntOrFPElementsAttr):
            return cls(value)
        parser.parse_punctuation(":")
        return cls.create(properties={"value": value}, result_types=[parser.parse_type()])


def print_constant_value(printer: Printer, value: Attribute) -> bool:
    """Print a constant's data: `elided<"sha256:...">` when it was read elided or has more
    elements than `elide_limit()`, else `dense<...> : type` (`print_dense`). Returns whether
    what it printed carries the data's type (the dense form does, the elided one not).
    `ge.constant` and `npu.hbm_constant` both print their data so."""
    limit = elide_limit()
    if isinstance(value, StringAttr):
        tag = value
    elif isinstance(value, DenseIntOrFPElementsAttr) and limit is not None and len(value) > limit:
        tag = StringAttr(data_digest(value.data))
    else:
        print_dense(printer, value)  # prints its own `: type`
        return True
    printer.print_string("elided<")
    printer.print_attribute(tag)
    printer.print_string(">")
    return False


def parse_constant_value(parser: Parser, op_name: str) -> Attribute:
    """What `print_constant_value` printed: the digest (a `StringAttr`) of the elided form,
    else the dense attribute with its type."""
    if parser.parse_optional_keyword("elided"):
        parser.parse_punctuation("<")
        tag = parser.parse_str_literal()
        parser.parse_punctuation(">")
        return StringAttr(tag)
    pos = parser.pos
    value = _parse_dense(parser)
    if value is None:
        value = parser.parse_attribute()
    if not isinstance(value, DenseIntOrFPElementsAttr):
        parser.raise_error(f"'{op_name}' expects a dense<...> value", pos, parser.pos)
    return value


def _parse_dense(parser: Parser) -> DenseIntOrFPElementsAttr | None:
    """Parse `dense<...> : tensor<...>` faster than xDSL's generic path, or return None.

    The type is read first (the literal holds no `>`), so xDSL's literal parser skips the
    type check it rebuilds on every call (~7 ms per constant); hex data is decoded straight
    from the source, where xDSL's lexer slices and re-scans a long string several times
    (~5 s for 10M f32 elements).
    """
    token = parser._current_token  # xdsl is pinned (pyproject), so its internals hold
    if token.span.text != "dense":
        return None
    source, start = token.span.input.content, token.span.end
    text = (lambda s: s) if isinstance(source, str) else (lambda s: s.encode())
    close = source.find(text(">"), start)
    if close < 0:
        return None
    parser._resume_from(close + 1)
    parser.parse_punctuation(":")
    type_pos = parser.pos
    result_type = parser.parse_type()
    after = parser.pos
    if not isinstance(result_type, TensorType) or result_type.get_element_type() not in (
        SUPPORTED_ELEMENT_TYPES
    ):
        parser.raise_error("'ge.constant' expects a tensor of a ge element type", type_pos, after)
    if source.startswith(text('<"0x'), start):
        digits = source[start + 4 : source.find(text('"'), start + 4)]
        value = _hex_dense(parser, digits, result_type, (start, close + 1))
    else:
        parser._resume_from(start)
        value = parser.parse_dense_int_or_fp_elements_attr(result_type)
    parser._resume_from(after)
    return value


def _hex_dense(
    parser: Parser, digits: str | bytes, result_type: TensorType, span: tuple[int, int]
) -> Attribute:
    """The dense attribute of raw little-endian hex data (one element: a splat)."""
    try:
        data = bytes.fromhex(digits if isinstance(digits, str) else digits.decode("ascii"))
    except ValueError:
        parser.raise_error("'ge.constant' has invalid hex data", *span)
    count = int(np.prod(result_type.get_shape(), dtype=np.int64))
    itemsize = to_numpy_dtype(result_type.get_element_type()).itemsize
    if len(data) == itemsize and count != 1:
        data *= count
    if len(data) != count * itemsize:
        parser.raise_error(
            f"'ge.constant' has {len(data)} bytes of data, {format_type(result_type)} "
            f"needs {count * itemsize}",
            *span,
        )
    return DenseIntOrFPElementsAttr(result_type, BytesAttr(data))
