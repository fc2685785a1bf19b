"""`npu.vec_window_mla`: multiply a strided window of a UB buffer by per-lane weights and add.

A direct convolution on the vector unit accumulates, per kernel tap, the input window the tap
reads (`offset + stride * i` for output position i) times that tap's weight of each channel
lane. `npu.vec_window` (pools) copies, maxes or adds a window but has no weight operand, and a
copy followed by a multiply and an add would charge three passes per tap where the chip's
vmla with repeat strides makes one. The weights are a (taps, lanes) buffer; row `row` (one
tap) broadcasts along every axis of the accumulator but the last, its lanes.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import I64, DenseArrayBase, IntegerAttr, i64
from xdsl.ir import SSAValue
from xdsl.irdl import irdl_op_definition, operand_def, prop_def

from gedialects.npu.attrs import BufferType
from gedialects.npu.base import I64_ARRAY
from gedialects.npu.checks import static_list
from gedialects.npu.vector import VecOp


@irdl_op_definition
class VecWindowMlaOp(VecOp):
    """acc += src[offsets :: strides][: acc.shape] * weights[row] on UB buffers."""

    name = "npu.vec_window_mla"
    src = operand_def(BufferType)
    weights = operand_def(BufferType)
    acc = operand_def(BufferType)
    offsets = prop_def(I64_ARRAY)
    strides = prop_def(I64_ARRAY)
    row = prop_def(IntegerAttr[I64])
    assembly_format = (
        "$src $offsets `step` $strides `,` $weights `row` $row `->` $acc"
        " attr-dict `:` type($src) `,` type($weights) `->` type($acc)"
    )

    def __init__(
        self,
        src: SSAValue,
        offsets: Sequence[int],
        strides: Sequence[int],
        weights: SSAValue,
        row: int,
        acc: SSAValue,
    ):
        props = {
            "offsets": DenseArrayBase.from_list(i64, list(offsets)),
            "strides": DenseArrayBase.from_list(i64, list(strides)),
            "row": IntegerAttr(row, i64),
        }
        super().__init__(operands=[src, weights, acc], properties=props)

    def check_shapes(self, *bufs: BufferType) -> None:
        src, weights, acc = bufs
        offsets, strides = static_list(self.offsets), static_list(self.strides)
        if not src.element_type == weights.element_type == acc.element_type:
            raise self.fail("source, weights and accumulator must have one element type")
        if not len(src.dims) == len(acc.dims) == len(offsets) == len(strides):
            raise self.fail(f"{src} and {acc} need one rank and one offset/step per axis")
        for axis, (o, s, n, d) in enumerate(zip(offsets, strides, src.dims, acc.dims)):
            if o < 0 or s < 1 or o + s * (d - 1) >= n:
                raise self.fail(
                    f"the window [{o} + {s} * i, i < {d}] is past dim {axis} ({n}) of {src}"
                )
        row = self.row.value.data
        if len(weights.dims) != 2 or weights.dims[1] != acc.dims[-1]:
            raise self.fail(f"weights must be (taps, {acc.dims[-1]} lanes), got {weights}")
        if not 0 <= row < weights.dims[0]:
            raise self.fail(f"row {row} is past the {weights.dims[0]} rows of the weights")

    def charged_bytes(self) -> int:
        """The accumulator's bytes, as one vmla pass over it (whole 32-byte blocks along a
        strided last axis, as `npu.vec_window`)."""
        acc = self.acc.type
        per_block = max(1, 32 // acc.dtype.itemsize)
        return acc.nbytes * min(static_list(self.strides)[-1], per_block)
