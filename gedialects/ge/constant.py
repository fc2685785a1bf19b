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
from collections.abc import Iterator

import numpy as np
from xdsl.dialects.builtin import BytesAttr, DenseIntOrFPElementsAttr, StringAttr, TensorType
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
from gedialects.ge.types import format_type, from_numpy_dtype, to_numpy_dtype

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
    """A dense attribute over the bytes of `array` (C order, native little-endian)."""
    array = np.asarray(array, order="C")  # ascontiguousarray would make rank 0 rank 1
    element = from_numpy_dtype(array.dtype)
    return DenseIntOrFPElementsAttr(
        TensorType(element, list(array.shape)), BytesAttr(array.tobytes())
    )


def dense_to_numpy(attr: DenseIntOrFPElementsAttr) -> np.ndarray:
    """The numpy array a dense attribute holds (read-only view of its bytes)."""
    dtype = to_numpy_dtype(attr.get_element_type())
    shape = tuple(attr.get_shape())
    data = np.frombuffer(attr.data.data, dtype=dtype)
    if data.size == 1 and int(np.prod(shape)) != 1:
        data = np.broadcast_to(data, shape)  # a splat
    return data.reshape(shape)


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()[:16]


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
        limit = elide_limit()
        if isinstance(self.value, StringAttr):
            printer.print_string("elided<")
            printer.print_attribute(self.value)
            printer.print_string(">")
        elif limit is not None and len(self.value) > limit:
            printer.print_string("elided<")
            printer.print_attribute(StringAttr(digest(self.value.data.data)))
            printer.print_string(">")
        else:
            printer.print_attribute(self.value)  # prints its own `: type`
            return
        printer.print_string(" : ")
        printer.print_attribute(self.output.type)

    @classmethod
    def parse(cls, parser: Parser) -> ConstantOp:
        if parser.parse_optional_keyword("elided"):
            parser.parse_punctuation("<")
            tag = parser.parse_str_literal()
            parser.parse_punctuation(">")
            parser.parse_punctuation(":")
            result_type = parser.parse_type()
            return cls.create(properties={"value": StringAttr(tag)}, result_types=[result_type])
        pos = parser.pos
        value = parser.parse_attribute()
        if not isinstance(value, DenseIntOrFPElementsAttr):
            parser.raise_error("'ge.constant' expects a dense<...> value", pos, parser.pos)
        return cls(value)
