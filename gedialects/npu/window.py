"""`npu.vec_window`: a vector instruction that reads a strided window of a UB buffer.

Windowed pools (and direct convolutions) combine, per kernel tap, the input elements at
`offset + stride * i` of each output position i. The other vector ops take whole buffers, so
without this op every tap would need a copy per output element. The op reads
`src[o0::s0, o1::s1, ...]` cut to `dst`'s shape and copies it into `dst` (`fn = "copy"`) or
combines it with `dst` (`max`, `add`), as the vector unit's repeat strides do on the chip.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from xdsl.dialects.builtin import DenseArrayBase, StringAttr, i64
from xdsl.ir import SSAValue
from xdsl.irdl import irdl_op_definition, operand_def, prop_def

from gedialects.npu.attrs import BufferType
from gedialects.npu.base import I64_ARRAY
from gedialects.npu.checks import static_list
from gedialects.npu.vector import VecOp

WINDOW_FNS = ("copy", "max", "add")


@irdl_op_definition
class VecWindowOp(VecOp):
    """dst = fn(dst, src[offsets :: strides][: dst.shape]) on UB buffers."""

    name = "npu.vec_window"
    FN: ClassVar[str] = "window"
    src = operand_def(BufferType)
    dst = operand_def(BufferType)
    offsets = prop_def(I64_ARRAY)
    strides = prop_def(I64_ARRAY)
    fn = prop_def(StringAttr)
    assembly_format = (
        "$fn $src $offsets `step` $strides `->` $dst attr-dict `:` type($src) `->` type($dst)"
    )

    def __init__(
        self, fn: str, src: SSAValue, offsets: Sequence[int], strides: Sequence[int], dst: SSAValue
    ):
        props = {
            "fn": StringAttr(fn),
            "offsets": DenseArrayBase.from_list(i64, list(offsets)),
            "strides": DenseArrayBase.from_list(i64, list(strides)),
        }
        super().__init__(operands=[src, dst], properties=props)

    def check_shapes(self, *bufs: BufferType) -> None:
        src, dst = bufs
        offsets, strides = static_list(self.offsets), static_list(self.strides)
        if self.fn.data not in WINDOW_FNS:
            raise self.fail(f'fn "{self.fn.data}" is not one of {", ".join(WINDOW_FNS)}')
        if src.element_type != dst.element_type or not (
            len(src.dims) == len(dst.dims) == len(offsets) == len(strides)
        ):
            raise self.fail(f"{src} and {dst} need one element type and one offset/step per axis")
        for axis, (o, s, n, d) in enumerate(zip(offsets, strides, src.dims, dst.dims)):
            if o < 0 or s < 1 or o + s * (d - 1) >= n:
                raise self.fail(
                    f"the window [{o} + {s} * i, i < {d}] is past dim {axis} ({n}) of {src}"
                )

    def charged_bytes(self) -> int:
        """The bytes charged (as other vector ops: the largest operand): the unit reads whole
        32-byte blocks, so a step of s on the last axis reads up to s times the destination."""
        dst = self.dst.type
        step = static_list(self.strides)[-1]
        per_block = max(1, 32 // dst.dtype.itemsize)
        return dst.nbytes * min(step, per_block)
