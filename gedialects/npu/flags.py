"""Static pairing of pipe flags inside one kernel: every wait has its set, every set its wait.

Flags are counted per (src pipe, dst pipe, event id) over the kernel's text; where an event id is
computed at run time the flags of that pipe pair are counted together. The interpreter checks
the dynamic order (a wait with no earlier set would hang the core).
"""

from __future__ import annotations

from collections import Counter

from xdsl.ir import Operation

from gedialects.errors import GeVerifyError


def _key(op: Operation, dynamic_pairs: set[tuple[str, str]]) -> tuple:
    pair = op.key
    if pair in dynamic_pairs:
        return (*pair, "?")
    return (*pair, op.event)


def check_flag_pairs(kernel: Operation) -> None:
    """Raise if a wait_flag has no matching set_flag (or a set is never waited) in `kernel`."""
    flags = [op for op in kernel.walk() if op.name in ("npu.set_flag", "npu.wait_flag")]
    dynamic = {op.key for op in flags if not isinstance(op.event, int)}
    sets = Counter(_key(op, dynamic) for op in flags if op.name == "npu.set_flag")
    waits = Counter(_key(op, dynamic) for op in flags if op.name == "npu.wait_flag")
    name = kernel.sym_name.data
    for key in sorted(set(sets) | set(waits), key=str):
        src, dst, event = key
        if waits[key] > sets[key]:
            raise GeVerifyError(
                f"'npu.kernel' {name}: npu.wait_flag {src} -> {dst} event {event} has no "
                f"matching npu.set_flag ({waits[key]} waits, {sets[key]} sets)"
            )
        if sets[key] > waits[key]:
            raise GeVerifyError(
                f"'npu.kernel' {name}: npu.set_flag {src} -> {dst} event {event} is never "
                f"waited ({sets[key]} sets, {waits[key]} waits)"
            )
