"""Ops of the `npu` dialect: launches, buffers, DMA, cube, vector, flags and format transfers.

Instructions are in destination-passing style: they name the buffers they read and write and
return nothing, as the DaVinci core's instructions do. Windows of a buffer are given as mixed
static/dynamic offsets and sizes (`%buf[%i, 0] [64, %n]`), so a tile loop (`scf.for`) addresses
the tiles of a large tensor from its induction variables. Which pipe runs a DMA follows from its
source and destination spaces (`PATH_PIPES`). Vector ops work on whole UB buffers with numpy
broadcasting. Checks that need a target (capacities, rates) are in `gedialects.npu.verify`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    I64,
    ArrayAttr,
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    FloatAttr,
    IndexType,
    IntegerAttr,
    StringAttr,
    i1,
    i64,
)
from xdsl.dialects.utils.dynamic_index_list import DynamicIndexList, get_dynamic_index_list
from xdsl.ir import Attribute, Block, Region, SSAValue
from xdsl.irdl import (
    AttrSizedOperandSegments,
    IRDLOperation,
    ParsePropInAttrDict,
    irdl_op_definition,
    operand_def,
    opt_operand_def,
    opt_prop_def,
    prop_def,
    region_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.traits import NoTerminator

from gedialects.errors import GeVerifyError
from gedialects.npu.attrs import PIPES, BufferType
from gedialects.npu.checks import (
    check_dma,
    check_mmad,
    check_space,
    check_transdata,
    enclosing_kernel,
    static_list,
)

I64_ARRAY = DenseArrayBase.constr(i64)
DMA_LISTS = ("src_offsets", "src_sizes", "dst_offsets", "dst_sizes")


def mixed(static: DenseArrayBase, dynamic: Sequence[SSAValue]) -> list[int | SSAValue]:
    """The entries of a mixed index list: ints, or the SSA values standing for dynamic ones."""
    return get_dynamic_index_list(static.get_values(), dynamic, DYNAMIC_INDEX)


def split_mixed(values: Sequence[int | SSAValue]) -> tuple[DenseArrayBase, list[SSAValue]]:
    static = [v if isinstance(v, int) else DYNAMIC_INDEX for v in values]
    return DenseArrayBase.from_list(i64, static), [v for v in values if not isinstance(v, int)]


class NpuOp(IRDLOperation):
    """Base of npu ops: errors name the op."""

    def fail(self, message: str) -> GeVerifyError:
        return GeVerifyError(f"'{self.name}': {message}")


# ---------------------------------------------------------------------------
# Launches and buffers
# ---------------------------------------------------------------------------


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


@irdl_op_definition
class AllocOp(NpuOp):
    """An on-chip buffer of one core, live until the end of the region that holds it."""

    name = "npu.alloc"
    buffer = result_def(BufferType)
    assembly_format = "attr-dict `:` type($buffer)"

    def __init__(self, buffer: BufferType):
        super().__init__(result_types=[buffer])

    def verify_(self) -> None:
        check_space(self, "result", self.buffer.type, ("l1", "l0a", "l0b", "l0c", "ub"))
        if enclosing_kernel(self) is None:
            raise self.fail("on-chip buffers are allocated inside an npu.kernel")


@irdl_op_definition
class HbmAllocOp(NpuOp):
    """A device-memory buffer for the whole program, at `offset` in the planned arena if given."""

    name = "npu.hbm_alloc"
    offset = opt_prop_def(IntegerAttr)
    buffer = result_def(BufferType)
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "attr-dict `:` type($buffer)"

    def __init__(self, buffer: BufferType, offset: int | None = None):
        props = {} if offset is None else {"offset": IntegerAttr(offset, i64)}
        super().__init__(result_types=[buffer], properties=props)

    def verify_(self) -> None:
        check_space(self, "result", self.buffer.type, ("hbm", "l2"))
        if enclosing_kernel(self) is not None:
            raise self.fail("device memory is allocated outside kernels")
        if self.offset is not None and self.offset.value.data < 0:
            raise self.fail("offset must not be negative")


def constant_array(buffer: SSAValue) -> np.ndarray | None:
    """The data of an HBM buffer defined by `npu.hbm_constant` whose values the compiler holds
    (not elided), else None: what lets a lowering transform weights at compile time."""
    from gedialects.ge.constant import dense_to_numpy

    owner = buffer.owner
    if isinstance(owner, HbmConstantOp) and isinstance(owner.value, DenseIntOrFPElementsAttr):
        return dense_to_numpy(owner.value)
    return None


@irdl_op_definition
class HbmConstantOp(NpuOp):
    """A device-memory buffer holding constant data (weights), loaded before the program runs."""

    name = "npu.hbm_constant"
    value = prop_def(Attribute)
    buffer = result_def(BufferType)
    assembly_format = "$value attr-dict `:` type($buffer)"

    def __init__(self, value: Attribute, buffer: BufferType):
        super().__init__(result_types=[buffer], properties={"value": value})

    @staticmethod
    def from_array(array: np.ndarray, element: Attribute) -> HbmConstantOp:
        """A constant of `array`'s data and shape with element type `element` (the lowerings'
        compile-time transforms of weights and their index and factor tables)."""
        from gedialects.ge.constant import dense_from_numpy

        array = np.ascontiguousarray(array)
        return HbmConstantOp(dense_from_numpy(array), BufferType(array.shape, element, "hbm"))

    def verify_(self) -> None:
        buf = check_space(self, "result", self.buffer.type, ("hbm",))
        if not isinstance(self.value, DenseIntOrFPElementsAttr):
            return  # elided in printing; the data is elsewhere
        value_type = self.value.get_type()
        if tuple(value_type.get_shape()) != buf.dims or value_type.element_type != buf.element_type:
            raise self.fail(f"the value's type {value_type} does not match {buf}")


@irdl_op_definition
class ReshapeOp(NpuOp):
    """The same device memory seen in a new row-major shape: moves no data (between kernels)."""

    name = "npu.reshape"
    source = operand_def(BufferType)
    result = result_def(BufferType)
    assembly_format = "$source attr-dict `:` type($source) `->` type($result)"

    def __init__(self, source: SSAValue, result_type: BufferType):
        super().__init__(operands=[source], result_types=[result_type])

    def verify_(self) -> None:
        src = check_space(self, "source", self.source.type, ("hbm", "l2"))
        dst = check_space(self, "result", self.result.type, (src.space_name,))
        if enclosing_kernel(self) is not None:
            raise self.fail("device memory is reshaped between kernels, not inside them")
        same = src.num_elements == dst.num_elements and src.element_type == dst.element_type
        if not same or "ND" != src.format_name or "ND" != dst.format_name:
            raise self.fail(f"{src} and {dst} are not two ND views of the same data")


# ---------------------------------------------------------------------------
# Data movement
# ---------------------------------------------------------------------------


@irdl_op_definition
class DmaOp(NpuOp):
    """Copy a window of `src` into a window of `dst`; a larger dst window is filled with `pad`."""

    name = "npu.dma"
    src = operand_def(BufferType)
    src_offsets = var_operand_def(IndexType)
    src_sizes = var_operand_def(IndexType)
    dst = operand_def(BufferType)
    dst_offsets = var_operand_def(IndexType)
    dst_sizes = var_operand_def(IndexType)
    static_src_offsets = prop_def(I64_ARRAY)
    static_src_sizes = prop_def(I64_ARRAY)
    static_dst_offsets = prop_def(I64_ARRAY)
    static_dst_sizes = prop_def(I64_ARRAY)
    pad = opt_prop_def(FloatAttr)
    irdl_options = (AttrSizedOperandSegments(as_property=True), ParsePropInAttrDict())
    custom_directives = (DynamicIndexList,)
    assembly_format = (
        "$src custom<DynamicIndexList>($src_offsets, $static_src_offsets)"
        " custom<DynamicIndexList>($src_sizes, $static_src_sizes)"
        " `->` $dst custom<DynamicIndexList>($dst_offsets, $static_dst_offsets)"
        " custom<DynamicIndexList>($dst_sizes, $static_dst_sizes)"
        " attr-dict `:` type($src) `->` type($dst)"
    )

    def __init__(
        self,
        src: SSAValue,
        src_offsets: Sequence[int | SSAValue],
        src_sizes: Sequence[int | SSAValue],
        dst: SSAValue,
        dst_offsets: Sequence[int | SSAValue],
        dst_sizes: Sequence[int | SSAValue] | None = None,
        pad: float | None = None,
    ):
        lists = [split_mixed(v) for v in (src_offsets, src_sizes, dst_offsets)]
        lists.append(split_mixed(src_sizes if dst_sizes is None else dst_sizes))
        props: dict[str, Attribute] = {
            f"static_{k}": s for k, (s, _) in zip(DMA_LISTS, lists, strict=True)
        }
        if pad is not None:
            props["pad"] = FloatAttr(pad, 64)
        operands = [src, lists[0][1], lists[1][1], dst, lists[2][1], lists[3][1]]
        super().__init__(operands=operands, properties=props)

    def window(self, which: str) -> list[int | SSAValue]:
        """`src_offsets`, `src_sizes`, `dst_offsets` or `dst_sizes` as a mixed list."""
        return mixed(getattr(self, f"static_{which}"), getattr(self, which))

    @property
    def pad_value(self) -> float:
        return 0.0 if self.pad is None else self.pad.value.data

    def verify_(self) -> None:
        check_dma(self)


@irdl_op_definition
class TransDataOp(NpuOp):
    """Change a UB buffer's data format (ND/NCHW <-> NC1HWC0, ND <-> FRACTAL_NZ) on the V pipe."""

    name = "npu.trans_data"
    src = operand_def(BufferType)
    dst = operand_def(BufferType)
    assembly_format = "$src `->` $dst attr-dict `:` type($src) `->` type($dst)"

    def __init__(self, src: SSAValue, dst: SSAValue):
        super().__init__(operands=[src, dst])

    def verify_(self) -> None:
        check_transdata(self)


