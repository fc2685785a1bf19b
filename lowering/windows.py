"""Sliding windows that read only padding: an output position none of whose taps lands in
the input (padding wider than a dilated kernel's reach, a stride past a one-pixel input).
The tiled lowerings load the input rows or columns a window reads, and such a window reads
none: an empty DMA, which the verifier stops (the pool and direct-convolution lowerings).
Its value is the padding's (for a convolution the bias and the epilogue alone), so such
ops are refused and run by reference. The im2col lowering takes them (its row loader
zeroes the padding rows a tile reads and loads no image row where it reads none); Winograd
and FFT pad whole tiles."""

from __future__ import annotations

from xdsl.ir import Operation, SSAValue

from gedialects.errors import UnsupportedError


def axis_reads_only_padding(
    size: int, out: int, kernel: int, stride: int, pad: int, dilation: int
) -> bool:
    """Whether one of the `out` windows along an axis (first tap at o * stride - pad, `kernel`
    taps `dilation` apart) has no tap in [0, size)."""
    for o in range(out):
        start = o * stride - pad
        if not any(0 <= start + j * dilation < size for j in range(kernel)):
            return True
    return False


def refuse_padding_only_windows(
    op: Operation, image: SSAValue, weight: SSAValue, output: SSAValue
) -> None:
    """`UnsupportedError` for a 2-D convolution one of whose windows reads only padding."""
    size, kernel, out = image.type.dims[2:], weight.type.dims[2:], output.type.dims[2:]
    strides, pads, dilations = op.ints("strides"), op.ints("pads"), op.ints("dilations")
    for axis in (0, 1):
        geometry = (kernel[axis], strides[axis], pads[axis], dilations[axis])
        if axis_reads_only_padding(size[axis], out[axis], *geometry):
            raise UnsupportedError(
                f"{op.name}: a window reads only padding (pads {list(pads)}, kernel "
                f"{list(kernel)}, dilations {list(dilations)}, input {list(size)})"
            )
