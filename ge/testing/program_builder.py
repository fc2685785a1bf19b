"""The state behind the program strategies: a pool of values and the ops built so far.

`ProgramBuilder` keeps every value defined so far (function arguments, constants, op
results) with a conservative interval of the numbers it can hold, given inputs in
`INPUT_RANGE`. Operands are drawn from that pool by index (counted from the newest value),
so constants, arguments and shared results really meet; before an op that is only
well-defined on part of the line (log, sqrt, division, exp) the builder inserts a guard
(`abs` + offset, or `clip`), so every generated program computes finite numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import strategies as st
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Block, Operation, Region, SSAValue

from gedialects.ge import AbsOp, AddOp, ClipOp, ConstantOp
from gedialects.ge.types import element_of, from_numpy_dtype, shape_of, tensor, to_numpy_dtype

INPUT_RANGE = (-3.0, 3.0)
"""Inputs of generated programs lie in this range (`inputs_for` keeps to it)."""

OUT_LIMIT = {
    np.dtype(np.float16): 3e4,
    np.dtype(np.float32): 1e12,
    np.dtype(np.float64): 1e30,
    np.dtype(np.int64): 1e15,
}
"""No value of a generated program may leave [-limit, limit]; ops guard their operands."""
DEFAULT_INT_LIMIT = 1e9


def out_limit(dtype: np.dtype) -> float:
    """The largest magnitude a generated program lets a value of `dtype` reach."""
    if dtype.kind == "b":
        return 1.0
    return OUT_LIMIT.get(np.dtype(dtype), DEFAULT_INT_LIMIT)


SPLATS = (1.0, 0.0, -1.0, 2.0, 0.5, -0.5, 3.0)
"""Splat constant values, the ones that algebraic rewrites care about."""


@dataclass
class Value:
    """A pool entry: an SSA value and bounds on the numbers it can hold."""

    ssa: SSAValue
    lo: float
    hi: float

    @property
    def shape(self) -> tuple[int, ...]:
        return shape_of(self.ssa.type)

    @property
    def dtype(self) -> np.dtype:
        return to_numpy_dtype(element_of(self.ssa.type))

    @property
    def is_float(self) -> bool:
        return self.dtype.kind == "f"

    @property
    def is_int(self) -> bool:
        return self.dtype.kind in "iu"

    @property
    def is_bool(self) -> bool:
        return self.dtype.kind == "b"

    @property
    def magnitude(self) -> float:
        return max(abs(self.lo), abs(self.hi))


Predicate = Callable[[Value], bool]


@dataclass
class ProgramBuilder:
    """Builds one `func.func @main` by drawing ops; see `ge.testing.strategies.programs`."""

    draw: Callable[[st.SearchStrategy[Any]], Any]
    dtypes: Sequence[np.dtype]
    max_inputs: int = 3
    max_rank: int = 4
    max_dim: int = 4
    block: Block = field(default_factory=Block)
    pool: list[Value] = field(default_factory=list)

    # ---- drawing shapes and values -------------------------------------------------
    def shape(self, min_rank: int = 0, max_rank: int | None = None, min_dim: int = 1) -> tuple:
        top = self.max_rank if max_rank is None else max_rank
        rank = self.draw(st.integers(min_rank, max(min_rank, top)))
        dims = st.integers(min_dim, max(min_dim, self.max_dim))
        return tuple(self.draw(st.lists(dims, min_size=rank, max_size=rank)))

    def dtype(self, kinds: str = "fiub") -> np.dtype | None:
        choices = [d for d in self.dtypes if d.kind in kinds]
        return self.draw(st.sampled_from(choices)) if choices else None

    def float_dtype(self) -> np.dtype | None:
        return self.dtype("f")

    def pick(self, accept: Predicate = lambda v: True) -> Value | None:
        """A value defined so far that `accept`s, drawn by index from the newest."""
        candidates = [v for v in reversed(self.pool) if accept(v)]
        if not candidates:
            return None
        return candidates[self.draw(st.integers(0, len(candidates) - 1))]

    def operand(
        self,
        accept: Predicate,
        fresh: Callable[[], tuple[tuple[int, ...], np.dtype]],
        argument_ok: bool = True,
    ) -> Value:
        """An accepted pool value, or a fresh constant (or argument) made by `fresh`."""
        found = self.pick(accept)
        if found is not None and self.draw(st.integers(0, 3)) > 0:
            return found
        shape, dtype = fresh()
        if argument_ok and len(self.block.args) < self.max_inputs and self.draw(st.booleans()):
            return self.argument(shape, dtype)
        return self.constant(shape, dtype)

    # ---- defining values -------------------------------------------------------------
    def argument(self, shape: Sequence[int], dtype: np.dtype) -> Value:
        arg = self.block.insert_arg(tensor(shape, from_numpy_dtype(dtype)), len(self.block.args))
        lo, hi = (0.0, 1.0) if dtype.kind == "b" else INPUT_RANGE
        value = Value(arg, lo, hi)
        self.pool.append(value)
        return value

    def constant(
        self, shape: Sequence[int], dtype: np.dtype, positive: bool = False, add: bool = True
    ) -> Value:
        """A fresh `ge.constant`: a splat of an interesting value, or small random data."""
        kind = self.draw(st.sampled_from(["splat", "random"]))
        if dtype.kind == "b":
            data = np.random.default_rng(self.draw(st.integers(0, 255))).random(shape) < 0.5
        elif kind == "splat":
            choices = [s for s in SPLATS if s > 0] if positive else list(SPLATS)
            data = np.full(shape, self.draw(st.sampled_from(choices)))
        else:
            rng = np.random.default_rng(self.draw(st.integers(0, 2**16)))
            data = np.round(rng.uniform(-2.0, 2.0, shape) * 8) / 8
            if dtype.kind in "iu":
                data = np.round(data)
            if positive:
                data = np.abs(data) + 0.5
        array = np.asarray(data).astype(dtype)
        op = ConstantOp(array)
        lo, hi = (float(array.min()), float(array.max())) if array.size else (0.0, 0.0)
        return self.emit(op, lo, hi)[0] if add else Value(op.output, lo, hi)

    def emit(self, op: Operation, lo: float, hi: float) -> list[Value]:
        """Append `op`; each result joins the pool with the interval [lo, hi]."""
        self.block.add_op(op)
        values = []
        for result in op.results:
            dtype = to_numpy_dtype(element_of(result.type))
            bounds = (0.0, 1.0) if dtype.kind == "b" else (float(lo), float(hi))
            values.append(Value(result, *bounds))
        self.pool.extend(values)
        return values

    def scalar(self, value: float, dtype: np.dtype) -> Value:
        """A rank-0 constant that is not offered as an operand to other ops."""
        op = ConstantOp(np.asarray(value, dtype=dtype))
        self.block.add_op(op)
        return Value(op.output, value, value)

    # ---- guards ------------------------------------------------------------------------
    def bounded(self, v: Value, limit: float | None = None) -> Value:
        """`v`, clipped to [-limit, limit] if it could leave that range."""
        limit = out_limit(v.dtype) if limit is None else limit
        if v.is_bool or v.magnitude <= limit:
            return v
        op = ClipOp(v.ssa, min=-float(limit), max=float(limit))
        return self.emit(op, max(v.lo, -limit), min(v.hi, limit))[0]

    def positive(self, v: Value, floor: float = 0.5, limit: float | None = None) -> Value:
        """`v` if it stays >= floor, else abs(v) + floor; then bounded."""
        if v.lo < floor:
            a = self.emit(AbsOp(v.ssa), 0.0, v.magnitude)[0]
            if floor > 0:
                c = self.scalar(floor, v.dtype)
                a = self.emit(AddOp(a.ssa, c.ssa), floor, v.magnitude + floor)[0]
            v = a
        return self.bounded(v, limit)

    # ---- finishing -------------------------------------------------------------------
    def finish(self, max_outputs: int) -> ModuleOp:
        """Return 1..max_outputs values (the newest, and others from the pool)."""
        results = [self.pool[-1]]
        extra = self.draw(st.integers(0, max(0, max_outputs - 1)))
        for _ in range(extra):
            results.append(self.pick())
        ssa = [v.ssa for v in results]
        self.block.add_op(func.ReturnOp(*ssa))
        arg_types = [a.type for a in self.block.args]
        fn = func.FuncOp("main", (arg_types, [v.type for v in ssa]), Region(self.block))
        return ModuleOp([fn])
