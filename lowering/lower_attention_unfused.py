"""kernel.attention {algorithm = "unfused"} -> matmul, softmax and matmul kernels through HBM.

The unfused graph the fusion replaced, on the existing lowerings: S = (Q K') * scale + mask
(one matmul kernel, the scale and mask as its vector epilogue), P = softmax(S) (the row
kernel), O = P V (a matmul kernel); S and P live in HBM temporaries. A (.., Sk, d) key is
read by the first GEMM as B^T (its tiles transposed on the MTE1 load into L0B); operands in
another layout (`query_perm` ...) go through a transpose kernel into a temporary first.
`select-implementations` picks this form where it is modeled faster than the fused kernel.
"""

from __future__ import annotations

from xdsl.dialects.builtin import TensorType
from xdsl.ir import Block, Operation, SSAValue

from gedialects.kernel.ops import AttentionKernelOp, SoftmaxKernelOp, permuted
from gedialects.npu.attrs import BufferType
from gedialects.npu.buffers import HbmAllocOp
from lowering.gemm import emit_gemm
from lowering.gemm_epilogue import Step
from lowering.lower_movement import transpose_kernel
from lowering.lower_rows import lower_rows
from lowering.registry import lowers
from runtime.targets import Target


def _unfused(op: Operation) -> bool:
    return op.algorithm is not None and op.algorithm.data == "unfused"


@lowers(AttentionKernelOp, when=_unfused)
def lower_attention_unfused(
    op: AttentionKernelOp, inputs: list[SSAValue], output: SSAValue, target: Target, name: str
) -> list[Operation]:
    """Three kernels (more with layouts' transposes) and the HBM temporaries between them."""
    element = inputs[0].type.element_type
    ops: list[Operation] = []
    q, k, v = _read_in_place(op, inputs, target, name, ops)
    final, out_perm = output, op.perm("output_perm")
    if out_perm is not None:  # O into a temporary, then transposed into the output
        logical = HbmAllocOp(BufferType(op.logical_shapes()[2], element, "hbm"))
        ops.append(logical)
        output = logical.buffer
    keys = k.type.dims[-2 if op.get_flag("key_transposed") else -1]
    scores_shape = (*output.type.dims[:-1], keys)
    scores = HbmAllocOp(BufferType(scores_shape, element, "hbm"))
    probs = HbmAllocOp(BufferType(scores_shape, element, "hbm"))
    steps = [Step("muls", op.get_float("scale"))] if op.get_float("scale") != 1.0 else []
    if len(inputs) > 3:
        steps.append(Step("add", operand=inputs[3]))
    fused = op.fused_names
    ops += [scores, probs]
    ops.append(emit_gemm(q, k, scores.buffer, target, f"{name}_s", fused, "matmul", steps,
                         b_transposed=op.get_flag("key_transposed")))  # fmt: skip
    softmax = _softmax_op(scores_shape, element, fused)
    ops.append(lower_rows(softmax, [scores.buffer], probs.buffer, target, f"{name}_p"))
    ops.append(emit_gemm(probs.buffer, v, output, target, f"{name}_o", fused, "matmul", []))
    if out_perm is not None:
        ops.append(transpose_kernel(output, final, out_perm, target, f"{name}_ot"))
    return ops


def _read_in_place(
    op: AttentionKernelOp, inputs: list[SSAValue], target: Target, name: str,
    ops: list[Operation],
) -> list[SSAValue]:  # fmt: skip
    """Q, the key operand (K or K') and V as the GEMMs read them: each operand with a
    layout through a transpose kernel into a temporary."""
    tags = iter([n[0] for _, n in op.OPERAND_PERMS if op.perm(n) is not None])  # q, k, v
    return op.read_in_place(
        inputs[:3], lambda x, perm: _transposed(x, perm, target, f"{name}_{next(tags)}t", ops)
    )


def _transposed(x: SSAValue, perm, target: Target, name: str, ops: list[Operation]) -> SSAValue:  # noqa: ANN001
    """transpose(x, perm) in an HBM temporary (a transpose kernel appended to `ops`)."""
    tmp = HbmAllocOp(BufferType(permuted(x.type.dims, perm), x.type.element_type, "hbm"))
    ops += [tmp, transpose_kernel(x, tmp.buffer, perm, target, name)]
    return tmp.buffer


def _softmax_op(shape: tuple[int, ...], element, fused: list[str]) -> SoftmaxKernelOp:  # noqa: ANN001
    """A detached kernel.softmax over the last axis of a scores tensor (what lower_rows reads)."""
    scores = Block(arg_types=[TensorType(element, shape)]).args[0]
    return SoftmaxKernelOp(scores, fused_from=fused, axis=-1, scale=1.0)
