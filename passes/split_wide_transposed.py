"""Column strips of a transposed convolution whose rows are too wide for either lowering.

Both routes of `lowering.lower_conv_transpose` hold whole rows on chip: the zero-insertion
route an im2col conv over the zero-inserted image (its rows in L1, stride x the input's
width in 16 lanes), the col2im route whole phase images of a few channels in UB. A UNet's
2x2 stride-2 upsampling to 512x512 fits neither and ran by reference. `split-wide-convs`
cuts such a conv into strips of output columns, here: each strip reads the input columns
that reach its outputs (`strip_inputs`) and is the same transposed conv with its own width
padding, so the strips' concat along the width is the whole output, sum for sum.

Strip boundaries lie where an output column sits on the stride's grid (a + pad_left a
multiple of the stride), so every strip's left padding is at most dilation x (kernel - 1),
as the zero-insertion route requires, and its right edge is reached with an output padding
below the stride.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from xdsl.ir import Operation, SSAValue
from xdsl.rewriter import InsertPoint, Rewriter

from gedialects.ge.types import element_of, shape_of, to_numpy_dtype
from gedialects.kernel.mirrored import ConcatKernelOp, ConvTranspose2DKernelOp, SliceKernelOp
from lowering.lower_conv_transpose import route_costs
from runtime.cost_model import roofline_terms
from runtime.targets import Target

WIDTH = 3
"""The width axis of NCHW."""


@dataclass(frozen=True)
class TransposedStrip:
    """Output columns [a, b) of a transposed conv and what computes them: input columns
    [lo, hi) with width padding (left, right) and a width output padding."""

    a: int
    b: int
    lo: int
    hi: int
    left: int
    right: int
    extra: int


def strip_inputs(op: ConvTranspose2DKernelOp, a: int, b: int) -> TransposedStrip | None:
    """The strip of `op`'s output columns [a, b), or None where no padding of the input
    columns that reach them gives exactly those columns (an output padding of a stride or
    more). Output column x takes input column i at tap j where x = i s - pad_left + j d."""
    w = shape_of(op.input.type)[WIDTH]
    kw = shape_of(op.weight.type)[WIDTH]
    s, d = op.ints("strides")[1], op.ints("dilations")[1]
    pads, extra = op.ints("pads"), op.ints("output_padding")
    ow = shape_of(op.output.type)[WIDTH]
    reach = d * (kw - 1)
    if a == 0:
        lo, left = 0, pads[1]
    else:
        lo = max(0, -(-(a + pads[1] - reach) // s))
        left = a + pads[1] - lo * s
    if b == ow:
        hi, right, pad_out = w, pads[3], extra[1]
    else:
        hi = min(w, (b - 1 + pads[1]) // s + 1)
        excess = (hi - lo - 1) * s + reach + 1 - left - (b - a)
        right, pad_out = max(excess, 0), max(-excess, 0)
    if lo >= hi or left < 0 or pad_out >= max(s, d):
        return None
    return TransposedStrip(a, b, lo, hi, left, right, pad_out)


def grid_strips(op: ConvTranspose2DKernelOp, count: int) -> list[tuple[int, int]]:
    """[a, b) output column ranges of `count` strips of about equal width (fewer where the
    width has fewer grid columns), each boundary the output column on the stride's grid
    (a + pad_left a multiple of the stride) nearest to an equal cut."""
    ow = shape_of(op.output.type)[WIDTH]
    s, left = op.ints("strides")[1], op.ints("pads")[1]
    cuts = {round((j * ow / count + left) / s) * s - left for j in range(1, count)}
    bounds = [0, *sorted(c for c in cuts if 0 < c < ow), ow]
    return list(zip(bounds, bounds[1:]))


def exact_strips(
    op: ConvTranspose2DKernelOp, ranges: list[tuple[int, int]]
) -> list[TransposedStrip] | None:
    """The strips of `op` over `ranges`, a range that no input column reaches (output
    padding alone, past the last input's taps) joined to the one before it; None when a
    range has no exact strip even so."""
    found: list[TransposedStrip] = []
    for a, b in ranges:
        strip = strip_inputs(op, a, b)
        if strip is None and found:
            strip = strip_inputs(op, found.pop().a, b)
        if strip is None:
            return None
        found.append(strip)
    return found


def strip_ops(
    op: ConvTranspose2DKernelOp, ranges: list[tuple[int, int]]
) -> tuple[list[Operation], list[SSAValue]] | None:
    """The slices and transposed convs of `op`'s strips over `ranges` (`exact_strips`, not
    inserted), and the strips' outputs; None when a range has no exact strip."""
    found = exact_strips(op, ranges)
    if found is None:
        return None
    fused, new, outputs = op.fused_names, [], []
    props = {k: v for k, v in op.properties.items() if k not in ("fused_from",)}
    pads, extra = op.ints("pads"), op.ints("output_padding")
    for strip in found:
        x = SliceKernelOp(
            op.input, starts=[strip.lo], ends=[strip.hi], axes=[WIDTH], steps=[1], fused_from=fused
        )
        props.update(
            pads=[pads[0], strip.left, pads[2], strip.right], output_padding=[extra[0], strip.extra]
        )
        conv = ConvTranspose2DKernelOp(x.output, op.weight, op.bias, fused_from=fused, **props)
        new += [x, conv]
        outputs.append(conv.output)
    return new, outputs