# ---------------------------------------------------------------------------
# Cube
# ---------------------------------------------------------------------------


@irdl_op_definition
class MmadOp(NpuOp):
    """c[:m, :n] = (c[:m, :n] if accumulate else 0) + a[:m, :k] @ b[:k, :n] on the cube."""

    name = "npu.mmad"
    a = operand_def(BufferType)
    b = operand_def(BufferType)
    c = operand_def(BufferType)
    sizes = var_operand_def(IndexType)
    accumulate = opt_operand_def(i1)
    static_sizes = prop_def(I64_ARRAY)
    irdl_options = (AttrSizedOperandSegments(as_property=True),)
    custom_directives = (DynamicIndexList,)
    assembly_format = (
        "$a `,` $b `->` $c custom<DynamicIndexList>($sizes, $static_sizes)"
        " (`accumulate` `(` $accumulate^ `)`)? attr-dict `:` type($a) `,` type($b) `->` type($c)"
    )

    def __init__(
        self,
        a: SSAValue,
        b: SSAValue,
        c: SSAValue,
        sizes: Sequence[int | SSAValue],
        accumulate: SSAValue | None = None,
    ):
        static, dynamic = split_mixed(sizes)
        super().__init__(
            operands=[a, b, c, dynamic, [] if accumulate is None else [accumulate]],
            properties={"static_sizes": static},
        )

    @property
    def mnk(self) -> list[int | SSAValue]:
        return mixed(self.static_sizes, self.sizes)

    def verify_(self) -> None:
        check_mmad(self)


