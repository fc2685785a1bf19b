"""kernel.matmul -> npu at the kernel level: numpy's vector operands become one-row/-column
matrices through views, a batch of outputs is viewed at its broadcast shape, and transposed
operands go through a transpose kernel into HBM temporaries first, so `lower_matmul` sees
plain (..., M, K) @ (..., K, N) buffers.
"""

from __future__ import annotations

import numpy as np
from xdsl.ir import Operation, SSAValue

from gedialects.kernel.ops import MatMulKernelOp
from gedialects.npu.attrs import BufferType
from gedialects.npu.buffers import HbmAllocOp, ReshapeOp
from lowering.lower_matmul import lower_matmul
from lowering.lower_movement import transpose_last_two
from lowering.registry import lowers
from runtime.targets import Target


@lowers(MatMulKernelOp)
def lower_matmul_kernel(
    op: MatMulKernelOp, inputs: list[SSAValue], output: SSAValue, target: Target, name: str
) -> list[Operation]:
    """A matmul kernel, after transpose kernels into temporaries for operands it transposes."""
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
    return [*ops, *lower_matmul(op, inputs, output, target, name, pre_transposed=True)]
