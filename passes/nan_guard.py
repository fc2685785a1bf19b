"""The NaN guard torch writes after an attention softmax, and the same guard after a kernel.

`torch.onnx.export` of `scaled_dot_product_attention` with a boolean mask writes
`P = where(isnan(P), 0, P)` after the softmax (IsNaN as `not(P == P)`), so a wholly masked row
(all -inf: softmax gives NaN) weighs nothing. A softmax row is NaN in every entry or in none,
so `where(isnan(P), 0, P) @ V` equals `where(isnan(O), 0, O)` for `O = P @ V`, except where V
itself holds NaN or inf (the guard after the product then also zeroes those rows). Applying
the guard to the fused kernel's output lets `fuse-attention` take the whole block.
"""

from __future__ import annotations

import numpy as np
from xdsl.ir import Operation, SSAValue

from gedialects.ge import ops as ge
from gedialects.ge.constant import ConstantOp
from gedialects.ge.types import element_of, to_numpy_dtype
from passes.matching import defining, is_splat, only_user


def nan_guarded(op: Operation | None) -> tuple[SSAValue, list[Operation]] | None:
    """(P, the guard's ops) if `op` is where(not(P == P), 0, P), its values used only within."""
    if not isinstance(op, ge.WhereOp) or not is_splat(op.lhs, 0.0):
        return None
    probs = op.rhs
    negated = defining(op.condition, ge.LogicalNotOp)
    equal = negated and defining(negated.input, ge.EqualOp)
    if not equal or equal.lhs is not probs or equal.rhs is not probs:
        return None
    if only_user(negated.output) is not op or only_user(equal.output) is not negated:
        return None
    if {use.operation for use in probs.uses} != {equal, op} or op.output.type != probs.type:
        return None
    return probs, [op, negated, equal]


def guard(value: SSAValue) -> tuple[list[Operation], SSAValue]:
    """Ops computing where(isnan(value), 0, value), and that value."""
    equal = ge.EqualOp(value, value)
    negated = ge.LogicalNotOp(equal.output)
    zero = ConstantOp(np.zeros((), to_numpy_dtype(element_of(value.type))))
    select = ge.WhereOp(negated.output, zero.output, value)
    return [equal, negated, zero, select], select.output
