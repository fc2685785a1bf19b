"""The kernel.elementwise body ops that need masks, integers or a scratch tile.

Compares, logical ops and `where` become `npu.vec_cmp(s)` / `npu.vec_select` on i1 masks;
casts of any element types (float to integer truncates, as ONNX Cast: `trunc` into a float
scratch tile, then the cast); `mod` (integers: the divisor's sign, floats: fmod); sign as a
clip to [-1, 1] of x scaled past the type's smallest magnitude; softplus as
max(x, 0) + log(1 + exp(-|x|)) (stable for large |x|); prelu and elu of any alpha by
a select on x's sign mask. `lower_elementwise` asks `scratch_of` which scratch tile an op
needs and `emit` to write it.
"""

from __future__ import annotations

from xdsl.dialects.builtin import i1
from xdsl.ir import Attribute, Operation, SSAValue

from gedialects.ge.types import element_of, to_numpy_dtype
from gedialects.npu.mask import VecCmpOp, VecCmpsOp, VecSelectOp
from gedialects.npu.vector import BINARY_OPS, SCALAR_OPS, UNARY_OPS, VecCastOp
from lowering.npu_builder import KernelBuilder

COMPARES = {"ge.equal": "eq", "ge.less": "lt", "ge.less_equal": "le", "ge.greater": "gt"}
COMPARES |= {"ge.greater_equal": "ge"}
LOGICAL = {"ge.logical_and": "min", "ge.logical_or": "max"}  # on i1: and = min, or = max
MASKED = {*COMPARES, *LOGICAL, "ge.logical_xor", "ge.logical_not", "ge.where", "ge.mod"}
MASKED |= {"ge.softplus", "ge.prelu", "ge.cast", "ge.sign"}
SIGN_GAIN = {"f16": 2.0**12, "f32": 2.0**100, "f64": 2.0**600}
"""Twice this gain takes the smallest nonzero magnitude of the type to >= 1 (f16 2^-24, f32
2^-149, f64 2^-1074) without the gain itself overflowing the type."""


def _is_float(element: Attribute) -> bool:
    return to_numpy_dtype(element).kind == "f"


def _is_int(element: Attribute) -> bool:
    return to_numpy_dtype(element).kind in "iu"


def handles(op: Operation) -> bool:
    """Whether this module emits `op` (elu only when its alpha is outside [0, 1])."""
    if op.name == "ge.elu":
        return not 0 <= op.get_float("alpha") <= 1
    return op.name in MASKED


def scratch_of(op: Operation) -> tuple[SSAValue, Attribute] | None:
    """(the operand whose tile shape it has, element) of the scratch tile `op` needs."""
    if not op.results or not op.operands:
        return None
    src = op.operands[0]
    src_el, dst_el = element_of(src.type), element_of(op.results[0].type)
    if op.name == "ge.cast" and _is_float(src_el) and _is_int(dst_el):
        return src, src_el
    if op.name == "ge.softplus":
        return src, dst_el
    if op.name in ("ge.prelu", "ge.elu"):
        return src, i1
    return None


def emit(b: KernelBuilder, op: Operation, args: list, dst: SSAValue, scratch) -> None:  # noqa: ANN001
    """Append the vector ops computing `op` from tiles `args` into tile `dst`."""
    name, x = op.name, args[0]
    if name in COMPARES:
        b.add(VecCmpOp(COMPARES[name], x, args[1], dst))
    elif name in LOGICAL:
        b.add(BINARY_OPS[LOGICAL[name]](x, args[1], dst))
    elif name == "ge.logical_xor":
        b.add(VecCmpOp("ne", x, args[1], dst))
    elif name == "ge.logical_not":
        b.add(VecCmpsOp("eq", x, 0.0, dst))
    elif name == "ge.where":
        b.add(VecSelectOp(x, args[1], args[2], dst))
    elif name == "ge.mod":
        fn = "mod" if _is_int(element_of(op.operands[0].type)) else "fmod"
        b.add(BINARY_OPS[fn](x, args[1], dst))
    elif name == "ge.cast":
        if scratch is not None:  # float -> integer truncates toward zero
            b.add(UNARY_OPS["trunc"](x, scratch))
            x = scratch
        b.add(VecCastOp(x, dst))
    elif name == "ge.softplus":
        b.add(UNARY_OPS["abs"](x, dst))
        b.add(UNARY_OPS["neg"](dst, dst))
        b.add(UNARY_OPS["exp"](dst, dst))
        b.add(SCALAR_OPS["adds"](dst, 1.0, dst))
        b.add(UNARY_OPS["log"](dst, dst))
        b.add(UNARY_OPS["relu"](x, scratch))
        b.add(BINARY_OPS["add"](dst, scratch, dst))
    elif name == "ge.sign":  # clip(x * gain * gain, -1, 1): +-1, +-0 and NaN as np.sign
        element = str(element_of(op.operands[0].type))
        if element in SIGN_GAIN:
            b.add(SCALAR_OPS["muls"](x, SIGN_GAIN[element], dst))
            b.add(SCALAR_OPS["muls"](dst, SIGN_GAIN[element], dst))
            x = dst
        b.add(SCALAR_OPS["maxs"](x, -1.0, dst))
        b.add(SCALAR_OPS["mins"](dst, 1.0, dst))
    elif name == "ge.prelu":  # x >= 0 ? x : slope * x
        b.add(VecCmpsOp("ge", x, 0.0, scratch))
        b.add(BINARY_OPS["mul"](x, args[1], dst))
        b.add(VecSelectOp(scratch, x, dst, dst))
    else:  # ge.elu: x > 0 ? x : alpha (exp(x) - 1)
        b.add(VecCmpsOp("gt", x, 0.0, scratch))
        b.add(SCALAR_OPS["mins"](x, 0.0, dst))
        b.add(UNARY_OPS["exp"](dst, dst))
        b.add(SCALAR_OPS["adds"](dst, -1.0, dst))
        b.add(SCALAR_OPS["muls"](dst, op.get_float("alpha"), dst))
        b.add(VecSelectOp(scratch, x, dst, dst))
