"""The numpy work of each vector instruction, as a function of its operands' arrays.

Each function takes the operands' arrays in order, the destination last, and writes it in
place. All but an elementwise op on operands of different ranks are `batchable`: given a
wave of blocks' tiles stacked on leading axes (`runtime.npu_batch`), they do every block's
work in one call, so they index windows, axes, permutations and weight rows from the
trailing (the op's own) axes.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gedialects.errors import InterpretationError
from gedialects.npu.mask import VecCmpOp, VecCmpsOp, VecSelectOp
from gedialects.npu.vector import (
    VecBinaryOp,
    VecCastOp,
    VecDupOp,
    VecOp,
    VecReduceOp,
    VecScalarOp,
    VecTransposeOp,
    VecUnaryOp,
    scalar_value,
)
from gedialects.npu.window import VecWindowOp
from gedialects.npu.window_mla import VecWindowMlaOp
from runtime import npu_semantics as sem
from runtime.npu_access import overwrites
from runtime.npu_batch import batchable


def vector_work(op: VecOp) -> Callable[..., None]:
    """fn(*arrays) doing the op's numpy work; the last array is the destination. Each is
    `batchable` (see the module's docstring): it also works on a wave of blocks' tiles.
    Every one but `vec_window_mla` and an accumulating `vec_window` writes all of its
    destination without reading it (`npu_access.overwrites`)."""
    work = _work(op)
    reads_destination = isinstance(op, VecWindowMlaOp) or (
        isinstance(op, VecWindowOp) and op.fn.data != "copy"
    )
    return work if reads_destination else overwrites(-1)(work)


def _work(op: VecOp) -> Callable[..., None]:
    work = _elementwise_kernel(op)
    if work is not None:
        return batchable(-1)(work) if _same_rank(op) else work
    rank = len(op.operands[0].type.dims)
    if isinstance(op, VecReduceOp):
        axes = tuple(int(a) - rank for a in op.axes.get_values())  # from the end: see above
        return batchable(-1)(lambda src, dst, fn=op.FN: sem.reduce(fn, src, axes, dst))
    if isinstance(op, VecWindowOp):
        view = sem.window_view(op.offsets.get_values(), op.strides.get_values(), rank)
        fn = op.fn.data
        return batchable(-1)(lambda src, dst: sem.window(fn, view(src, dst.shape), dst))
    if isinstance(op, VecWindowMlaOp):
        view = sem.window_view(op.offsets.get_values(), op.strides.get_values(), rank)
        row = op.row.value.data

        def mla(src: np.ndarray, w: np.ndarray, acc: np.ndarray) -> None:
            lead = w.ndim - 2  # a batch of blocks: each block's row of its own weights
            taps = w[..., row, :]
            weights = taps.reshape(*taps.shape[:lead], *[1] * (acc.ndim - lead - 1), -1)
            sem.window_mla(view(src, acc.shape), weights, acc)

        return batchable(-1)(mla)
    if isinstance(op, VecTransposeOp):
        perm = tuple(int(p) for p in op.perm.get_values())

        def transpose(src: np.ndarray, dst: np.ndarray) -> None:
            lead = src.ndim - len(perm)
            sem.store(dst, src.transpose(*range(lead), *(lead + p for p in perm)))

        return batchable(-1)(transpose)
    raise InterpretationError(f"no vector semantics for '{op.name}'")


def _same_rank(op: VecOp) -> bool:
    """Whether every operand of `op` has one rank: then leading (block) axes broadcast."""
    return len({len(v.type.dims) for v in op.operands}) == 1


def _keeps_dtype(ufunc: Callable, dtype: np.dtype) -> bool:
    """Whether `ufunc` of two `dtype` arrays gives `dtype` (integer division gives float64,
    which `sem.store` converts; writing through `out=` would refuse it)."""
    one = np.ones(1, dtype)
    return ufunc(one, one).dtype == dtype


def _elementwise_kernel(op: VecOp) -> Callable[..., None] | None:
    """The work of an elementwise vector op (operands broadcast), or None for another op."""
    if isinstance(op, VecUnaryOp):
        return lambda src, dst, fn=op.FN: sem.unary(fn, src, dst)
    if isinstance(op, VecBinaryOp):
        types = [v.type for v in op.operands]
        ufunc = sem.BINARY[op.FN]
        if len({(tuple(t.dims), t.dtype) for t in types}) == 1 and _keeps_dtype(
            ufunc, types[0].dtype
        ):
            return lambda lhs, rhs, dst: ufunc(lhs, rhs, out=dst)  # the ufunc writes dst itself
        return lambda lhs, rhs, dst, fn=op.FN: sem.binary(fn, lhs, rhs, dst)
    if isinstance(op, VecScalarOp):
        value = scalar_value(op)
        return lambda src, dst, fn=op.FN: sem.scalar(fn, src, value, dst)
    if isinstance(op, VecDupOp):
        value = scalar_value(op)
        return lambda dst: sem.store(dst, value)
    if isinstance(op, VecCastOp):
        return lambda src, dst: sem.cast(src, dst)
    if isinstance(op, VecCmpOp | VecCmpsOp):
        scalar = op.scalar.value.data if isinstance(op, VecCmpsOp) else None
        pred = op.predicate.data
        if scalar is None:
            return lambda lhs, rhs, dst: sem.compare(pred, lhs, rhs, dst)
        return lambda src, dst: sem.compare(pred, src, src.dtype.type(scalar), dst)
    if isinstance(op, VecSelectOp):
        return lambda mask, lhs, rhs, dst: sem.select(mask, lhs, rhs, dst)
    return None
