"""Converter of onnxruntime's `com.microsoft.DynamicQuantizeLSTM`: what its quantizer's
`quantize_dynamic` writes for every ONNX LSTM (LSTM is in its default op list).

Inputs are ONNX LSTM's (X, W, R, B, sequence_lens, initial_h, initial_c, P) with W and R
int8, transposed to (directions, size, 4 * hidden), then W_scale, W_zero_point, R_scale,
R_zero_point, one per direction or one per direction and gate column. ONNX's LSTM cell
runs unchanged (`convert_rnn.lstm`); only its two products differ, computed as
onnxruntime computes them: the float operand (all of X at once, then the hidden state at
each step) quantized to uint8 as DynamicQuantizeLinear does, an exact integer product with
the centred weight, and float32(acc) * (x_scale * w_scale). With sequence_lens, ORT's
ranges are those of its buffers: X's first max(sequence_lens) steps, and each step's hidden
states with the rows of sequences already finished zero (it zeroes their outputs, which the
next step reads), so ge quantizes the same values.

Where ge and ORT part: ORT's multi-threaded run quantizes each thread's share of the batch
on its own when the batch is over 4 rows, or 2 or more with hidden_size <= 256, so its
output for such a batch depends on the machine's thread count; ge quantizes the whole
batch, as ORT does on one thread (`intra_op_num_threads=1`) and for one sequence.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from xdsl.dialects.builtin import f32, f64
from xdsl.ir import SSAValue

from ge.frontends.onnx.context import Node
from ge.frontends.onnx.convert_quant_integer import (
    EXACT_IN_F32,
    along,
    centred,
    dynamic_quantize,
    require_8bit,
)
from ge.frontends.onnx.convert_rnn import lstm
from ge.frontends.onnx.recurrence import Product, Step, StepProduct, pick, step_of
from gedialects.ge import ops

UINT8_MAGNITUDE = 255
"""The largest |q - zero point| of a dynamically quantized (uint8) activation."""


def _bound(n: Node, w: SSAValue, zero: SSAValue | None) -> int:
    """A bound on every partial sum of x_c · w_c (x_c centred uint8): the largest column
    weight of a constant w, else what the types allow."""
    values = n.state.consts.get(w)
    zeros = np.zeros(()) if zero is None else n.state.consts.get(zero)
    k = n.shape_of(w)[0]
    if values is None or zeros is None:
        return k * UINT8_MAGNITUDE * 255
    centred_w = values.astype(np.int64) - np.asarray(zeros, np.int64)
    return int(np.abs(centred_w).sum(axis=0).max()) * UINT8_MAGNITUDE


Ranged = Callable[[Node, SSAValue, SSAValue | None], SSAValue]
"""(x, the values whose range quantizes x, or None for x's own) -> x·w."""


def quantized_product(n: Node, w: SSAValue, scale: SSAValue, zero: SSAValue | None) -> Ranged:
    """x -> x·w for an int8 `w` (size, columns) with its scale and zero point (scalar or one
    per column): the weight is centred once, here; each call quantizes its `x`."""
    to = f32 if _bound(n, w, zero) < EXACT_IN_F32 else f64
    w_centred = centred(n, w, zero, -1, to)
    w_scale = along(n, scale, 1, 0)

    def product(n: Node, x: SSAValue, range_of: SSAValue | None) -> SSAValue:
        qx, x_scale, x_zero = dynamic_quantize(n, x, range_of)
        acc = n.emit(ops.MatMulOp(centred(n, qx, x_zero, -2, to), w_centred))
        if to != f32:
            acc = n.emit(ops.CastOp(acc, to=f32))
        return n.emit(ops.MulOp(acc, n.emit(ops.MulOp(x_scale, w_scale))))

    return product


def _sequence_lens(n: Node) -> np.ndarray | None:
    if not n.has(4):
        return None
    return np.asarray(n.const(4, "sequence_lens"), np.int64).reshape(-1)


def dynamic_quantize_lstm(n: Node) -> list[SSAValue]:
    require_8bit(n, 1, 2, 9, 11)
    if n.dtype(0) != np.dtype(np.float32):
        raise n.unsupported(f"X is {n.dtype(0)}; DynamicQuantizeLSTM takes float32")
    for index, name in ((8, "W_scale"), (10, "R_scale")):
        if not n.has(index):
            raise n.error(f"needs its {name} (input {index})")

    lens = _sequence_lens(n)
    steps = n.shape(0)[1 if n.attr("layout", 0) else 0]

    def for_weight(d: int, index: int, scale: int, zero: int) -> Ranged:
        zero_point = pick(n, n.value(zero), d) if n.has(zero) else None
        return quantized_product(
            n, pick(n, n.value(index), d), pick(n, n.value(scale), d), zero_point
        )

    def weights(d: int) -> tuple[Product, StepProduct]:
        inputs, recurrent = for_weight(d, 1, 8, 9), for_weight(d, 2, 10, 11)

        def project(n: Node, x: SSAValue) -> SSAValue:
            steps = n.shape_of(x)[0]
            if lens is None or lens.max() >= steps:
                return inputs(n, x, None)
            first = ops.SliceOp(x, starts=[0], ends=[int(lens.max())], axes=[0], steps=[1])
            return inputs(n, x, n.emit(first))

        def recur(n: Node, t: Step, h: SSAValue) -> SSAValue:
            if lens is None:
                return recurrent(n, h, None)
            return recurrent(n, h, _finished_rows_zeroed(n, t, h, lens, steps))

        return project, recur

    return lstm(n, weights)


def _finished_rows_zeroed(n: Node, t: Step, h: SSAValue, lens: np.ndarray, steps: int) -> SSAValue:
    """`h` at step t with the rows of sequences finished before step t - 1 zero: what ORT's
    output buffer holds when step t reads it."""
    live = np.arange(steps).reshape(-1, 1, 1) - 1 < lens.reshape(1, -1, 1)
    live[0] = True  # step 0 reads the initial state, all rows
    if isinstance(t, int):
        row = live[t]
        if row.all():
            return h
        mask = n.constant(row)
    else:
        mask = step_of(n, n.constant(live), t)
    return n.emit(ops.WhereOp(mask, h, n.constant(np.zeros((), np.float32))))


CONVERTERS: dict[str, Callable[[Node], list[SSAValue]]] = {
    "com.microsoft.DynamicQuantizeLSTM": dynamic_quantize_lstm,
}
