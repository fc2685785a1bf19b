"""`split-wide-convs`: cut a convolution whose rows are too wide for the cube's tiles into
column strips that they fit.

The im2col lowering keeps the input rows of a tile of output rows in L1 as whole image rows
(NC1HWC0: 16 lanes per channel slice), and the direct lowering keeps a band of rows in UB,
so a very wide image overflows both (a 1024-pixel-wide style-transfer net; a 1-D conv is
turned along the height instead, `turn-1d-convs`): FFT was such a conv's only candidate,
which rounds in a transformed basis and whose reference transforms the filters to the
image's size (16 GiB for that net at 1024x1024: killed for memory). A deep conv on a wide
image overflows L1 alone and was left to the vector unit's direct conv (ResNet-50's
stride-2 3x3 convs at 800x1344: 4.8e6 cycles where the cube needs ~2e6).

Each strip computes output columns [a, b) from the input columns they read, the halo
included (`kernel.slice`; the image's left padding stays on the first strip, its right
padding on the last), with the conv's epilogue (a residual sliced like the output), and
`kernel.concat` joins the strips along the width: the same sums, each strip selected and
planned on its own. The count is chosen by the target's cost model, from the least power
of two whose strips a direct-summing lowering plans (`strip_count`), and the strips are
taken where their estimate, the copies included, is below `STRIPS_GAIN` of the whole
conv's. A conv whose rows im2col's tiles fit (`CRAMPED`) is left alone.
Pre: kernel level, before `select-implementations` (an algorithm already chosen is kept,
and its conv whole). Post: every conv whose rows crowd out im2col's tiles and whose strips are
estimated well below it is cut.

A transposed conv too wide for both of its routes (a UNet's upsampling to 512x512) is cut
into strips alike (`passes.split_wide_transposed`), where no route fits it whole, or where
its cheaper route's estimate is above `CRAMPED` times its roofline and its strips are
estimated below `STRIPS_GAIN` of it.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from gedialects.errors import UnsupportedError
from gedialects.ge.types import element_of, shape_of, to_numpy_dtype
from gedialects.kernel.conv_algorithms import ConvGeometry
from gedialects.kernel.mirrored import ConcatKernelOp, ConvTranspose2DKernelOp, SliceKernelOp
from gedialects.kernel.ops import Conv2DKernelOp
from lowering.gemm_epilogue import activation_steps, scratch_spans
from lowering.lower_conv_transpose import route_costs
from passes.integer_values import IntegerValues
from passes.select_implementations import constant_filters, conv_geometry, expected_cycles
from passes.split_wide_transposed import (
    WIDTH,
    split_transposed,
    transposed_bound,
    transposed_count,
)
from runtime.conv_cost import analytic_im2col, cost_direct, cost_im2col
from runtime.targets import Target, load_target


def rewritable(op: Conv2DKernelOp) -> bool:
    """A 2-D conv (NCHW) whose algorithm no one has chosen yet (a chosen one is kept whole)."""
    return op.algorithm is None and len(shape_of(op.input.type)) == 4


def conv_props(op: Operation) -> dict:
    """`op`'s properties for a conv (or transposed conv) built like it (operand segments and
    provenance are the builder's)."""
    skip = ("fused_from", "operandSegmentSizes")
    return {k: v for k, v in op.properties.items() if k not in skip}


def epilogue_spans(op: Conv2DKernelOp) -> tuple[tuple[bool, bool], ...] | None:
    """The UB tiles of `op`'s epilogue as the im2col lowering plans them (`ConvShape.operands`:
    per-channel vectors span channels, a residual channels and pixels), or None when the
    epilogue has no npu lowering (the conv runs by reference however it is cut)."""
    channels = shape_of(op.weight.type)[0] != 1
    spans = [(channels, False) for v in (op.bias, op.scale, op.shift) if v is not None]
    if op.residual is not None:
        spans.append((channels, True))
    try:
        steps = [
            *activation_steps(op.activation.data if op.activation else None, op.activation_attrs),
            *activation_steps(
                op.post_activation.data if op.post_activation else None, op.post_activation_attrs
            ),
        ]
    except UnsupportedError:
        return None
    return (*spans, *scratch_spans(steps))


