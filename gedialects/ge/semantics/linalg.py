"""Reference semantics of matmul and the convolutions of `ge`."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from gedialects.ge import ops
from gedialects.ge.semantics.registry import reference, result_dtype


@reference(ops.MatMulOp)
def matmul(op: ops.MatMulOp, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.matmul(a, b).astype(result_dtype(op), copy=False)


def conv2d_nchw(
    x: np.ndarray,
    w: np.ndarray,
    strides: tuple[int, ...],
    pads: tuple[int, ...],
    dilations: tuple[int, ...],
    groups: int,
) -> np.ndarray:
    """Direct 2-D convolution: one GEMM per group on patches gathered tap by tap (f32/f64:
    `_conv_by_patches`), else window views and one contraction (im2col on the fly)."""
    n, c = x.shape[:2]
    o, cg, kh, kw = w.shape
    if x.dtype in _BLAS_TYPES and w.dtype in _BLAS_TYPES:
        return _conv_by_patches(_padded(x, pads), w, strides, dilations, groups)
    xp = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    span = (dilations[0] * (kh - 1) + 1, dilations[1] * (kw - 1) + 1)
    win = sliding_window_view(xp, span, axis=(2, 3))
    win = win[:, :, :: strides[0], :: strides[1], :: dilations[0], :: dilations[1]]
    if groups == 1:
        y = np.tensordot(win, w, axes=([1, 4, 5], [1, 2, 3]))  # N, OH, OW, O
        return np.ascontiguousarray(y.transpose(0, 3, 1, 2))
    oh, ow = win.shape[2:4]
    if cg == 1 and x.dtype != np.float16:  # depthwise (integers): a multiply-add per tap
        wg = w.reshape(groups, o // groups, kh, kw)
        y = np.zeros((n, groups, o // groups, oh, ow), np.result_type(x, w))
        for i in range(kh):
            for j in range(kw):
                y += win[:, :, None, :, :, i, j] * wg[None, :, :, i, j, None, None]
        return y.reshape(n, o, oh, ow)
    win = win.reshape(n, groups, cg, oh, ow, kh, kw)
    wg = w.reshape(groups, o // groups, cg, kh, kw)
    y = np.einsum("ngchwij,gocij->ngohw", win, wg, optimize=True)
    return y.reshape(n, o, oh, ow)


_BLAS_TYPES = (np.dtype(np.float32), np.dtype(np.float64))
"""Dtypes whose products numpy hands to BLAS (f16 and integers keep the contraction)."""


def _padded(x: np.ndarray, pads: tuple[int, ...]) -> np.ndarray:
    """`x` with zero rows and columns around its images (`x` itself when there are none)."""
    top, left, bottom, right = pads
    if not any(pads):
        return x
    n, c, h, w = x.shape
    xp = np.zeros((n, c, h + top + bottom, w + left + right), x.dtype)
    xp[:, :, top : top + h, left : left + w] = x
    return xp


def _conv_by_patches(
    xp: np.ndarray,
    w: np.ndarray,
    strides: tuple[int, ...],
    dilations: tuple[int, ...],
    groups: int,
) -> np.ndarray:
    """The convolution of the padded input `xp` as W (groups, O/g, C/g*kh*kw) @ patches
    (N, groups, C/g*kh*kw, OH*OW), whose product is already NCHW. The patches are gathered
    one tap at a time from strided views of `xp` (each a copy of whole rows), in the (c, kh,
    kw) order of W's own memory, so neither the weights nor the result are rearranged: ~3x
    faster than a contraction of a 6-D window view, which numpy copies element by element."""
    n, c, hp, wp = xp.shape
    o, cg, kh, kw = w.shape
    (sh, sw), (dh, dw) = strides, dilations
    oh, ow = (hp - dh * (kh - 1) - 1) // sh + 1, (wp - dw * (kw - 1) - 1) // sw + 1
    k = cg * kh * kw
    if (kh, kw, sh, sw) == (1, 1, 1, 1):  # pointwise: the image is its own patch matrix
        y = np.matmul(w.reshape(groups, o // groups, k), xp.reshape(n, groups, k, oh * ow))
        return y.reshape(n, o, oh, ow)
    band = max(1, PATCH_BYTES // (n * c * kh * kw * ow * xp.dtype.itemsize))
    if band >= oh:
        return _patch_product(xp, w, strides, dilations, groups, 0, oh, ow)
    y = np.empty((n, o, oh, ow), np.result_type(xp, w))
    for top in range(0, oh, band):
        rows = min(band, oh - top)
        y[:, :, top : top + rows] = _patch_product(xp, w, strides, dilations, groups, top, rows, ow)
    return y


PATCH_BYTES = 256 * 2**20
"""The most bytes of patches `_conv_by_patches` gathers at once: a band of output rows at a
time beyond it (a 32 -> 3 9x9 conv on a 1024x1024 image has 10 GiB of patches)."""


def _patch_product(xp, w, strides, dilations, groups, top, oh, ow) -> np.ndarray:  # noqa: ANN001
    """Output rows [top, top + oh) of `_conv_by_patches`."""
    n, c = xp.shape[:2]
    o, cg, kh, kw = w.shape
    (sh, sw), (dh, dw) = strides, dilations
    k = cg * kh * kw
    patches = np.empty((n, c, kh * kw, oh, ow), xp.dtype)
    for i in range(kh):
        for j in range(kw):
            start = i * dh + top * sh
            rows = slice(start, start + sh * (oh - 1) + 1, sh)
            cols = slice(j * dw, j * dw + sw * (ow - 1) + 1, sw)
            patches[:, :, i * kw + j] = xp[:, :, rows, cols]
    y = np.matmul(w.reshape(groups, o // groups, k), patches.reshape(n, groups, k, oh * ow))
    return y.reshape(n, o, oh, ow)


@reference(ops.Conv2DOp)
def conv2d(op: ops.Conv2DOp, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None):
    y = conv2d_nchw(
        x, w, op.ints("strides"), op.ints("pads"), op.ints("dilations"), op.get_int("groups")
    )
    if b is not None:
        bias = b.reshape(1, -1, 1, 1)
        if np.result_type(y, bias) == y.dtype:
            y += bias  # the product is this call's own array: no second one
        else:
            y = y + bias
    return y.astype(result_dtype(op), copy=False)


@reference(ops.ConvTranspose2DOp)
def conv_transpose2d(
    op: ops.ConvTranspose2DOp, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None
) -> np.ndarray:
    n, c, h, wd = x.shape
    _, og, kh, kw = w.shape
    g = op.get_int("groups")
    (sh, sw), (dh, dw) = op.ints("strides"), op.ints("dilations")
    pads, outpad = op.ints("pads"), op.ints("output_padding")
    full_h = sh * (h - 1) + outpad[0] + (kh - 1) * dh + 1
    full_w = sw * (wd - 1) + outpad[1] + (kw - 1) * dw + 1
    out = np.zeros((n, g, og, full_h, full_w), dtype=np.float64)
    xg = x.reshape(n, g, c // g, h, wd).astype(np.float64)
    wg = w.reshape(g, c // g, og, kh, kw).astype(np.float64)
    for i in range(kh):
        for j in range(kw):
            contrib = np.einsum("ngchw,gco->ngohw", xg, wg[:, :, :, i, j])
            out[:, :, :, i * dh : i * dh + sh * (h - 1) + 1 : sh,
                j * dw : j * dw + sw * (wd - 1) + 1 : sw] += contrib  # fmt: skip
    out = out.reshape(n, g * og, full_h, full_w)
    out = out[:, :, pads[0] : full_h - pads[2], pads[1] : full_w - pads[3]]
    if b is not None:
        out = out + b.reshape(1, -1, 1, 1)
    return out.astype(result_dtype(op))
