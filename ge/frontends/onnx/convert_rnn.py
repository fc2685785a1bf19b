"""Converters of ONNX LSTM, GRU and RNN: the cell of each, looped by `recurrence`.

Gate order as ONNX: LSTM i, o, f, c (peepholes i, o, f); GRU z, r, h. Biases that add
outside a matmul are folded into the input projection before the loop.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np
from xdsl.ir import SSAValue

from ge.frontends.onnx.context import Node
from ge.frontends.onnx.recurrence import (
    Product,
    Recurrence,
    Step,
    StepProduct,
    activations,
    matmul_by,
    pick,
    split,
    step_of,
    transposed,
)
from gedialects.ge import ops

Converter = Callable[[Node], list[SSAValue]]
Activation = Callable[[SSAValue], SSAValue]
Weights = Callable[[int], tuple[Product, StepProduct]]
"""Direction d -> (x -> x·W[d]ᵀ, (t, h) -> h·R[d]ᵀ)."""


def _add(n: Node, a: SSAValue, b: SSAValue | None) -> SSAValue:
    return a if b is None else n.emit(ops.AddOp(a, b))


def _mul(n: Node, a: SSAValue, b: SSAValue) -> SSAValue:
    return n.emit(ops.MulOp(a, b))


def _step(n: Node, xw: SSAValue, t: Step) -> SSAValue:
    return step_of(n, xw, t)


def lstm_step(
    n: Node,
    t: Step,
    state: list[SSAValue],
    *,
    xw: SSAValue,
    recur: StepProduct,
    peep: list[SSAValue] | None,
    f: Activation,
    g: Activation,
    h: Activation,
    coupled: bool = False,
) -> list[SSAValue]:
    """One LSTM step: gates i, o, f, c from X_t·Wᵀ (in xw) + H·Rᵀ (`recur`), peepholes on
    C; with `coupled` (input_forget) the forget gate is 1 - the input gate, as onnxruntime
    does."""
    hid, c = state
    gates = n.emit(ops.AddOp(_step(n, xw, t), recur(n, t, hid)))
    i, o, fg, cc = split(n, gates, 4)
    if peep is not None:
        i = _add(n, i, _mul(n, peep[0], c))
        fg = _add(n, fg, _mul(n, peep[2], c))
    gate_i = f(i)
    if coupled:
        gate_f = n.emit(ops.SubOp(n.constant(np.ones((), n.dtype_of(gate_i))), gate_i))
    else:
        gate_f = f(fg)
    c_new = _add(n, _mul(n, gate_f, c), _mul(n, gate_i, g(cc)))
    if peep is not None:
        o = _add(n, o, _mul(n, peep[1], c_new))
    return [_mul(n, f(o), h(c_new)), c_new]


def float_weights(n: Node) -> Weights:
    """ONNX's W (input 1) and R (input 2), float, (directions, gates * hidden, size)."""

    def weights(d: int) -> tuple[Product, StepProduct]:
        recurrent = matmul_by(transposed(n, pick(n, n.value(2), d)))
        return matmul_by(transposed(n, pick(n, n.value(1), d))), lambda n, t, h: recurrent(n, h)

    return weights


def lstm(n: Node, weights: Weights | None = None) -> list[SSAValue]:
    """ONNX LSTM, or another LSTM with its own weight products (DynamicQuantizeLSTM) and
    ONNX's other inputs at ONNX's positions."""
    weights = weights or float_weights(n)
    rec = Recurrence(n, gates=4, states=2)
    funcs = activations(n, ["Sigmoid", "Tanh", "Tanh"], len(rec.reverse), unclipped=(2,))
    results = []
    for d in range(len(rec.reverse)):
        wb, rb = rec.biases(d)
        project, recur = weights(d)
        cell = partial(
            lstm_step,
            xw=rec.projection(d, None if wb is None else n.emit(ops.AddOp(wb, rb)), project),
            recur=recur,
            peep=split(n, pick(n, n.value(7), d), 3) if n.has(7) else None,
            f=funcs[3 * d],
            g=funcs[3 * d + 1],
            h=funcs[3 * d + 2],
            coupled=bool(n.attr("input_forget", 0)),
        )
        results.append(rec.run(d, cell, [rec.initial(5, d), rec.initial(6, d)]))
    return rec.outputs(results)


