"""`npu.kernel`: a kernel launch over `block_dim` AI cores, the unit the runtime schedules.

Its body is one block taking the block index; on-chip buffers, DMA, cube and vector
instructions and flags live inside it. Verifying it checks its flags pair up
(`gedialects.npu.flags`).
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import I64, ArrayAttr, IndexType, IntegerAttr, StringAttr, i64
from xdsl.ir import Attribute, Block, Region, SSAValue
from xdsl.irdl import (
    ParsePropInAttrDict,
    irdl_op_definition,
    opt_prop_def,
    prop_def,
    region_def,
    traits_def,
)
from xdsl.traits import NoTerminator

from gedialects.npu.base import NpuOp


@irdl_op_definition
class KernelOp(NpuOp):
    """A kernel launch: the body runs once per block index 0..block_dim-1 on the AI cores."""

    name = "npu.kernel"
    sym_name = prop_def(StringAttr)
    block_dim = prop_def(IntegerAttr[I64])
    stream = opt_prop_def(IntegerAttr)
    fused_from = opt_prop_def(ArrayAttr[StringAttr])
    kind = opt_prop_def(StringAttr)
    algorithm = opt_prop_def(StringAttr)
    body = region_def("single_block")
    traits = traits_def(NoTerminator())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$sym_name `block_dim` `=` $block_dim attr-dict-with-keyword $body"

    def __init__(
        self,
        name: str,
        block_dim: int,
        *,
        stream: int = 0,
        fused_from: Sequence[str] = (),
        kind: str | None = None,
        algorithm: str | None = None,
    ):
        props: dict[str, Attribute] = {
            "sym_name": StringAttr(name),
            "block_dim": IntegerAttr(block_dim, i64),
            "stream": IntegerAttr(stream, i64),
        }
        if fused_from:
            props["fused_from"] = ArrayAttr([StringAttr(n) for n in fused_from])
        for key, value in (("kind", kind), ("algorithm", algorithm)):
            if value is not None:
                props[key] = StringAttr(value)
        super().__init__(properties=props, regions=[Region(Block(arg_types=[IndexType()]))])

    @property
    def block_index(self) -> SSAValue:
        return self.body.block.args[0]

    @property
    def blocks(self) -> int:
        return self.block_dim.value.data

    @property
    def stream_id(self) -> int:
        return 0 if self.stream is None else self.stream.value.data

    def verify_(self) -> None:
        args = self.body.block.args
        if len(args) != 1 or not isinstance(args[0].type, IndexType):
            raise self.fail("the body takes exactly one index argument, the block index")
        if self.blocks <= 0:
            raise self.fail(f"block_dim must be positive, got {self.blocks}")
        from gedialects.npu.flags import check_flag_pairs

        check_flag_pairs(self)
