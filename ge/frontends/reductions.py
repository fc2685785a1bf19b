"""Reductions both frontends compose from `ge` ops the same way.

`log_sum_exp` is ONNX's ReduceLogSumExp and torch's `logsumexp`: log(sum(exp(x))) overflows
f32 once x passes ~88, so the max over the axes is subtracted first and added back, as
onnxruntime and torch do; an infinite max shifts by 0 instead (x - inf would be NaN), so a
row of -inf gives -inf and a row holding +inf gives +inf.
"""

from __future__ import annotations

import numpy as np
from xdsl.ir import SSAValue

from ge.frontends.indexing import Builder
from gedialects.ge import ops
from gedialects.ge.types import element_of, shape_of, to_numpy_dtype


def log_sum_exp(b: Builder, x: SSAValue, axes: list[int], keep: bool) -> SSAValue:
    """log(sum(exp(x - m))) + m over `axes` of floating `x`, m the max (0 where infinite)."""
    dtype = to_numpy_dtype(element_of(x.type))
    peak = b.emit(ops.ReduceMaxOp(x, axes=axes, keepdims=True))
    infinite = b.emit(ops.EqualOp(b.emit(ops.AbsOp(peak)), b.constant(np.asarray(np.inf, dtype))))
    shift = b.emit(ops.WhereOp(infinite, b.constant(np.asarray(0, dtype)), peak))
    shifted = b.emit(ops.ExpOp(b.emit(ops.SubOp(x, shift))))
    total = b.emit(ops.ReduceSumOp(shifted, axes=axes, keepdims=keep))
    if not keep:
        shift = b.emit(ops.ReshapeOp(shift, shape=list(shape_of(total.type))))
    return b.emit(ops.AddOp(b.emit(ops.LogOp(total)), shift))
