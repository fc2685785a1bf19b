"""Linear combinations of whole UB buffers on the vector unit: the rows of Winograd's matrices.

A transform row such as (0, -4, -4, 1, 1, 0) becomes a few vector instructions: terms with
the same coefficient magnitude are summed first (add/sub), each sum is scaled once (muls),
and the sums are added, so -4*x1 - 4*x2 + x3 + x4 is add, muls, add, add rather than one
multiply-add per term. `combine_cost` counts the instructions without emitting them, so
the tile choice charges exactly what `combine` emits.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.ir import SSAValue

from gedialects.npu.vector import BINARY_OPS, SCALAR_OPS, UNARY_OPS
from lowering.npu_builder import KernelBuilder

Term = tuple[int, int]  # (sign, index of the source)


def _groups(coefs: Sequence[float]) -> list[tuple[float, list[Term]]]:
    """Terms by coefficient magnitude; a lone unit term last (it adds straight into dst)."""
    by_mag: dict[float, list[Term]] = {}
    for k, c in enumerate(coefs):
        if c != 0:
            by_mag.setdefault(abs(float(c)), []).append((1 if c > 0 else -1, k))
    assert by_mag, "a transform row with no nonzero coefficient"
    groups = list(by_mag.items())
    return sorted(groups, key=lambda g: g[0] == 1.0 and len(g[1]) == 1)


def combine_cost(coefs: Sequence[float]) -> int:
    """Vector instructions `combine` emits for one row."""
    ops = 0
    for first, (mag, terms) in ((i == 0, g) for i, g in enumerate(_groups(coefs))):
        if not first and mag == 1.0 and len(terms) == 1:
            ops += 1
            continue
        ops += max(1, len(terms) - 1)
        if len(terms) > 1 and not _unit(terms, mag):
            ops += 1
        ops += 0 if first else 1
    return ops


def _unit(terms: list[Term], mag: float) -> bool:
    """Whether the plain sum of `terms` (as add/sub builds it) already has the right scale."""
    first_two = terms[0][0] == terms[1][0]
    sign = terms[0][0] if first_two else 1
    return sign * mag == 1.0


def combine(
    b: KernelBuilder,
    coefs: Sequence[float],
    srcs: Sequence[SSAValue],
    dst: SSAValue,
    tmp: SSAValue,
) -> None:
    """dst = sum(coefs[k] * srcs[k]); `tmp` is scratch of dst's shape (never a source)."""
    for index, (mag, terms) in enumerate(_groups(coefs)):
        first = index == 0
        if not first and mag == 1.0 and len(terms) == 1:
            sign, k = terms[0]
            b.add(BINARY_OPS["add" if sign > 0 else "sub"](dst, srcs[k], dst))
            continue
        out = dst if first else tmp
        if len(terms) == 1:
            sign, k = terms[0]
            if sign * mag == 1.0:
                b.add(UNARY_OPS["copy"](srcs[k], out))
            else:
                b.add(SCALAR_OPS["muls"](srcs[k], sign * mag, out))
        else:
            _sum(b, terms, srcs, out, mag)
        if not first:
            b.add(BINARY_OPS["add"](dst, tmp, dst))


def _sum(b: KernelBuilder, terms: list[Term], srcs: Sequence[SSAValue], out, mag) -> None:  # noqa: ANN001
    """out = mag * sum(sign * src) over `terms` (at least two)."""
    (s1, k1), (s2, k2) = terms[0], terms[1]
    if s1 == s2:
        b.add(BINARY_OPS["add"](srcs[k1], srcs[k2], out))
        sign = s1
    elif s1 > 0:
        b.add(BINARY_OPS["sub"](srcs[k1], srcs[k2], out))
        sign = 1
    else:
        b.add(BINARY_OPS["sub"](srcs[k2], srcs[k1], out))
        sign = 1
    for s, k in terms[2:]:
        b.add(BINARY_OPS["add" if s * sign > 0 else "sub"](out, srcs[k], out))
    if sign * mag != 1.0:
        b.add(SCALAR_OPS["muls"](out, sign * mag, out))
