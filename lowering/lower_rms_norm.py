"""kernel.rms_norm -> one npu.kernel: the software-pipelined layer norm kernel of
`lowering.layer_norm_pipeline` with RMS norm's vector body (no mean, no bias).

The input is viewed as (rows, normalized) rows in HBM (the normalized dims `axis..` flattened)
and the scale as a (normalized,) vector; a scale that broadcasts over the normalized dims is
refused (no exporter writes one) and runs by the reference.
"""

from __future__ import annotations

import math

from xdsl.ir import Operation, SSAValue

from gedialects.errors import UnsupportedError
from gedialects.kernel.mirrored import RMSNormKernelOp
from gedialects.npu.attrs import BufferType
from gedialects.npu.buffers import ReshapeOp
from lowering.layer_norm_pipeline import lower_layer_norm
from lowering.registry import lowers
from runtime.targets import Target


@lowers(RMSNormKernelOp)
def lower_rms_norm(
    op: RMSNormKernelOp, inputs: list[SSAValue], output: SSAValue, target: Target, name: str
) -> list[Operation]:
    shape = tuple(inputs[0].type.dims)
    element = inputs[0].type.element_type
    if str(element) not in ("f16", "f32"):
        raise UnsupportedError(f"'{op.name}' on {element} has no npu lowering")
    if not shape:
        raise UnsupportedError(f"'{op.name}' of rank 0 has no npu lowering")
    axis = op.get_int("axis") % len(shape)
    rest, normalized = math.prod(shape[:axis]), math.prod(shape[axis:])
    if math.prod(inputs[1].type.dims) != normalized:
        raise UnsupportedError(f"'{op.name}' with a scale that broadcasts over the normalized dims")
    views = [
        ReshapeOp(inputs[0], BufferType((rest, normalized), element, "hbm")),
        ReshapeOp(inputs[1], BufferType((normalized,), inputs[1].type.element_type, "hbm")),
        ReshapeOp(output, BufferType((rest, normalized), output.type.element_type, "hbm")),
    ]
    x, scale, y = (v.result for v in views)
    return [*views, lower_layer_norm(op, [x, scale], y, target, name)]
