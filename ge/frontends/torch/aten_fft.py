"""torch.fft's transforms (fft, fft2, fftn, their inverses, the rfft and irfft forms, and
core aten's _fft_r2c / _fft_c2c / _fft_c2r; FNet mixes tokens with `fftn(x).real`, a
Fourier neural operator goes through rfft2 and irfft2) as matmuls by constant cosine and
sine bases, one per transformed axis.

ge has no complex element type: a transform's result is a `ComplexValue` (real and
imaginary parts), which `complex_values` carries through views, products and slices and
`real` / `imag` take apart. Along an axis of n points with W = C - iS (C[j, k] =
cos(2 pi jk / n), S likewise, scaled by `norm`), (A + iB) W = (AC + BS) + i(BC - AS); the
inverse takes W = C + iS. A real inverse (irfft) of m one-sided bins to n points sums each
bin with its mirror: y = Re X Cr + Im X Ci, Cr[k, t] = w_k cos(2 pi kt / n), Ci = -w_k sin,
w_k 1 for the bins with no mirror (0 and n / 2), 2 for the others, 0 past n / 2.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from xdsl.ir import SSAValue

from ge.frontends.onnx.convert_fourier import MAX_BASIS
from ge.frontends.torch.complex_values import COMPLEX_AWARE, imaginary_part
from ge.frontends.torch.convert import ComplexValue, Converter, dtype_of, op_key
from ge.frontends.torch.table import converts
from gedialects.ge import ops as ge
from gedialects.ge.types import shape_of

SCALES = {None: lambda n: 1.0, "backward": lambda n: 1.0, "ortho": lambda n: n**-0.5}
SCALES["forward"] = lambda n: 1.0 / n
INVERSE_SCALES = {None: SCALES["forward"], "backward": SCALES["forward"]}
INVERSE_SCALES |= {"ortho": SCALES["ortho"], "forward": SCALES["backward"]}
"""torch.fft's `norm` -> the factor of a forward (inverse) transform of n points."""


def _along(cx: Converter, x: SSAValue, axis: int, basis: np.ndarray) -> SSAValue:
    """x contracted with basis [n, n] along `axis` (the axis moved last and back)."""
    rank = len(shape_of(x.type))
    if axis == rank - 1:
        return cx.emit(ge.MatMulOp(x, cx.constant(basis)))
    perm = [d for d in range(rank) if d != axis] + [axis]
    moved = cx.emit(ge.MatMulOp(cx.emit(ge.TransposeOp(x, perm=perm)), cx.constant(basis)))
    return cx.emit(ge.TransposeOp(moved, perm=[int(p) for p in np.argsort(perm)]))


def _check_size(cx: Converter, n: int) -> None:
    if n * n > MAX_BASIS:  # the ONNX importer's bound on its DFT basis too
        raise cx.unsupported(f"a transform of {n} points is too large for a dense basis")


def _dft(
    cx: Converter, value: ComplexValue, axis: int, scale: Callable[[int], float], inverse: bool
) -> ComplexValue:
    n = shape_of(value.re.type)[axis]
    _check_size(cx, n)
    k = np.arange(n)
    angle = 2 * np.pi * np.outer(k, k) / n
    dtype = dtype_of(value.re)
    sign = 1.0 if inverse else -1.0
    cos, sin = (np.asarray(f(angle) * scale(n), dtype) for f in (np.cos, np.sin))
    a_cos, a_sin = _along(cx, value.re, axis, cos), _along(cx, value.re, axis, sign * sin)
    if value.im is None:  # a real input: A C -+ i A S
        return ComplexValue(a_cos, a_sin)
    b_cos, b_sin = _along(cx, value.im, axis, cos), _along(cx, value.im, axis, -sign * sin)
    return ComplexValue(cx.emit(ge.AddOp(a_cos, b_sin)), cx.emit(ge.AddOp(b_cos, a_sin)))


def _c2r(cx: Converter, value: ComplexValue, axis: int, n: int, scale: float) -> SSAValue:
    """The real signal of n points whose one-sided spectrum along `axis` is `value`."""
    m = shape_of(value.re.type)[axis]
    _check_size(cx, max(m, n))
    k, t = np.arange(m)[:, None], np.arange(n)[None, :]
    weight = np.where((k == 0) | (2 * k == n), 1.0, np.where(2 * k < n, 2.0, 0.0))
    angle = 2 * np.pi * k * t / n
    dtype = dtype_of(value.re)
    y = _along(cx, value.re, axis, np.asarray(weight * np.cos(angle) * scale, dtype))
    if value.im is None:
        return y
    im = _along(cx, value.im, axis, np.asarray(-weight * np.sin(angle) * scale, dtype))
    return cx.emit(ge.AddOp(y, im))


def _as_complex(cx: Converter, x: Any) -> ComplexValue:
    value = x if isinstance(x, ComplexValue) else ComplexValue(x, None)
    if not isinstance(value.re, SSAValue) or dtype_of(value.re).kind != "f":
        raise cx.unsupported("the input must be a real floating tensor or a complex one")
    return value


def _axes_and_sizes(cx: Converter, a: dict[str, Any], rank: int) -> tuple[list[int], Any]:
    dims = a.get("dim")  # fft: -1, fft2: [-2, -1] by their schemas; fftn: every axis
    dims = [dims] if isinstance(dims, int) else list(range(rank)) if dims is None else dims
    sizes = a.get("s", a.get("n"))
    sizes = [sizes] if isinstance(sizes, int) else sizes
    if a.get("norm") not in SCALES:
        raise cx.unsupported(f"norm '{a.get('norm')}'")
    return [d % rank for d in dims], sizes


