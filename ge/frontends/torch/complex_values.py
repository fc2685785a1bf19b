"""Complex tensors in the torch frontend, as pairs of real ones.

ge has no complex element type. A complex tensor (a transform's result, a complex
parameter, `torch.zeros(..., dtype=torch.cfloat)`) is a `ComplexValue` of its real and
imaginary parts, and an aten op that meets one is converted here before its table entry:

- ops linear in their tensors and blind to values (views, slices, joins, scatters of
  slices, add, sub, neg, where) run once per part (`PER_PART`); a real floating operand
  beside a complex one is the real part of a complex value (zeros in the imaginary pass),
  an integer or boolean one (indices, masks) is passed to both;
- products (mul, the matmuls, einsum) take (a + ib)(c + id) = (ac - bd) + i(ad + bc), each
  term a call of the real converter; a real factor scales both parts;
- abs is sqrt(re^2 + im^2), conj negates the imaginary part;
- the fft converters and real / imag / view_as_real take complex values themselves
  (`COMPLEX_AWARE`). Any other op meeting a complex value is refused by name.

Spectral models need this: a Fourier neural operator multiplies the rfft2 of its input by
complex weights (einsum), writes the product into a zero spectrum (slice_scatter) and
inverts it (irfft2); Whisper-style front ends take abs() ** 2 of an STFT.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from xdsl.ir import SSAValue

from ge.frontends.torch.convert import ComplexValue, Converter, dtype_of
from gedialects.ge import ops as ge
from gedialects.ge.types import shape_of

Handler = Callable[[Converter, dict[str, Any]], Any]

PER_PART = frozenset(
    {
        "view", "_unsafe_view", "reshape", "permute", "transpose", "t", "unsqueeze", "squeeze",
        "expand", "slice", "select",
        "narrow", "cat", "stack", "slice_scatter", "select_scatter", "index_select", "flip",
        "roll", "add", "sub", "neg", "where", "split", "split_with_sizes", "chunk", "unbind",
        "repeat", "index", "flatten", "unflatten", "movedim", "copy", "zeros_like",
        "new_zeros", "view_copy", "slice_copy", "select_copy", "expand_copy", "mT", "sum",
        "mean", "cumsum", "constant_pad_nd", "pad",
    }
)  # fmt: skip
"""Ops computed on each part alone: f(re + i im) = f(re) + i f(im)."""

SAME_VALUE = frozenset(
    {"clone", "contiguous", "alias", "lift_fresh_copy", "detach", "_to_copy", "to"}
)
"""Ops whose result is their complex operand (copies, and casts to another complex type)."""

COMPLEX_ONLY = frozenset({"conj", "_conj", "conj_physical", "resolve_conj", "resolve_neg"})
"""Ops with no converter of their own: they only mean something on complex values."""

COMPLEX_AWARE: set[str] = set()
"""Converters that take `ComplexValue` operands themselves (the fft family, real, imag)."""

PRODUCTS = {
    "mul": ("self", "other"),
    "mm": ("self", "mat2"),
    "bmm": ("self", "mat2"),
    "matmul": ("self", "other"),
    "einsum": (("tensors", 0), ("tensors", 1)),
}
"""Bilinear ops and where their two factors are among the arguments."""


def _leaves(value: Any) -> Iterator[Any]:
    """The values in (nested) argument dicts, lists and tuples."""
    if isinstance(value, dict):
        value = value.values()
    elif not isinstance(value, list | tuple):
        yield value
        return
    for item in value:
        yield from _leaves(item)


def has_complex(value: Any) -> bool:
    """Whether a complex tensor or a python complex number is among `value`'s leaves."""
    return any(isinstance(v, ComplexValue | complex) for v in _leaves(value))


def convert_complex(cx: Converter, key: str, handler: Handler | None, args: dict[str, Any]) -> Any:
    """The converted op when a complex value is among `args`; `NotImplemented` when there is
    none or its converter handles complex values itself."""
    if key in COMPLEX_ONLY and not has_complex(args):  # conj of a real tensor
        return args["self"]
    if key in COMPLEX_AWARE or not has_complex(args):
        return NotImplemented
    assert handler is not None or key in COMPLEX_ONLY
    if key in PRODUCTS:
        return _product(cx, handler, args, PRODUCTS[key])
    if key == "div":
        if has_complex(args.get("other")):
            raise cx.unsupported("division by a complex tensor")
        return _scaled(cx, handler, args, "self", args["self"])
    if key == "abs":
        x = args["self"]
        if x.im is None:
            return handler(cx, {**args, "self": x.re})
        square = [cx.emit(ge.MulOp(p, p)) for p in (x.re, x.im)]
        return cx.emit(ge.SqrtOp(cx.emit(ge.AddOp(*square))))
    if key in ("conj", "conj_physical", "_conj"):
        x = args["self"]
        return ComplexValue(x.re, None if x.im is None else cx.emit(ge.NegOp(x.im)))
    if key in SAME_VALUE or key in ("resolve_conj", "resolve_neg"):
        if key in ("_to_copy", "to") and not _stays_complex(cx):
            raise cx.unsupported("a complex tensor cast to a real type (take .real or .abs())")
        return args["self"]
    if key in PER_PART:
        return per_part(cx, handler, args, key)
    if key in ("mH", "adjoint"):  # the conjugate transpose
        flipped = per_part(cx, handler, args, key)
        return ComplexValue(
            flipped.re, None if flipped.im is None else cx.emit(ge.NegOp(flipped.im))
        )
    raise cx.unsupported(
        "a complex operand (ge has no complex element type; supported: "
        f"{', '.join(sorted(PER_PART | set(PRODUCTS) | {'abs', 'div', 'conj'}))})"
    )


