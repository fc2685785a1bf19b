"""kernel.resize on the last two axes, linear or cubic mode -> cube GEMMs by constant
interpolation matrices (nearest maps go to `lowering.lower_resize` and
`lowering.lower_resize_gather`).

Resizing the last two axes is separable and linear in the input: Y[p] = Ry @ X[p] @ Cxᵀ with
Ry (Ho, H) and Cx (Wo, W) the per-axis interpolation matrices: two taps (1 - frac, frac) per
row in linear mode, four (the cubic kernel's, renormalized with `exclude_outside`) in cubic.
They are compile-time constants taken from the op's reference semantics (run on an identity
matrix through `_AxisOp`, so the coordinate transforms and clipping are the
reference's, written once). The columns pass is one GEMM over every row of every plane,
(P*rows, W) @ Cxᵀ (W, Wo); the rows pass one GEMM batched over the planes with the broadcast
Ry (1, Ho, H); an axis whose matrix is the identity is skipped, and the pass order is the one
with the smaller HBM intermediate.

Why the cube and not the vector unit: a fractional ratio's taps are a gather of rows and
columns, and the npu vector ops only read strided windows, so a vector lowering would need
two gathers per axis (as `lower_resize_gather` does for nearest) plus the weighting; the
matrices are tiny (W x Wo), and the GEMMs of image-sized resizes are bound by HBM, not the
cube (the dense product costs W / 2 times the taps' multiply-adds, which the cube's 4096 MACs
per cycle per core absorb). The difference from the reference: a non-finite input value
spreads NaN (0 * inf) over its whole output row or column instead of only its neighbours.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from xdsl.ir import Operation, SSAValue

from gedialects.errors import UnsupportedError
from gedialects.ge.semantics import resize as reference_resize
from gedialects.ge.types import element_of, to_numpy_dtype
from gedialects.kernel.mirrored import ResizeKernelOp
from gedialects.npu.attrs import BufferType
from gedialects.npu.buffers import HbmAllocOp, HbmConstantOp, ReshapeOp
from lowering.gemm import emit_gemm
from lowering.registry import lowers
from runtime.targets import Target


@dataclass(frozen=True)
class _Scales:
    values: tuple[float, ...]

    def get_values(self) -> tuple[float, ...]:
        return self.values


@dataclass(frozen=True)
class _AxisOp:
    """`op` seen as a resize of one axis of a 2-D (n_in, n_in) image: what the reference
    semantics read (sizes, scales, modes)."""

    op: ResizeKernelOp
    axis: int

    def __getattr__(self, name: str) -> object:  # what is per op, not per axis (cubic's A)
        return getattr(self.op, name)

    def get_str(self, key: str) -> str:
        return self.op.get_str(key)

    def ints(self, key: str) -> tuple[int, ...]:
        assert key == "sizes"
        n_in = self.op.input.type.get_shape()[self.axis]
        return (self.op.output.type.get_shape()[self.axis], n_in)

    @property
    def scales(self) -> _Scales | None:
        if self.op.scales is None:
            return None
        return _Scales((float(self.op.scales.get_values()[self.axis]), 1.0))


def cropped(op: ResizeKernelOp) -> bool:
    """tf_crop_and_resize: points outside the input read a constant, which no weight matrix
    applied to the input gives; such resizes run by reference."""
    return op.get_str("coordinate_transformation_mode") == "tf_crop_and_resize"


def interpolation_matrix(op: ResizeKernelOp, axis: int) -> np.ndarray:
    """(n_out, n_in) float64: the reference's resize of `axis` applied to the identity."""
    n_in = op.input.type.get_shape()[axis]
    eye = np.eye(n_in, dtype=np.float64)
    return reference_resize(_AxisOp(op, axis), eye).astype(np.float64)


def _view(value: SSAValue, dims: tuple[int, ...], ops: list[Operation]) -> SSAValue:
    view = ReshapeOp(value, BufferType(dims, value.type.element_type, "hbm"))
    ops.append(view)
    return view.result


def _constant(array: np.ndarray, element, ops: list[Operation]) -> SSAValue:  # noqa: ANN001
    laid = np.ascontiguousarray(array.astype(to_numpy_dtype(element)))
    const = HbmConstantOp.from_array(laid, element)
    ops.append(const)
    return const.buffer


@lowers(
    ResizeKernelOp, when=lambda op: op.get_str("mode") in ("linear", "cubic") and not cropped(op)
)
def lower_resize_gemm(
    op: ResizeKernelOp, inputs: list[SSAValue], output: SSAValue, target: Target, name: str
) -> list[Operation]:
    shape, out = tuple(op.input.type.get_shape()), tuple(op.output.type.get_shape())
    element = element_of(op.output.type)
    if str(element) not in ("f16", "f32"):
        raise UnsupportedError(f"'{op.name}' {op.get_str('mode')} on {element} has no cube mode")
    scales = [1.0] * len(shape) if op.scales is None else list(op.scales.get_values())
    if len(shape) < 2 or shape[:-2] != out[:-2] or any(s != 1.0 for s in scales[:-2]):
        raise UnsupportedError(f"'{op.name}' of axes before the last two has no npu lowering")
    (h, w), (ho, wo), planes = shape[-2:], out[-2:], math.prod(shape[:-2])
    ry, cx = interpolation_matrix(op, len(shape) - 2), interpolation_matrix(op, len(shape) - 1)
    passes = [p for p, m in (("rows", ry), ("cols", cx)) if not _identity(m)]
    if planes * ho * w > planes * h * wo:  # the smaller intermediate between the passes
        passes.reverse()
    ops: list[Operation] = []
    if not passes:  # both maps are the identity: a GEMM by Cx = I copies the image
        passes = ["cols"]
    current, dims = _view(inputs[0], (planes, h, w), ops), (h, w)
    for i, kind in enumerate(passes):
        new = (ho, dims[1]) if kind == "rows" else (dims[0], wo)
        if i == len(passes) - 1:
            dst = _view(output, (planes, *new), ops)
        else:
            temp = HbmAllocOp(BufferType((planes, *new), element, "hbm"))
            ops.append(temp)
            dst = temp.buffer
        suffix = f"_{kind}" if len(passes) > 1 else ""
        if kind == "rows":
            a = _constant(ry[None], element, ops)
            gemm = emit_gemm(a, current, dst, target, name + suffix, op.fused_names, "resize", [])
        else:
            rows = _view(current, (planes * dims[0], dims[1]), ops)
            b = _constant(cx.T, element, ops)
            flat = _view(dst, (planes * new[0], new[1]), ops)
            gemm = emit_gemm(rows, b, flat, target, name + suffix, op.fused_names, "resize", [])
        ops.append(gemm)
        current, dims = dst, new
    return ops


def _identity(matrix: np.ndarray) -> bool:
    return matrix.shape[0] == matrix.shape[1] and np.array_equal(matrix, np.eye(len(matrix)))
