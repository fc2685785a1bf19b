"""The pool and reduce kernels: one op per family, whose `kind` picks the `ge` op it runs.

`kernel.pool` stands for max/avg window pools and global pools, `kernel.reduce` for the six
`ge.reduce_*` ops; each takes the type rule (and, in `semantics`, the meaning) of the `ge` op
its kind names, so a lowering handles a family in one place. Both are casting kernels
(`gedialects.kernel.casting`): `cast_to` folds a cast of their input or result into them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from xdsl.dialects.builtin import IntegerAttr, StringAttr
from xdsl.ir import Attribute
from xdsl.irdl import irdl_op_definition, operand_def, opt_prop_def, prop_def, result_def

from gedialects.ge import ops as ge
from gedialects.ge.base import Props, prop_bool, prop_str, require_float, require_tensor
from gedialects.ge.ops import I64_ARRAY, UNARY_FORMAT, reduced_shape
from gedialects.ge.types import element_of, shape_of, tensor
from gedialects.kernel.casting import CastingKernelOp

POOL_KINDS: dict[str, type[ge.GeOp]] = {
    "max": ge.MaxPool2DOp,
    "avg": ge.AvgPool2DOp,
    "global_avg": ge.GlobalAvgPoolOp,
    "global_max": ge.GlobalMaxPoolOp,
}


@irdl_op_definition
class PoolKernelOp(CastingKernelOp):
    """A 2-D window pool (`max`, `avg`) or a global pool (`global_avg`, `global_max`)."""

    name = "kernel.pool"
    input = operand_def()
    output = result_def()
    kind = prop_def(StringAttr)
    kernel_shape = opt_prop_def(I64_ARRAY)
    strides = opt_prop_def(I64_ARRAY)
    pads = opt_prop_def(I64_ARRAY)
    dilations = opt_prop_def(I64_ARRAY)
    ceil_mode = opt_prop_def(IntegerAttr)
    count_include_pad = opt_prop_def(IntegerAttr)
    assembly_format = UNARY_FORMAT

    @classmethod
    def compute_types(cls, operand_types: Sequence[Attribute], props: Props):
        kind = prop_str(props, "kind")
        if kind not in POOL_KINDS:
            raise cls.fail(f'kind "{kind}" is not one of {", ".join(POOL_KINDS)}')
        window = ("kernel_shape", "strides", "pads", "dilations")
        if not kind.startswith("global") and any(name not in props for name in window):
            missing = ", ".join(name for name in window if name not in props)
            raise cls.fail(
                f'a "{kind}" pool needs kernel_shape, strides, pads and dilations (no {missing})'
            )
        rule = POOL_KINDS[kind].infer_result_types.__func__  # type: ignore[attr-defined]
        return rule(cls, operand_types, props)


REDUCE_KINDS: dict[str, type[ge.GeOp]] = {
    "sum": ge.ReduceSumOp,
    "mean": ge.ReduceMeanOp,
    "max": ge.ReduceMaxOp,
    "min": ge.ReduceMinOp,
    "prod": ge.ReduceProdOp,
    "l2": ge.ReduceL2Op,
}


@irdl_op_definition
class ReduceKernelOp(CastingKernelOp):
    """Reduce over `axes` (empty: all) by `kind` (sum, mean, max, min, prod, l2)."""

    name = "kernel.reduce"
    input = operand_def()
    output = result_def()
    kind = prop_def(StringAttr)
    axes = prop_def(I64_ARRAY)
    keepdims = prop_def(IntegerAttr)
    DEFAULTS: ClassVar[dict] = {"axes": (), "keepdims": True}
    assembly_format = UNARY_FORMAT

    @classmethod
    def compute_types(cls, operand_types: Sequence[Attribute], props: Props):
        kind = prop_str(props, "kind")
        if kind not in REDUCE_KINDS:
            raise cls.fail(f'kind "{kind}" is not one of {", ".join(REDUCE_KINDS)}')
        t = require_tensor(cls, "input", operand_types[0])
        if REDUCE_KINDS[kind].FLOAT_ONLY:  # type: ignore[attr-defined]
            require_float(cls, "input", t)
        axes = props["axes"].get_values()  # type: ignore[attr-defined]
        shape = reduced_shape(cls, shape_of(t), axes, prop_bool(props, "keepdims"))
        return [tensor(shape, element_of(t))]
