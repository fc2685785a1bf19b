"""Converters of ONNX neural-network ops: convolutions, normalizations, softmax, dropout.

`ge` convolutions are 2-D; 1-D ones are imported exactly as 2-D ones with a unit
height (a reshape on each side). `auto_pad` is resolved to explicit pads at import.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from xdsl.dialects.builtin import f32
from xdsl.ir import SSAValue

from ge.frontends.onnx.context import Node
from ge.frontends.onnx.convert_conv3d import conv3d, conv_transpose3d
from gedialects.ge import ops

Converter = Callable[[Node], SSAValue | list[SSAValue]]


def auto_pads(
    n: Node, sizes: Sequence[int], kernel: Sequence[int], strides: Sequence[int], dil: Sequence[int]
) -> list[int]:
    """Explicit ONNX pads (begins..., ends...) from `pads` or `auto_pad`."""
    rank = len(sizes)
    mode = n.attr("auto_pad", "NOTSET")
    if mode == "NOTSET":
        return n.ints("pads", [0] * 2 * rank)
    if mode == "VALID":
        return [0] * 2 * rank
    if mode not in ("SAME_UPPER", "SAME_LOWER"):
        raise n.error(f"unknown auto_pad '{mode}'")
    begins, ends = [], []
    for size, k, s, d in zip(sizes, kernel, strides, dil):
        total = max(0, (-(-size // s) - 1) * s + (k - 1) * d + 1 - size)
        small, large = total // 2, total - total // 2
        begins.append(small if mode == "SAME_UPPER" else large)
        ends.append(large if mode == "SAME_UPPER" else small)
    return begins + ends


class Spatial:
    """Lift a 1-D spatial op to 2-D (unit height) and back; 2-D passes through."""

    def __init__(self, n: Node, x: SSAValue, what: str):
        self.n, self.shape = n, n.shape_of(x)
        rank = len(self.shape) - 2
        if rank not in (1, 2):
            raise n.unsupported(f"only 1-D and 2-D {what} are supported, got {rank}-D input")
        self.one_d = rank == 1
        self.x = self.lift(x)

    def lift(self, value: SSAValue) -> SSAValue:
        if not self.one_d:
            return value
        s = self.n.shape_of(value)
        return self.n.emit(ops.ReshapeOp(value, shape=[*s[:2], 1, s[2]]))

    def attr(self, values: Sequence[int], unit: int = 1) -> list[int]:
        """A per-axis attribute (kernel, strides) in 2-D form."""
        return [unit, *values] if self.one_d else list(values)

    def pads(self, pads: Sequence[int]) -> list[int]:
        return [0, pads[0], 0, pads[1]] if self.one_d else list(pads)

    def lower(self, value: SSAValue) -> SSAValue:
        if not self.one_d:
            return value
        s = self.n.shape_of(value)
        return self.n.emit(ops.ReshapeOp(value, shape=[s[0], s[1], s[3]]))


def window_attrs(n: Node, sizes: Sequence[int], kernel: Sequence[int]) -> tuple:
    rank = len(sizes)
    strides = n.ints("strides", [1] * rank)
    dil = n.ints("dilations", [1] * rank)
    return strides, auto_pads(n, sizes, kernel, strides, dil), dil


def conv(n: Node) -> SSAValue:
    if n.rank(0) == 5:
        kernel = n.ints("kernel_shape", list(n.shape(1)[2:]))
        strides, pads, dil = window_attrs(n, n.shape(0)[2:], kernel)
        return conv3d(n, kernel, strides, pads, dil)
    sp = Spatial(n, n.value(0), "convolutions")
    kernel = n.ints("kernel_shape", list(n.shape(1)[2:]))
    strides, pads, dil = window_attrs(n, sp.shape[2:], kernel)
    w = sp.lift(n.value(1))
    y = ops.Conv2DOp(
        sp.x,
        w,
        n.optional(2),
        strides=sp.attr(strides),
        pads=sp.pads(pads),
        dilations=sp.attr(dil),
        groups=int(n.attr("group", 1)),
    )
    return sp.lower(n.emit(y))


def conv_transpose(n: Node) -> SSAValue:
    if n.rank(0) == 5:
        kernel, strides, dil, outpad, pads = _transpose_geometry(n, n.shape(0)[2:])
        return conv_transpose3d(n, kernel, strides, pads, dil, outpad)
    sp = Spatial(n, n.value(0), "transposed convolutions")
    kernel, strides, dil, outpad, pads = _transpose_geometry(n, sp.shape[2:])
    y = ops.ConvTranspose2DOp(
        sp.x,
        sp.lift(n.value(1)),
        n.optional(2),
        strides=sp.attr(strides),
        pads=sp.pads(pads),
        dilations=sp.attr(dil),
        output_padding=sp.attr(outpad, unit=0),
        groups=int(n.attr("group", 1)),
    )
    return sp.lower(n.emit(y))


def _transpose_geometry(n: Node, sizes: Sequence[int]) -> tuple[list[int], ...]:
    """(kernel, strides, dilations, output padding, pads) of a ConvTranspose, its
    output_shape and auto_pad written as pads and output padding."""
    rank = len(sizes)
    kernel = n.ints("kernel_shape", list(n.shape(1)[2:]))
    strides = n.ints("strides", [1] * rank)
    dil = n.ints("dilations", [1] * rank)
    outpad = n.ints("output_padding", [0] * rank)
    pads = n.ints("pads", [0] * 2 * rank)
    mode = n.attr("auto_pad", "NOTSET")
    out_shape = n.ints("output_shape")
    if out_shape is None and mode in ("SAME_UPPER", "SAME_LOWER"):
        out_shape = [s * st for s, st in zip(sizes, strides)]
    if out_shape is not None:
        out_shape = out_shape[-rank:]
        totals = [
            st * (s - 1) + op + (k - 1) * d + 1 - o
            for s, st, op, k, d, o in zip(sizes, strides, outpad, kernel, dil, out_shape)
        ]
        upper = mode == "SAME_UPPER"
        begins = [t // 2 if upper else t - t // 2 for t in totals]
        ends = [t - b for t, b in zip(totals, begins)]
        if min(begins) < 0:
            raise n.unsupported(f"output_shape {out_shape} needs negative leading pads")
        # A negative end pad grows the output at the end: that is output_padding.
        outpad = [op + max(0, -e) for op, e in zip(outpad, ends)]
        pads = begins + [max(0, e) for e in ends]
    elif mode == "VALID":
        pads = [0] * 2 * rank
    return kernel, strides, dil, outpad, pads


def batch_norm(n: Node) -> list[SSAValue]:
    x, scale, bias, mean, var = (n.value(i) for i in range(5))
    eps = float(n.attr("epsilon", 1e-5))
    if not (n.attr("training_mode", 0) or n.wants(1) or n.wants(2)):
        return [n.emit(ops.BatchNormOp(x, scale, bias, mean, var, epsilon=eps))]
    # Training mode: normalize by the batch statistics; update the running ones.
    axes = [a for a in range(n.rank(0)) if a != 1]
    batch_mean = n.emit(ops.ReduceMeanOp(x, axes=axes, keepdims=False))
    channel = [1, -1, *[1] * (n.rank(0) - 2)]
    shape = [n.shape(0)[1] if d == -1 else d for d in channel]
    centred = n.emit(ops.SubOp(x, n.emit(ops.ReshapeOp(batch_mean, shape=shape))))
    square = n.emit(ops.MulOp(centred, centred))
    batch_var = n.emit(ops.ReduceMeanOp(square, axes=axes, keepdims=False))
    y = n.emit(ops.BatchNormOp(x, scale, bias, batch_mean, batch_var, epsilon=eps))
    momentum = float(n.attr("momentum", 0.9))
    keep, take = (n.constant(np.asarray(v, n.dtype(3))) for v in (momentum, 1 - momentum))

    def running(old: SSAValue, batch: SSAValue) -> SSAValue:
        return n.emit(ops.AddOp(n.emit(ops.MulOp(old, keep)), n.emit(ops.MulOp(batch, take))))

    return [y, running(mean, batch_mean), running(var, batch_var)]


def instance_norm(n: Node) -> SSAValue:
    x, scale, bias = (n.value(i) for i in range(3))
    return n.emit(ops.InstanceNormOp(x, scale, bias, epsilon=n.attr("epsilon", 1e-5)))


def group_norm(n: Node) -> SSAValue:
    """GroupNormalization-21 (scale and bias per channel). Version 18's per-group form, which
    onnx's checker refuses, the loader has already rewritten (`repair.per_group_norms`)."""
    x, scale, bias = (n.value(i) for i in range(3))
    groups, eps = int(n.attr("num_groups")), float(n.attr("epsilon", 1e-5))
    return n.emit(ops.GroupNormOp(x, scale, bias, num_groups=groups, epsilon=eps))


