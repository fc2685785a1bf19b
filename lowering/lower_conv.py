"""kernel.conv2d -> npu: a pointwise (1x1, stride 1, no padding, one group) convolution is a
matmul per image, W (O, C) @ X[n] (C, H*W), whose result is the output image in NCHW; any
other convolution with no algorithm or `im2col` goes through img2col (`lowering.conv_im2col`).

The input, weights and output are seen through `npu.reshape` views (no data moves), and the
epilogue (bias, batch-norm scale and shift per output channel, activation, residual, post
activation) runs on the vector unit as the matmul's epilogue: per-channel vectors are (O, 1)
columns that broadcast along the pixels. The other algorithms lower in modules of their own:
`lower_conv_direct`, `lower_conv_winograd`, `lower_conv_fft`.
"""

from __future__ import annotations

from xdsl.ir import Operation, SSAValue

from gedialects.errors import UnsupportedError
from gedialects.kernel.ops import Conv2DKernelOp
from gedialects.npu.attrs import BufferType
from gedialects.npu.buffers import ReshapeOp
from lowering.gemm import emit_gemm
from lowering.gemm_epilogue import Step, activation_steps
from lowering.registry import lowers
from runtime.targets import Target

EPILOGUE = (("bias", "add"), ("scale", "mul"), ("shift", "add"))


def _view(value: SSAValue, dims: tuple[int, ...], ops: list[Operation]) -> SSAValue:
    view = ReshapeOp(value, BufferType(dims, value.type.element_type, "hbm"))
    ops.append(view)
    return view.result


def conv_epilogue_steps(
    op: Conv2DKernelOp, given: list[SSAValue], out_view: tuple[int, ...], ops: list[Operation]
) -> list[Step]:
    """The conv epilogue as vector steps on tiles of the `out_view` output (N, O, pixel dims...):
    per-channel operands are viewed (O, 1, ...) so they broadcast along the pixel dims."""
    rest, o = iter(given), out_view[1]
    channel = (o, *(1 for _ in out_view[2:]))
    steps: list[Step] = []
    for attr, kind in EPILOGUE:
        if getattr(op, attr) is not None:
            steps.append(Step(kind, operand=_view(next(rest), channel, ops)))
    act = op.activation.data if op.activation is not None else None
    steps += activation_steps(act, op.activation_attrs)
    if op.residual is not None:
        steps.append(Step("add", operand=_view(next(rest), out_view, ops)))
    post = op.post_activation.data if op.post_activation is not None else None
    return steps + activation_steps(post, op.post_activation_attrs)


def refuse_input_activation(op: Conv2DKernelOp, algorithm: str) -> None:
    """Only the img2col lowering applies an input activation (on the rows it stages through
    UB); the other algorithms refuse one, so that such a conv runs by reference."""
    if op.input_activation is not None:
        raise UnsupportedError(
            f"{op.name} (algorithm={algorithm}) with an input activation has no npu lowering"
        )


def _by_im2col(op: Conv2DKernelOp) -> bool:
    return op.algorithm is None or op.algorithm.data == "im2col"


@lowers(Conv2DKernelOp, when=_by_im2col)
def lower_conv2d(
    op: Conv2DKernelOp, inputs: list[SSAValue], output: SSAValue, target: Target, name: str
) -> list[Operation]:
    n, c, h, w = inputs[0].type.dims
    o, _, kh, kw = inputs[1].type.dims
    if str(inputs[0].type.element_type) not in ("f16", "f32"):
        raise UnsupportedError(f"{op.name} on {inputs[0].type.element_type} has no cube mode")
    ops: list[Operation] = []
    pointwise = (kh, kw) == (1, 1) and set(op.ints("strides")) == {1}
    pointwise &= set(op.ints("pads")) == {0} and op.get_int("groups") == 1
    if not pointwise or op.input_activation is not None:  # (staged rows take the activation)
        from lowering.conv_im2col import Im2ColConv

        ho, wo = output.type.dims[2:]
        out = _view(output, (n, o, ho * wo), ops)
        steps = conv_epilogue_steps(op, inputs[2:], (n, o, ho * wo), ops)
        conv = Im2ColConv(op, inputs[0], inputs[1], out, target)
        kernel = conv.emit(name, steps)
        return [*ops, *conv.views, *([conv.laid_weights] if conv.laid_weights else []), kernel]
    x = _view(inputs[0], (n, c, h * w), ops)
    weight = _view(inputs[1], (o, c), ops)
    out = _view(output, (n, o, h * w), ops)
    steps = conv_epilogue_steps(op, inputs[2:], (n, o, h * w), ops)
    kernel = emit_gemm(weight, x, out, target, name, op.fused_names, "conv2d", steps)
    return [*ops, kernel]
