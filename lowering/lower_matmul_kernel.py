"""kernel.matmul -> npu at the kernel level: numpy's vector operands become one-row/-column
matrices through views, a batch of outputs is viewed at its broadcast shape, and a
`transpose_a` operand goes through a transpose kernel into an HBM temporary first, so
`lower_matmul` sees (..., M, K) @ (..., K, N) buffers, or (..., N, K) for `transpose_b`,
which its GEMM reads transposed.
"""

from __future__ import annotations

import math

import numpy as np
from xdsl.ir import Operation, SSAValue

from gedialects.errors import UnsupportedError
from gedialects.kernel.ops import MatMulKernelOp
from gedialects.npu.attrs import BufferType
from gedialects.npu.buffers import HbmAllocOp, ReshapeOp
from lowering.gemm import ColumnPieces
from lowering.lower_matmul import lower_matmul
from lowering.lower_movement import transpose_last_two
from lowering.registry import lowers
from runtime.targets import Target


@lowers(MatMulKernelOp)
def lower_matmul_kernel(
    op: MatMulKernelOp,
    inputs: list[SSAValue],
    output: SSAValue | ColumnPieces,
    target: Target,
    name: str,
) -> list[Operation]:
    """A matmul kernel, after a transpose kernel into a temporary for a transposed A;
    `output` may be the pieces of a split along its last axis
    (`gedialects.kernel.stored_split`)."""
    ops: list[Operation] = []
    inputs = list(inputs)
    units: list[int] = []  # the unit axes of the output's matrix view
    for i, promoted in ((0, lambda d: (1, d[0])), (1, lambda d: (d[0], 1))):
        if len(inputs[i].type.dims) == 1:  # numpy matmul: a vector is a one-row/-column matrix
            units.append(i - 2)
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
    if isinstance(output, ColumnPieces):  # a split run in the stores: the product's shape
        if tuple(output.dims) != full:
            raise UnsupportedError(f"{op.name} split in its stores needs its matrix shape")
    elif tuple(output.type.dims) != full:
        for i in range(2, len(inputs)):  # the bias and residual, as the output is viewed
            inputs[i] = _addend_view(inputs[i], len(output.type.dims), units, ops)
        view = ReshapeOp(output, BufferType(full, output.type.element_type, "hbm"))
        ops.append(view)
        output = view.result
    if not isinstance(output, ColumnPieces) and not op.get_flag("transpose_a"):
        output = _rows_of_one_gemm(inputs, output, ops)
    if op.get_flag("transpose_a"):
        src = inputs[0].type
        dims = (*src.dims[:-2], src.dims[-1], src.dims[-2])
        tmp = HbmAllocOp(BufferType(dims, src.element_type, "hbm"))
        ops += [tmp, transpose_last_two(inputs[0], tmp.buffer, target, f"{name}_t0")]
        inputs[0] = tmp.buffer
    return [*ops, *lower_matmul(op, inputs, output, target, name, pre_transposed=True)]


def _view(value: SSAValue, dims: tuple[int, ...], ops: list[Operation]) -> SSAValue:
    view = ReshapeOp(value, BufferType(dims, value.type.element_type, "hbm"))
    ops.append(view)
    return view.result


def _rows_of_one_gemm(inputs: list[SSAValue], output: SSAValue, ops: list[Operation]) -> SSAValue:
    """With a 2-D B, A's batch axes are more rows of one GEMM: A (..., M, K) is viewed as
    (rows, K) and the output, and a residual of its shape, as (rows, N), so B is loaded
    once, not once per batch index. torch's `nn.MultiheadAttention` projects a (L, 1, E)
    sequence so: L GEMMs of one row each, each reloading the weight (CLIP's QKV at 13-19x
    its roofline). A bias along N only keeps broadcasting; any other addend keeps the
    batch. Returns the output to use (`inputs` are updated in place)."""
    a_dims, out_dims = tuple(inputs[0].type.dims), tuple(output.type.dims)
    if len(inputs[1].type.dims) != 2 or len(a_dims) <= 2 or len(out_dims) != len(a_dims):
        return output
    rows, n = math.prod(out_dims[:-1]), out_dims[-1]
    addends = inputs[2:]
    for addend in addends:
        dims = tuple(addend.type.dims)
        if dims != out_dims and any(d != 1 for d in dims[:-1]):
            return output
    inputs[0] = _view(inputs[0], (rows, a_dims[-1]), ops)
    for i, addend in enumerate(addends, start=2):
        if tuple(addend.type.dims) == out_dims:
            inputs[i] = _view(addend, (rows, n), ops)
    return _view(output, (rows, n), ops)


def _addend_view(
    addend: SSAValue, out_rank: int, units: list[int], ops: list[Operation]
) -> SSAValue:
    """`addend`, which broadcasts into the output, viewed so that it broadcasts the same way
    into the output's matrix view: with a 1 at each axis (-2: A was a vector, -1: B was)
    the view adds. A (M,) bias of A @ v then runs down the (M, 1) column, not along its
    one-wide rows."""
    dims = [*(1 for _ in range(out_rank - len(addend.type.dims))), *addend.type.dims]
    for axis in sorted(units, reverse=True):  # -1 first: it is the last axis of the view
        dims.insert(len(dims) + 1 + axis, 1)
    if tuple(dims) == tuple(addend.type.dims):
        return addend
    view = ReshapeOp(addend, BufferType(tuple(dims), addend.type.element_type, "hbm"))
    ops.append(view)
    return view.result

