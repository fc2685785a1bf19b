"""`convert-kernel-to-npu`: bufferize a kernel-level function into HBM buffers, lower each kernel.

Pre: functions of `kernel` ops and `ge.constant`s on static tensors. Post: each function takes and
returns `!npu.buffer<..., hbm>`; constants are `npu.hbm_constant`; every kernel result is an
`npu.hbm_alloc` (unplanned: plan-memory may give it an offset) written by one `npu.kernel`
whose tiles fit the target's on-chip capacities; a reshape is an `npu.reshape` view (no
kernel). Kernels with no npu lowering yet raise `UnsupportedError` naming them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.passes import ModulePass

from gedialects.errors import UnsupportedError
from gedialects.ge.constant import ConstantOp
from gedialects.ge.types import element_of, shape_of
from gedialects.kernel.elementwise import ElementwiseOp
from gedialects.kernel.ops import (
    ConcatKernelOp,
    Conv2DKernelOp,
    LayerNormKernelOp,
    LogSoftmaxKernelOp,
    MatMulKernelOp,
    PoolKernelOp,
    ReduceKernelOp,
    ReshapeKernelOp,
    SliceKernelOp,
    SoftmaxKernelOp,
    TransposeKernelOp,
)
from gedialects.npu.attrs import BufferType
from gedialects.npu.ops import HbmAllocOp, HbmConstantOp, KernelOp, ReshapeOp
from runtime.targets import Target, load_target


def hbm_type(tensor_type: Attribute) -> BufferType:
    return BufferType(shape_of(tensor_type), element_of(tensor_type), "hbm")


def _lower_kernel(
    op: Operation, inputs: list[SSAValue], output: SSAValue, target: Target, name: str
) -> KernelOp:
    if isinstance(op, ElementwiseOp):
        from lowering.lower_elementwise import lower_elementwise

        return lower_elementwise(op, inputs, output, target, name)
    if isinstance(op, SoftmaxKernelOp | LayerNormKernelOp | LogSoftmaxKernelOp):
        from lowering.lower_rows import lower_rows

        return lower_rows(op, inputs, output, target, name)
    if isinstance(op, TransposeKernelOp | ConcatKernelOp | SliceKernelOp):
        from lowering.lower_movement import lower_movement

        return lower_movement(op, inputs, output, target, name)
    raise UnsupportedError(f"'{op.name}' has no lowering to the npu dialect yet")


def _lower_matmul(
    op: MatMulKernelOp, inputs: list[SSAValue], output: SSAValue, target: Target, name: str
) -> list[Operation]:
    """A matmul kernel, after transpose kernels into temporaries for operands it transposes."""
    from lowering.lower_matmul import lower_matmul
    from lowering.lower_movement import transpose_last_two

    ops: list[Operation] = []
    inputs = list(inputs)
    for i, promoted in ((0, lambda d: (1, d[0])), (1, lambda d: (d[0], 1))):
        if len(inputs[i].type.dims) == 1:  # numpy matmul: a vector is a one-row/-column matrix
            view = ReshapeOp(
                inputs[i],
                BufferType(promoted(inputs[i].type.dims), inputs[i].type.element_type, "hbm"),
            )
            ops.append(view)
            inputs[i] = view.result
    a_dims, b_dims = inputs[0].type.dims, inputs[1].type.dims
    if op.get_flag("transpose_a"):
        a_dims = (*a_dims[:-2], a_dims[-1], a_dims[-2])
    if op.get_flag("transpose_b"):
        b_dims = (*b_dims[:-2], b_dims[-1], b_dims[-2])
    full = (*np.broadcast_shapes(a_dims[:-2], b_dims[:-2]), a_dims[-2], b_dims[-1])
    if tuple(output.type.dims) != full:
        view = ReshapeOp(output, BufferType(full, output.type.element_type, "hbm"))
        ops.append(view)
        output = view.result
    for i, flag in enumerate(("transpose_a", "transpose_b")):
        if op.get_flag(flag):
            src = inputs[i].type
            dims = (*src.dims[:-2], src.dims[-1], src.dims[-2])
            tmp = HbmAllocOp(BufferType(dims, src.element_type, "hbm"))
            ops += [tmp, transpose_last_two(inputs[i], tmp.buffer, target, f"{name}_t{i}")]
            inputs[i] = tmp.buffer
    return [*ops, lower_matmul(op, inputs, output, target, name, pre_transposed=True)]


def _is_global_pool(op: Operation) -> bool:
    return isinstance(op, PoolKernelOp) and op.kind.data in ("global_avg", "global_max")


def _lower_reduce(
    op: ReduceKernelOp, source: SSAValue, output: SSAValue, target: Target, name: str
) -> list[Operation]:
    """A reduction over trailing axes, as one over the last axis of (rest, reduced) views."""
    from lowering.lower_rows import lower_rows

    shape = source.type.dims
    n = len(shape)
    if _is_global_pool(op):  # over every spatial axis
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
    view_out = ReshapeOp(output, BufferType((rest, 1), element, "hbm"))
    kernel = lower_rows(op, [view_in.result], view_out.result, target, name)
    return [*ops, view_in, view_out, kernel]


def _transposed(
    src: SSAValue, perm: list[int], target: Target, name: str
) -> tuple[list[Operation], SSAValue]:
    """Ops writing `src` transposed by `perm` into a new HBM temporary, and that temporary."""
    from lowering.lower_movement import Region, copy_kernel

    n = len(perm)
    dims = tuple(src.type.dims[p] for p in perm)
    tmp = HbmAllocOp(BufferType(dims, src.type.element_type, "hbm"))
    region = Region(src, dims, (0,) * n, (0,) * n, tuple(perm))
    return [tmp, copy_kernel([region], tmp.buffer, target, name, [], "transpose")], tmp.buffer


def _lower_normalize(
    op: Operation, inputs: list[SSAValue], output: SSAValue, target: Target, name: str
) -> list[Operation]:
    """Softmax or layer norm over an axis that is not the last one.

    Layer norm normalizes dims axis.. together: (rest, normalized) views. Softmax over axis a
    transposes a last, runs, and transposes back."""
    from lowering.lower_rows import lower_rows

    shape = inputs[0].type.dims
    n, element = len(shape), inputs[0].type.element_type
    axis = op.get_int("axis") % n
    if isinstance(op, LayerNormKernelOp):
        rest, normalized = math.prod(shape[:axis]), math.prod(shape[axis:])
        views = [ReshapeOp(inputs[0], BufferType((rest, normalized), element, "hbm"))]
        views += [ReshapeOp(v, BufferType((normalized,), element, "hbm")) for v in inputs[1:]]
        out = ReshapeOp(output, BufferType((rest, normalized), element, "hbm"))
        kernel = lower_rows(op, [v.result for v in views], out.result, target, name, True)
        return [*views, out, kernel]
    perm = [a for a in range(n) if a != axis] + [axis]
    ops, moved = _transposed(inputs[0], perm, target, f"{name}_t0")
    tmp = HbmAllocOp(BufferType(moved.type.dims, element, "hbm"))
    ops += [tmp, lower_rows(op, [moved], tmp.buffer, target, name, True)]
    from lowering.lower_movement import Region, copy_kernel

    back = Region(
        tmp.buffer, tuple(shape), (0,) * n, (0,) * n, tuple(perm.index(a) for a in range(n))
    )
    return [*ops, copy_kernel([back], output, target, f"{name}_t1", [], "transpose")]


def lower_function(fn: func.FuncOp, target: Target) -> func.FuncOp:
    """The npu version of `fn`: same signature on HBM buffers, one npu.kernel per kernel op."""
    arg_types = [hbm_type(t) for t in fn.function_type.inputs.data]
    block = Block(arg_types=arg_types)
    buffers: dict[SSAValue, SSAValue] = dict(zip(fn.body.block.args, block.args))
    for old, new in buffers.items():
        new.name_hint = old.name_hint
    count = 0
    for op in fn.body.block.ops:
        if isinstance(op, ConstantOp):
            const = HbmConstantOp(op.value, hbm_type(op.output.type))
            block.add_op(const)
            buffers[op.output] = const.buffer
        elif isinstance(op, ReshapeKernelOp):
            view = ReshapeOp(buffers[op.operands[0]], hbm_type(op.results[0].type))
            block.add_op(view)
            buffers[op.results[0]] = view.result
        elif isinstance(op, func.ReturnOp):
            block.add_op(func.ReturnOp(*[buffers[v] for v in op.arguments]))
        elif len(op.results) == 1:
            out = HbmAllocOp(hbm_type(op.results[0].type))
            out.buffer.name_hint = op.results[0].name_hint
            block.add_op(out)
            inputs = [buffers[v] for v in op.operands]
            name = f"{op.name[7:]}_{count}"
            if isinstance(op, MatMulKernelOp):
                block.add_ops(_lower_matmul(op, inputs, out.buffer, target, name))
            elif isinstance(op, Conv2DKernelOp):
                from lowering.lower_conv import lower_conv2d

                block.add_ops(lower_conv2d(op, inputs, out.buffer, target, name))
            elif isinstance(op, SoftmaxKernelOp | LayerNormKernelOp | LogSoftmaxKernelOp) and (
                op.get_int("axis") % max(len(op.output.type.get_shape()), 1)
                != len(op.output.type.get_shape()) - 1
            ):
                block.add_ops(_lower_normalize(op, inputs, out.buffer, target, name))
            elif isinstance(op, ReduceKernelOp) or _is_global_pool(op):
                block.add_ops(_lower_reduce(op, inputs[0], out.buffer, target, name))
            else:
                block.add_op(_lower_kernel(op, inputs, out.buffer, target, name))
            buffers[op.results[0]] = out.buffer
            count += 1
        else:
            raise UnsupportedError(f"'{op.name}' cannot be lowered to the npu dialect")
    result_types = [buffers[v].type for v in fn.body.block.last_op.operands]
    lowered = func.FuncOp(fn.sym_name.data, (arg_types, result_types), Region(block))
    lowered.arg_attrs, lowered.res_attrs = fn.arg_attrs, fn.res_attrs
    return lowered


def lower_module(module: ModuleOp, target: str | Target | None = None) -> ModuleOp:
    """A new module with every function of `module` lowered to npu for `target`."""
    target = load_target(target)
    functions = [op for op in module.ops if isinstance(op, func.FuncOp)]
    return ModuleOp([lower_function(fn, target) for fn in functions])


@dataclass(frozen=True)
class ConvertKernelToNpu(ModulePass):
    """Bufferize into HBM buffers and tile every kernel to the target's on-chip capacities."""

    name = "convert-kernel-to-npu"

    target: str = "ascend910a"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        lowered = lower_module(op, self.target)
        for old in list(op.body.block.ops):
            old.detach()
            old.erase()
        for new in list(lowered.body.block.ops):
            new.detach()
            op.body.block.add_op(new)
