"""Converter of ONNX Loop, in the first of three forms that what is known at import allows.

ge shapes are static, so the form depends on what the importer knows:
- **unrolled**: the trip count is known (or the condition, then becoming a known false) and
  the body times the iterations is at most `UNROLL_NODES` nodes. The body is imported once
  per iteration with the iteration number and condition as constants, so what depends only
  on them folds (a Slice by the iteration number, as exporters write), and each scan output
  is its steps concatenated. If the condition stops being known after some iteration and
  there are no scan outputs, the remaining iterations run as the `scf.while` below.
- **`scf.for`**: a known trip count, a condition the body passes through unchanged (or a
  known true) and a known-true initial condition: scan outputs are accumulated with
  `ge.insert_step`, as Scan's; the iteration number is a loop-carried int64 tensor.
- **`scf.while`**: no scan outputs. The iteration number and the condition are loop-carried
  tensors, checked (`i < M and cond`) in the before region.
Else (scan outputs whose number of steps is only known at run time) the converter raises
UnsupportedError naming the node. Loop-carried values must keep their static types; a
sequence (`convert_sequence`, a list appended to in the body) may grow, in the unrolled form.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import onnx
from xdsl.dialects import scf, tensor
from xdsl.dialects.builtin import IndexType, i1, i64
from xdsl.ir import Block, SSAValue

from ge.frontends.onnx.context import Node
from ge.frontends.onnx.convert_control import import_subgraph
from ge.frontends.onnx.convert_sequence import SequenceValue
from ge.frontends.onnx.recurrence import index_constant
from gedialects.ge import ops
from gedialects.ge.sequence import InsertStepOp
from gedialects.ge.types import element_of, format_type, shape_of, to_numpy_dtype

Converter = Callable[[Node], list[SSAValue]]

UNROLL_NODES = 4096
"""Most body nodes, over all iterations, that a loop with a known trip count is unrolled to."""


class _NotThisForm(Exception):
    """The form being tried does not fit the loop; the next one is tried."""


def _scalar(n: Node, value: SSAValue) -> SSAValue:
    """A one-element tensor (trip count, condition) as a rank-0 tensor."""
    shape = n.shape_of(value)
    if int(np.prod(shape)) != 1:
        raise n.error(f"the trip count and condition must have one element, got {shape}")
    return n.emit(ops.ReshapeOp(value, shape=[])) if shape else value


def _known(n: Node, value: SSAValue) -> np.ndarray | None:
    return n.state.consts.get(value)


def _check_carried(n: Node, before: Sequence[SSAValue], after: Sequence[SSAValue]) -> None:
    for i, (a, b) in enumerate(zip(before, after)):
        if isinstance(a, SequenceValue) and isinstance(b, SequenceValue):
            continue  # a list that grows: fine while the loop is unrolled
        if a.type != b.type:
            raise n.unsupported(
                f"loop-carried value {i} changes type from {format_type(a.type)} to "
                f"{format_type(b.type)} (ge shapes are static)"
            )


def _stack(n: Node, steps: list[SSAValue]) -> SSAValue:
    """Scan output steps stacked along a new leading axis."""
    shape = n.shape_of(steps[0])
    rows = [n.emit(ops.ReshapeOp(s, shape=[1, *shape])) for s in steps]
    return rows[0] if len(rows) == 1 else n.emit(ops.ConcatOp(*rows, axis=0))


def _scans_wanted(n: Node, n_carried: int, n_scans: int) -> bool:
    """Whether the node uses any of its scan outputs (unused ones need no static length)."""
    return any(n.wants(n_carried + k) for k in range(n_scans))


def _unrolled(
    n: Node, body: onnx.GraphProto, trip: int | None, cond: bool, carried: list[SSAValue]
) -> list[SSAValue]:
    n_carried = len(carried)
    n_scans = len(body.output) - 1 - n_carried
    steps: list[list[SSAValue]] = [[] for _ in range(n_scans)]
    i = 0
    while cond and (trip is None or i < trip):
        counter = n.constant(np.array(i, np.int64))
        outputs = import_subgraph(n, body, [counter, n.constant(np.array(cond)), *carried])
        _check_carried(n, carried, outputs[1 : 1 + n_carried])
        carried = outputs[1 : 1 + n_carried]
        for acc, step in zip(steps, outputs[1 + n_carried :]):
            acc.append(step)
        i += 1
        known = _known(n, _scalar(n, outputs[0]))
        if known is None:
            if _scans_wanted(n, n_carried, n_scans):
                raise n.data_dependent(
                    "the condition depends on run-time values and the loop has scan outputs, "
                    "whose number of steps would be known only at run time"
                )
            rest = None if trip is None else trip - i
            return _while(n, body, rest, _scalar(n, outputs[0]), carried, first=i)
        cond = bool(known)
    if any(not acc for acc in steps):
        raise n.unsupported("a scan output with zero steps would be an empty tensor")
    return [*carried, *[_stack(n, acc) for acc in steps]]


def _no_sequences(n: Node, carried: Sequence[SSAValue]) -> None:
    """A loop that is not unrolled cannot carry a sequence (a list known at import)."""
    if any(isinstance(v, SequenceValue) for v in carried):
        raise n.unsupported(
            "a sequence carried by the loop needs the loop unrolled: a trip count known at "
            f"import and at most {UNROLL_NODES} body nodes over all iterations"
        )


def _for(n: Node, body: onnx.GraphProto, trip: int, carried: list[SSAValue]) -> list[SSAValue]:
    _no_sequences(n, carried)
    n_carried = len(carried)
    n_scans = len(body.output) - 1 - n_carried
    true = n.constant(np.array(True))
    zero = n.constant(np.array(0, np.int64))
    block = Block(arg_types=[IndexType(), zero.type, *[v.type for v in carried]])
    t, counter, state = block.args[0], block.args[1], list(block.args[2:])
    with n.state.building(block):
        outputs = import_subgraph(n, body, [counter, true, *state])
        cond_out = _scalar(n, outputs[0])
        known = _known(n, cond_out)
        if cond_out is not true and (known is None or not bool(known)):
            block.erase(safe_erase=False)
            raise _NotThisForm
        _check_carried(n, carried, outputs[1 : 1 + n_carried])
        accumulated = []
        for step in outputs[1 + n_carried :]:
            stacked = (trip, *n.shape_of(step))
            acc_type = type(step.type)(element_of(step.type), list(stacked))
            acc = block.insert_arg(acc_type, len(block.args))
            accumulated.append(n.emit(InsertStepOp(acc, step, t, axis=0)))
        next_counter = n.emit(ops.AddOp(counter, n.constant(np.array(1, np.int64))))
        block.add_op(scf.YieldOp(next_counter, *outputs[1 : 1 + n_carried], *accumulated))
    zeros = [
        n.constant(np.zeros(shape_of(a.type), to_numpy_dtype(element_of(a.type))))
        for a in block.args[2 + n_carried :]
    ]
    bounds = [index_constant(n, v) for v in (0, trip, 1)]
    loop = scf.ForOp(*bounds, [zero, *carried, *zeros], block)
    n.state.block.add_op(loop)
    assert len(accumulated) == n_scans
    return list(loop.results[1:])


def _while(
    n: Node,
    body: onnx.GraphProto,
    trip: int | SSAValue | None,
    cond: SSAValue,
    carried: list[SSAValue],
    first: int = 0,
) -> list[SSAValue]:
    _no_sequences(n, carried)
    start = n.constant(np.array(first, np.int64))
    limit = None
    if trip is not None:
        limit = trip if isinstance(trip, SSAValue) else n.constant(np.array(first + trip, np.int64))
        limit = n.emit(ops.CastOp(limit, to=i64)) if n.dtype_of(limit) != np.int64 else limit
    types = [start.type, cond.type, *[v.type for v in carried]]

    before = Block(arg_types=types)
    with n.state.building(before):
        go = before.args[1]
        if limit is not None:
            go = n.emit(ops.LogicalAndOp(go, n.emit(ops.LessOp(before.args[0], limit))))
        pred = tensor.ExtractOp(go, [], i1)
        before.add_ops([pred, scf.ConditionOp(pred.result, *before.args)])

    after = Block(arg_types=types)
    with n.state.building(after):
        counter, flag, state = after.args[0], after.args[1], list(after.args[2:])
        outputs = import_subgraph(n, body, [counter, flag, *state])[: 1 + len(carried)]
        _check_carried(n, carried, outputs[1:])
        cond_out = _scalar(n, outputs[0])
        if cond_out.type != cond.type:
            raise n.error(f"the body's condition is {format_type(cond_out.type)}, not a bool")
        next_counter = n.emit(ops.AddOp(counter, n.constant(np.array(1, np.int64))))
        after.add_op(scf.YieldOp(next_counter, cond_out, *outputs[1:]))

    loop = scf.WhileOp([start, cond, *carried], types, [before], [after])
    n.state.block.add_op(loop)
    return list(loop.results[2:])


def loop(n: Node) -> list[SSAValue]:
    body: onnx.GraphProto = n.attrs["body"]
    carried = [n.value(i) for i in range(2, n.num_inputs)]
    if len(body.input) != 2 + len(carried):
        raise n.error(f"the body takes {len(body.input)} inputs, not {2 + len(carried)}")
    trip_value = _scalar(n, n.value(0)) if n.has(0) else None
    cond_value = _scalar(n, n.value(1)) if n.has(1) else n.constant(np.array(True))
    if n.dtype_of(cond_value) != np.bool_:
        raise n.error(f"the condition must be a bool, got {format_type(cond_value.type)}")
    trip_known = None if trip_value is None else _known(n, trip_value)
    cond_known = _known(n, cond_value)
    trip = None if trip_known is None else int(trip_known)
    n_scans = len(body.output) - 1 - len(carried)

    if cond_known is not None and (trip_value is None or trip is not None):
        nodes = max(len(body.node), 1)
        if trip is not None and trip * nodes <= UNROLL_NODES:
            return _unrolled(n, body, trip, bool(cond_known), carried)
        if trip is not None and bool(cond_known):
            try:
                return _for(n, body, trip, carried)
            except _NotThisForm:
                pass
    if _scans_wanted(n, len(carried), n_scans):
        # Ask for the missing input by name (NonConstantInputError), so that a caller that
        # can bind it as a constant (the ONNX backend) imports again.
        if trip_value is not None and trip is None:
            n.const(0, "the trip count, which fixes the scan outputs' length")
        if cond_known is None:
            n.const(1, "the condition, which fixes the scan outputs' length")
        raise n.unsupported(
            "the loop has scan outputs and its trip count or condition is known only at run "
            "time (or the body computes the condition): their number of steps would be "
            "dynamic (ge shapes are static)"
        )
    limit: int | SSAValue | None = trip if trip is not None else trip_value
    return _while(n, body, limit, cond_value, carried)


CONVERTERS: dict[str, Converter] = {"Loop": loop}
