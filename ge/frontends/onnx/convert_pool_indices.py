"""The Indices output of ONNX MaxPool (SegNet/ENet-style encoders feed it to MaxUnpool).

onnxruntime's index of a window's max is the flat position of the first maximal element
in row-major window order: ((n * C + c) * H + h) * W + w, or with `storage_order=1`
(column-major) (n * C + c) * H * W + w * H + h. Composed from `ge` ops, for any window
(strides, pads, dilations, ceil_mode, auto_pad; spatial rank 1 to 3):
- a constant table holds, per output position and window tap, the tap's flat position in
  the image plane, or the plane size for taps in the padding;
- the planes, flattened and extended by one -inf element (what padding taps read), are
  gathered by the table into (N, C, outputs, taps); ArgMax over the taps (the first
  maximum, as onnxruntime's strict comparison) picks a tap;
- the table, gathered at output * taps + tap, gives the position in the plane, and the
  plane's offset (n * C + c) * plane is added.
A window of one tap that never reads padding (torch's `return_indices` export adds a 1x1
pool for its per-plane offsets) has indices known at import: a constant plus the offsets.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from xdsl.ir import SSAValue

from ge.frontends.onnx.context import Node
from ge.frontends.onnx.convert_math import scalar
from ge.frontends.onnx.convert_nn import window_attrs
from gedialects.ge import ops


def tap_table(sizes: list[int], out: list[int], geometry: tuple) -> np.ndarray:
    """(outputs, taps) int64: each window tap's row-major flat position in the plane;
    `prod(sizes)` for taps outside it."""
    kernel, strides, pads, dil = geometry
    table = np.full((math.prod(out), math.prod(kernel)), math.prod(sizes), np.int64)
    for o, position in enumerate(itertools.product(*map(range, out))):
        for t, tap in enumerate(itertools.product(*map(range, kernel))):
            coords = [p * s - b + k * d for p, s, b, k, d in zip(position, strides, pads, tap, dil)]
            if all(0 <= c < n for c, n in zip(coords, sizes)):
                table[o, t] = np.ravel_multi_index(coords, sizes)
    return table


def column_major(table: np.ndarray, sizes: list[int]) -> np.ndarray:
    """`table`'s positions numbered column-major (storage_order=1); padding stays."""
    inside = table < math.prod(sizes)
    coords = np.unravel_index(np.where(inside, table, 0), sizes)
    return np.where(inside, np.ravel_multi_index(coords, sizes, order="F"), table)


def max_pool_indices(n: Node, x: SSAValue, values: SSAValue) -> SSAValue:
    """The i64 Indices output of MaxPool node `n` of input `x` whose values are `values`."""
    shape, out_shape = list(n.shape_of(x)), list(n.shape_of(values))
    kernel = n.ints("kernel_shape")
    sizes, out = shape[2:], out_shape[2:]
    strides, pads, dil = window_attrs(n, sizes, kernel)
    table = tap_table(sizes, out, (kernel, strides, pads[: len(sizes)], dil))
    lead, plane, taps = shape[:2], math.prod(sizes), table.shape[1]
    numbered = column_major(table, sizes) if _column_major(n) else table
    base = n.constant(np.arange(math.prod(lead), dtype=np.int64).reshape(*lead, 1) * plane)
    if taps == 1 and (table < plane).all():  # one tap, never padding: the indices are known
        where = n.constant(numbered.reshape(1, 1, -1))  # (torch's return_indices export has one)
        return n.emit(ops.ReshapeOp(n.emit(ops.AddOp(where, base)), shape=out_shape))
    flat = n.emit(ops.ReshapeOp(x, shape=[*lead, plane]))
    fill = n.emit(ops.ExpandOp(scalar(n, -np.inf, x), shape=[*lead, 1]))
    extended = n.emit(ops.ConcatOp(flat, fill, axis=2))
    windows = n.emit(ops.GatherOp(extended, n.constant(table.reshape(-1)), axis=2))
    windows = n.emit(ops.ReshapeOp(windows, shape=[*lead, table.shape[0], taps]))
    tap = n.emit(ops.ArgMaxOp(windows, axis=3, keepdims=False))
    starts = n.constant((np.arange(table.shape[0], dtype=np.int64) * taps).reshape(1, 1, -1))
    picked = n.emit(ops.AddOp(tap, starts))
    where = n.emit(ops.GatherOp(n.constant(numbered.reshape(-1)), picked, axis=0))
    return n.emit(ops.ReshapeOp(n.emit(ops.AddOp(where, base)), shape=out_shape))


def _column_major(n: Node) -> bool:
    order = int(n.attr("storage_order", 0))
    if order not in (0, 1):
        raise n.error(f"storage_order must be 0 or 1, got {order}")
    return order == 1