# ---------------------------------------------------------------------------
# Synchronisation
# ---------------------------------------------------------------------------


class FlagOp(NpuOp):
    """A flag from `src_pipe` to `dst_pipe` with an event id (static or from an index)."""

    src_pipe = prop_def(StringAttr)
    dst_pipe = prop_def(StringAttr)
    events = var_operand_def(IndexType)
    static_events = prop_def(I64_ARRAY)
    custom_directives = (DynamicIndexList,)
    assembly_format = (
        "$src_pipe `->` $dst_pipe custom<DynamicIndexList>($events, $static_events) attr-dict"
    )

    def __init__(self, src_pipe: str, dst_pipe: str, event: int | SSAValue = 0):
        static, dynamic = split_mixed([event])
        props = {
            "src_pipe": StringAttr(src_pipe),
            "dst_pipe": StringAttr(dst_pipe),
            "static_events": static,
        }
        super().__init__(operands=[dynamic], properties=props)

    @property
    def event(self) -> int | SSAValue:
        return mixed(self.static_events, self.events)[0]

    @property
    def key(self) -> tuple[str, str]:
        return self.src_pipe.data, self.dst_pipe.data

    def verify_(self) -> None:
        src, dst = self.key
        for pipe in (src, dst):
            if pipe not in PIPES:
                raise self.fail(f"'{pipe}' is not a pipe; pipes are {PIPES}")
        if src == dst:
            raise self.fail(f"a flag orders two different pipes, got {src} -> {dst}")
        if len(static_list(self.static_events)) != 1:
            raise self.fail("a flag has exactly one event id")
        if enclosing_kernel(self) is None:
            raise self.fail("flags are set and waited inside an npu.kernel")


@irdl_op_definition
class SetFlagOp(FlagOp):
    """`src_pipe` signals the event once its earlier instructions have finished."""

    name = "npu.set_flag"


@irdl_op_definition
class WaitFlagOp(FlagOp):
    """`dst_pipe` holds its later instructions until the event has been signalled."""

    name = "npu.wait_flag"


class StreamEventOp(NpuOp):
    """Order kernels of different streams: record on one stream, wait on another."""

    stream = prop_def(IntegerAttr[I64])
    event = prop_def(IntegerAttr[I64])
    assembly_format = "`stream` `=` $stream `event` `=` $event attr-dict"

    def __init__(self, stream: int, event: int):
        props = {"stream": IntegerAttr(stream, i64), "event": IntegerAttr(event, i64)}
        super().__init__(properties=props)

    def verify_(self) -> None:
        if enclosing_kernel(self) is not None:
            raise self.fail("stream events are used between kernels, not inside them")


@irdl_op_definition
class RecordEventOp(StreamEventOp):
    """The event fires when the stream's kernels launched so far have finished."""

    name = "npu.record_event"


@irdl_op_definition
class WaitEventOp(StreamEventOp):
    """The stream's later kernels start after the event has fired."""

    name = "npu.wait_event"


ALL_OPS: list[type[IRDLOperation]] = [
    KernelOp,
    AllocOp,
    HbmAllocOp,
    HbmConstantOp,
    ReshapeOp,
    DmaOp,
    TransDataOp,
    MmadOp,
    SetFlagOp,
    WaitFlagOp,
    RecordEventOp,
    WaitEventOp,
]
