"""The project's own error types: every error a user can cause is one of these.

They derive from xDSL's `DiagnosticException`, so `xdsl-opt`-style drivers print them as
diagnostics; the commands print `str(error)` as one line and exit 1.
"""

from __future__ import annotations

from xdsl.utils.exceptions import DiagnosticException, VerifyException


class GeError(DiagnosticException):
    """Base of every error that a user of gedialects can cause."""


class GeVerifyError(VerifyException, GeError):
    """An op's operands, attributes or results are inconsistent (shape, dtype, space)."""


class UnsupportedError(GeError):
    """The input uses something gedialects does not implement (an ONNX op, a dtype)."""


class FrontendError(GeError):
    """A model file or module could not be read or imported."""


class InvalidModelError(FrontendError):
    """The model itself is invalid (onnx.checker refuses it), whatever its input sizes."""


class InterpretationError(GeError):
    """A program could not be executed (missing input, elided constant, bad access)."""
