"""Converters of ONNX's DFT and STFT (torch.fft, torch.stft) as matmuls with constant bases.

The transformed axis is moved next to the real/imaginary channel and flattened with it,
so one `ge.matmul` by a [L * c, K * c'] matrix of cosines and sines computes every bin
(c = 1 for a real signal, 2 for a complex one). The matrix folds in what numpy's FFTs
do around the plain sum: zero-padding or truncation to dft_length, one-sided output
(n // 2 + 1 bins), the inverse's 1/n, and for an inverse one-sided DFT (irfft) the
Hermitian extension (bins 1 .. ceil(n/2) - 1 counted twice, imaginary parts of DC and
Nyquist ignored). The matmul runs on the cube at the npu level. STFT gathers the frames
(constant indices), multiplies them by the window and applies the one-sided DFT.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from xdsl.ir import SSAValue

from ge.frontends.onnx.context import Node
from gedialects.ge import ops

Converter = Callable[[Node], SSAValue]

MAX_BASIS = 1 << 24
"""Elements of the basis matrix a DFT may use; longer transforms are refused."""


def basis(length: int, channels: int, n: int, inverse: bool, onesided: bool) -> np.ndarray:
    """The [length * channels, bins * out_channels] matrix of the DFT of size n (float64)."""
    used = min(length, (n // 2 + 1) if inverse and onesided else n)
    m = np.arange(length)[:, None]
    if inverse and onesided:  # irfft: real output of n samples from n // 2 + 1 bins
        k, t = m, np.arange(n)[None, :]
        weight = np.where((k == 0) | ((n % 2 == 0) & (k == n // 2)), 1.0, 2.0) / n
        theta = 2 * np.pi * k * t / n
        re, im = weight * np.cos(theta), -weight * np.sin(theta)
        re[used:], im[used:] = 0, 0
        rows = [re, im][:channels]
        return np.stack(rows, axis=1).reshape(length * channels, n)
    bins = n // 2 + 1 if onesided else n
    k = np.arange(bins)[None, :]
    theta = 2 * np.pi * k * m / n
    sign, scale = (1.0, 1.0 / n) if inverse else (-1.0, 1.0)
    cos, sin = np.cos(theta) * scale, np.sin(theta) * scale
    cos[used:], sin[used:] = 0, 0
    # (xr + i xi)(cos + i sign sin): re = xr cos - sign xi sin, im = sign xr sin + xi cos
    from_re = np.stack([cos, sign * sin], axis=-1)  # [length, bins, 2]
    from_im = np.stack([-sign * sin, cos], axis=-1)
    rows = np.stack([from_re, from_im][:channels], axis=1)  # [length, c, bins, 2]
    return rows.reshape(length * channels, bins * 2)


def dft_along(
    node: Node, x: SSAValue, axis: int, n: int, inverse: bool, onesided: bool
) -> SSAValue:
    """The DFT of x [..., c] along `axis` (not the last), in ONNX's DFT layout."""
    shape = list(node.shape_of(x))
    rank, channels = len(shape), shape[-1]
    if channels not in (1, 2):
        raise node.error(f"the last dimension must be 1 (real) or 2 (complex), got {channels}")
    if inverse and onesided and channels != 2:
        raise node.error("an inverse one-sided DFT needs a complex input")
    length = shape[axis]
    matrix = basis(length, channels, n, inverse, onesided)
    if matrix.size > MAX_BASIS:
        raise node.unsupported(f"a DFT of length {n} over {length} samples is too large")
    others = [d for d in range(rank - 1) if d != axis]
    perm = [*others, axis, rank - 1]
    moved = node.emit(ops.TransposeOp(x, perm=perm)) if perm != list(range(rank)) else x
    rows = int(np.prod([shape[d] for d in others], dtype=np.int64))
    flat = node.emit(ops.ReshapeOp(moved, shape=[rows, length * channels]))
    dtype = node.dtype_of(x)
    y = node.emit(ops.MatMulOp(flat, node.constant(matrix.astype(dtype))))
    out_channels = 1 if inverse and onesided else 2
    bins = matrix.shape[1] // out_channels
    y = node.emit(ops.ReshapeOp(y, shape=[*[shape[d] for d in others], bins, out_channels]))
    back = list(np.argsort(perm))
    return node.emit(ops.TransposeOp(y, perm=back)) if back != list(range(rank)) else y


def _scalar_input(n: Node, index: int, what: str) -> int | None:
    if not n.has(index):
        return None
    return int(np.asarray(n.const(index, what)).reshape(-1)[0])


def dft(n: Node) -> SSAValue:
    x = n.value(0)
    rank = len(n.shape(0))
    axis = _scalar_input(n, 2, "axis") if n.opset >= 20 else int(n.attr("axis", 1))
    axis = (-2 if axis is None else axis) % rank
    if axis == rank - 1:
        raise n.error("axis cannot be the last (real/imaginary) dimension")
    inverse, onesided = bool(n.attr("inverse", 0)), bool(n.attr("onesided", 0))
    length = n.shape(0)[axis]
    size = _scalar_input(n, 1, "dft_length")
    if size is None:
        size = 2 * (length - 1) if inverse and onesided else length
    if size < 1:
        raise n.error(f"dft_length must be positive, got {size}")
    return dft_along(n, x, axis, size, inverse, onesided)


def stft(n: Node) -> SSAValue:
    signal = n.value(0)
    if n.rank(0) == 2:  # (batch, length): torch's export; onnxruntime takes it as real
        batch, length = n.shape(0)
        signal = n.emit(ops.ReshapeOp(signal, shape=[batch, length, 1]))
    batch, length, channels = n.shape_of(signal)
    step = _scalar_input(n, 1, "frame_step")
    window = n.optional(2)
    size = _scalar_input(n, 3, "frame_length")
    if size is None:
        if window is None:
            raise n.error("needs a window or a frame_length")
        size = n.shape_of(window)[0]
    if step is None or step < 1 or not 0 < size <= length:
        raise n.error(f"frame_step {step} and frame_length {size} do not fit {length} samples")
    frames = (length - size) // step + 1
    index = np.arange(frames)[:, None] * step + np.arange(size)[None, :]
    picked = n.emit(ops.GatherOp(signal, n.constant(index.astype(np.int64)), axis=1))
    if window is not None:
        shaped = n.emit(ops.ReshapeOp(window, shape=[1, 1, size, 1]))
        picked = n.emit(ops.MulOp(picked, shaped))
    onesided = bool(n.attr("onesided", 1))
    return dft_along(n, picked, 2, size, False, onesided)


CONVERTERS: dict[str, Converter] = {
    "DFT": dft,
    "STFT": stft,
}