def _own_sizes(cx: Converter, sizes: Any, shape: tuple, axes: list[int]) -> None:
    if sizes is not None and list(sizes) != [shape[d] for d in axes]:
        raise cx.unsupported(f"sizes {list(sizes)} other than the axes' own (padding, cropping)")


TRANSFORMS = ("fft_fftn", "fft_fft", "fft_fft2", "fft_rfft", "fft_rfftn", "fft_rfft2")
TRANSFORMS += ("fft_ifftn", "fft_ifft", "fft_ifft2")
REAL_INVERSES = ("fft_irfft", "fft_irfft2", "fft_irfftn")
CORE = ("_fft_r2c", "_fft_c2c")


@converts(*TRANSFORMS)
def fft(cx: Converter, a: dict[str, Any]) -> ComplexValue:
    value = _as_complex(cx, a["self"])
    key = op_key(cx.node.target)
    inverse = key.startswith("fft_i")
    if key.startswith("fft_r") and value.im is not None:
        raise cx.unsupported("rfft of a complex tensor")
    shape = shape_of(value.re.type)
    axes, sizes = _axes_and_sizes(cx, a, len(shape))
    _own_sizes(cx, sizes, shape, axes)
    scale = (INVERSE_SCALES if inverse else SCALES)[a.get("norm")]
    for axis in axes:
        value = _dft(cx, value, axis, scale, inverse)
    return _onesided(cx, value, axes[-1]) if key.startswith("fft_r") else value


@converts(*REAL_INVERSES)
def irfft(cx: Converter, a: dict[str, Any]) -> SSAValue:
    """Inverse transforms over every axis but the last, then the real inverse of the last
    one's one-sided bins to n points (s[-1], or 2 (m - 1) of m bins)."""
    value = _as_complex(cx, a["self"])
    shape = shape_of(value.re.type)
    axes, sizes = _axes_and_sizes(cx, a, len(shape))
    if sizes is not None:
        _own_sizes(cx, list(sizes)[:-1], shape, axes[:-1])
    n = list(sizes)[-1] if sizes is not None else 2 * (shape[axes[-1]] - 1)
    scale = INVERSE_SCALES[a.get("norm")]
    for axis in axes[:-1]:
        value = _dft(cx, value, axis, scale, inverse=True)
    return _c2r(cx, value, axes[-1], n, scale(n))


def _onesided(cx: Converter, value: ComplexValue, axis: int) -> ComplexValue:
    """The first n // 2 + 1 bins along `axis` (a real input's others mirror them)."""
    n = shape_of(value.re.type)[axis]
    keep = {"starts": [0], "ends": [n // 2 + 1], "axes": [axis], "steps": [1]}
    return ComplexValue(*(cx.emit(ge.SliceOp(p, **keep)) for p in (value.re, value.im)))


@converts("real", "imag")
def real(cx: Converter, a: dict[str, Any]) -> SSAValue:
    x, want_real = a["self"], op_key(cx.node.target) == "real"
    if not isinstance(x, ComplexValue):
        if want_real:
            return x
        raise cx.unsupported("the imaginary part of a real tensor")
    return x.re if want_real else imaginary_part(cx, x)


@converts("view_as_real")
def view_as_real(cx: Converter, a: dict[str, Any]) -> SSAValue:
    """The parts stacked on a new last axis (what functionalized `.real` / `.imag` select)."""
    x = a["self"]
    if not isinstance(x, ComplexValue):
        raise cx.unsupported("view_as_real of a tensor no fft converter made")
    shape = list(shape_of(x.re.type))
    parts = [cx.reshape(p, [*shape, 1]) for p in (x.re, imaginary_part(cx, x))]
    return cx.emit(ge.ConcatOp(*parts, axis=len(shape)))


CODE_SCALES = {0: SCALES["backward"], 1: SCALES["ortho"], 2: SCALES["forward"]}
"""Core aten's `normalization` codes -> the factor of a transform of n points (none,
1/sqrt(n), 1/n), forward or inverse alike."""


def _code_scale(cx: Converter, code: int) -> Callable[[int], float]:
    if code not in CODE_SCALES:
        raise cx.unsupported(f"normalization {code}")
    return CODE_SCALES[code]


@converts(*CORE)
def fft_core(cx: Converter, a: dict[str, Any]) -> ComplexValue:
    """The core-aten forms: a transform over `dim` (c2c: inverse unless `forward`); r2c
    keeps the first n // 2 + 1 bins of the last axis when `onesided` (the others mirror)."""
    value = _as_complex(cx, a["self"])
    scale, rank = _code_scale(cx, a["normalization"]), len(shape_of(value.re.type))
    axes = [d % rank for d in a["dim"]]
    inverse = not a.get("forward", True)
    for axis in axes:
        value = _dft(cx, value, axis, scale, inverse)
    return _onesided(cx, value, axes[-1]) if a.get("onesided") else value


@converts("_fft_c2r")
def fft_c2r(cx: Converter, a: dict[str, Any]) -> SSAValue:
    """Core aten's real inverse: inverse over `dim` but the last, then its one-sided bins
    to `last_dim_size` points."""
    value = _as_complex(cx, a["self"])
    scale, rank = _code_scale(cx, a["normalization"]), len(shape_of(value.re.type))
    axes = [d % rank for d in a["dim"]]
    for axis in axes[:-1]:
        value = _dft(cx, value, axis, scale, inverse=True)
    n = a["last_dim_size"]
    return _c2r(cx, value, axes[-1], n, scale(n))


COMPLEX_AWARE.update(
    {*TRANSFORMS, *REAL_INVERSES, *CORE, "_fft_c2r", "real", "imag", "view_as_real"}
)
