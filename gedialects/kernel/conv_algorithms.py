"""The four convolution algorithms, each a complete numpy implementation.

- `direct`: accumulate one kernel tap at a time (a shifted view times a weight column):
  what the vector unit does; takes every geometry, including groups and depthwise.
- `im2col`: unfold windows into a matrix and run one GEMM per group: what the cube does
  after the MTE1 img2col transfer; takes every geometry.
- `winograd_2x2`, `winograd_4x4`: Lavin's F(m×m, 3×3) for 3×3 kernels, stride 1, no
  dilation: input and output transforms (vector unit) around a batched GEMM over the
  (m+2)² tile positions (cube); the weight transform is done at compile time.
- `fft`: frequency-domain convolution for large kernels. On the NPU it runs on the cube as
  DFT matrix products (the cube is the only unit with the throughput, and a DFT of size n
  is an n×n GEMM); here numpy's FFT computes the same transform. Stride is applied by
  subsampling the stride-1 result and dilation by spreading the kernel, so it takes every
  geometry but is only cheap for large kernels.

Every algorithm declares what it cannot take (`unsupported_reason`), and is never chosen
for such a geometry. All compute in f32 for f16/f32 inputs (f64 for f64) and return
the input dtype.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from gedialects.ge.semantics.linalg import conv2d_nchw


@dataclass(frozen=True)
class ConvGeometry:
    n: int
    c: int
    h: int
    w: int
    o: int
    kh: int
    kw: int
    strides: tuple[int, int] = (1, 1)
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)
    dilations: tuple[int, int] = (1, 1)
    groups: int = 1

    @property
    def out_hw(self) -> tuple[int, int]:
        spans = [d * (k - 1) + 1 for d, k in zip(self.dilations, (self.kh, self.kw))]
        oh = (self.h + self.pads[0] + self.pads[2] - spans[0]) // self.strides[0] + 1
        ow = (self.w + self.pads[1] + self.pads[3] - spans[1]) // self.strides[1] + 1
        return oh, ow

    @property
    def is_depthwise(self) -> bool:
        return self.groups == self.c and self.groups > 1

    @property
    def macs(self) -> int:
        oh, ow = self.out_hw
        return self.n * self.o * oh * ow * (self.c // self.groups) * self.kh * self.kw

    @staticmethod
    def of(x_shape, w_shape, strides, pads, dilations, groups) -> ConvGeometry:
        n, c, h, w = x_shape
        o, _, kh, kw = w_shape
        return ConvGeometry(
            n, c, h, w, o, kh, kw, tuple(strides), tuple(pads), tuple(dilations), groups
        )


def _acc(x: np.ndarray) -> np.dtype:
    """The working precision: f32 for f16/f32 inputs (the cube accumulates in f32), else f64.

    Computing in f32, as the chip does, is what makes the algorithms' rounding differ
    (Winograd F(4x4) most), and what the per-algorithm tolerances are measured against.
    """
    return np.dtype(np.float64) if x.dtype == np.float64 else np.dtype(np.float32)


def _pad(x: np.ndarray, pads) -> np.ndarray:
    return np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))


def conv_direct(x, w, g: ConvGeometry) -> np.ndarray:
    """Sum over kernel taps of (shifted input window) × (weight column)."""
    acc = _acc(x)
    xp = _pad(x.astype(acc), g.pads)
    oh, ow = g.out_hw
    (sh, sw), (dh, dw) = g.strides, g.dilations
    cg, og = g.c // g.groups, g.o // g.groups
    xg = xp.reshape(g.n, g.groups, cg, *xp.shape[2:])
    wg = w.astype(acc).reshape(g.groups, og, cg, g.kh, g.kw)
    y = np.zeros((g.n, g.groups, og, oh, ow), acc)
    for i in range(g.kh):
        for j in range(g.kw):
            rows = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)
            cols = slice(j * dw, j * dw + sw * (ow - 1) + 1, sw)
            tap = xg[:, :, :, rows, cols]
            y += np.einsum("ngchw,goc->ngohw", tap, wg[:, :, :, i, j], optimize=True)
    return y.reshape(g.n, g.o, oh, ow).astype(x.dtype)


def conv_im2col(x, w, g: ConvGeometry) -> np.ndarray:
    """The patch matrix (rows: output pixels, columns: (c, kh, kw)) times the weights, in the
    working precision: the reference conv's own GEMM on patches (`conv2d_nchw`), which
    gathers the patch matrix tap by tap instead of copying a 6-D window view."""
    acc = _acc(x)
    y = conv2d_nchw(
        x.astype(acc, copy=False), w.astype(acc, copy=False), g.strides, g.pads, g.dilations,
        g.groups,
    )  # fmt: skip
    return y.astype(x.dtype, copy=False)


# Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks" (2016).
WINOGRAD = {
    2: (
        np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], np.float64),
        np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], np.float64),
        np.array([[1, 1, 1, 0], [0, 1, -1, -1]], np.float64),
    ),
    4: (
        np.array(
            [
                [4, 0, -5, 0, 1, 0],
                [0, -4, -4, 1, 1, 0],
                [0, 4, -4, -1, 1, 0],
                [0, -2, -1, 2, 1, 0],
                [0, 2, -1, -2, 1, 0],
                [0, 4, 0, -5, 0, 1],
            ],
            np.float64,
        ),
        np.array(
            [
                [1 / 4, 0, 0],
                [-1 / 6, -1 / 6, -1 / 6],
                [-1 / 6, 1 / 6, -1 / 6],
                [1 / 24, 1 / 12, 1 / 6],
                [1 / 24, -1 / 12, 1 / 6],
                [0, 0, 1],
            ],
            np.float64,
        ),
        np.array(
            [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]],
            np.float64,
        ),
    ),
}


def winograd_weight_transform(w: np.ndarray, m: int, groups: int = 1) -> np.ndarray:
    """U = G g Gᵀ for every (o, c): done once at compile time. Shape (T, T, G, O/G, C/G)."""
    _, gmat, _ = WINOGRAD[m]
    o, cg = w.shape[:2]
    acc = _acc(w)
    u = np.einsum("ti,ocij,sj->tsoc", gmat.astype(acc), w.astype(acc), gmat.astype(acc))
    return u.reshape(*u.shape[:2], groups, o // groups, cg)


def conv_winograd(x, w, g: ConvGeometry, m: int, u: np.ndarray | None = None) -> np.ndarray:
    acc = _acc(x)
    bt, _, at = (mat.astype(acc) for mat in WINOGRAD[m])
    t = m + 2
    oh, ow = g.out_hw
    th, tw = -(-oh // m), -(-ow // m)
    xp = _pad(x.astype(acc), g.pads)
    need_h, need_w = th * m + 2, tw * m + 2
    xp = np.pad(xp, ((0, 0), (0, 0), (0, need_h - xp.shape[2]), (0, need_w - xp.shape[3])))
    tiles = sliding_window_view(xp, (t, t), axis=(2, 3))[:, :, ::m, ::m][:, :, :th, :tw]
    v = np.einsum("ti,nchwij,sj->tsnchw", bt, tiles, bt, optimize=True)  # input transform
    if u is None:
        u = winograd_weight_transform(w, m, g.groups)
    cg = g.c // g.groups
    v = v.reshape(t, t, g.n, g.groups, cg, th, tw)
    mprod = np.einsum("tsgoc,tsngchw->tsngohw", u, v, optimize=True)  # batched GEMM
    y = np.einsum("it,tsngohw,js->ngohiwj", at, mprod, at, optimize=True)  # output transform
    y = y.reshape(g.n, g.o, th * m, tw * m)[:, :, :oh, :ow]
    return y.astype(x.dtype)


def conv_fft(x, w, g: ConvGeometry) -> np.ndarray:
    acc = _acc(x)
    xp = _pad(x.astype(acc), g.pads)
    dh, dw = g.dilations
    span_h, span_w = dh * (g.kh - 1) + 1, dw * (g.kw - 1) + 1
    kernel = np.zeros((*w.shape[:2], span_h, span_w), acc)
    kernel[:, :, ::dh, ::dw] = w
    fh, fw = xp.shape[2], xp.shape[3]
    cg, og = g.c // g.groups, g.o // g.groups
    xf = np.fft.rfft2(xp, s=(fh, fw)).reshape(g.n, g.groups, cg, fh, -1)
    kf = np.fft.rfft2(kernel[:, :, ::-1, ::-1], s=(fh, fw)).reshape(g.groups, og, cg, fh, -1)
    yf = np.einsum("ngchw,gochw->ngohw", xf, kf, optimize=True)
    full = np.fft.irfft2(yf, s=(fh, fw)).reshape(g.n, g.o, fh, fw)
    valid = full[:, :, span_h - 1 :, span_w - 1 :]  # correlation = valid part of conv
    oh, ow = g.out_hw
    return valid[:, :, :: g.strides[0], :: g.strides[1]][:, :, :oh, :ow].astype(x.dtype)


def _winograd_reason(g: ConvGeometry) -> str | None:
    if (g.kh, g.kw) != (3, 3):
        return "Winograd F(m, 3x3) needs a 3x3 kernel"
    if g.strides != (1, 1) or g.dilations != (1, 1):
        return "Winograd needs stride 1 and no dilation"
    return None


@dataclass(frozen=True)
class Algorithm:
    name: str
    run: Callable[[np.ndarray, np.ndarray, ConvGeometry], np.ndarray]
    unsupported_reason: Callable[[ConvGeometry], str | None]
    rtol: float
    """f32 tolerance against direct convolution (see tests/kernel/test_conv_algorithms)."""


ALGORITHMS: dict[str, Algorithm] = {
    "direct": Algorithm("direct", conv_direct, lambda g: None, 1e-5),
    "im2col": Algorithm("im2col", conv_im2col, lambda g: None, 1e-5),
    "winograd_2x2": Algorithm(
        "winograd_2x2", lambda x, w, g: conv_winograd(x, w, g, 2), _winograd_reason, 1e-5
    ),
    "winograd_4x4": Algorithm(
        "winograd_4x4", lambda x, w, g: conv_winograd(x, w, g, 4), _winograd_reason, 1e-4
    ),
    "fft": Algorithm("fft", conv_fft, lambda g: None, 1e-4),
}


def accepting(g: ConvGeometry) -> list[str]:
    return [a.name for a in ALGORITHMS.values() if a.unsupported_reason(g) is None]
