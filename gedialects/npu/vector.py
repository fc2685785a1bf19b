"""Vector instructions of the `npu` dialect: elementwise, scalar, reduce, cast, transpose, dup.

Every operand is a whole UB buffer; binary ops broadcast as numpy does (a (R, 1) row statistic
against an (R, C) tile is how softmax and layer norm subtract and divide). Families share a base
class, so each op is a name; the numpy meaning of each name is in `runtime.npu_semantics`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from xdsl.dialects.builtin import DenseArrayBase, Float64Type, FloatAttr, IntegerAttr, i64
from xdsl.ir import SSAValue
from xdsl.irdl import ParsePropInAttrDict, irdl_op_definition, operand_def, opt_prop_def, prop_def

from gedialects.npu.attrs import BufferType
from gedialects.npu.base import I64_ARRAY, NpuOp
from gedialects.npu.checks import check_space, require_kernel, static_list

VEC_UNARY = (
    "copy", "abs", "neg", "exp", "log", "sqrt", "rsqrt", "reciprocal", "relu", "tanh", "sigmoid",
    "erf", "floor", "ceil", "round", "sin", "cos", "trunc",
)  # fmt: skip
VEC_BINARY = ("add", "sub", "mul", "div", "max", "min", "pow", "mod", "fmod")
VEC_SCALAR = ("adds", "muls", "maxs", "mins", "leaky_relu")
VEC_REDUCE = ("reduce_sum", "reduce_max", "reduce_min", "reduce_prod")


def scalar_properties(value: float | int | np.number) -> dict:
    """`scalar` as f64, and `exact` as i64 when `value` is an integer that f64 rounds
    (beyond 2^53: an int64 fill such as INT64_MAX became INT64_MIN through f64)."""
    props: dict = {"scalar": FloatAttr(float(value), 64)}
    integer = isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)
    if integer and int(float(value)) != int(value):
        props["exact"] = IntegerAttr(int(np.array(value).astype(np.int64)), i64)
    return props


def scalar_value(op: VecScalarOp | VecDupOp) -> float | np.int64:
    """The value a scalar vector op writes: its exact integer (i64 bits) where it has one."""
    if op.exact is not None:
        return np.int64(op.exact.value.data)
    return op.scalar.value.data


def check_exact(op: VecScalarOp | VecDupOp) -> None:
    """`exact`, read as a signed or an unsigned 64-bit integer, rounds to `scalar`."""
    if op.exact is None:
        return
    bits = np.int64(op.exact.value.data)
    if op.scalar.value.data not in (float(bits), float(bits.astype(np.uint64))):
        raise op.fail(f"exact {op.exact.value.data} is not the scalar {op.scalar.value.data}")


class VecOp(NpuOp):
    """Base of vector instructions: every operand is a UB buffer inside a kernel."""

    FN: ClassVar[str] = ""

    def verify_(self) -> None:
        require_kernel(self)
        bufs = [
            check_space(self, f"operand {i}", v.type, ("ub",)) for i, v in enumerate(self.operands)
        ]
        self.check_shapes(*bufs)

    def check_shapes(self, *bufs: BufferType) -> None:
        src, dst = bufs[0], bufs[-1]
        if src.dims != dst.dims or src.element_type != dst.element_type:
            raise self.fail(f"source {src} and destination {dst} differ in shape or type")


class VecUnaryOp(VecOp):
    src = operand_def(BufferType)
    dst = operand_def(BufferType)
    assembly_format = "$src `->` $dst attr-dict `:` type($src) `->` type($dst)"

    def __init__(self, src: SSAValue, dst: SSAValue):
        super().__init__(operands=[src, dst])


class VecBinaryOp(VecOp):
    lhs = operand_def(BufferType)
    rhs = operand_def(BufferType)
    dst = operand_def(BufferType)
    assembly_format = (
        "$lhs `,` $rhs `->` $dst attr-dict `:` type($lhs) `,` type($rhs) `->` type($dst)"
    )

    def __init__(self, lhs: SSAValue, rhs: SSAValue, dst: SSAValue):
        super().__init__(operands=[lhs, rhs, dst])

    def check_shapes(self, *bufs: BufferType) -> None:
        lhs, rhs, dst = bufs
        if not lhs.element_type == rhs.element_type == dst.element_type:
            raise self.fail("operands and destination must have one element type")
        try:
            shape = np.broadcast_shapes(lhs.dims, rhs.dims)
        except ValueError:
            raise self.fail(f"shapes {lhs.dims} and {rhs.dims} do not broadcast") from None
        if shape != dst.dims:
            raise self.fail(f"the broadcast shape {shape} is not the destination's {dst.dims}")


class VecScalarOp(VecOp):
    src = operand_def(BufferType)
    scalar = prop_def(FloatAttr[Float64Type])
    exact = opt_prop_def(IntegerAttr)
    dst = operand_def(BufferType)
    irdl_options = (ParsePropInAttrDict(),)  # `exact` is written in the attribute dictionary
    assembly_format = "$src `,` $scalar `->` $dst attr-dict `:` type($src) `->` type($dst)"

    def __init__(self, src: SSAValue, scalar: float | int, dst: SSAValue):
        super().__init__(operands=[src, dst], properties=scalar_properties(scalar))

    def verify_(self) -> None:
        super().verify_()
        check_exact(self)


class VecReduceOp(VecOp):
    """Reduce over `axes`, keeping them as dims of size 1 in `dst`."""

    src = operand_def(BufferType)
    dst = operand_def(BufferType)
    axes = prop_def(I64_ARRAY)
    assembly_format = "$src `->` $dst `axes` `=` $axes attr-dict `:` type($src) `->` type($dst)"

    def __init__(self, src: SSAValue, dst: SSAValue, axes: Sequence[int]):
        props = {"axes": DenseArrayBase.from_list(i64, list(axes))}
        super().__init__(operands=[src, dst], properties=props)

    def check_shapes(self, *bufs: BufferType) -> None:
        src, dst = bufs
        axes = static_list(self.axes)
        if any(not 0 <= a < len(src.dims) for a in axes) or len(set(axes)) != len(axes):
            raise self.fail(f"axes {axes} are not distinct axes of {src}")
        want = tuple(1 if i in axes else d for i, d in enumerate(src.dims))
        if dst.dims != want or dst.element_type != src.element_type:
            raise self.fail(f"the destination must be {want} of {src.element_type}, got {dst}")


def _family(base: type[VecOp], names: Sequence[str]) -> dict[str, type[VecOp]]:
    made = {}
    for fn in names:
        cls_name = "Vec" + "".join(p.capitalize() for p in fn.split("_")) + "Op"
        body = {"name": f"npu.vec_{fn}", "__doc__": f"Vector {fn} on UB buffers.", "FN": fn}
        body["__annotations__"] = {"FN": "ClassVar[str]"}
        made[fn] = irdl_op_definition(type(cls_name, (base,), body))
    return made


UNARY_OPS = _family(VecUnaryOp, VEC_UNARY)
BINARY_OPS = _family(VecBinaryOp, VEC_BINARY)
SCALAR_OPS = _family(VecScalarOp, VEC_SCALAR)
REDUCE_OPS = _family(VecReduceOp, VEC_REDUCE)


@irdl_op_definition
class VecDupOp(VecOp):
    """Fill a UB buffer with one value."""

    name = "npu.vec_dup"
    scalar = prop_def(FloatAttr[Float64Type])
    exact = opt_prop_def(IntegerAttr)
    dst = operand_def(BufferType)
    irdl_options = (ParsePropInAttrDict(),)  # `exact` is written in the attribute dictionary
    assembly_format = "$scalar `->` $dst attr-dict `:` type($dst)"

    def __init__(self, scalar: float | int, dst: SSAValue):
        super().__init__(operands=[dst], properties=scalar_properties(scalar))

    def verify_(self) -> None:
        super().verify_()
        check_exact(self)


@irdl_op_definition
class VecCastOp(VecOp):
    """Convert element types (same shape); float to int rounds to nearest even."""

    name = "npu.vec_cast"
    src = operand_def(BufferType)
    dst = operand_def(BufferType)
    assembly_format = "$src `->` $dst attr-dict `:` type($src) `->` type($dst)"

    def __init__(self, src: SSAValue, dst: SSAValue):
        super().__init__(operands=[src, dst])

    def check_shapes(self, *bufs: BufferType) -> None:
        if bufs[0].dims != bufs[1].dims:
            raise self.fail(f"a cast keeps the shape: {bufs[0]} -> {bufs[1]}")


@irdl_op_definition
class VecTransposeOp(VecOp):
    """dst = src.transpose(perm)."""

    name = "npu.vec_transpose"
    src = operand_def(BufferType)
    dst = operand_def(BufferType)
    perm = prop_def(I64_ARRAY)
    assembly_format = "$src `->` $dst `perm` `=` $perm attr-dict `:` type($src) `->` type($dst)"

    def __init__(self, src: SSAValue, dst: SSAValue, perm: Sequence[int]):
        props = {"perm": DenseArrayBase.from_list(i64, list(perm))}
        super().__init__(operands=[src, dst], properties=props)

    def check_shapes(self, *bufs: BufferType) -> None:
        src, dst = bufs
        perm = static_list(self.perm)
        if sorted(perm) != list(range(len(src.dims))):
            raise self.fail(f"perm {perm} is not a permutation of {len(src.dims)} axes")
        want = tuple(src.dims[p] for p in perm)
        if dst.dims != want or dst.element_type != src.element_type:
            raise self.fail(f"the destination must be {want} of {src.element_type}, got {dst}")


VECTOR_OPS: list[type[VecOp]] = [
    *UNARY_OPS.values(),
    *BINARY_OPS.values(),
    *SCALAR_OPS.values(),
    *REDUCE_OPS.values(),
    VecDupOp,
    VecCastOp,
    VecTransposeOp,
]
