"""The scalar unit in the interpreter: index arithmetic (`arith`) and `npu.load_scalar`.

Each arith op costs one cycle on the S pipe. A run of consecutive arith ops in a block (a tile
loop's offset and extent computations) becomes one generated function (`scalar_run`): its
values go through Python locals, constant operands are inlined, and the S pipe is charged once
for the run (clocks hold whole cycles, so the sum is exact), which spares a closure call and
two dict updates per op in every tile.

The scalar unit reads one element of UB through its scalar buffer: `SCALAR_LOAD_CYCLES` on the
S pipe, and the read is checked against the pipes that write the buffer (a missing flag after
the DMA that brought the indices is a race, as for any other instruction).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence

from xdsl.dialects import arith
from xdsl.dialects.builtin import i1
from xdsl.ir import Operation, SSAValue

from gedialects.errors import InterpretationError, UnsupportedError
from gedialects.npu.scalar import LoadScalarOp
from runtime.npu_core import Core
from runtime.npu_slots import Slots, define, resolve
from runtime.targets import Target

Step = Callable[[list, Core], None]


def _floordiv(a: int, b: int) -> int:
    return a // b


def _ceildiv(a: int, b: int) -> int:
    return -(-a // b)


def _truncdiv(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _truncrem(a: int, b: int) -> int:
    return a - b * _truncdiv(a, b)


SCALAR_FNS: dict[type[Operation], Callable] = {
    arith.AddiOp: operator.add,
    arith.SubiOp: operator.sub,
    arith.MuliOp: operator.mul,
    arith.DivUIOp: _floordiv,
    arith.DivSIOp: _truncdiv,
    arith.FloorDivSIOp: _floordiv,
    arith.CeilDivSIOp: _ceildiv,
    arith.CeilDivUIOp: _ceildiv,
    arith.RemUIOp: operator.mod,
    arith.RemSIOp: _truncrem,
    arith.MinSIOp: min,
    arith.MinUIOp: min,
    arith.MaxSIOp: max,
    arith.MaxUIOp: max,
    arith.AndIOp: operator.and_,
    arith.OrIOp: operator.or_,
    arith.XOrIOp: operator.xor,
    arith.AddfOp: operator.add,
    arith.SubfOp: operator.sub,
    arith.MulfOp: operator.mul,
    arith.DivfOp: operator.truediv,
    arith.IndexCastOp: lambda a: a,
    arith.SelectOp: lambda c, a, b: a if c else b,
}

_CMPI = {
    0: operator.eq,
    1: operator.ne,
    2: operator.lt,
    3: operator.le,
    4: operator.gt,
    5: operator.ge,
    6: operator.lt,
    7: operator.le,
    8: operator.gt,
    9: operator.ge,
}


_INFIX = {operator.add: "+", operator.sub: "-", operator.mul: "*"}
_INFIX.update({fn: sym for fn, sym in zip(
    (operator.eq, operator.ne, operator.lt, operator.le, operator.gt, operator.ge),
    ("==", "!=", "<", "<=", ">", ">="))})  # fmt: skip


def is_scalar(op: Operation) -> bool:
    """Whether `op` is arithmetic of the scalar unit (`scalar_run` compiles it)."""
    kind = type(op)
    return kind is arith.ConstantOp or kind in SCALAR_FNS or kind is arith.CmpiOp


def constant_value(op: arith.ConstantOp) -> int | float | bool:
    attr = op.value
    value = getattr(attr, "value", None)
    if value is None:
        raise UnsupportedError(f"'arith.constant' {attr} is not a scalar the npu core holds")
    return bool(value.data) if attr.type == i1 else value.data  # (printing the type: slow)


def _function(op: Operation) -> Callable:
    if type(op) is arith.CmpiOp:
        return _CMPI[op.predicate.value.data]
    return SCALAR_FNS[type(op)]


def scalar_run(ops: Sequence[Operation], slots: Slots, probe: bool) -> Step:
    """One step for consecutive scalar ops (`is_scalar`): every result is stored in `env`, as
    one step per op would; the S pipe is charged a cycle per non-constant op, unless `probe`."""
    namespace: dict = {}
    lines: list[str] = []
    local: set[int] = set()
    charged = 0

    def operand(value: SSAValue) -> str:
        owner = value.owner
        if isinstance(owner, arith.ConstantOp):
            name = f"k{len(namespace)}"
            namespace[name] = constant_value(owner)
            return name
        slot = slots(value)
        return f"v{slot}" if slot in local else f"env[{slot}]"

    for op in ops:
        if type(op) is arith.ConstantOp:
            expr = operand(op.result)
        else:
            fn, args = _function(op), [operand(v) for v in op.operands]
            if fn in _INFIX and len(args) == 2:
                expr = f"{args[0]} {_INFIX[fn]} {args[1]}"
            else:
                name = f"f{len(namespace)}"
                namespace[name] = fn
                expr = f"{name}({', '.join(args)})"
            charged += 1
        slot = slots(op.results[0])
        lines += [f"v{slot} = {expr}", f"env[{slot}] = v{slot}"]
        local.add(slot)
    if charged and not probe:
        lines += ['core.clocks["S"] += ' + str(charged), 'core.stats.busy["S"] += ' + str(charged)]
    source = "def run(env, core):\n    " + "\n    ".join(lines) + "\n"
    return define(source, namespace, "run")


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
