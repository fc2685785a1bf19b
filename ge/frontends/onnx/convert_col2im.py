"""Converter of ONNX's Col2Im (torch's `fold`) as a grouped transposed convolution.

Col2Im sums each column of blocks back into the image: exactly what a transposed
convolution does with a one-hot kernel. Channel c * K + k of the input (K = kh * kw, k
the position in the block) feeds group c with a kernel that is 1 at position k, so the
overlapping blocks add up, and strides, dilations and pads are the convolution's. The
output_padding makes up the rows and columns that no block reaches. 2-D images only.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from xdsl.ir import SSAValue

from ge.frontends.blocks import Blocks, one_hot_blocks
from ge.frontends.onnx.context import Node
from gedialects.ge import ops

Converter = Callable[[Node], SSAValue]


def col2im(n: Node) -> SSAValue:
    x, (batch, rows, length) = n.value(0), n.shape(0)
    image = [int(v) for v in np.asarray(n.const(1, "image_shape")).reshape(-1)]
    block = [int(v) for v in np.asarray(n.const(2, "block_shape")).reshape(-1)]
    if len(image) != 2 or len(block) != 2:
        raise n.unsupported(f"only 2-D images are supported, got image_shape {image}")
    strides = n.ints("strides", [1, 1])
    dil = n.ints("dilations", [1, 1])
    pads = n.ints("pads", [0, 0, 0, 0])
    size = block[0] * block[1]
    if rows % size:
        raise n.error(f"{rows} input rows are not a multiple of the block size {size}")
    channels = rows // size
    blocks_of = Blocks(image, block, strides, pads, dil)
    counts = blocks_of.counts()
    if counts[0] * counts[1] != length:
        raise n.error(f"{length} blocks do not tile image {image} ({counts[0]} x {counts[1]})")
    blocks = n.emit(ops.ReshapeOp(x, shape=[batch, rows, *counts]))
    y = ops.ConvTranspose2DOp(
        blocks,
        n.constant(one_hot_blocks(rows, block, n.dtype(0))),
        None,
        strides=strides,
        pads=pads,
        dilations=dil,
        output_padding=blocks_of.output_padding(),
        groups=channels,
    )
    return n.emit(y)


CONVERTERS: dict[str, Converter] = {"Col2Im": col2im}
