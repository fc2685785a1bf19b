"""`ge` ops that index a tensor along an axis by a loop counter (an `index` value).

Recurrent layers (ONNX LSTM, GRU, RNN) import as an `scf.for` over the time steps whose
body reads step t of the precomputed input projection (`ge.extract_step`) and writes the
step's hidden state into the output sequence (`ge.insert_step`). They are not in
`ALL_OPS` (the graph ops with emitters and generators); their interpreter functions live
in `gedialects.control.semantics`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from xdsl.dialects.builtin import IndexType, IntegerAttr
from xdsl.ir import Attribute
from xdsl.irdl import irdl_op_definition, operand_def, prop_def, result_def

from gedialects.ge.base import GeOp, Props, normalize_axis, prop_int, require_tensor
from gedialects.ge.types import element_of, format_type, shape_of, tensor


def _require_index(cls: type[GeOp], t: Attribute) -> None:
    if not isinstance(t, IndexType):
        raise cls.fail(f"the step must be an index, got {t}")


@irdl_op_definition
class ExtractStepOp(GeOp):
    """Slice `step` of `input` along `axis`, dropping that axis."""

    name = "ge.extract_step"
    input = operand_def()
    step = operand_def()
    output = result_def()
    axis = prop_def(IntegerAttr)
    DEFAULTS: ClassVar[dict] = {"axis": 0}
    assembly_format = "$input `[` $step `]` attr-dict `:` functional-type(operands, results)"

    @classmethod
    def infer_result_types(cls, operand_types: Sequence[Attribute], props: Props):
        t = require_tensor(cls, "input", operand_types[0])
        _require_index(cls, operand_types[1])
        shape = shape_of(t)
        axis = normalize_axis(cls, prop_int(props, "axis"), len(shape))
        return [tensor(shape[:axis] + shape[axis + 1 :], element_of(t))]


@irdl_op_definition
class InsertStepOp(GeOp):
    """`dest` with slice `step` along `axis` replaced by `value` (value lacks that axis)."""

    name = "ge.insert_step"
    dest = operand_def()
    value = operand_def()
    step = operand_def()
    output = result_def()
    axis = prop_def(IntegerAttr)
    DEFAULTS: ClassVar[dict] = {"axis": 0}
    assembly_format = (
        "$value `into` $dest `[` $step `]` attr-dict `:` functional-type(operands, results)"
    )

    @classmethod
    def infer_result_types(cls, operand_types: Sequence[Attribute], props: Props):
        dest = require_tensor(cls, "dest", operand_types[0])
        value = require_tensor(cls, "value", operand_types[1])
        _require_index(cls, operand_types[2])
        shape = shape_of(dest)
        axis = normalize_axis(cls, prop_int(props, "axis"), len(shape))
        step_shape = shape[:axis] + shape[axis + 1 :]
        if step_shape != shape_of(value) or element_of(dest) != element_of(value):
            raise cls.fail(
                f"value {format_type(value)} is not a step of {format_type(dest)} on axis {axis}"
            )
        return [dest]


def extract_step(op: ExtractStepOp, x: np.ndarray, step: int) -> np.ndarray:
    return np.take(x, int(step), axis=op.get_int("axis") % x.ndim)


def insert_step(op: InsertStepOp, dest: np.ndarray, value: np.ndarray, step: int) -> np.ndarray:
    out = np.array(dest, copy=True)
    index = [slice(None)] * out.ndim
    index[op.get_int("axis") % out.ndim] = int(step)
    out[tuple(index)] = value
    return out


LOOP_OPS: list[type[GeOp]] = [ExtractStepOp, InsertStepOp]
REFERENCE = {ExtractStepOp: extract_step, InsertStepOp: insert_step}
