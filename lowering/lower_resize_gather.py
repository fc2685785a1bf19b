"""kernel.resize, nearest, with maps that are neither integer upsampling nor strided
subsampling (half_pixel 2 -> 7, align_corners with fractional ratios) -> gathers of rows by
constant index tables, exact for every value (inf and NaN included).

The source row and column of each output row and column come from the reference semantics
run on the identity (`lower_resize_gemm.interpolation_matrix`: one-hot rows for nearest), as
`npu.hbm_constant` int32 tables. Rows: one `lower_gather` kernel over (planes, H, W) picks
the Ho source rows ((planes, Ho, W), one row DMA each, the index read by the S pipe).
Columns: the last two axes are transposed (`transpose_last_two`), the rows of that gathered
by the column table, and transposed back, so every copy moves whole rows instead of single
elements. An axis whose map is the identity is skipped. (`lowering.lower_resize` keeps the
maps it does in one vector kernel; linear goes to the cube GEMMs of `lower_resize_gemm`.)
"""

from __future__ import annotations

import math

import numpy as np
from xdsl.ir import Operation, SSAValue

from gedialects.errors import UnsupportedError
from gedialects.ge.types import element_of, from_numpy_dtype
from gedialects.kernel.mirrored import ResizeKernelOp
from gedialects.npu.attrs import BufferType
from gedialects.npu.buffers import HbmAllocOp, HbmConstantOp, ReshapeOp
from lowering.lower_gather import gather_rows_kernel
from lowering.lower_movement import transpose_last_two
from lowering.lower_resize import by_window_maps
from lowering.lower_resize_gemm import interpolation_matrix
from lowering.registry import lowers
from runtime.targets import Target


def _nearest_elsewhere(op: ResizeKernelOp) -> bool:
    crop = op.get_str("coordinate_transformation_mode") == "tf_crop_and_resize"
    return op.get_str("mode") == "nearest" and not crop and not by_window_maps(op)


def _table(matrix: np.ndarray, ops: list[Operation]) -> SSAValue:
    index = np.argmax(matrix, axis=1).astype(np.int32)
    const = HbmConstantOp.from_array(index, from_numpy_dtype(index.dtype))
    ops.append(const)
    return const.buffer


def _buffer(dims: tuple[int, ...], element, ops: list[Operation]) -> SSAValue:  # noqa: ANN001
    temp = HbmAllocOp(BufferType(dims, element, "hbm"))
    ops.append(temp)
    return temp.buffer


def _view(value: SSAValue, dims: tuple[int, ...], ops: list[Operation]) -> SSAValue:
    view = ReshapeOp(value, BufferType(dims, value.type.element_type, "hbm"))
    ops.append(view)
    return view.result


@lowers(ResizeKernelOp, when=_nearest_elsewhere)
def lower_resize_gather(
    op: ResizeKernelOp, inputs: list[SSAValue], output: SSAValue, target: Target, name: str
) -> list[Operation]:
    shape, out = tuple(op.input.type.get_shape()), tuple(op.output.type.get_shape())
    element = element_of(op.output.type)
    scales = [1.0] * len(shape) if op.scales is None else list(op.scales.get_values())
    if len(shape) < 2 or shape[:-2] != out[:-2] or any(s != 1.0 for s in scales[:-2]):
        raise UnsupportedError(f"'{op.name}' of axes before the last two has no npu lowering")
    (h, w), (ho, wo), planes = shape[-2:], out[-2:], math.prod(shape[:-2])
    ry, cx = interpolation_matrix(op, len(shape) - 2), interpolation_matrix(op, len(shape) - 1)
    rows_needed = not np.array_equal(ry, np.eye(h)) or ho != h
    ops: list[Operation] = []
    current = _view(inputs[0], (planes, h, w), ops)
    final = _view(output, (planes, ho, wo), ops)
    fused = op.fused_names
    if rows_needed:
        last = wo == w and np.array_equal(cx, np.eye(w))
        dst = final if last else _buffer((planes, ho, w), element, ops)
        ops.append(gather_rows_kernel(current, _table(ry, ops), dst, target, f"{name}_rows", fused))
        current = dst
    if current is not final:  # the columns: transpose, gather rows, transpose back
        rows = ho if rows_needed else h
        turned = _buffer((planes, w, rows), element, ops)
        ops.append(transpose_last_two(current, turned, target, f"{name}_t0"))
        picked = _buffer((planes, wo, rows), element, ops)
        table = _table(cx, ops)
        ops.append(gather_rows_kernel(turned, table, picked, target, f"{name}_cols", fused))
        ops.append(transpose_last_two(picked, final, target, f"{name}_t1"))
    return ops
