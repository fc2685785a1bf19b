"""The `npu` buffer type, memory spaces, data formats, pipes and the legal transfer paths.

A buffer is written `!npu.buffer<64x128xf16, l1, FRACTAL_NZ>` (the format may be left out: ND).
Its shape is the *logical* shape of the data it holds: a `FRACTAL_NZ` buffer of 64x128 is a
64x128 matrix stored as 16x16 fractals. The format is a layout property the verifier and the
cost model use (cube operands must be fractal, fractal dims are multiples of 16, NC1HWC0 has C0 =
16); the interpreter addresses every buffer by logical indices. We chose this over builtin
memref with a memory space so the type reads as the hardware does (space and format side by
side) and so the format cannot be lost by a memref rewrite.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from xdsl.dialects.builtin import ArrayAttr, IntAttr, StringAttr
from xdsl.ir import Attribute, ParametrizedAttribute, TypeAttribute
from xdsl.irdl import irdl_attr_definition
from xdsl.parser import AttrParser
from xdsl.printer import Printer

from gedialects.errors import GeVerifyError
from gedialects.ge.types import to_numpy_dtype

SPACES: tuple[str, ...] = ("hbm", "l2", "l1", "l0a", "l0b", "l0c", "ub")
"""Memory spaces, from off-chip HBM to the buffers next to the compute units."""

ON_CHIP: frozenset[str] = frozenset({"l1", "l0a", "l0b", "l0c", "ub"})
"""Spaces private to one AI core; hbm and l2 are shared by the chip."""

FORMATS: tuple[str, ...] = ("ND", "NCHW", "NC1HWC0", "FRACTAL_Z", "FRACTAL_NZ")
FRACTAL = 16
"""Side of a cube fractal and the C0 block of NC1HWC0 (fp16)."""

PIPES: tuple[str, ...] = ("MTE2", "MTE1", "M", "V", "MTE3", "FIX", "S")
"""Instruction queues of one AI core, each with its own clock."""

PATH_PIPES: dict[tuple[str, str], str] = {
    ("hbm", "l1"): "MTE2",
    ("hbm", "ub"): "MTE2",
    ("l2", "l1"): "MTE2",
    ("l2", "ub"): "MTE2",
    ("l1", "l0a"): "MTE1",
    ("l1", "l0b"): "MTE1",
    ("l1", "ub"): "MTE1",
    ("l0c", "ub"): "FIX",
    ("l0c", "hbm"): "FIX",
    ("ub", "hbm"): "MTE3",
    ("ub", "l2"): "MTE3",
    ("ub", "l1"): "MTE3",
    ("ub", "ub"): "V",
}
"""Every transfer the DaVinci core can do, and the pipe that does it; a target gives rates."""

FORMAT_CHANGES: frozenset[tuple[str, str]] = frozenset(
    {("ND", "FRACTAL_NZ"), ("FRACTAL_NZ", "ND"), ("ND", "FRACTAL_Z")}
)
"""Layout changes a DMA may make on the way (nd2nz / nz2nd / weights to fractal_z)."""


@irdl_attr_definition
class BufferType(ParametrizedAttribute, TypeAttribute):
    """A static-shaped buffer of one element type in one memory space and data format."""

    name = "npu.buffer"

    shape: ArrayAttr[IntAttr]
    element_type: Attribute
    space: StringAttr
    format: StringAttr

    def __init__(
        self, shape: Sequence[int], element_type: Attribute, space: str, format: str = "ND"
    ):
        super().__init__(
            ArrayAttr([IntAttr(int(d)) for d in shape]),
            element_type,
            StringAttr(space),
            StringAttr(format),
        )

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        with parser.in_angle_brackets():
            dims, element = parser.parse_ranked_shape()
            parser.parse_punctuation(",")
            space = parser.parse_identifier("memory space")
            fmt = "ND"
            if parser.parse_optional_punctuation(","):
                fmt = parser.parse_identifier("data format")
        return (ArrayAttr([IntAttr(d) for d in dims]), element, StringAttr(space), StringAttr(fmt))

    def print_parameters(self, printer: Printer) -> None:
        printer.print_string("<")
        for d in self.dims:
            printer.print_string(f"{d}x")
        printer.print_attribute(self.element_type)
        printer.print_string(f", {self.space.data}")
        if self.format.data != "ND":
            printer.print_string(f", {self.format.data}")
        printer.print_string(">")

    def verify(self) -> None:
        super().verify()
        where = f"buffer type {self}"
        if self.space.data not in SPACES:
            raise GeVerifyError(f"{where}: memory space must be one of {SPACES}")
        if self.format.data not in FORMATS:
            raise GeVerifyError(f"{where}: data format must be one of {FORMATS}")
        if any(d <= 0 for d in self.dims):
            raise GeVerifyError(f"{where}: every dimension must be positive")
        try:
            to_numpy_dtype(self.element_type)
        except TypeError:
            raise GeVerifyError(f"{where}: unsupported element type") from None
        _check_format(self.format.data, self.dims, where)

    @property
    def dims(self) -> tuple[int, ...]:
        return tuple(d.data for d in self.shape.data)

    @property
    def space_name(self) -> str:
        return self.space.data

    @property
    def format_name(self) -> str:
        return self.format.data

    @property
    def dtype(self) -> np.dtype:
        return to_numpy_dtype(self.element_type)

    @property
    def num_elements(self) -> int:
        return math.prod(self.dims)

    @property
    def nbytes(self) -> int:
        return self.num_elements * self.dtype.itemsize


def _check_format(fmt: str, dims: tuple[int, ...], where: str) -> None:
    """The shape rules of each data format, in logical dims."""
    if fmt in ("FRACTAL_NZ", "FRACTAL_Z"):
        if len(dims) < 2 or dims[-1] % FRACTAL or dims[-2] % FRACTAL:
            raise GeVerifyError(f"{where}: {fmt} needs its last two dims multiples of {FRACTAL}")
    elif fmt == "NC1HWC0":
        if len(dims) != 5 or dims[-1] != FRACTAL:
            raise GeVerifyError(f"{where}: NC1HWC0 is 5-D with C0 = {FRACTAL}")
    elif fmt == "NCHW" and len(dims) != 4:
        raise GeVerifyError(f"{where}: NCHW is 4-D")


def buffer_type(value_type: Attribute, what: str) -> BufferType:
    """`value_type` as a buffer type, or a verify error naming `what`."""
    if not isinstance(value_type, BufferType):
        raise GeVerifyError(f"{what} must be an !npu.buffer, got {value_type}")
    return value_type


def aligned(nbytes: int, alignment: int) -> int:
    return -(-nbytes // alignment) * alignment
