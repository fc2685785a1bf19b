"""ONNX Einsum as `ge` transposes, reshapes, reductions and batched matmuls.

Operands are combined left to right. Before each pair is combined, labels that no later
operand and not the output name are summed away; the pair then becomes one batched
`ge.matmul` of [batch, free of A, contracted] by [batch, contracted, free of B], where
batch labels are shared and still needed, contracted labels shared and not. The result
is transposed to the output's label order. Ellipses stand for the same trailing dims in
every operand. A label repeated within one operand takes that operand's diagonal first (a
gather of the flattened pair of axes at i * (d + 1)), so 'ii->i', 'ii' (the trace) and
'bii->bi' are the usual einsum.
"""

from __future__ import annotations

import string

import numpy as np
from xdsl.ir import SSAValue

from ge.frontends.onnx.context import Node
from gedialects.ge import ops

Term = tuple[SSAValue, str]  # a value and one label per dim


def _parse(n: Node, equation: str, ranks: list[int]) -> tuple[list[str], str]:
    """Operand and output label strings, with '...' spelled as fresh capital letters."""
    equation = equation.replace(" ", "")
    lhs, arrow, rhs = equation.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ranks):
        raise n.error(f"equation '{equation}' names {len(terms)} operands, got {len(ranks)}")
    spare = [c for c in string.ascii_uppercase if c not in equation]
    ellipsis_rank = max(
        (r - len(t.replace("...", "")) for t, r in zip(terms, ranks) if "..." in t), default=0
    )
    dots = "".join(spare[:ellipsis_rank])
    labels = []
    for term, rank in zip(terms, ranks):
        own = rank - len(term.replace("...", ""))
        term = term.replace("...", dots[ellipsis_rank - own :] if own else "")
        if len(term) != rank:
            raise n.error(f"term '{term}' of '{equation}' does not match an operand of rank {rank}")
        labels.append(term)
    if arrow:
        out = rhs.replace("...", dots)
    else:  # implicit output: the ellipsis, then labels used once, alphabetically
        counts = "".join(labels)
        out = dots + "".join(sorted(c for c in set(counts) if counts.count(c) == 1 and c in lhs))
    return labels, out


def _diagonal(n: Node, term: Term) -> Term:
    """`term` with every repeated label taken once: the diagonal of its axes."""
    value, labels = term
    while len(set(labels)) != len(labels):
        c = next(c for c in labels if labels.count(c) > 1)
        first = labels.index(c)
        second = labels.index(c, first + 1)
        rest = [i for i in range(len(labels)) if i not in (first, second)]
        dims = n.shape_of(value)
        moved = n.emit(ops.TransposeOp(value, perm=[*rest, first, second]))
        d = dims[first]
        flat = n.emit(ops.ReshapeOp(moved, shape=[*(dims[i] for i in rest), d * d]))
        index = n.constant(np.arange(d, dtype=np.int64) * (d + 1))
        value = n.emit(ops.GatherOp(flat, index, axis=len(rest)))
        labels = "".join(labels[i] for i in rest) + c
    return value, labels


def _sum_away(n: Node, term: Term, keep: set[str]) -> Term:
    value, labels = term
    axes = [i for i, c in enumerate(labels) if c not in keep]
    if not axes:
        return term
    summed = n.emit(ops.ReduceSumOp(value, axes=axes, keepdims=False))
    return summed, "".join(c for c in labels if c in keep)


def _arrange(n: Node, term: Term, order: str) -> SSAValue:
    value, labels = term
    perm = [labels.index(c) for c in order]
    if perm == list(range(len(perm))):
        return value
    return n.emit(ops.TransposeOp(value, perm=perm))


def _pair(n: Node, a: Term, b: Term, keep: set[str], sizes: dict[str, int]) -> Term:
    shared = [c for c in a[1] if c in b[1]]
    batch = "".join(c for c in shared if c in keep)
    inner = "".join(c for c in shared if c not in keep)
    free_a = "".join(c for c in a[1] if c not in b[1])
    free_b = "".join(c for c in b[1] if c not in a[1])

    def size(labels: str) -> int:
        return int(np.prod([sizes[c] for c in labels], dtype=np.int64))

    batch_dims = [sizes[c] for c in batch]
    left = n.emit(
        ops.ReshapeOp(
            _arrange(n, a, batch + free_a + inner), shape=[*batch_dims, size(free_a), size(inner)]
        )
    )
    right = n.emit(
        ops.ReshapeOp(
            _arrange(n, b, batch + inner + free_b), shape=[*batch_dims, size(inner), size(free_b)]
        )
    )
    product = n.emit(ops.MatMulOp(left, right))
    labels = batch + free_a + free_b
    return n.emit(ops.ReshapeOp(product, shape=[sizes[c] for c in labels])), labels


def einsum(n: Node) -> SSAValue:
    values = n.inputs()
    labels, out = _parse(n, str(n.attr("equation")), [len(n.shape_of(v)) for v in values])
    sizes: dict[str, int] = {}
    for value, term in zip(values, labels):
        for c, d in zip(term, n.shape_of(value)):
            if sizes.setdefault(c, d) != d:
                raise n.unsupported(f"label '{c}' has sizes {sizes[c]} and {d} (broadcasting)")
    terms: list[Term] = [_diagonal(n, term) for term in zip(values, labels)]
    later = [set("".join(labels[i + 1 :])) for i in range(len(labels))]
    result = _sum_away(n, terms[0], set(out) | later[0])
    for i in range(1, len(terms)):
        keep = set(out) | later[i]
        result = _pair(n, result, _sum_away(n, terms[i], keep | set(result[1])), keep, sizes)
    return _arrange(n, _sum_away(n, result, set(out)), out)


CONVERTERS = {"Einsum": einsum}
