"""Synchronisation: pipe flags inside a kernel, stream events between kernels.

A core's pipes (MTE1/2/3, M, V, FIX, S) run concurrently; `set_flag`/`wait_flag` order two
of them, as the DaVinci core's flag instructions do (the interpreter reports races where
they are missing). Kernels on different streams are ordered by record/wait events.
"""

from __future__ import annotations

from xdsl.dialects.builtin import I64, IndexType, IntegerAttr, StringAttr, i64
from xdsl.dialects.utils.dynamic_index_list import DynamicIndexList
from xdsl.ir import SSAValue
from xdsl.irdl import irdl_op_definition, prop_def, var_operand_def

from gedialects.npu.attrs import PIPES
from gedialects.npu.base import I64_ARRAY, NpuOp, mixed, split_mixed
from gedialects.npu.checks import enclosing_kernel, static_list


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
