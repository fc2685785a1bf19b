"""`fold-constants`: evaluate `ge` ops whose operands are all constants, at compile time.

Every `ge` op with reference semantics whose operands are all `ge.constant` is run once
with those semantics (`gedialects.ge.semantics.evaluate`) and replaced by constants of its
results, so shape-like computations (casts, gathers, concats of small integer tensors)
vanish and transposed or reshaped weights are stored in the form the kernels read. An
operand with zero elements counts as a constant too, whatever defines it: it has no values
to know (a reduction over an empty axis is its identity, a pad of an empty tensor its pad
value), so an op of constants and empty tensors folds.

A fold must not grow the model needlessly. Folding is always done when the result is no
larger than the constant operands it frees (operands whose only user is the folded op,
so they die with it): a transpose of a weight used once is stored transposed, never as a
second copy. Otherwise the result is new data kept beside its still-live sources, and
it is folded only if it has at most `size-limit` elements. The default, 65,536 elements
(256 KiB of f32, the size of one core's unified buffer), folds every shape computation
and small table while leaving a transpose of a weight that another op also reads to run
at execution time. A result whose elements are all equal is stored as a splat (one
element), so an `expand` of a scalar folds at any size.

Dead pure ops are erased on the way (the rewrite driver's trivial DCE).

Pre: the module verifies. Post: no op other than `ge.constant` has only constant
operands unless its fold would grow the model by more than `size-limit` elements, its
constants are elided, or it has no reference semantics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import BytesAttr, DenseIntOrFPElementsAttr, ModuleOp, TensorType
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
)

from gedialects.errors import GeError, InterpretationError
from gedialects.ge.constant import ConstantOp
from gedialects.ge.semantics import REFERENCE, evaluate
from gedialects.ge.types import element_of, num_elements, shape_of, to_numpy_dtype

DEFAULT_SIZE_LIMIT = 65_536


def stored_elements(constant: ConstantOp) -> int:
    """Elements a constant stores: 1 for a splat, else all of them."""
    return len(constant.value)


def freed_elements(op: Operation) -> int:
    """Stored elements of the constant operands that die with `op` (it is their only user)."""
    freed = 0
    for owner in {o.owner for o in op.operands}:
        if not isinstance(owner, ConstantOp):
            continue  # an empty tensor: nothing stored
        if all(use.operation is op for use in owner.output.uses):
            freed += stored_elements(owner)
    return freed


def is_bitwise_splat(array: np.ndarray) -> bool:
    """Whether all elements have the same bits (so -0.0 and 0.0 differ, NaNs may agree)."""
    bits = np.ascontiguousarray(array).reshape(-1).view(f"u{array.dtype.itemsize}")
    return bool(np.all(bits == bits[0]))


def to_constant(array: np.ndarray, result_type: Attribute) -> ConstantOp | None:
    """A constant of `result_type` holding `array`, as a splat when all elements agree."""
    dtype = to_numpy_dtype(element_of(result_type))
    array = np.asarray(array).astype(dtype, copy=False)
    if array.shape != shape_of(result_type):
        return None  # semantics and type disagree: leave the op to fail when run
    if array.size > 1 and is_bitwise_splat(array):
        splat = np.ascontiguousarray(array.flat[:1])
        return ConstantOp(DenseIntOrFPElementsAttr(result_type, BytesAttr(splat.tobytes())))
    return ConstantOp(array)


def _known(value: SSAValue) -> np.ndarray | None:
    """The array a value holds if compile time knows it: a constant's (not elided), or an
    empty array for a tensor with zero elements; else None."""
    owner = value.owner
    if isinstance(owner, ConstantOp):
        return None if owner.is_elided else owner.to_numpy()
    if isinstance(value.type, TensorType) and 0 in value.type.get_shape():
        return np.empty(shape_of(value.type), to_numpy_dtype(element_of(value.type)))
    return None


@dataclass
class FoldConstantOperands(RewritePattern):
    """op(ge.constant...) -> ge.constant(evaluate(op)) when within the size budget."""

    size_limit: int

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if isinstance(op, ConstantOp) or type(op) not in REFERENCE or not op.operands:
            return
        known = [_known(operand) for operand in op.operands]
        if any(value is None for value in known):
            return
        constants = [o.owner for o in op.operands if isinstance(o.owner, ConstantOp)]
        added = sum(num_elements(r.type) for r in op.results)
        within_budget = added <= self.size_limit or added <= freed_elements(op)
        if not within_budget and not all(stored_elements(c) == 1 for c in constants):
            return  # only splat sources may still fold to a (cheap) splat
        try:
            values = evaluate(op, *known)
        except (ArithmeticError, IndexError, ValueError, InterpretationError):
            return  # e.g. a gather index out of range: left for execution to report
        new_ops = [to_constant(v, r.type) for v, r in zip(values, op.results, strict=True)]
        if None in new_ops:
            return
        folded = [c for c in new_ops if c is not None]
        if not within_budget and any(stored_elements(c) > 1 for c in folded):
            return
        rewriter.replace(op, folded, [c.output for c in folded])


@dataclass(frozen=True)
class FoldConstants(ModulePass):
    """Evaluate ops whose operands are all constants and replace them by constants."""

    name = "fold-constants"

    size_limit: int = DEFAULT_SIZE_LIMIT
    """Largest result (elements) folded when its sources stay alive beside it."""

    def __post_init__(self) -> None:
        if self.size_limit < 0:
            raise GeError(f"fold-constants: size_limit must be at least 0, got {self.size_limit}")

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        pattern = FoldConstantOperands(self.size_limit)
        PatternRewriteWalker(GreedyRewritePatternApplier([pattern])).rewrite_module(op)
