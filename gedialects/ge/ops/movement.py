"""`ge` ops that move data without arithmetic: transpose, reshape, expand, concat, slice,
gather, scatter, split, pad and resize."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from xdsl.dialects.builtin import DenseArrayBase, FloatAttr, IntegerAttr, StringAttr, i32, i64
from xdsl.ir import Attribute
from xdsl.irdl import (
    irdl_op_definition,
    operand_def,
    opt_prop_def,
    prop_def,
    result_def,
    var_operand_def,
    var_result_def,
)

from gedialects.ge.base import (
    GeOp,
    Props,
    broadcast,
    normalize_axis,
    prop_int,
    prop_ints,
    prop_str,
    require_same_element,
    require_tensor,
)
from gedialects.ge.ops.common import I64_ARRAY, UNARY_FORMAT
from gedialects.ge.types import element_of, format_type, shape_of, tensor


@irdl_op_definition
class TransposeOp(GeOp):
    """Permute dims: result dim i is input dim perm[i]."""

    name = "ge.transpose"
    input = operand_def()
    output = result_def()
    perm = prop_def(I64_ARRAY)
    assembly_format = UNARY_FORMAT

    @classmethod
    def infer_result_types(cls, operand_types: Sequence[Attribute], props: Props):
        t = require_tensor(cls, "input", operand_types[0])
        shape = shape_of(t)
        perm = prop_ints(props, "perm")
        if sorted(perm) != list(range(len(shape))):
            raise cls.fail(f"perm {list(perm)} is not a permutation of {len(shape)} dims")
        return [tensor([shape[p] for p in perm], element_of(t))]


@irdl_op_definition
class ReshapeOp(GeOp):
    """View the elements in row-major order with the static shape `shape`."""

    name = "ge.reshape"
    input = operand_def()
    output = result_def()
    shape = prop_def(I64_ARRAY)
    assembly_format = UNARY_FORMAT

    @classmethod
    def infer_result_types(cls, operand_types: Sequence[Attribute], props: Props):
        t = require_tensor(cls, "input", operand_types[0])
        new = prop_ints(props, "shape")
        old_n, new_n = _prod(shape_of(t)), _prod(new)
        if min(new, default=0) < 0 or old_n != new_n:
            raise cls.fail(f"cannot reshape {format_type(t)} ({old_n} elements) to {list(new)}")
        return [tensor(new, element_of(t))]


@irdl_op_definition
class ExpandOp(GeOp):
    """Broadcast the input to `shape` (ONNX Expand: the result is broadcast(input, shape))."""

    name = "ge.expand"
    input = operand_def()
    output = result_def()
    shape = prop_def(I64_ARRAY)
    assembly_format = UNARY_FORMAT

    @classmethod
    def infer_result_types(cls, operand_types: Sequence[Attribute], props: Props):
        t = require_tensor(cls, "input", operand_types[0])
        shape = broadcast(cls, [shape_of(t), prop_ints(props, "shape")])
        return [tensor(shape, element_of(t))]


@irdl_op_definition
class ConcatOp(GeOp):
    """Join tensors along `axis`."""

    name = "ge.concat"
    inputs = var_operand_def()
    output = result_def()
    axis = prop_def(IntegerAttr)
    assembly_format = "$inputs attr-dict `:` functional-type(operands, results)"

    @classmethod
    def infer_result_types(cls, operand_types: Sequence[Attribute], props: Props):
        if not operand_types:
            raise cls.fail("needs at least one input")
        element = require_same_element(cls, operand_types)
        shapes = [shape_of(t) for t in operand_types]
        rank = len(shapes[0])
        axis = normalize_axis(cls, prop_int(props, "axis"), rank)
        for s in shapes:
            if len(s) != rank or any(
                a != b for i, (a, b) in enumerate(zip(s, shapes[0])) if i != axis
            ):
                raise cls.fail(f"inputs differ outside axis {axis}: {shapes}")
        out = list(shapes[0])
        out[axis] = sum(s[axis] for s in shapes)
        return [tensor(out, element)]


def slice_extent(start: int, end: int, step: int, dim: int) -> tuple[int, int, int]:
    """Clamp ONNX Slice bounds for one axis; returns (start, end, count)."""
    rng = range(dim)[slice(start, end, step)]
    return rng.start, rng.stop, len(rng)


@irdl_op_definition
class SliceOp(GeOp):
    """ONNX Slice with static starts/ends/axes/steps (clamped, negative = from end)."""

    name = "ge.slice"
    input = operand_def()
    output = result_def()
    starts = prop_def(I64_ARRAY)
    ends = prop_def(I64_ARRAY)
    axes = prop_def(I64_ARRAY)
    steps = prop_def(I64_ARRAY)
    assembly_format = UNARY_FORMAT

    @classmethod
    def infer_result_types(cls, operand_types: Sequence[Attribute], props: Props):
        t = require_tensor(cls, "input", operand_types[0])
        shape = list(shape_of(t))
        starts, ends = prop_ints(props, "starts"), prop_ints(props, "ends")
        axes, steps = prop_ints(props, "axes"), prop_ints(props, "steps")
        if not len(starts) == len(ends) == len(axes) == len(steps):
            raise cls.fail("starts, ends, axes and steps must have the same length")
        if 0 in steps:
            raise cls.fail("steps must be non-zero")
        for s, e, a, st in zip(starts, ends, axes, steps):
            a = normalize_axis(cls, a, len(shape))
            shape[a] = slice_extent(s, e, st, shape[a])[2]
        return [tensor(shape, element_of(t))]


@irdl_op_definition
class GatherOp(GeOp):
    """ONNX Gather: take entries of `data` along `axis` at integer `indices`."""

    name = "ge.gather"
    data = operand_def()
    indices = operand_def()
    output = result_def()
    axis = prop_def(IntegerAttr)
    DEFAULTS: ClassVar[dict] = {"axis": 0}
    assembly_format = "$data `,` $indices attr-dict `:` functional-type(operands, results)"

    @classmethod
    def infer_result_types(cls, operand_types: Sequence[Attribute], props: Props):
        data = shape_of(require_tensor(cls, "data", operand_types[0]))
        idx_t = require_tensor(cls, "indices", operand_types[1])
        if element_of(idx_t) not in (i32, i64):
            raise cls.fail(f"indices must be i32 or i64, got {format_type(idx_t)}")
        axis = normalize_axis(cls, prop_int(props, "axis"), len(data))
        shape = (*data[:axis], *shape_of(idx_t), *data[axis + 1 :])
        return [tensor(shape, element_of(operand_types[0]))]


SCATTER_REDUCTIONS = ("none", "add", "mul", "max", "min")
"""How `ge.scatter` combines an update with the entry it lands on (ONNX's reductions)."""


@irdl_op_definition
class ScatterOp(GeOp):
    """`ge.gather`'s inverse: the data with slice `indices[i]` along `axis` replaced by (or
    reduced with) slice i of `updates`, in index order (a later update of an entry wins, as
    onnxruntime's ScatterND and ScatterElements). `updates` has the shape `ge.gather` of the
    same data and indices gives; indices are counted from the end when negative."""

    name = "ge.scatter"
    data = operand_def()
    indices = operand_def()
    updates = operand_def()
    output = result_def()
    axis = prop_def(IntegerAttr)
    reduction = prop_def(StringAttr)
    DEFAULTS: ClassVar[dict] = {"axis": 0, "reduction": "none"}
    assembly_format = (
        "$data `,` $indices `,` $updates attr-dict `:` functional-type(operands, results)"
    )

    @classmethod
    def infer_result_types(cls, operand_types: Sequence[Attribute], props: Props):
        data_t = require_tensor(cls, "data", operand_types[0])
        idx_t = require_tensor(cls, "indices", operand_types[1])
        if element_of(idx_t) not in (i32, i64):
            raise cls.fail(f"indices must be i32 or i64, got {format_type(idx_t)}")
        require_same_element(cls, [data_t, operand_types[2]])
        data = shape_of(data_t)
        axis = normalize_axis(cls, prop_int(props, "axis"), len(data))
        want = (*data[:axis], *shape_of(idx_t), *data[axis + 1 :])
        if shape_of(operand_types[2]) != want:
            got = format_type(operand_types[2])
            raise cls.fail(f"updates must have shape {list(want)} (the gather's), got {got}")
        if prop_str(props, "reduction") not in SCATTER_REDUCTIONS:
            raise cls.fail(f'unknown reduction "{prop_str(props, "reduction")}"')
        return [data_t]


@irdl_op_definition
class SplitOp(GeOp):
    """Cut the input along `axis` into pieces of the given `sizes`."""

    name = "ge.split"
    input = operand_def()
    outputs = var_result_def()
    axis = prop_def(IntegerAttr)
    sizes = prop_def(I64_ARRAY)
    assembly_format = UNARY_FORMAT

    @classmethod
    def infer_result_types(cls, operand_types: Sequence[Attribute], props: Props):
        t = require_tensor(cls, "input", operand_types[0])
        shape = shape_of(t)
        axis = normalize_axis(cls, prop_int(props, "axis"), len(shape))
        sizes = prop_ints(props, "sizes")
        if sum(sizes) != shape[axis] or min(sizes, default=0) < 0:
            raise cls.fail(f"sizes {list(sizes)} do not add up to dim {shape[axis]} of axis {axis}")
        out = []
        for s in sizes:
            piece = list(shape)
            piece[axis] = s
            out.append(tensor(piece, element_of(t)))
        return out


@irdl_op_definition
class PadOp(GeOp):
    """ONNX Pad: pads are (begin of each axis..., end of each axis...), may be negative."""

    name = "ge.pad"
    input = operand_def()
    output = result_def()
    pads = prop_def(I64_ARRAY)
    mode = prop_def(StringAttr)
    value = prop_def(FloatAttr)
    DEFAULTS: ClassVar[dict] = {"mode": "constant", "value": 0.0}
    assembly_format = UNARY_FORMAT

    @classmethod
    def infer_result_types(cls, operand_types: Sequence[Attribute], props: Props):
        t = require_tensor(cls, "input", operand_types[0])
        shape = shape_of(t)
        pads = prop_ints(props, "pads")
        if len(pads) != 2 * len(shape):
            raise cls.fail(f"needs {2 * len(shape)} pads for rank {len(shape)}, got {len(pads)}")
        if prop_str(props, "mode") not in ("constant", "reflect", "edge", "wrap"):
            raise cls.fail(f'unknown mode "{prop_str(props, "mode")}"')
        out = [d + pads[i] + pads[i + len(shape)] for i, d in enumerate(shape)]
        if min(out, default=1) < 0:
            raise cls.fail(f"pads {list(pads)} leave a negative extent")
        return [tensor(out, element_of(t))]


RESIZE_COORDINATES = ("half_pixel", "half_pixel_symmetric", "pytorch_half_pixel")
RESIZE_COORDINATES += ("align_corners", "asymmetric", "tf_half_pixel_for_nn", "tf_crop_and_resize")
"""ONNX's coordinate transforms that `ge.resize` computes."""


@irdl_op_definition
class ResizeOp(GeOp):
    """ONNX Resize to the static `sizes` (nearest, linear or cubic, N-d, ONNX coordinate modes).

    Cubic alone takes `cubic_coeff_a` (the kernel's A, ONNX's default -0.75) and
    `exclude_outside` (drop taps outside the input and renormalize), so the other modes
    print as before. `antialias` (linear and cubic, ONNX 18) stretches the filter by
    1 / scale on the axes it shrinks, so each output averages every input it covers.
    tf_crop_and_resize alone takes `roi` (each axis's start, then each axis's end, as
    fractions of the input) and `extrapolation_value` (what points outside the input read).
    """

    name = "ge.resize"
    input = operand_def()
    output = result_def()
    sizes = prop_def(I64_ARRAY)
    scales = opt_prop_def(DenseArrayBase)
    mode = prop_def(StringAttr)
    coordinate_transformation_mode = prop_def(StringAttr)
    nearest_mode = prop_def(StringAttr)
    cubic_coeff_a = opt_prop_def(FloatAttr)
    exclude_outside = opt_prop_def(IntegerAttr)
    antialias = opt_prop_def(IntegerAttr)
    roi = opt_prop_def(DenseArrayBase)
    extrapolation_value = opt_prop_def(FloatAttr)
    DEFAULTS: ClassVar[dict] = {
        "mode": "nearest",
        "coordinate_transformation_mode": "half_pixel",
        "nearest_mode": "round_prefer_floor",
    }
    assembly_format = UNARY_FORMAT

    @classmethod
    def infer_result_types(cls, operand_types: Sequence[Attribute], props: Props):
        t = require_tensor(cls, "input", operand_types[0])
        sizes = prop_ints(props, "sizes")
        if len(sizes) != len(shape_of(t)) or min(sizes, default=1) < 1:
            raise cls.fail(f"sizes {list(sizes)} do not fit {format_type(t)}")
        empty = [i for i, (d, n) in enumerate(zip(shape_of(t), sizes)) if d == 0 and n]
        if empty:  # no scale makes elements of none (onnxruntime refuses it the same way)
            axis = empty[0]
            raise cls.fail(f"axis {axis} has no elements to resize to {sizes[axis]}")
        if prop_str(props, "mode") not in ("nearest", "linear", "cubic"):
            raise cls.fail(f'mode "{prop_str(props, "mode")}" is not supported')
        coordinates = prop_str(props, "coordinate_transformation_mode")
        if coordinates not in RESIZE_COORDINATES:
            raise cls.fail(f'coordinate_transformation_mode "{coordinates}" is not supported')
        roi = props.get("roi")
        if coordinates == "tf_crop_and_resize" and (
            not isinstance(roi, DenseArrayBase) or len(roi.get_values()) != 2 * len(sizes)
        ):
            raise cls.fail(f"tf_crop_and_resize needs a roi of {2 * len(sizes)} values")
        return [tensor(sizes, element_of(t))]


def _prod(shape: Sequence[int]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n
