"""`turn-1d-convs`: run a 1-D convolution along the height, on rows of one pixel.

ONNX's Conv1d arrives as a conv over images of height 1: (N, C, 1, W) with (O, C, 1, kw)
filters. The im2col lowering keeps the input rows of a tile of output rows in L1 as whole
image rows (NC1HWC0: 16 lanes per channel slice), so the one row of a long sequence is all
of a tile's input however few pixels the tile computes: a 16,000-sample waveform (wav2vec2's
first conv) is L1's whole megabyte in f32, and a 1-D conv that fits still gets little choice
of tiles. Seen along the height instead, (N, C, W, 1) with (O, C, kw, 1) filters, a tile's
rows are single pixels: it reads the input it needs and no more. Row-major, each pair of
shapes holds the same elements in the same order, so the reshapes move no data (a constant
filter is reshaped at compile time, where the lowering lays it out). Estimated by the
target's cost model (`select-implementations`' own choice for each form), wav2vec2's first
conv (1 -> 512, k10 s5, 16,000 samples) goes from FFT at 1.1e8 modeled cycles to im2col at
7.3e3; a Conv1d 128 -> 128, k7 over 1,000 frames of 4 sequences from 2.5e5 to 9.6e3.

Turned where its estimate is lower by `TURN_GAIN`; a ConvTranspose1d alike
(`turn_transposed`). Pre: kernel level, before `select-implementations`
(an algorithm already chosen is kept, and its conv whole). Post: every 1-D conv whose
turned form is estimated cheaper is a conv between two `kernel.reshape`s.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from gedialects.ge.constant import ConstantOp
from gedialects.ge.types import shape_of
from gedialects.kernel.conv_algorithms import ConvGeometry
from gedialects.kernel.mirrored import ConvTranspose2DKernelOp, ReshapeKernelOp
from gedialects.kernel.ops import Conv2DKernelOp
from lowering.lower_conv_transpose import route_costs
from passes.select_implementations import conv_geometry
from passes.split_wide_convs import conv_props, costed_convs
from runtime.targets import Target, load_target

TURN_GAIN = 0.9
"""A conv is turned where its turned form's estimate is below this share of its own: the
estimates of two forms this close differ by less than they err (a ConvTranspose1d 64 -> 32,
stride 2, over 8,000 samples was estimated 2% cheaper turned and ran 2% slower)."""


def is_one_dimensional(g: ConvGeometry) -> bool:
    """A conv along the width only (ONNX's Conv1d is one over rows of height 1)."""
    return g.h == 1 and g.kh == 1 and g.pads[0] == g.pads[2] == 0


def column_geometry(g: ConvGeometry) -> ConvGeometry:
    """A 1-D conv's geometry turned along the height: rows of one pixel."""
    return dataclasses.replace(
        g, h=g.w, w=1, kh=g.kw, kw=1, strides=(g.strides[1], 1),
        pads=(g.pads[1], 0, g.pads[3], 0), dilations=(g.dilations[1], 1),
    )  # fmt: skip


def _reshaped(value: SSAValue, shape: list[int], fused: list[str], new: list) -> SSAValue:
    """`value` in `shape`: a constant's data reshaped (the lowering lays out constant filters
    at compile time), else a `kernel.reshape`."""
    owner = value.owner
    if isinstance(owner, ConstantOp) and not owner.is_elided:
        op = ConstantOp(owner.to_numpy().reshape(shape))
    else:
        op = ReshapeKernelOp(value, fused_from=fused, shape=shape)
    new.append(op)
    return op.results[0]


def turn_to_columns(op: Conv2DKernelOp, rewriter: Rewriter) -> None:
    """Replace 1-D conv `op` by the same conv along the height: input (N, C, 1, W) as
    (N, C, W, 1), filters (O, C, 1, kw) as (O, C, kw, 1), a residual and the output
    (N, O, 1, OW) as (N, O, OW, 1)."""
    g, fused, new = conv_geometry(op), op.fused_names, []
    n, o, ow = g.n, g.o, g.out_hw[1]
    x = _reshaped(op.input, [n, g.c, g.w, 1], fused, new)
    w = _reshaped(op.weight, [o, g.c // g.groups, g.kw, 1], fused, new)
    residual = None if op.residual is None else _reshaped(op.residual, [n, o, ow, 1], fused, new)
    turned = column_geometry(g)
    props = conv_props(op)
    props.update(
        strides=list(turned.strides), pads=list(turned.pads), dilations=list(turned.dilations)
    )
    conv = Conv2DKernelOp(x, w, op.bias, op.scale, op.shift, residual, fused_from=fused, **props)
    back = ReshapeKernelOp(conv.output, fused_from=fused, shape=[n, o, 1, ow])
    filters = op.weight.owner
    rewriter.insert_op([*new, conv, back], InsertPoint.before(op))
    rewriter.replace_op(op, [], [back.output])
    if isinstance(filters, ConstantOp) and not filters.output.uses:
        rewriter.erase_op(filters)  # (reshaped at compile time: the original is dead)


def turn_transposed(
    op: ConvTranspose2DKernelOp, target: Target, rewriter: Rewriter, force: bool = False
) -> bool:
    """Turn 1-D transposed conv `op` (ConvTranspose1d) along the height where its lowering's
    estimate (`lower_conv_transpose.route_costs`, the cheaper route) is lower turned: its
    zero-inserted row (stride x length samples in 16 lanes) is all of a tile's input on the
    zeros route (Conv-TasNet's decoder, 512 -> 1, kernel 16, stride 8, over 3,999 frames,
    fitted no route and ran by reference). Whether it turned (`force`: whatever the cost)."""
    n, c, h, w = shape_of(op.input.type)
    _, og, kh, kw = shape_of(op.weight.type)
    sw, dw = op.ints("strides")[1], op.ints("dilations")[1]
    pads, extra = op.ints("pads"), op.ints("output_padding")
    if h != 1 or kh != 1 or pads[0] or pads[2] or extra[0] or w == 1:
        return False
    fused, new = op.fused_names, []
    x = _reshaped(op.input, [n, c, w, 1], fused, new)
    filters = _reshaped(op.weight, [c, og, kw, 1], fused, new)
    props = conv_props(op)
    props.update(strides=[sw, 1], pads=[pads[1], 0, pads[3], 0], dilations=[dw, 1])
    props.update(output_padding=[extra[1], 0])
    turned = ConvTranspose2DKernelOp(x, filters, op.bias, fused_from=fused, **props)
    before = float("inf") if force else min(route_costs(op, target).values())
    if not force and not min(route_costs(turned, target).values()) < TURN_GAIN * before:
        for trial in [turned, *reversed(new)]:
            trial.erase()
        return False
    ow = shape_of(op.output.type)[3]
    back = ReshapeKernelOp(
        turned.output, fused_from=fused, shape=[n, og * op.get_int("groups"), 1, ow]
    )
    rewriter.insert_op([*new, turned, back], InsertPoint.before(op))
    rewriter.replace_op(op, [], [back.output])
    return True


@dataclass(frozen=True)
class TurnOneDimensionalConvs(ModulePass):
    """Run 1-D convs along the height where the target's cost model says it is cheaper."""

    name = "turn-1d-convs"

    target: str = "ascend910a"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        target, rewriter = load_target(self.target), Rewriter()
        for conv, g, costing in costed_convs(op, target):
            if not is_one_dimensional(g) or g.w == 1:
                continue
            if costing.expected(column_geometry(g)) < TURN_GAIN * costing.expected(g):
                turn_to_columns(conv, rewriter)
        for conv in [k for k in op.walk() if isinstance(k, ConvTranspose2DKernelOp)]:
            if len(shape_of(conv.input.type)) == 4:
                turn_transposed(conv, target, rewriter)