def layer_norm(n: Node) -> list[SSAValue]:
    x = n.value(0)
    axis, eps = int(n.attr("axis", -1)), float(n.attr("epsilon", 1e-5))
    y = n.emit(ops.LayerNormOp(x, n.value(1), n.optional(2), axis=axis, epsilon=eps))
    if not (n.wants(1) or n.wants(2)):
        return [y]
    # Mean and InvStdDev in f32 (stash_type 1), over the normalized axes, kept as size 1.
    rank = n.rank(0)
    axes = list(range(axis % rank, rank))
    x32 = n.emit(ops.CastOp(x, to=f32)) if n.dtype(0) != np.float32 else x
    mean = n.emit(ops.ReduceMeanOp(x32, axes=axes, keepdims=True))
    centred = n.emit(ops.SubOp(x32, mean))
    var = n.emit(ops.ReduceMeanOp(n.emit(ops.MulOp(centred, centred)), axes=axes, keepdims=True))
    eps_value = n.constant(np.asarray(eps, np.float32))
    inv = n.emit(ops.ReciprocalOp(n.emit(ops.SqrtOp(n.emit(ops.AddOp(var, eps_value))))))
    return [y, mean, inv]


def lrn(n: Node) -> SSAValue:
    return n.emit(
        ops.LRNOp(
            n.value(0),
            size=int(n.attr("size")),
            alpha=float(n.attr("alpha", 1e-4)),
            beta=float(n.attr("beta", 0.75)),
            bias=float(n.attr("bias", 1.0)),
        )
    )