def _discard(ops: list[Operation]) -> None:
    for trial in reversed(ops):
        trial.erase()


def transposed_strips(op: ConvTranspose2DKernelOp, count: int, target: Target) -> float:
    """The modeled cycles of `op` in about `count` strips, the copies included (the input's
    slices and the concat read and write their bytes over HBM); inf where a strip fits no
    route or has no exact padding."""
    built, total = strip_ops(op, grid_strips(op, count)), 0.0
    if built is None:
        return math.inf
    new, _ = built
    convs = [o for o in new if isinstance(o, ConvTranspose2DKernelOp)]
    costs: dict[tuple, float] = {}
    for conv in convs:  # (the middle strips share one geometry: each is costed once)
        key = (shape_of(conv.input.type), *conv.ints("pads"), *conv.ints("output_padding"))
        if key not in costs:
            costs[key] = min(route_costs(conv, target).values())
        total += costs[key]
    itemsize = to_numpy_dtype(element_of(op.output.type)).itemsize
    copied = sum(math.prod(shape_of(c.input.type)) for c in convs)
    copied += math.prod(shape_of(op.output.type))
    _discard(new)
    return total + 2 * copied * itemsize / target.hbm_bandwidth


def split_transposed(op: ConvTranspose2DKernelOp, count: int, rewriter: Rewriter) -> bool:
    """Replace `op` by about `count` strips of its output columns and their concat; whether
    it was replaced (a strip without an exact padding leaves it whole)."""
    built = strip_ops(op, grid_strips(op, count))
    if built is None:
        return False
    new, outputs = built
    join = ConcatKernelOp(*outputs, fused_from=op.fused_names, axis=WIDTH)
    rewriter.insert_op([*new, join], InsertPoint.before(op))
    rewriter.replace_op(op, [], [join.output])
    return True


def transposed_bound(op: ConvTranspose2DKernelOp, target: Target) -> float:
    """The roofline of `op` on `target` in cycles: its compulsory HBM bytes (input, filters,
    output) over the bandwidth, or its flops at the cube's peak in its mode."""
    n, c, h, w = shape_of(op.input.type)
    _, og, kh, kw = shape_of(op.weight.type)
    dtype = np.dtype(to_numpy_dtype(element_of(op.output.type)))
    moved = sum(math.prod(shape_of(v.type)) for v in (op.input, op.weight, op.output))
    flops = 2 * n * c * h * w * og * kh * kw
    f32 = flops if dtype == np.float32 else 0
    terms = roofline_terms(target, flops, 0, moved * dtype.itemsize, False, f32)
    return max(terms.values())


def transposed_count(op: ConvTranspose2DKernelOp, target: Target, more: int) -> tuple[int, float]:
    """(strips, their modeled cycles) at the count estimated cheapest: the least power of
    two whose strips fit a route, and `more` doublings; (1, inf) when none fits."""
    ow = shape_of(op.output.type)[WIDTH]
    s = op.ints("strides")[1]
    counts = [2**e for e in range(1, max(ow // max(s, 1), 2).bit_length() + 1)]
    best, tried = (1, math.inf), 0
    for count in counts:
        cycles = transposed_strips(op, count, target)
        if math.isfinite(cycles):
            best = min(best, (count, cycles), key=lambda found: (found[1], found[0]))
            tried += 1
        if tried > more:
            break
    return best
