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
from gedialects.ge.types import element_of, shape_of
from gedialects.kernel.ops import Conv2DKernelOp
from gedialects.npu.attrs import BufferType
from gedialects.npu.buffers import ReshapeOp
from lowering.gemm import emit_gemm
from lowering.gemm_epilogue import Step, activation_steps
from lowering.lower_matmul import init_with_addends
from lowering.registry import lowers
from lowering.tiling import MatmulTiling, choose_matmul_split
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


def by_im2col(op: Conv2DKernelOp) -> bool:
    """Whether this module lowers `op` (its algorithm im2col, or none chosen)."""
    return op.algorithm is None or op.algorithm.data == "im2col"


@lowers(Conv2DKernelOp, when=by_im2col)
def lower_conv2d(
    op: Conv2DKernelOp, inputs: list[SSAValue], output: SSAValue, target: Target, name: str
) -> list[Operation]:
    n, c, h, w = inputs[0].type.dims
    o = inputs[1].type.dims[0]
    if str(inputs[0].type.element_type) not in ("f16", "f32"):
        raise UnsupportedError(f"{op.name} on {inputs[0].type.element_type} has no cube mode")
    ops: list[Operation] = []
    if not is_pointwise(op) or op.input_activation is not None:  # (staged rows activate)
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
    split = pointwise_split(target, op) if _adds_into_output(op) else None
    if split is not None:
        given = op.present(("bias", "scale", "shift", "residual"), inputs[2:])
        views = {"bias": (o, 1), "residual": (n, o, h * w)}
        addends = {key: _view(value, views[key], ops) for key, value in given.items()}
        init = init_with_addends(op, addends, out, target, f"{name}_init")
        gemm = emit_gemm(weight, x, out, target, name, op.fused_names, "conv2d", [], split)
        return [*ops, init, gemm]
    steps = conv_epilogue_steps(op, inputs[2:], (n, o, h * w), ops)
    kernel = emit_gemm(weight, x, out, target, name, op.fused_names, "conv2d", steps)
    return [*ops, kernel]


def is_pointwise(op: Conv2DKernelOp) -> bool:
    """A 1x1 conv of stride 1, unpadded, one group: a matmul per image."""
    pointwise = shape_of(op.weight.type)[2:] == (1, 1) and set(op.ints("strides")) == {1}
    return pointwise and set(op.ints("pads")) == {0} and op.get_int("groups") == 1


def _adds_into_output(op: Conv2DKernelOp) -> bool:
    """True when the epilogue lets the parts of a K split add into the output: a bias or a
    residual and nothing else (an activation or a batch norm needs the whole sum)."""
    others = (op.scale, op.activation, op.post_activation, op.input_activation)
    return (op.bias is not None or op.residual is not None) and all(a is None for a in others)


def pointwise_split(target: Target, op: Conv2DKernelOp) -> tuple[int, MatmulTiling] | None:
    """(K parts, tiling of one part) when splitting the K (input channels) of pointwise
    `op`'s GEMM over groups of cores pays (`tiling.choose_matmul_split`, the init kernel
    that writes the addends included), else None: f32, one image. Where each core's loads
    bound it (few output tiles per core, a deep K: ResNet-50's 1024 -> 256 on 14x14, ~1.2x
    faster), every core reading whole K panels is what the split divides."""
    n, c, h, w = shape_of(op.input.type)
    o = shape_of(op.weight.type)[0]
    if n != 1 or str(element_of(op.input.type)) != "f32":
        return None
    if str(element_of(op.output.type)) != "f32":
        return None
    parts, tiling = choose_matmul_split(target, o, h * w, c, 4, 4 * o * h * w, exact=True)
    return (parts, tiling) if parts > 1 else None
