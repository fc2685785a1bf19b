"""A masking select `where(keep, scores, fill)` before a softmax, as an additive mask.

Exports write an attention mask either as an add (`scores + (1 - m) * -10000`, BERT) or as a
select: `where(causal, scores, fill)` (GPT-2's `masked_bias`) or `where(masked, fill, scores)`
(`masked_fill(mask == 0, -inf)`, HF's `finfo.min`), or, in the zoo's GPT-2 (opset 10), as
a product `scores * b - 10000 * (1 - b)` with a constant 0/1 `b`: the select `where(b, scores,
-10000)` for finite scores.
`kernel.attention` takes the add. `scores + where(keep, 0, fill)` is the select itself when
the fill swallows any finite score (-inf, or a fill of at most -1e30: `w + fill` rounds to
`fill` for |w| < 2**103). A smaller fill (-10000) is taken only with a constant condition that
keeps at least one score of every row: a masked score then weighs `exp(w + fill - max)`
instead of `exp(fill - max)`, both 0 in f32 unless the scores span about |fill|, and no row is
wholly masked (where the select gives a uniform row and the add would not). That holds
only while the select is the scores' one mask: another mask added to them (GPT-2's padding
mask after its causal select) can mask every key the condition keeps, and such a row's
select gives the other keys exactly the fill where the add gives them score + fill
(`MaskedScores.alone`: the caller must take no other mask with it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.ir import Attribute, Operation, SSAValue

from gedialects.ge import ops as ge
from gedialects.ge.constant import ConstantOp
from gedialects.ge.types import element_of, shape_of, to_numpy_dtype
from passes.matching import constant_array, splat_value

SWALLOWING_FILL = -1e30
"""A fill at most this large absorbs any finite score in f32 (and in f16 it is -inf)."""
SMALLEST_FILL = -1e4
"""The least negative fill taken with a constant, row-keeping condition (GPT-2's)."""


@dataclass(frozen=True)
class MaskedScores:
    """`scores + mask` computes the select (or product) it was read from, with `ops` (not
    yet inserted) computing `mask`; `alone`: only while no other mask is added."""

    ops: list[Operation]
    mask: SSAValue
    scores: SSAValue
    alone: bool


def additive_mask(select: ge.WhereOp) -> MaskedScores | None:
    """The additive mask such that `scores + mask` is `select`, or None. The select may keep
    the scores where its condition holds (`where(keep, scores, fill)`) or fill there
    (`masked_fill`: `where(masked, fill, scores)`)."""
    out = select.output.type
    for scores, other, keeps in ((select.lhs, select.rhs, True), (select.rhs, select.lhs, False)):
        fill = splat_value(other)
        if scores.type == out and fill is not None:
            cond = constant_array(select.condition)
            found = _mask(select.condition, cond, fill, keeps, out)
            return None if found is None else MaskedScores(*found, scores, fill > SWALLOWING_FILL)
    return None


def _mask(
    condition: SSAValue | None, cond: np.ndarray | None, fill: float, keeps: bool, scores: Attribute
) -> tuple[list[Operation], SSAValue] | None:
    """The additive mask of a select on `condition` (its value `cond` when constant)."""
    dtype = np.dtype(to_numpy_dtype(element_of(scores)))
    if dtype.kind != "f" or fill > SMALLEST_FILL:
        return None
    if cond is not None:
        keep = cond.astype(bool) if keeps else ~cond.astype(bool)
        rows = np.broadcast_to(keep, shape_of(scores)).any(axis=-1)
        if fill > SWALLOWING_FILL and not rows.all():
            return None
        mask = ConstantOp(np.where(keep, 0.0, fill).astype(dtype))
        return [mask], mask.output
    if fill > SWALLOWING_FILL or condition is None:
        return None
    zero, value = ConstantOp(np.zeros((), dtype)), ConstantOp(np.full((), fill, dtype))
    pair = (zero.output, value.output) if keeps else (value.output, zero.output)
    mask = ge.WhereOp(condition, *pair)
    return [zero, value, mask], mask.output


def multiplicative_mask(sub: ge.SubOp) -> MaskedScores | None:
    """The additive mask such that `scores + mask` is `sub` = scores * b - c, with b a
    constant of 0s and 1s and c constant, 0 where b is 1 and one fill where b is 0."""
    mul = sub.lhs.owner
    c = constant_array(sub.rhs)
    if not isinstance(mul, ge.MulOp) or c is None or sub.output.type != mul.output.type:
        return None
    if {use.operation for use in mul.output.uses} != {sub}:
        return None
    for scores, keep_value in ((mul.lhs, mul.rhs), (mul.rhs, mul.lhs)):
        b = constant_array(keep_value)
        if b is None or scores.type != sub.output.type or not np.isin(b, (0, 1)).all():
            continue
        b, c = np.broadcast_arrays(b, c)
        masked = -c[b == 0]
        if np.any(c[b == 1] != 0) or masked.size == 0 or np.any(masked != masked.flat[0]):
            return None
        fill = float(masked.flat[0])
        found = _mask(None, b == 1, fill, True, sub.output.type)
        return None if found is None else MaskedScores(*found, scores, fill > SWALLOWING_FILL)
    return None
