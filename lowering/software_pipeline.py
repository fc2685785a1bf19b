"""A tile loop software-pipelined over two sets of buffers: the stages of neighbouring
items run at once on their pipes.

Item i of [start, end) uses buffer set (i - start) % 2. Turn u runs each stage on the item
`lag` turns behind it (a load on item u, the vector work on u - 1, a store on u - 2, ...), so
while the vector unit works on one set, MTE2 fills the other and MTE3 drains the third
stage's; the stages synchronise through the flags they set and wait on per set. The loop
takes two turns an iteration (set 0, then set 1), so the set is a constant in each body.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from xdsl.dialects import arith
from xdsl.ir import SSAValue

from lowering.npu_builder import Index, KernelBuilder

Stage = Callable[[Index, int], None]
"""stage(item, buffer set): emits one stage's instructions for `item`."""


def both(b: KernelBuilder, x: SSAValue, y: SSAValue) -> SSAValue:
    """x and y, two i1 conditions."""
    return b.add(arith.AndIOp(x, y)).results[0]


def pipelined(
    b: KernelBuilder,
    start: Index,
    end: Index,
    stages: Sequence[tuple[int, Stage]],
    flags: Sequence[tuple[str, str, int]] = (),
) -> None:
    """Run `stages`, each (lag, stage), over items [start, end); in each turn the stages run
    in the order given (a store after the next load: a core's HBM channel serves its DMAs
    in issue order, and a store waits for its data). `flags`, (src, dst, event) of the
    "buffer free" flags the stages wait on per set (event + set), are set for both sets
    first and waited for after, so every buffer is free again when the loop ends."""
    for src, dst, event in flags:
        for s in (0, 1):
            b.set_flag(src, dst, event + s)
    depth = max(lag for lag, _ in stages)
    ends = [end, *(b.addi(end, j) for j in range(1, depth + 1))]
    firsts = [start, *(b.addi(start, j) for j in range(1, depth))]
    with b.loop(start, ends[depth], 2) as t:
        for s in (0, 1):
            u = b.addi(t, s) if s else t
            for lag, stage in stages:
                if lag:
                    live = both(b, b.ult(firsts[lag - 1], u), b.ult(u, ends[lag]))
                else:
                    live = b.ult(u, end)
                with b.when(live):
                    stage(b.subi(u, lag) if lag else u, (s + lag) % 2)
    for src, dst, event in flags:
        for s in (0, 1):
            b.wait_flag(src, dst, event + s)
