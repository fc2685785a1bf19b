"""kernel.matmul -> one cube GEMM kernel (`lowering.gemm`) with its epilogue steps.

C[..., M, N] = act(alpha * A[..., M, K] @ B[..., K, N] + bias): alpha, bias and the
activation become epilogue steps (`lowering.gemm_epilogue`) run on each output tile. The
lowering is registered in `lowering.lower_matmul_kernel`, which transposes operands first
where the op asks for it.
"""

from __future__ import annotations

from xdsl.ir import SSAValue

from gedialects.errors import UnsupportedError
from gedialects.ge.types import element_of
from gedialects.kernel.ops import MatMulKernelOp
from gedialects.npu.launch import KernelOp
from lowering.gemm import emit_gemm
from lowering.gemm_epilogue import Step, activation_steps
from runtime.targets import Target


def _check(op: MatMulKernelOp, pre_transposed: bool) -> None:
    if not pre_transposed and (op.get_flag("transpose_a") or op.get_flag("transpose_b")):
        raise UnsupportedError(f"{op.name} with transposed operands has no npu lowering yet")
    element = element_of(op.lhs.type)
    if str(element) not in ("f16", "f32") or element_of(op.rhs.type) != element:
        raise UnsupportedError(f"{op.name} on {element} has no cube mode")


def lower_matmul(
    op: MatMulKernelOp,
    inputs: list[SSAValue],
    output: SSAValue,
    target: Target,
    name: str,
    pre_transposed: bool = False,
) -> KernelOp:
    """The kernel of `op` on HBM buffers; with `pre_transposed`, operands the op transposes
    come already transposed (the caller ran a transpose kernel), so the shapes are the buffers'."""
    _check(op, pre_transposed)
    steps = [Step("muls", op.alpha.value.data)] if op.alpha.value.data != 1.0 else []
    if len(inputs) > 2:
        steps.append(Step("add", operand=inputs[2]))
    act = op.activation.data if op.activation is not None else None
    steps += activation_steps(act, op.activation_attrs)
    return emit_gemm(inputs[0], inputs[1], output, target, name, op.fused_names, "matmul", steps)
