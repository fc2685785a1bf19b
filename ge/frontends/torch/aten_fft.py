"""torch.fft's forward transforms (fft, fft2, fftn, their rfft forms, and core aten's
_fft_r2c / _fft_c2c; FNet mixes tokens with `fftn(x).real`) as matmuls by constant cosine
and sine bases, one per transformed axis.

ge has no complex element type: a transform's result is a `ComplexValue` (real and
imaginary parts), which only `real` and `imag` take apart; any other use of it is refused
by the op that meets it. Along an axis of n points with W = C - iS (C[j, k] =
cos(2 pi jk / n), S likewise, scaled by `norm`), (A + iB) W = (AC + BS) + i(BC - AS).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from xdsl.ir import SSAValue

from ge.frontends.onnx.convert_fourier import MAX_BASIS
from ge.frontends.torch.convert import ComplexValue, Converter, dtype_of, op_key
from ge.frontends.torch.table import converts
from gedialects.ge import ops as ge
from gedialects.ge.types import shape_of

SCALES = {None: lambda n: 1.0, "backward": lambda n: 1.0, "ortho": lambda n: n**-0.5}
SCALES["forward"] = lambda n: 1.0 / n


def _along(cx: Converter, x: SSAValue, axis: int, basis: np.ndarray) -> SSAValue:
    """x contracted with basis [n, n] along `axis` (the axis moved last and back)."""
    rank = len(shape_of(x.type))
    if axis == rank - 1:
        return cx.emit(ge.MatMulOp(x, cx.constant(basis)))
    perm = [d for d in range(rank) if d != axis] + [axis]
    moved = cx.emit(ge.MatMulOp(cx.emit(ge.TransposeOp(x, perm=perm)), cx.constant(basis)))
    return cx.emit(ge.TransposeOp(moved, perm=[int(p) for p in np.argsort(perm)]))


def _dft(cx: Converter, value: ComplexValue, axis: int, norm: str | None) -> ComplexValue:
    n = shape_of(value.re.type)[axis]
    if n * n > MAX_BASIS:  # the ONNX importer's bound on its DFT basis too
        raise cx.unsupported(f"a transform of {n} points is too large for a dense basis")
    k = np.arange(n)
    angle = 2 * np.pi * np.outer(k, k) / n
    scale = SCALES[norm](n)
    dtype = dtype_of(value.re)
    cos, sin = (np.asarray(f(angle) * scale, dtype) for f in (np.cos, np.sin))
    a_cos, a_sin = _along(cx, value.re, axis, cos), _along(cx, value.re, axis, -sin)
    if value.im is None:  # a real input: A C - i A S
        return ComplexValue(a_cos, a_sin)
    b_cos, b_sin = _along(cx, value.im, axis, cos), _along(cx, value.im, axis, sin)
    return ComplexValue(cx.emit(ge.AddOp(a_cos, b_sin)), cx.emit(ge.AddOp(b_cos, a_sin)))


@converts("fft_fftn", "fft_fft", "fft_fft2", "fft_rfft", "fft_rfftn", "fft_rfft2")
def fft(cx: Converter, a: dict[str, Any]) -> ComplexValue:
    x = a["self"]
    value = x if isinstance(x, ComplexValue) else ComplexValue(x, None)
    if not isinstance(value.re, SSAValue) or dtype_of(value.re).kind != "f":
        raise cx.unsupported("the input must be a real floating tensor or a transform's result")
    rank = len(shape_of(value.re.type))
    dims = a.get("dim")  # fft: -1, fft2: [-2, -1] by their schemas; fftn: every axis
    dims = [dims] if isinstance(dims, int) else list(range(rank)) if dims is None else dims
    sizes = a.get("s", a.get("n"))
    sizes = [sizes] if isinstance(sizes, int) else sizes
    axes = [d % rank for d in dims]
    if sizes is not None and list(sizes) != [shape_of(value.re.type)[d] for d in axes]:
        raise cx.unsupported(f"sizes {list(sizes)} other than the axes' own (padding, cropping)")
    if a.get("norm") not in SCALES:
        raise cx.unsupported(f"norm '{a.get('norm')}'")
    for axis in axes:
        value = _dft(cx, value, axis, a.get("norm"))
    return _onesided(cx, value, axes[-1]) if op_key(cx.node.target).startswith("fft_r") else value


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
    if want_real or x.im is not None:
        return x.re if want_real else x.im
    return cx.emit(ge.MulOp(x.re, cx.scalar(0, dtype_of(x.re))))


@converts("view_as_real")
def view_as_real(cx: Converter, a: dict[str, Any]) -> SSAValue:
    """The parts stacked on a new last axis (what functionalized `.real` / `.imag` select)."""
    x = a["self"]
    if not isinstance(x, ComplexValue):
        raise cx.unsupported("view_as_real of a tensor no fft converter made")
    shape = list(shape_of(x.re.type))
    im = x.im if x.im is not None else cx.emit(ge.MulOp(x.re, cx.scalar(0, dtype_of(x.re))))
    parts = [cx.reshape(p, [*shape, 1]) for p in (x.re, im)]
    return cx.emit(ge.ConcatOp(*parts, axis=len(shape)))


NORMALIZATION = {0: "backward", 1: "ortho", 2: "forward"}
"""Core aten's `normalization` codes -> torch.fft's `norm` (1/1, 1/sqrt(n), 1/n)."""


@converts("_fft_r2c", "_fft_c2c")
def fft_core(cx: Converter, a: dict[str, Any]) -> ComplexValue:
    """The core-aten forms: a forward transform over `dim`; r2c keeps the first n // 2 + 1
    bins of the last axis when `onesided` (the others mirror them)."""
    x = a["self"]
    value = x if isinstance(x, ComplexValue) else ComplexValue(x, None)
    if not a.get("forward", True):
        raise cx.unsupported("inverse transforms")
    norm, rank = NORMALIZATION[a["normalization"]], len(shape_of(value.re.type))
    axes = [d % rank for d in a["dim"]]
    for axis in axes:
        value = _dft(cx, value, axis, norm)
    return _onesided(cx, value, axes[-1]) if a.get("onesided") else value
