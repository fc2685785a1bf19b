"""Converter of ONNX Scan (opset 9+): one `scf.for` over the scanned axis, body imported once.

Scan inputs are moved to axis 0 (and time-reversed for reverse directions) before the
loop; the body reads step t of each with `ge.extract_step`, and each scan output is
accumulated with `ge.insert_step` into a loop-carried (steps, ...) tensor, moved to its
output axis (and reversed back) after the loop.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from xdsl.dialects import scf
from xdsl.dialects.builtin import IndexType
from xdsl.ir import Block, SSAValue

from ge.frontends.onnx.context import Node
from ge.frontends.onnx.convert_control import import_subgraph
from ge.frontends.onnx.recurrence import index_constant, reverse_steps
from gedialects.ge import ops
from gedialects.ge.sequence import ExtractStepOp, InsertStepOp
from gedialects.ge.types import element_of, shape_of, to_numpy_dtype

Converter = Callable[[Node], list[SSAValue]]


def move_axis(n: Node, value: SSAValue, source: int, target: int) -> SSAValue:
    rank = len(n.shape_of(value))
    source, target = source % rank, target % rank
    if source == target:
        return value
    perm = [a for a in range(rank) if a != source]
    perm.insert(target, source)
    return n.emit(ops.TransposeOp(value, perm=perm))


def _scan_inputs(n: Node, values: list[SSAValue]) -> list[SSAValue]:
    """Each scan input with its scanned axis first, in forward step order."""
    axes = n.ints("scan_input_axes", [0] * len(values))
    reverse = n.ints("scan_input_directions", [0] * len(values))
    moved = [move_axis(n, v, a, 0) for v, a in zip(values, axes)]
    return [reverse_steps(n, v) if r else v for v, r in zip(moved, reverse)]


def _body(n: Node, block: Block, scans: list[SSAValue], states: int) -> list[SSAValue]:
    """Import the body into `block`; scan outputs are accumulated in new block args."""
    t, carried = block.args[0], list(block.args[1:])
    steps = [n.emit(ExtractStepOp(v, t, axis=0)) for v in scans]
    outputs = import_subgraph(n, n.attrs["body"], [*carried, *steps])
    finals, pieces = outputs[:states], outputs[states:]
    accumulated = []
    for piece in pieces:
        shape = (n.shape_of(scans[0])[0], *shape_of(piece.type))
        acc_type = type(piece.type)(element_of(piece.type), list(shape))
        acc = block.insert_arg(acc_type, len(block.args))
        accumulated.append(n.emit(InsertStepOp(acc, piece, t, axis=0)))
    return [*finals, *accumulated]


def scan(n: Node) -> list[SSAValue]:
    count = int(n.attr("num_scan_inputs"))
    inputs = n.inputs()
    states, scans = inputs[: len(inputs) - count], _scan_inputs(n, inputs[len(inputs) - count :])
    steps = n.shape_of(scans[0])[0]
    block = Block(arg_types=[IndexType(), *[v.type for v in states]])
    with n.state.building(block):
        results = _body(n, block, scans, len(states))
        block.add_op(scf.YieldOp(*results))
    zeros = [
        n.constant(np.zeros(shape_of(a.type), to_numpy_dtype(element_of(a.type))))
        for a in block.args[1 + len(states) :]
    ]
    bounds = [index_constant(n, v) for v in (0, steps, 1)]
    loop = scf.ForOp(*bounds, [*states, *zeros], block)
    n.state.block.add_op(loop)
    finals, stacked = list(loop.results[: len(states)]), list(loop.results[len(states) :])
    axes = n.ints("scan_output_axes", [0] * len(stacked))
    reverse = n.ints("scan_output_directions", [0] * len(stacked))
    stacked = [reverse_steps(n, v) if r else v for v, r in zip(stacked, reverse)]
    return [*finals, *[move_axis(n, v, 0, a) for v, a in zip(stacked, axes)]]


CONVERTERS: dict[str, Converter] = {"Scan": scan}