@dataclass(frozen=True)
class ConvCosting:
    """How a conv's reshaped forms are costed on a target: its element type, whether its
    sums must stay exact (`passes.integer_values`: im2col and direct only), whether its
    filters are a constant (laid out at compile time, `select_implementations`), the UB
    tiles of its epilogue, and whether a residual is copied with it."""

    target: Target
    dtype: np.dtype
    exact: bool
    laid: bool
    spans: tuple[tuple[bool, bool], ...]
    residual: bool

    @staticmethod
    def of(conv: Conv2DKernelOp, target: Target, integer: IntegerValues) -> ConvCosting | None:
        """The costing of `conv`, or None when its epilogue has no npu lowering."""
        spans = epilogue_spans(conv)
        if spans is None:
            return None
        dtype = np.dtype(to_numpy_dtype(element_of(conv.input.type)))
        exact, laid = integer.integer_cube(conv), constant_filters(conv)
        return ConvCosting(target, dtype, exact, laid, spans, conv.residual is not None)

    def im2col(self, g: ConvGeometry) -> float:
        return cost_im2col(g, self.target, self.dtype, self.spans, self.laid).cycles

    def plannable(self, g: ConvGeometry) -> bool:
        """Whether the im2col or the direct lowering plans a conv of geometry `g`."""
        if math.isfinite(self.im2col(g)):
            return True
        return math.isfinite(cost_direct(g, self.target, self.dtype).cycles)

    def expected(self, g: ConvGeometry) -> float:
        """`select-implementations`' choice for geometry `g`, in modeled cycles."""
        return expected_cycles(g, self.target, self.dtype, self.exact, self.laid)


def costed_convs(
    module: ModuleOp, target: Target
) -> list[tuple[Conv2DKernelOp, ConvGeometry, ConvCosting]]:
    """The convs a reshaping pass may rewrite (`rewritable`, an epilogue the npu level
    lowers), each with its geometry and costing, found before any is rewritten."""
    integer, found = IntegerValues(module), []
    for conv in [k for k in module.walk() if isinstance(k, Conv2DKernelOp)]:
        costing = ConvCosting.of(conv, target, integer) if rewritable(conv) else None
        if costing is not None:
            found.append((conv, conv_geometry(conv), costing))
    return found


def strip_columns(g: ConvGeometry, a: int, b: int) -> tuple[int, int, int, int]:
    """(first input column, end, left padding, right padding) of the strip of output
    columns [a, b): what a conv of `g`'s geometry reads for them."""
    span = g.dilations[1] * (g.kw - 1) + 1
    lo, hi = a * g.strides[1] - g.pads[1], (b - 1) * g.strides[1] + span - g.pads[1]
    return max(lo, 0), min(hi, g.w), max(-lo, 0), max(hi - g.w, 0)