def _softmax(op_class: type) -> Converter:
    def convert(n: Node) -> SSAValue:
        x = n.value(0)
        if n.opset >= 13:
            return n.emit(op_class(x, axis=int(n.attr("axis", -1))))
        shape = n.shape(0)
        axis = int(n.attr("axis", 1)) % max(len(shape), 1)
        flat = [int(np.prod(shape[:axis])), int(np.prod(shape[axis:]))]
        y = n.emit(op_class(n.emit(ops.ReshapeOp(x, shape=flat)), axis=1))
        return n.emit(ops.ReshapeOp(y, shape=list(shape)))

    return convert


def dropout(n: Node) -> list[SSAValue]:
    x = n.value(0)
    if n.opset >= 12:
        ratio = float(n.const_or(1, 0.5, "ratio"))
        training = bool(n.const_or(2, False, "training_mode"))
    else:
        ratio, training = float(n.attr("ratio", 0.5)), False
    y = x
    if training and ratio > 0.0:
        seed = int(n.attr("seed", 0))
        y = n.emit(ops.DropoutOp(x, ratio=ratio, is_training=True, seed=seed))
    if not n.wants(1):
        return [y]
    return [y, n.constant(np.ones(n.shape(0), dtype=np.bool_))]


CONVERTERS: dict[str, Converter] = {
    "Conv": conv,
    "ConvTranspose": conv_transpose,
    "BatchNormalization": batch_norm,
    "InstanceNormalization": instance_norm,
    "GroupNormalization": group_norm,
    "LayerNormalization": layer_norm,
    "LRN": lrn,
    "Softmax": _softmax(ops.SoftmaxOp),
    "LogSoftmax": _softmax(ops.LogSoftmaxOp),
    "Dropout": dropout,
}
