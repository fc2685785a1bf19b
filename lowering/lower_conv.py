"""kernel.conv2d -> npu: a pointwise (1x1, stride 1, no padding, one group) convolution is a
matmul per image, W (O, C) @ X[n] (C, H*W), whose result is the output image in NCHW.

The input, weights and output are seen through `npu.reshape` views (no data moves), and the
epilogue (bias, batch-norm scale and shift per output channel, activation, residual, post
activation) runs on the vector unit as the matmul's epilogue: per-channel vectors are (O, 1)
columns that broadcast along the pixels. Other convolutions have no npu lowering yet (the
`npu.img2col` path for them is in the dialect and the interpreter).
"""

from __future__ import annotations

from xdsl.ir import Operation, SSAValue

from gedialects.errors import UnsupportedError
from gedialects.kernel.ops import Conv2DKernelOp
from gedialects.npu.attrs import BufferType
from gedialects.npu.ops import ReshapeOp
from lowering.lower_matmul import Step, activation_steps, emit_gemm
from runtime.targets import Target

EPILOGUE = (("bias", "add"), ("scale", "mul"), ("shift", "add"))


def _view(value: SSAValue, dims: tuple[int, ...], ops: list[Operation]) -> SSAValue:
    view = ReshapeOp(value, BufferType(dims, value.type.element_type, "hbm"))
    ops.append(view)
    return view.result


def lower_conv2d(
    op: Conv2DKernelOp, inputs: list[SSAValue], output: SSAValue, target: Target, name: str
) -> list[Operation]:
    n, c, h, w = inputs[0].type.dims
    o, _, kh, kw = inputs[1].type.dims
    pointwise = (kh, kw) == (1, 1) and set(op.ints("strides")) == {1}
    if not pointwise or set(op.ints("pads")) != {0} or op.get_int("groups") != 1:
        raise UnsupportedError(
            f"{op.name} other than 1x1, stride 1, unpadded, one group is not lowered yet"
        )
    if str(inputs[0].type.element_type) not in ("f16", "f32"):
        raise UnsupportedError(f"{op.name} on {inputs[0].type.element_type} has no cube mode")
    ops: list[Operation] = []
    x = _view(inputs[0], (n, c, h * w), ops)
    weight = _view(inputs[1], (o, c), ops)
    out = _view(output, (n, o, h * w), ops)
    given = iter(inputs[2:])
    steps: list[Step] = []
    for attr, kind in EPILOGUE:
        if getattr(op, attr) is not None:
            steps.append(Step(kind, operand=_view(next(given), (o, 1), ops)))
    act = op.activation.data if op.activation is not None else None
    steps += activation_steps(act, op.activation_attrs)
    if op.residual is not None:
        steps.append(Step("add", operand=_view(next(given), (n, o, h * w), ops)))
    post = op.post_activation.data if op.post_activation is not None else None
    steps += activation_steps(post, op.post_activation_attrs)
    kernel = emit_gemm(weight, x, out, target, name, op.fused_names, "conv2d", steps)
    return [*ops, kernel]