ADDITIVE = frozenset({"add", "sub", "where", "constant_pad_nd", "pad"})
"""Per-part ops whose number arguments are values added in or written (zero in the
imaginary pass: a pad's value), not sizes or positions."""


def _stays_complex(cx: Converter) -> bool:
    return bool(cx.meta().is_complex())


def per_part(cx: Converter, handler: Handler, args: dict[str, Any], key: str) -> Any:
    """`handler` on the real parts, then on the imaginary ones (None when all are zero)."""
    re = handler(cx, _map(args, lambda c: c.re, lambda v: v.real if isinstance(v, complex) else v))
    leaves = list(_leaves(args))
    if all(v.im is None for v in leaves if isinstance(v, ComplexValue)) and not any(
        isinstance(v, complex) for v in leaves
    ):
        return _pair(re, None)
    im_args = _map(args, lambda c: imaginary_part(cx, c), lambda v: _zero_if_data(cx, v))
    if key in ADDITIVE:  # numbers added in: their imaginary parts
        im_args = {k: v if k == "alpha" else _imag_number(v) for k, v in im_args.items()}
    return _pair(re, handler(cx, im_args))


def _imag_number(value: Any) -> Any:
    if isinstance(value, complex):
        return value.imag
    if isinstance(value, int | float) and not isinstance(value, bool):
        return 0.0
    return value


def _pair(re: Any, im: Any) -> Any:
    """Results of the two passes as complex values (several results: one each)."""
    if isinstance(re, tuple | list):
        ims = im if im is not None else [None] * len(re)
        return type(re)(_pair(r, i) for r, i in zip(re, ims, strict=True))
    return ComplexValue(re, im)


def _product(cx: Converter, handler: Handler, args: dict[str, Any], where: tuple) -> Any:
    """(a + ib)(c + id) through the real converter: four products, or two with a real factor."""
    first, second = (_number_pair(_get(args, w)) for w in where)

    def times(x: Any, y: Any) -> Any:
        return handler(cx, _put(_put(args, where[0], x), where[1], y))

    if not isinstance(second, ComplexValue):
        return _scaled(cx, handler, args, where[0], first)
    if not isinstance(first, ComplexValue):
        return _scaled(cx, handler, args, where[1], second)
    if not isinstance(first.re, SSAValue) and not isinstance(second.re, SSAValue):
        raise cx.unsupported("a product of two complex numbers")
    a, b, c, d = first.re, first.im, second.re, second.im
    re = times(a, c)
    if b is not None and d is not None:
        re = cx.emit(ge.SubOp(re, times(b, d)))
    ims = [times(a, d) if d is not None else None, times(b, c) if b is not None else None]
    ims = [t for t in ims if t is not None]
    im = ims[0] if len(ims) == 1 else cx.emit(ge.AddOp(*ims)) if ims else None
    return ComplexValue(re, im)


def _number_pair(value: Any) -> Any:
    """A python complex number (x * 2j) as a pair of real numbers, like a complex tensor."""
    if isinstance(value, complex):
        return ComplexValue(value.real, value.imag or None)  # type: ignore[arg-type]
    return value


def _scaled(
    cx: Converter, handler: Handler, args: dict[str, Any], where: Any, x: ComplexValue
) -> ComplexValue:
    """A complex value `x` (at `where`) times, or over, real ones: each part on its own."""
    re = handler(cx, _put(args, where, x.re))
    return ComplexValue(re, None if x.im is None else handler(cx, _put(args, where, x.im)))


def imaginary_part(cx: Converter, value: ComplexValue) -> SSAValue:
    """`value`'s imaginary part, zeros of its shape where it has none."""
    return value.im if value.im is not None else _zeros_like(cx, value.re)


def _zero_if_data(cx: Converter, value: Any) -> Any:
    """A real floating tensor beside a complex one is a complex value's real part: its
    imaginary part is zero. Indices and masks (integers, booleans) stay as they are."""
    if isinstance(value, SSAValue) and dtype_of(value).kind == "f":
        return _zeros_like(cx, value)
    return value


def _zeros_like(cx: Converter, value: SSAValue) -> SSAValue:
    zero = cx.scalar(0, dtype_of(value))
    return cx.emit(ge.ExpandOp(zero, shape=list(shape_of(value.type))))


def _map(value: Any, on_complex: Callable, on_other: Callable) -> Any:
    if isinstance(value, ComplexValue):
        return on_complex(value)
    if isinstance(value, dict):
        return {k: _map(v, on_complex, on_other) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_map(v, on_complex, on_other) for v in value)
    return on_other(value)


def _get(args: dict[str, Any], where: Any) -> Any:
    if isinstance(where, tuple):
        return args[where[0]][where[1]]
    return args[where]


def _put(args: dict[str, Any], where: Any, value: Any) -> dict[str, Any]:
    if isinstance(where, tuple):
        items = list(args[where[0]])
        items[where[1]] = value
        return {**args, where[0]: items}
    return {**args, where: value}


def complex_constant(cx: Converter, array: np.ndarray) -> ComplexValue:
    """A complex array (a parameter, a folded complex zeros) as a constant per part."""
    real = np.dtype(np.float64 if array.dtype == np.complex128 else np.float32)
    imag = array.imag.astype(real)
    return ComplexValue(
        cx.constant(array.real.astype(real)), cx.constant(imag) if imag.any() else None
    )