def gru_step(
    n: Node,
    t: Step,
    state: list[SSAValue],
    *,
    xw: SSAValue,
    r_zr_t: SSAValue,
    r_h_t: SSAValue,
    rb_h: SSAValue | None,
    f: Activation,
    g: Activation,
) -> list[SSAValue]:
    """One GRU step; with `rb_h` (linear_before_reset) the reset gate scales H·R_hᵀ + Rb_h."""
    (hid,) = state
    hidden = n.shape_of(hid)[-1]
    x_zr, x_h = n.emit_all(ops.SplitOp(_step(n, xw, t), axis=-1, sizes=[2 * hidden, hidden]))
    z, r = split(n, n.emit(ops.AddOp(x_zr, n.emit(ops.MatMulOp(hid, r_zr_t)))), 2)
    z, r = f(z), f(r)
    if rb_h is not None:
        hh = _mul(n, r, _add(n, n.emit(ops.MatMulOp(hid, r_h_t)), rb_h))
    else:
        hh = n.emit(ops.MatMulOp(_mul(n, r, hid), r_h_t))
    hh = g(n.emit(ops.AddOp(x_h, hh)))
    one = n.constant(np.ones((), n.dtype_of(hid)))
    return [_add(n, _mul(n, n.emit(ops.SubOp(one, z)), hh), _mul(n, z, hid))]


def _gru_biases(
    n: Node, rec: Recurrence, d: int, before_reset: bool
) -> tuple[SSAValue | None, SSAValue | None]:
    """(bias added to the input projection, Rb_h kept for the loop or None)."""
    wb, rb = rec.biases(d)
    if wb is None:
        return None, None
    hidden = rec.hidden
    keep = np.r_[np.ones(2 * hidden), np.zeros(hidden) if before_reset else np.ones(hidden)]
    pre = n.emit(ops.AddOp(wb, _mul(n, rb, n.constant(keep.astype(n.dtype(0))))))
    return pre, (split(n, rb, 3)[2] if before_reset else None)


def gru(n: Node) -> list[SSAValue]:
    rec = Recurrence(n, gates=3, states=1)
    before_reset = bool(n.attr("linear_before_reset", 0))
    funcs = activations(n, ["Sigmoid", "Tanh"], len(rec.reverse))
    results = []
    for d in range(len(rec.reverse)):
        pre, rb_h = _gru_biases(n, rec, d, before_reset)
        sizes = [2 * rec.hidden, rec.hidden]
        r_zr, r_h = n.emit_all(ops.SplitOp(pick(n, n.value(2), d), axis=0, sizes=sizes))
        cell = partial(
            gru_step,
            xw=rec.projection(d, pre),
            r_zr_t=transposed(n, r_zr),
            r_h_t=transposed(n, r_h),
            rb_h=rb_h,
            f=funcs[2 * d],
            g=funcs[2 * d + 1],
        )
        results.append(rec.run(d, cell, [rec.initial(5, d)]))
    return rec.outputs(results)


def rnn_step(
    n: Node, t: Step, state: list[SSAValue], *, xw: SSAValue, r_t: SSAValue, f: Activation
) -> list[SSAValue]:
    return [f(n.emit(ops.AddOp(_step(n, xw, t), n.emit(ops.MatMulOp(state[0], r_t)))))]


def rnn(n: Node) -> list[SSAValue]:
    rec = Recurrence(n, gates=1, states=1)
    funcs = activations(n, ["Tanh"], len(rec.reverse))
    results = []
    for d in range(len(rec.reverse)):
        wb, rb = rec.biases(d)
        cell = partial(
            rnn_step,
            xw=rec.projection(d, None if wb is None else n.emit(ops.AddOp(wb, rb))),
            r_t=transposed(n, pick(n, n.value(2), d)),
            f=funcs[d],
        )
        results.append(rec.run(d, cell, [rec.initial(5, d)]))
    return rec.outputs(results)


CONVERTERS: dict[str, Converter] = {"LSTM": lstm, "GRU": gru, "RNN": rnn}
