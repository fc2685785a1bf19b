"""What `ge` rewrite patterns share: predicates on values, and erasing what a rewrite killed.

A pattern asks questions of SSA values ("is this a constant?", "is every element 0.5?",
"is this op its only user?") before it rewrites, and erases the chain it replaced after;
these are the same for every pass, so they live here once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from xdsl.ir import Operation, SSAValue
from xdsl.pattern_rewriter import PatternRewriter

from gedialects.ge.constant import ConstantOp


def constant_array(value: SSAValue) -> np.ndarray | None:
    """The data of `value` if a (non-elided) `ge.constant` defines it, else None."""
    owner = value.owner
    if isinstance(owner, ConstantOp) and not owner.is_elided:
        return owner.to_numpy()
    return None


def splat_value(value: SSAValue) -> float | None:
    """The one value every element of a constant holds (None if not a constant splat)."""
    array = constant_array(value)
    if array is None or array.size == 0:
        return None
    first = array.flat[0]
    if not np.all(array == first):
        return None
    return float(first)


def is_splat(value: SSAValue, target: float, rtol: float = 0.0) -> bool:
    """Whether `value` is a constant whose every element equals `target` (within rtol)."""
    found = splat_value(value)
    if found is None:
        return False
    return found == target or (rtol > 0 and bool(np.isclose(found, target, rtol=rtol, atol=0)))


def only_user(value: SSAValue) -> Operation | None:
    """The single op using `value` (it may use it several times), else None."""
    users = {use.operation for use in value.uses}
    return users.pop() if len(users) == 1 else None


def moves_only_unit_axes(shape: Sequence[int], perm: Sequence[int]) -> bool:
    """Whether transposing `shape` by `perm` keeps the order of every axis longer than one:
    the same bytes in the same order, a reshape (a view) rather than a copy."""
    moved = [p for p in perm if shape[p] != 1]
    return moved == sorted(moved)


def used_only_by(value: SSAValue, ops: Iterable[Operation]) -> bool:
    """Whether every use of `value` is by one of `ops` (and there is at least one use)."""
    allowed = set(ops)
    users = {use.operation for use in value.uses}
    return bool(users) and users <= allowed


def other_operand(op: Operation, value: SSAValue) -> SSAValue | None:
    """The operand of a binary `op` that is not `value` (None if `value` is not an operand)."""
    lhs, rhs = op.operands
    if lhs is value:
        return rhs
    if rhs is value:
        return lhs
    return None


def defining(value: SSAValue, op_type: type) -> Operation | None:
    """The op defining `value` if it is an `op_type`, else None."""
    owner = value.owner
    return owner if isinstance(owner, op_type) else None


def erase_dead(rewriter: PatternRewriter, dead: Iterable[Operation]) -> None:
    """Erase the ops of `dead` (users first) that lost all uses, and constants they orphan."""
    for op in dead:
        if op.parent is None or any(r.uses for r in op.results):
            continue
        sources = [o.owner for o in op.operands]
        rewriter.erase(op)
        for source in sources:
            if isinstance(source, ConstantOp) and source.parent and not source.output.uses:
                rewriter.erase(source)


def detached_users(root: Operation) -> list[tuple[SSAValue, Operation]]:
    """(value, user) for each use of a value defined under `root` by an op in no block: an
    op a pattern built for a match it then gave up, never inserted nor erased, still uses
    its operands, and the next rewrite walker that visits those users fails on it (xDSL:
    "insertion point must have a parent block")."""
    found = []
    for op in root.walk():
        values = [*op.results, *(a for r in op.regions for b in r.blocks for a in b.args)]
        for value in values:
            found += [(value, u.operation) for u in value.uses if u.operation.parent is None]
    return found


def release_detached_users(root: Operation) -> int:
    """Drop the uses of `detached_users` (garbage: an op in no block never runs), so one
    pattern's leak cannot fail a later pass on a model; returns how many ops held them.
    The pass property tests report such leaks instead (`ge.testing.equivalence`)."""
    users = {id(user): user for _, user in detached_users(root)}
    for user in users.values():
        user.drop_all_references()
    return len(users)
