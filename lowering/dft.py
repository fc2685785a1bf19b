"""Real matrices of the discrete Fourier transforms that an FFT convolution runs on the cube.

A DFT of size n is an n x n complex GEMM; with F = C - iS split into its cos and sin parts, a
complex product is one real GEMM over stacked (real, imaginary) blocks, so the cube computes
it in one pass. Each matrix is indexed by *positions* (the sample index of each row or column
of the data it multiplies), which folds the conv's zero padding (forward: the input's offset
in the padded image), the flipped, dilated kernel (the weights' spectra) and the output's
crop and stride (inverse: only the output samples the conv keeps) into the matrix itself.

Layouts (a = 0 real, 1 imaginary part):
- `forward_cols`: (W, 2 * Qf), columns (a, v): x (.., W) @ it is T (.., 2, Qf), the 1-D DFT
  of each row over the half spectrum v < Qf = Q // 2 + 1 (real input).
- `forward_rows`: (2P, 2H), rows (b, u), columns (h, a): it @ T viewed (2H, Qf) is the 2-D
  spectrum [real; imag] (2, P, Qf).
- `inverse_rows`: (2 * OH, 2P), rows (i, a), columns (b, u): it @ Y (2P, Qf) is Z (OH, 2, Qf).
- `inverse_cols`: (2 * Qf, OW), rows (a, v): Z viewed (OH, 2 * Qf) @ it is the real output,
  with irfft's weights (1 for v = 0 and the Nyquist bin, 2 otherwise) and the 1 / (P Q).
"""

from __future__ import annotations

import numpy as np


def _angles(freqs: int, positions: np.ndarray, size: int) -> np.ndarray:
    """2 pi f x / size for every (f, x), reduced mod size first so large products stay exact."""
    prod = np.outer(np.arange(freqs), np.asarray(positions, np.int64)) % size
    return 2 * np.pi * prod / size


def half(q: int) -> int:
    """Bins of the half spectrum of a real signal of length q."""
    return q // 2 + 1


def forward_cols(positions: np.ndarray, q: int, dtype: type = np.float32) -> np.ndarray:
    theta = _angles(half(q), positions, q).T  # (W, Qf)
    return np.concatenate([np.cos(theta), -np.sin(theta)], axis=1).astype(dtype)


def forward_rows(positions: np.ndarray, p: int, dtype: type = np.float32) -> np.ndarray:
    phi = _angles(p, positions, p)  # (P, H)
    c, s = np.cos(phi), np.sin(phi)
    # X_re = C T_re + S T_im, X_im = C T_im - S T_re (F = C - iS)
    out = np.stack([np.stack([c, s], -1), np.stack([-s, c], -1)])  # (b, u, h, a)
    return out.reshape(2 * p, 2 * len(positions)).astype(dtype)


def inverse_rows(positions: np.ndarray, p: int) -> np.ndarray:
    phi = _angles(p, positions, p).T  # (OH, P)
    c, s = np.cos(phi) / p, np.sin(phi) / p
    # Z_re = C Y_re - S Y_im, Z_im = S Y_re + C Y_im (the inverse is C + iS)
    out = np.stack([np.stack([c, -s]), np.stack([s, c])])  # (a, b, i, u)
    return out.transpose(2, 0, 1, 3).reshape(2 * len(positions), 2 * p).astype(np.float32)


def inverse_cols(positions: np.ndarray, q: int) -> np.ndarray:
    qf = half(q)
    weight = np.full(qf, 2.0)
    weight[0] = 1.0
    if q % 2 == 0:
        weight[-1] = 1.0
    psi = _angles(qf, positions, q)  # (Qf, OW)
    scale = (weight / q)[:, None]
    return np.concatenate([np.cos(psi) * scale, -np.sin(psi) * scale]).astype(np.float32)


def kernel_positions(k: int, dilation: int) -> np.ndarray:
    """Where tap j of a dilated kernel lands once flipped (correlation as convolution)."""
    return dilation * (k - 1) - dilation * np.arange(k)


def weight_spectra(w: np.ndarray, p: int, q: int, dilations: tuple[int, int]) -> np.ndarray:
    """(O, C/groups, 2, P * Qf) f32: [real; imag] spectra of the flipped, dilated kernels,
    computed in f64 by the same two products the runtime-weights kernels run on the cube."""
    o, cg, kh, kw = w.shape
    cols = forward_cols(kernel_positions(kw, dilations[1]), q, np.float64)
    rows = forward_rows(kernel_positions(kh, dilations[0]), p, np.float64)
    t = (w.astype(np.float64) @ cols).reshape(o, cg, 2 * kh, half(q))
    return (rows @ t).reshape(o, cg, 2, p * half(q)).astype(np.float32)
