"""kernel.matmul -> one cube GEMM kernel (`lowering.gemm`) with its epilogue steps.

C[..., M, N] = act(alpha * A[..., M, K] @ B[..., K, N] + bias) * multiplier + residual:
alpha, bias, the activation, the multiplier and the residual become epilogue steps
(`lowering.gemm_epilogue`) run on each output tile. A `transpose_b` operand is read as B^T
by the GEMM's loads (transposed on the MTE1 load into L0B); the lowering is registered in
`lowering.lower_matmul_kernel`, which runs a transpose kernel first for `transpose_a`.
"""

from __future__ import annotations

from xdsl.ir import Block, Region, SSAValue

from gedialects.errors import UnsupportedError
from gedialects.ge.ops import AddOp
from gedialects.ge.types import element_of, tensor
from gedialects.kernel.elementwise import ElementwiseOp, YieldOp
from gedialects.kernel.ops import Conv2DKernelOp, MatMulKernelOp
from gedialects.npu.launch import KernelOp
from lowering.gemm import ColumnPieces, emit_gemm
from lowering.gemm_epilogue import Step, activation_steps
from lowering.lower_elementwise import lower_elementwise
from lowering.tiling import choose_matmul_split
from runtime.targets import Target


def _check(op: MatMulKernelOp, pre_transposed: bool) -> None:
    if not pre_transposed and op.get_flag("transpose_a"):
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
) -> list[KernelOp]:
    """The kernels of `op` on HBM buffers: one GEMM, or (K split over groups of cores, when
    the cost model says so) an init kernel writing the bias and residual into C and a GEMM
    whose parts add into it. With `pre_transposed`, a `transpose_a` operand comes already
    transposed (the caller ran a transpose kernel); a `transpose_b` operand is the buffer of
    B^T either way, read transposed by the GEMM."""
    _check(op, pre_transposed)
    addends = op.present(op.OPTIONAL, inputs[2:])
    multiplier = addends.pop("multiplier", None)
    alpha = [Step("muls", op.alpha.value.data)] if op.alpha.value.data != 1.0 else []
    act = op.activation.data if op.activation is not None else None
    bt = op.get_flag("transpose_b")
    pieces = isinstance(output, ColumnPieces)  # the split-K init kernel writes a whole C
    linear = act is None and multiplier is None  # parts can add into C
    split = _split(inputs, output, target, bt) if linear and addends and not pieces else None
    if split is not None:
        init = init_with_addends(op, addends, output, target, f"{name}_init")
        gemm = emit_gemm(
            inputs[0], inputs[1], output, target, name, op.fused_names, "matmul", alpha, split,
            b_transposed=bt,
        )  # fmt: skip
        return [init, gemm]
    steps = [*alpha, *([Step("add", operand=addends["bias"])] if "bias" in addends else [])]
    steps += activation_steps(act, op.activation_attrs)
    if multiplier is not None:
        steps.append(Step("mul", operand=multiplier))
    if "residual" in addends:
        steps.append(Step("add", operand=addends["residual"]))
    return [
        emit_gemm(inputs[0], inputs[1], output, target, name, op.fused_names, "matmul", steps,
                  b_transposed=bt)  # fmt: skip
    ]


def _split(inputs: list[SSAValue], output: SSAValue, target: Target, b_transposed: bool):  # noqa: ANN202
    """(K parts, tiling) when splitting K pays, else None: an f32 GEMM with a bias or a
    residual and no activation (the parts add into C, which first holds them; an activation
    would need the whole sum)."""
    if str(output.type.element_type) != "f32" or str(inputs[0].type.element_type) != "f32":
        return None
    a_dims, b_dims = inputs[0].type.dims, inputs[1].type.dims
    if any(d != 1 for d in (*a_dims[:-2], *b_dims[:-2])):
        return None  # one matrix product (BERT's (1, S, H) @ (H, F) among them)
    m, k, n = a_dims[-2], a_dims[-1], b_dims[-2 if b_transposed else -1]
    init_bytes = 4 * m * n  # C's first write (a residual is read once either way)
    parts, tiling = choose_matmul_split(target, m, n, k, 4, init_bytes, exact=True)
    return (parts, tiling) if parts > 1 else None


def init_with_addends(
    op: MatMulKernelOp | Conv2DKernelOp,
    addends: dict[str, SSAValue],
    output: SSAValue,
    target: Target,
    name: str,
) -> KernelOp:
    """An elementwise kernel that writes the bias, broadcast, plus the residual into every
    element of C (the output buffer's shape: a vector operand's product is viewed as a
    matrix); the split GEMM's parts then add into it."""
    element = element_of(op.output.type)
    # stand-ins typed as the buffers (a vector product's addends are viewed as its matrix)
    shapes = [tuple(buffer.type.dims) for buffer in addends.values()]
    values = [Block(arg_types=[tensor(shape, element)]).args[0] for shape in shapes]
    block = Block(arg_types=[tensor([], element) for _ in values])
    total = block.args[0]
    for arg in block.args[1:]:
        add = AddOp(total, arg)
        block.add_op(add)
        total = add.output
    block.add_op(YieldOp(total))
    result = tensor(tuple(output.type.dims), element)
    expand = ElementwiseOp(values, result, Region(block), op.fused_names)
    kernel = lower_elementwise(expand, list(addends.values()), output, target, name)
    expand.erase(safe_erase=False)
    return kernel
