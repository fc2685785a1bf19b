"""kernel.conv2d with `algorithm = "direct"` -> the vector-unit kernel of `lowering.conv_direct`.

`select-implementations` picks direct for depthwise convolutions (the cube would fill one of
16 columns of every fractal); any stride, padding, dilation and grouping lowers, ordinary convs
included (correct but slow: each output lane then reads its own input channel). The epilogue
(bias, batch-norm scale and shift, activation, residual, post activation) runs on the lanes in
the order of the kernel's reference semantics.
"""

from __future__ import annotations

from xdsl.ir import Operation, SSAValue

from gedialects.errors import UnsupportedError
from gedialects.ge.types import to_numpy_dtype
from gedialects.kernel.ops import Conv2DKernelOp
from lowering.conv_direct import DirectConv
from lowering.conv_direct_tiling import DirectGeometry
from lowering.gemm_epilogue import Step, activation_steps
from lowering.lower_conv import EPILOGUE, refuse_input_activation
from lowering.registry import lowers
from lowering.windows import refuse_padding_only_windows
from runtime.targets import Target


def direct_geometry(op: Conv2DKernelOp, x: SSAValue, w: SSAValue) -> DirectGeometry:
    n, c, h, wd = x.type.dims
    o, _, kh, kw = w.type.dims
    pt, pl, pb, pr = op.ints("pads")
    return DirectGeometry(
        n, c, h, wd, o, op.get_int("groups"), (kh, kw), tuple(op.ints("strides")),
        (pt, pl, pb, pr), tuple(op.ints("dilations")), tuple(op.output.type.get_shape()[2:]),
        to_numpy_dtype(x.type.element_type).itemsize,
    )  # fmt: skip


def epilogue_steps(op: Conv2DKernelOp, given: list[SSAValue]) -> list[Step]:
    """The conv epilogue as steps whose operands are the HBM buffers (channel vectors (o,),
    the residual NCHW)."""
    rest = iter(given)
    present = [kind for attr, kind in EPILOGUE if getattr(op, attr) is not None]
    steps = [Step(kind, operand=next(rest)) for kind in present]
    act = op.activation.data if op.activation is not None else None
    steps += activation_steps(act, op.activation_attrs)
    if op.residual is not None:
        steps.append(Step("add", operand=next(rest)))
    post = op.post_activation.data if op.post_activation is not None else None
    return steps + activation_steps(post, op.post_activation_attrs)


@lowers(Conv2DKernelOp, when=lambda op: op.algorithm is not None and op.algorithm.data == "direct")
def lower_conv2d_direct(
    op: Conv2DKernelOp, inputs: list[SSAValue], output: SSAValue, target: Target, name: str
) -> Operation:
    refuse_input_activation(op, "direct")
    refuse_padding_only_windows(op, inputs[0], inputs[1], output)
    element = str(inputs[0].type.element_type)
    if element not in ("f16", "f32"):
        raise UnsupportedError(f"'{op.name}' (algorithm=direct) on {element} has no npu lowering")
    geometry = direct_geometry(op, inputs[0], inputs[1])
    steps = epilogue_steps(op, inputs[2:])
    conv = DirectConv(geometry, (inputs[0], inputs[1], output), steps, target)
    return conv.emit(name, op.fused_names)
