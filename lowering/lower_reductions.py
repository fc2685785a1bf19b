"""Row kernels whose axis is not the buffers' last one, and reductions, as `lower_rows` kernels
over reshaped views or transposed HBM temporaries.

`lower_rows` works on whole rows of a (rest, row) buffer in UB. A reduction over trailing axes
(and a global pool, over every spatial axis) is one over the last axis of (rest, reduced)
views; a reduction over other axes first moves them last with a transpose kernel. Layer norm
normalizes dims axis.. together, again through views; softmax and log-softmax over another
axis transpose that axis last, run, and transpose back. With a folded cast (`cast_to`) the
views and temporaries after the kernel take the result's element type.
"""

from __future__ import annotations

import math

from xdsl.ir import Operation, SSAValue

from gedialects.kernel.mirrored import LayerNormKernelOp, LogSoftmaxKernelOp
from gedialects.kernel.ops import SoftmaxKernelOp
from gedialects.kernel.reductions import PoolKernelOp, ReduceKernelOp
from gedialects.npu.attrs import BufferType
from gedialects.npu.buffers import HbmAllocOp, ReshapeOp
from lowering.lower_long_rows import lower_long_reduce, lower_long_softmax
from lowering.lower_movement import Region, copy_kernel
from lowering.lower_rows import fits_ub, lower_rows
from lowering.registry import lowers
from runtime.targets import Target

ROW_KERNELS = (SoftmaxKernelOp, LayerNormKernelOp, LogSoftmaxKernelOp)


def normalizes_last_axis(op: Operation) -> bool:
    rank = len(op.results[0].type.get_shape())
    return op.get_int("axis") % max(rank, 1) == rank - 1


def is_global_pool(op: Operation) -> bool:
    return isinstance(op, PoolKernelOp) and op.kind.data in ("global_avg", "global_max")


@lowers(*ROW_KERNELS, when=normalizes_last_axis)
def lower_last_axis(
    op: Operation, inputs: list[SSAValue], output: SSAValue, target: Target, name: str
) -> list[Operation]:
    return _row_kernels(op, inputs, output, target, name, False)


def _row_kernels(
    op: Operation,
    inputs: list[SSAValue],
    output: SSAValue,
    target: Target,
    name: str,
    arranged: bool,
) -> list[Operation]:
    """`lower_rows`, or a softmax over rows longer than UB in chunks (`lower_long_rows`)."""
    shape = tuple(inputs[0].type.dims)
    if not shape or not isinstance(op, SoftmaxKernelOp | LogSoftmaxKernelOp):
        return [lower_rows(op, inputs, output, target, name, arranged)]
    source, result = inputs[0].type.element_type, output.type.element_type
    if fits_ub(op, source, result, shape[-1], target):
        return [lower_rows(op, inputs, output, target, name, arranged)]
    rows = (math.prod(shape[:-1]), shape[-1])
    view_in = ReshapeOp(inputs[0], BufferType(rows, inputs[0].type.element_type, "hbm"))
    view_out = ReshapeOp(output, BufferType(rows, output.type.element_type, "hbm"))
    chunked = lower_long_softmax(op, view_in.result, view_out.result, target, name)
    return [view_in, view_out, *chunked]


@lowers(ReduceKernelOp)
@lowers(PoolKernelOp, when=is_global_pool)
def lower_reduce(
    op: Operation, inputs: list[SSAValue], output: SSAValue, target: Target, name: str
) -> list[Operation]:
    """A reduction over trailing axes, as one over the last axis of (rest, reduced) views."""
    source = inputs[0]
    shape = source.type.dims
    n = len(shape)
    if is_global_pool(op):  # over every spatial axis
        axes = list(range(2, n))
    else:
        axes = sorted({a % n for a in op.axes.get_values()}) if n else []
    axes = axes or list(range(n))
    ops: list[Operation] = []
    if axes != list(range(n - len(axes), n)):  # move the reduced axes last
        perm = [a for a in range(n) if a not in axes] + axes
        ops, source = _transposed(source, perm, target, f"{name}_t")
        shape = source.type.dims
    rest, reduced = math.prod(shape[: n - len(axes)]), math.prod(shape[n - len(axes) :])
    element = source.type.element_type
    view_in = ReshapeOp(source, BufferType((rest, reduced), element, "hbm"))
    view_out = ReshapeOp(output, BufferType((rest, 1), output.type.element_type, "hbm"))
    if not fits_ub(op, element, output.type.element_type, reduced, target):
        chunked = lower_long_reduce(op, view_in.result, view_out.result, target, name)
        return [*ops, view_in, view_out, *chunked]
    kernel = lower_rows(op, [view_in.result], view_out.result, target, name)
    return [*ops, view_in, view_out, kernel]


@lowers(*ROW_KERNELS, when=lambda op: not normalizes_last_axis(op))
def lower_normalize(
    op: Operation, inputs: list[SSAValue], output: SSAValue, target: Target, name: str
) -> list[Operation]:
    """Softmax or layer norm over an axis that is not the last one."""
    shape = inputs[0].type.dims
    n, element = len(shape), inputs[0].type.element_type
    axis = op.get_int("axis") % n
    if isinstance(op, LayerNormKernelOp):
        rest, normalized = math.prod(shape[:axis]), math.prod(shape[axis:])
        views = [ReshapeOp(inputs[0], BufferType((rest, normalized), element, "hbm"))]
        for v in inputs[1:]:  # a one-element scale or bias stays one (the kernel broadcasts it)
            count = math.prod(v.type.dims)
            # another broadcast keeps its shape, for lower_rows to refuse naming it
            dims = (count,) if count in (1, normalized) else tuple(v.type.dims)
            views.append(ReshapeOp(v, BufferType(dims, v.type.element_type, "hbm")))
        out = ReshapeOp(output, BufferType((rest, normalized), output.type.element_type, "hbm"))
        kernel = lower_rows(op, [v.result for v in views], out.result, target, name, True)
        return [*views, out, kernel]
    perm = [a for a in range(n) if a != axis] + [axis]
    ops, moved = _transposed(inputs[0], perm, target, f"{name}_t0")
    tmp = HbmAllocOp(BufferType(moved.type.dims, output.type.element_type, "hbm"))
    ops += [tmp, *_row_kernels(op, [moved], tmp.buffer, target, name, True)]
    back = Region(
        tmp.buffer, tuple(shape), (0,) * n, (0,) * n, tuple(perm.index(a) for a in range(n))
    )
    return [*ops, copy_kernel([back], output, target, f"{name}_t1", [], "transpose")]


def _transposed(
    src: SSAValue, perm: list[int], target: Target, name: str
) -> tuple[list[Operation], SSAValue]:
    """Ops writing `src` transposed by `perm` into a new HBM temporary, and that temporary."""
    n = len(perm)
    dims = tuple(src.type.dims[p] for p in perm)
    tmp = HbmAllocOp(BufferType(dims, src.type.element_type, "hbm"))
    region = Region(src, dims, (0,) * n, (0,) * n, tuple(perm))
    return [tmp, copy_kernel([region], tmp.buffer, target, name, [], "transpose")], tmp.buffer
