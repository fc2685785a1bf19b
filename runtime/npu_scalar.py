"""The interpreter closure and cost of `npu.load_scalar` (the S pipe reading UB).

The scalar unit reads one element through its scalar buffer: `SCALAR_LOAD_CYCLES` on the S
pipe, and the read is checked against the pipes that write the buffer (a missing flag after
the DMA that brought the indices is a race, as for any other instruction).
"""

from __future__ import annotations

from collections.abc import Callable

from gedialects.errors import InterpretationError
from gedialects.npu.scalar import LoadScalarOp
from runtime.npu_core import Core
from runtime.npu_slots import Slots, resolve
from runtime.targets import Target

SCALAR_LOAD_CYCLES = 2
"""A UB read by the scalar unit: one issue cycle and one for the scalar buffer."""


def load_scalar(op: LoadScalarOp, target: Target, slots: Slots) -> Callable:
    src_v, result = slots(op.src), slots(op.result)
    offsets = slots.mixed(op.index_list())
    bound = None if op.bound is None else op.bound.value.data

    def step(env: list, core: Core) -> None:
        buf = env[src_v]
        index = tuple(resolve(env, *offsets))
        try:
            if min(index, default=0) < 0:
                raise IndexError
            value = int(buf.array[index])
        except IndexError:
            raise InterpretationError(
                f"'{op.name}' reads {list(index)} past {buf.name} ({buf.type})"
            ) from None
        if bound is not None:
            if not -bound <= value < bound:
                raise InterpretationError(
                    f"'{op.name}' read index {value} from {buf.name}, outside [-{bound}, {bound})"
                )
            value += bound if value < 0 else 0
        core.issue("S", SCALAR_LOAD_CYCLES, (buf,), (), op.name)
        env[result] = value

    return step
