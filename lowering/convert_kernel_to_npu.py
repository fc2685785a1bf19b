"""`convert-kernel-to-npu`: bufferize a kernel-level function into HBM buffers, lower each kernel.

Pre: functions of `kernel` ops and `ge.constant`s on static tensors. Post: each function takes and
returns `!npu.buffer<..., hbm>`; constants are `npu.hbm_constant`; every kernel result is an
`npu.hbm_alloc` (unplanned: plan-memory may give it an offset) written by one `npu.kernel`
whose tiles fit the target's on-chip capacities; a reshape is an `npu.reshape` view (no
kernel); a matmul whose product only a split along its last axis reads stores the pieces
itself (`stored_split`: no split kernel). Which function lowers which kernel is
`lowering.registry`'s business; kernels with no npu lowering yet raise `UnsupportedError`
naming them.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, TensorType
from xdsl.ir import Attribute, Block, Region, SSAValue
from xdsl.passes import ModulePass

from gedialects.errors import UnsupportedError
from gedialects.ge.constant import ConstantOp
from gedialects.ge.types import element_of, shape_of
from gedialects.kernel.mirrored import ReshapeKernelOp
from gedialects.kernel.stored_split import stored_split
from gedialects.npu.attrs import BufferType
from gedialects.npu.buffers import HbmAllocOp, HbmConstantOp, ReshapeOp
from lowering.gemm import ColumnPieces
from lowering.registry import lower_op
from runtime.targets import Target, load_target


def hbm_type(tensor_type: Attribute) -> BufferType:
    """The HBM buffer type of a tensor; `UnsupportedError` for what has none: values that are
    not tensors (scf's indices and conditions) and zero-element tensors (run by reference)."""
    if not isinstance(tensor_type, TensorType):
        raise UnsupportedError(f"a value of type {tensor_type} is not a tensor: no HBM buffer")
    if 0 in tensor_type.get_shape():
        raise UnsupportedError(f"zero-element tensor {tensor_type} has no npu buffer")
    return BufferType(shape_of(tensor_type), element_of(tensor_type), "hbm")


def lower_function(fn: func.FuncOp, target: Target) -> func.FuncOp:
    """The npu version of `fn`: same signature on HBM buffers, one npu.kernel per kernel op."""
    arg_types = [hbm_type(t) for t in fn.function_type.inputs.data]
    block = Block(arg_types=arg_types)
    buffers: dict[SSAValue, SSAValue] = dict(zip(fn.body.block.args, block.args))
    for old, new in buffers.items():
        new.name_hint = old.name_hint
    count, stored = 0, set()
    for op in fn.body.block.ops:
        if op in stored:  # a split its producer's stores ran
            continue
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
        elif op.results:
            split = stored_split(op)
            results = split.results if split is not None else op.results
            outs = [HbmAllocOp(hbm_type(r.type)) for r in results]
            for out, result in zip(outs, results):
                out.buffer.name_hint = result.name_hint
                buffers[result] = out.buffer
            block.add_ops(outs)
            inputs = [buffers[v] for v in op.operands]
            name = f"{op.name[7:]}_{count}"
            # one result: its buffer; several (kernel.split): a tuple of them; a matmul whose
            # product only a split along the last axis reads: the pieces, stored by its GEMM
            output = outs[0].buffer if len(outs) == 1 else tuple(o.buffer for o in outs)
            if split is not None:
                output = ColumnPieces(tuple(o.buffer for o in outs))
                stored.add(split)
            block.add_ops(lower_op(op, inputs, output, target, name))
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
