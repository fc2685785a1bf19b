"""`split-resize`: an N-d resize as resizes of at most the last two axes of a view.

ONNX's nearest, linear and cubic resizes are separable: every output value is a product of
per-axis weights (or a per-axis index choice) applied to the input, and ONNX's reference
interpolates axis by axis (`_interpolate_nd`). So resizing the last two axes, then each other
resized axis `a` on the view (prod(dims[:a]), dims[a], prod(dims[a+1:])), computes the
same values (sums in another order: within float rounding). Every npu resize lowering takes
only the last two axes (`lowering/lower_resize*.py`): a trilinear 3-D U-Net upsampling or a
video model's (T, H, W) resize then lowers instead of running by reference. The split keeps
each axis's coordinate mode, its `scales` entry (ONNX's coordinate transform reads the
given scale, not out / in) and the cubic options.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import DenseArrayBase, ModuleOp, f64
from xdsl.ir import SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.rewriter import InsertPoint

from gedialects.ge import ops
from gedialects.ge.types import shape_of


def _resized_axes(op: ops.ResizeOp) -> list[int]:
    shape, sizes = shape_of(op.input.type), op.ints("sizes")
    scales = _scales(op)
    return [a for a in range(len(shape)) if sizes[a] != shape[a] or scales[a] != 1.0]


def _scales(op: ops.ResizeOp) -> list[float]:
    rank = len(op.ints("sizes"))
    return [1.0] * rank if op.scales is None else [float(s) for s in op.scales.get_values()]


class SplitResize(RewritePattern):
    """resize(x) over axes beyond the last two -> reshape/resize pairs of one axis each."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ops.ResizeOp, rewriter: PatternRewriter, /) -> None:
        shape = shape_of(op.input.type)
        rank = len(shape)
        leading = [a for a in _resized_axes(op) if a < rank - 2]
        if not leading or op.roi is not None:  # a crop runs by reference whole
            return
        sizes, scales = list(op.ints("sizes")), _scales(op)
        given = op.scales is not None
        current: list[int] = [*shape[:-2], *sizes[-2:]]
        value: SSAValue = op.input
        here = InsertPoint.before(op)
        if any(a >= rank - 2 for a in _resized_axes(op)):
            value = self._resize(rewriter, op, value, current, [1.0] * (rank - 2) + scales[-2:],
                                 given)  # fmt: skip
        for axis in reversed(leading):
            outer = math.prod(current[:axis])
            inner = math.prod(current[axis + 1 :])
            view = rewriter.insert(ops.ReshapeOp(value, shape=[outer, current[axis], inner]), here)
            resized = self._resize(rewriter, op, view.results[0], [outer, sizes[axis], inner],
                                   [1.0, scales[axis], 1.0], given)  # fmt: skip
            current[axis] = sizes[axis]
            back = rewriter.insert(ops.ReshapeOp(resized, shape=list(current)), here)
            value = back.results[0]
        rewriter.replace(op, [], [value])

    @staticmethod
    def _resize(
        rewriter: PatternRewriter,
        op: ops.ResizeOp,
        value: SSAValue,
        sizes: list[int],
        scales: list[float],
        given: bool,
    ) -> SSAValue:
        props = {k: v for k, v in op.properties.items() if k not in ("sizes", "scales")}
        dense = DenseArrayBase.from_list(f64, scales) if given else None
        resized = ops.ResizeOp(value, sizes=sizes, scales=dense, **props)
        rewriter.insert(resized, InsertPoint.before(op))
        return resized.output


@dataclass(frozen=True)
class SplitResizePass(ModulePass):
    """Resize at most the last two axes at a time (separable resizes over reshaped views)."""

    name = "split-resize"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(SplitResize(), apply_recursively=False).rewrite_module(op)
