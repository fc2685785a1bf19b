"""Converters of aten's neural-network ops: convolution, pooling, softmax, embedding.

1-D convolutions become 2-D ones over a height of 1; adaptive average pooling becomes a
global pool (1x1 output) or a plain average pool (sizes that divide).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from xdsl.dialects.builtin import DenseArrayBase, f64
from xdsl.ir import SSAValue

from ge.frontends.blocks import Blocks, one_hot_blocks
from ge.frontends.torch.convert import Converter, dtype_of, op_key
from ge.frontends.torch.table import converts
from gedialects import ge
from gedialects.ge.ops.common import clamp_overhanging_windows
from gedialects.ge.types import shape_of


def pair(v: Any) -> tuple[int, int]:
    """A 2-D window parameter from an int or a list of one or two ints."""
    if isinstance(v, int):
        return v, v
    v = list(v)
    return (v[0], v[0]) if len(v) == 1 else (v[0], v[1])


# ---- convolution -------------------------------------------------------------------


def _same_pads(weight: SSAValue, dilation: Sequence[int]) -> list[int]:
    """torch's padding="same": total dilation*(k-1), the odd element at the end."""
    kh, kw = shape_of(weight.type)[2:]
    th, tw = dilation[0] * (kh - 1), dilation[1] * (kw - 1)
    return [th // 2, tw // 2, th - th // 2, tw - tw // 2]


def _conv2d(cx: Converter, a: dict[str, Any], transposed: bool) -> SSAValue:
    stride, dilation = pair(a["stride"]), pair(a["dilation"])
    padding = a["padding"]
    if padding == "same":
        pads = _same_pads(a["weight"], dilation)
    elif padding == "valid":
        pads = [0, 0, 0, 0]
    else:
        ph, pw = pair(padding)
        pads = [ph, pw, ph, pw]
    props = {"strides": stride, "pads": pads, "dilations": dilation, "groups": a["groups"]}
    if transposed:
        op = ge.ConvTranspose2DOp(
            a["input"], a["weight"], a["bias"], output_padding=pair(a["output_padding"]), **props
        )
    else:
        op = ge.Conv2DOp(a["input"], a["weight"], a["bias"], **props)
    return cx.emit(op)


@converts("convolution", "conv2d", "conv1d", "conv_transpose2d")
def convolution(cx: Converter, a: dict[str, Any]) -> SSAValue:
    name = op_key(cx.node.target)
    a = dict(a)
    if name == "conv_transpose2d":
        a["transposed"] = True
    rank = len(shape_of(a["input"].type))
    if rank == 3 and not a.get("transposed"):
        return _conv1d(cx, a)
    if rank != 4:
        raise cx.unsupported(f"{rank - 2}-D convolution (2-D and 1-D are supported)")
    return _conv2d(cx, a, bool(a.get("transposed")))


def _conv1d(cx: Converter, a: dict[str, Any]) -> SSAValue:
    """(N, C, L) as (N, C, 1, L) through a 2-D convolution."""
    n, c, length = shape_of(a["input"].type)
    o, cg, k = shape_of(a["weight"].type)
    padding = a["padding"]
    one = lambda v: [1, v[0] if isinstance(v, list | tuple) else v]
    x = cx.reshape(a["input"], [n, c, 1, length])
    w = cx.reshape(a["weight"], [o, cg, 1, k])
    a2 = {
        **a,
        "input": x,
        "weight": w,
        "stride": one(a["stride"]),
        "dilation": one(a["dilation"]),
        "padding": padding if isinstance(padding, str) else [0, one(padding)[1]],
    }
    y = _conv2d(cx, a2, False)
    return cx.reshape(y, cx.out_shape())


@converts("im2col")
def im2col(cx: Converter, a: dict[str, Any]) -> SSAValue:
    """nn.Unfold: each block of each channel as K = kh * kw rows of (N, C * K, blocks), a
    grouped convolution with one-hot kernels (`ge.frontends.blocks`)."""
    x, block, dilation, stride, pads = _block_args(cx, a, batched_rank=4)
    channels = shape_of(x.type)[1]
    weight = cx.constant(one_hot_blocks(channels * block[0] * block[1], block, dtype_of(x)))
    y = cx.emit(ge.Conv2DOp(x, weight, None, strides=stride, pads=pads, dilations=dilation,
                            groups=channels))  # fmt: skip
    return cx.reshape(y, cx.out_shape())


@converts("col2im")
def col2im(cx: Converter, a: dict[str, Any]) -> SSAValue:
    """nn.Fold: the blocks summed back into the image, the transposed convolution of the
    same one-hot kernels, as ONNX's Col2Im converts."""
    x, block, dilation, stride, pads = _block_args(cx, a, batched_rank=3)
    batch, rows, _ = shape_of(x.type)
    blocks_of = Blocks(pair(a["output_size"]), block, stride, pads, dilation)
    blocks = cx.reshape(x, [batch, rows, *blocks_of.counts()])
    y = ge.ConvTranspose2DOp(
        blocks,
        cx.constant(one_hot_blocks(rows, block, dtype_of(x))),
        None,
        strides=stride,
        pads=pads,
        dilations=dilation,
        output_padding=blocks_of.output_padding(),
        groups=rows // (block[0] * block[1]),
    )
    return cx.reshape(cx.emit(y), cx.out_shape())


def _block_args(cx: Converter, a: dict[str, Any], batched_rank: int) -> tuple:
    """(input with a batch axis, block, dilation, stride, ONNX-style pads) of im2col/col2im."""
    x = a["self"]
    shape = shape_of(x.type)
    if len(shape) == batched_rank - 1:  # an unbatched input
        x = cx.reshape(x, [1, *shape])
    padding = pair(a["padding"])
    pads = [padding[0], padding[1], padding[0], padding[1]]
    return x, pair(a["kernel_size"]), pair(a["dilation"]), pair(a["stride"]), pads


@converts("softmax", "_softmax", "log_softmax", "_log_softmax")
def softmax(cx: Converter, a: dict[str, Any]) -> SSAValue:
    log = "log" in op_key(cx.node.target)
    x = cx.cast(a["self"], cx.out_dtype())
    return cx.emit((ge.LogSoftmaxOp if log else ge.SoftmaxOp)(x, axis=a["dim"]))


@converts("_safe_softmax")
def safe_softmax(cx: Converter, a: dict[str, Any]) -> SSAValue:
    """Softmax whose rows of only -inf give 0 instead of NaN."""
    x = cx.cast(a["self"], cx.out_dtype())
    y = cx.emit(ge.SoftmaxOp(x, axis=a["dim"]))
    row_max = cx.emit(ge.ReduceMaxOp(x, axes=[a["dim"]], keepdims=True))
    dead = cx.emit(ge.EqualOp(row_max, cx.scalar(-np.inf, dtype_of(x))))
    return cx.emit(ge.WhereOp(dead, cx.scalar(0.0, dtype_of(x)), y))


# ---- pooling -----------------------------------------------------------------------


def _window(a: dict[str, Any], dilations: Sequence[int] = (1, 1)) -> dict[str, Any]:
    kernel = pair(a["kernel_size"])
    stride = pair(a["stride"]) if a["stride"] else kernel
    ph, pw = pair(a["padding"])
    pads = [ph, pw, ph, pw]
    sizes = shape_of(a["self"].type)[2:]
    kernel, stride = clamp_overhanging_windows(
        sizes, kernel, stride, pads, dilations, a["ceil_mode"]
    )
    return {"kernel_shape": kernel, "strides": stride, "pads": pads}


@converts("max_pool2d", "max_pool2d_with_indices")
def max_pool2d(cx: Converter, a: dict[str, Any]) -> Any:
    dilations = pair(a["dilation"])
    op = ge.MaxPool2DOp(
        a["self"], dilations=dilations, ceil_mode=a["ceil_mode"], **_window(a, dilations)
    )
    y = cx.emit(op)
    return (y, None) if op_key(cx.node.target) == "max_pool2d_with_indices" else y


@converts("avg_pool2d")
def avg_pool2d(cx: Converter, a: dict[str, Any]) -> SSAValue:
    if a["divisor_override"] is not None:
        raise cx.unsupported("avg_pool2d with divisor_override")
    op = ge.AvgPool2DOp(
        a["self"],
        ceil_mode=a["ceil_mode"],
        count_include_pad=a["count_include_pad"],
        **_window(a),
    )
    return cx.emit(op)


@converts("adaptive_avg_pool2d", "_adaptive_avg_pool2d")
def adaptive_avg_pool2d(cx: Converter, a: dict[str, Any]) -> SSAValue:
    """Global pooling for a 1x1 output; a plain average pool when the sizes divide."""
    x = a["self"]
    h, w = shape_of(x.type)[-2:]
    oh, ow = cx.out_shape()[-2:]
    if len(shape_of(x.type)) != 4:
        raise cx.unsupported("adaptive pooling of an unbatched (3-D) input")
    if (oh, ow) == (1, 1):
        return cx.emit(ge.GlobalAvgPoolOp(x))
    if h % oh or w % ow:
        raise cx.unsupported(f"adaptive pooling of {h}x{w} to {oh}x{ow} (sizes must divide)")
    kernel = (h // oh, w // ow)
    return cx.emit(ge.AvgPool2DOp(x, kernel_shape=kernel, strides=kernel))


_UPSAMPLE = {
    "upsample_nearest2d": ("nearest", "asymmetric", "floor"),
    "_upsample_nearest_exact2d": ("nearest", "half_pixel", "round_prefer_ceil"),
    "upsample_bilinear2d": ("linear", "half_pixel", "floor"),
    "_upsample_bilinear2d_aa": ("linear", "half_pixel", "floor"),
    "_upsample_bicubic2d_aa": ("cubic", "half_pixel", "floor"),
}
"""torch's source-index rule of each mode as ONNX Resize attributes."""

_ANTIALIASED = {"_upsample_bilinear2d_aa": {}, "_upsample_bicubic2d_aa": {"cubic_coeff_a": -0.5}}
"""F.interpolate(antialias=True) (PIL's filters): ONNX's antialiased resize over the taps
inside the image, renormalized (exclude_outside), with PIL's bicubic A = -0.5."""


@converts(*_UPSAMPLE)
def upsample(cx: Converter, a: dict[str, Any]) -> SSAValue:
    """F.interpolate to torch's output size; given scale factors set the coordinate map."""
    x = a["input"] if "input" in a else a["self"]
    key = op_key(cx.node.target)
    mode, coordinates, nearest = _UPSAMPLE[key]
    extra = {}
    if key in _ANTIALIASED:
        extra = {"antialias": 1, "exclude_outside": 1, **_ANTIALIASED[key]}
    if a.get("align_corners"):
        coordinates = "align_corners"
    factors = a.get("scale_factors") or [a.get("scales_h"), a.get("scales_w")]
    scales = None
    if coordinates != "align_corners" and all(f is not None for f in factors):
        scales = DenseArrayBase.from_list(f64, [1.0, 1.0, *map(float, factors)])
    op = ge.ResizeOp(
        x,
        sizes=cx.out_shape(),
        scales=scales,
        mode=mode,
        coordinate_transformation_mode=coordinates,
        nearest_mode=nearest,
        **extra,
    )
    return cx.emit(op)


@converts("embedding")
def embedding(cx: Converter, a: dict[str, Any]) -> SSAValue:
    return cx.emit(ge.GatherOp(a["weight"], a["indices"], axis=0))