def strips(width: int, count: int) -> list[tuple[int, int]]:
    """[a, b) column ranges of at most `count` strips of equal width over `width` columns
    (the last one no wider)."""
    step = -(-width // count)
    return [(a, min(a + step, width)) for a in range(0, width, step)]


def strip_geometry(g: ConvGeometry, a: int, b: int) -> ConvGeometry:
    lo, hi, left, right = strip_columns(g, a, b)
    return dataclasses.replace(g, w=hi - lo, pads=(g.pads[0], left, g.pads[2], right))


def strip_count(g: ConvGeometry, costing: ConvCosting) -> tuple[int, float] | None:
    """(strips, their modeled cycles with the copies) at the count estimated cheapest: from
    the least power of two (or the width) whose strips a direct-summing lowering plans, it
    and `MORE_STRIPS` doublings, each strip at `select-implementations`' choice (at the
    least count a deep conv's strips may fit only the vector unit's direct conv, where
    narrower ones fit the cube's im2col). None when even one column is too wide."""
    fits = (n for n in _counts(g.out_hw[1]) if costing.plannable(_widest(g, n)))
    least = next(fits, None)
    if least is None:
        return None
    tried = [n for n in _counts(g.out_hw[1]) if n >= least][: MORE_STRIPS + 1]
    totals = {n: _estimate(g, n, costing) for n in tried}
    best = min(tried, key=lambda n: (totals[n], n))
    return best, totals[best]


MORE_STRIPS = 3
"""Doublings of the strip count tried beyond the least that plans."""

CRAMPED = 4.0
"""Strips are considered where im2col plans no tile of the whole conv, or only tiles
estimated above this multiple of its analytic bound (`conv_cost.analytic_im2col`; planned
convs run 1.5-2x it): tiles of so few pixels that fit L1 beside the wide rows (ResNet-50's
128-channel stride-2 3x3 conv at 800x1344: 1.8e6 cycles against a bound of 4.3e4)."""

STRIPS_GAIN = 0.8
"""Strips are taken where their estimate, copies included, is below this share of the
whole conv's (every conv whose rows no lowering plans; a conv left to the vector unit's
direct conv because the cube's tiles do not fit its rows: ResNet-50's stride-2 3x3 convs at
800x1344, 4.8e6 cycles by direct against ~2e6 in strips by im2col)."""


def _counts(width: int) -> list[int]:
    """Strip counts: the powers of two below `width`, and `width` (one column each)."""
    counts, n = [], 2
    while n < width:
        counts.append(n)
        n *= 2
    return [*counts, width]


def _widest(g: ConvGeometry, count: int) -> ConvGeometry:
    """The strip of `count` that reads the most input columns (padding is not in L1's rows)."""
    pieces = [strip_geometry(g, a, b) for a, b in strips(g.out_hw[1], count)]
    return max(pieces, key=lambda piece: piece.w)


def _estimate(g: ConvGeometry, count: int, costing: ConvCosting) -> float:
    """The modeled cycles of `count` strips, each at `select-implementations`' choice, and of
    the copies: the slices and the concat read and write their bytes over HBM."""
    pieces = [strip_geometry(g, a, b) for a, b in strips(g.out_hw[1], count)]
    # (the middle strips share one geometry: each distinct one is costed once)
    convs = sum(n * costing.expected(piece) for piece, n in Counter(pieces).items())
    oh, ow = g.out_hw
    copied = sum(g.n * g.c * g.h * piece.w for piece in pieces) + g.n * g.o * oh * ow
    copied += g.n * g.o * oh * ow if costing.residual else 0
    return convs + 2 * copied * costing.dtype.itemsize / costing.target.hbm_bandwidth


def split_conv(op: Conv2DKernelOp, count: int, rewriter: Rewriter) -> None:
    """Replace `op` by `count` strips of its output columns and their concat."""
    g, fused = conv_geometry(op), op.fused_names
    props = conv_props(op)
    del props["pads"]
    outputs: list[SSAValue] = []
    new = []
    for a, b in strips(g.out_hw[1], count):
        lo, hi, left, right = strip_columns(g, a, b)
        window = dict(axes=[WIDTH], steps=[1], fused_from=fused)
        x = SliceKernelOp(op.input, starts=[lo], ends=[hi], **window)
        new.append(x)
        residual = None
        if op.residual is not None:
            new.append(SliceKernelOp(op.residual, starts=[a], ends=[b], **window))
            residual = new[-1].output
        pads = [g.pads[0], left, g.pads[2], right]
        conv = Conv2DKernelOp(
            x.output, op.weight, op.bias, op.scale, op.shift, residual,
            fused_from=fused, pads=pads, **props,
        )  # fmt: skip
        new.append(conv)
        outputs.append(conv.output)
    join = ConcatKernelOp(*outputs, fused_from=fused, axis=WIDTH)
    rewriter.insert_op([*new, join], InsertPoint.before(op))
    rewriter.replace_op(op, [], [join.output])


@dataclass(frozen=True)
class SplitWideConvs(ModulePass):
    """Cut convs whose rows crowd the cube's tiles out into column strips, where cheaper."""

    name = "split-wide-convs"

    target: str = "ascend910a"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        target, rewriter = load_target(self.target), Rewriter()
        for conv, g, costing in costed_convs(op, target):
            if costing.im2col(g) <= CRAMPED * analytic_im2col(g, target, costing.dtype).cycles:
                continue  # (the cube's tiles fit its rows)
            found = strip_count(g, costing)
            if found is not None and found[0] > 1 and found[1] < STRIPS_GAIN * costing.expected(g):
                split_conv(conv, found[0], rewriter)
        for transposed in [k for k in op.walk() if isinstance(k, ConvTranspose2DKernelOp)]:
            if len(shape_of(transposed.input.type)) != 4:
                continue
            whole = min(route_costs(transposed, target).values())
            if whole <= CRAMPED * transposed_bound(transposed, target):
                continue  # (a route's tiles fit its rows)
            count, cycles = transposed_count(transposed, target, MORE_STRIPS)
            if count > 1 and cycles < STRIPS_GAIN * whole:
                split_transposed(transposed, count, rewriter)
