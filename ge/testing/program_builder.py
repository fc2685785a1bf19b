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
from xdsl.ir import Block, Operation, OpResult, Region, SSAValue

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

    def pick(self, accept: Predicate = lambda v: True, last: Value | None = None) -> Value | None:
        """A value defined so far that `accept`s, drawn by index: unused ones first, newest
        first, so that graphs stay connected and shrink towards chains."""
        newest_first = [v for v in reversed(self.pool) if accept(v)]
        unused = [v for v in newest_first if not v.ssa.uses]
        candidates = unused + [v for v in newest_first if v.ssa.uses]
        if last in candidates:  # e.g. the other operand: x op x only at the end
            candidates = [v for v in candidates if v is not last] + [last]
        if not candidates:
            return None
        return candidates[self.draw(st.integers(0, len(candidates) - 1))]

    def operand(
        self,
        accept: Predicate,
        fresh: Callable[[], tuple[tuple[int, ...], np.dtype]],
        partner: Value | None = None,
    ) -> Value:
        """An accepted pool value, or a fresh constant (or argument) made by `fresh`.

        Beside a constant `partner`, half the time only constants are offered, so that
        ops whose operands are all constants (what folding passes rewrite) are common.
        """
        constants_only = partner is not None and is_constant(partner) and self.draw(st.booleans())
        if constants_only:
            found = self.pick(lambda v: accept(v) and is_constant(v), partner)
        else:
            found = self.pick(accept, partner)
        if found is not None and self.draw(st.integers(0, 3)) > 0:
            return found
        shape, dtype = fresh()
        room = len(self.block.args) < self.max_inputs
        if not constants_only and room and self.draw(st.booleans()):
            return self.argument(shape, dtype)
        return self.constant(shape, dtype)

    # ---- defining values -------------------------------------------------------------
    def argument(self, shape: Sequence[int], dtype: np.dtype) -> Value:
        arg = self.block.insert_arg(tensor(shape, from_numpy_dtype(dtype)), len(self.block.args))
        lo, hi = (0.0, 1.0) if dtype.kind == "b" else INPUT_RANGE
        value = Value(arg, lo, hi)
        self.pool.append(value)
        return value

    def constant(self, shape: Sequence[int], dtype: np.dtype, positive: bool = False) -> Value:
        """A fresh `ge.constant`: a splat of an interesting value, or small random data."""
        kind = self.draw(st.sampled_from(["random", "splat", "random"]))
        if dtype.kind == "b":
            rng = np.random.default_rng([self.draw(st.integers(0, 255)), len(self.pool)])
            data = rng.random(shape) < 0.5
        elif kind == "splat":
            choices = [s for s in SPLATS if s > 0] if positive else list(SPLATS)
            data = np.full(shape, self.draw(st.sampled_from(choices)))
        else:
            # seeded by position too, so that even the simplest draws give distinct data
            rng = np.random.default_rng([self.draw(st.integers(0, 2**16)), len(self.pool)])
            data = np.round(rng.uniform(-2.0, 2.0, shape) * 8) / 8
            if dtype.kind in "iu":
                data = np.round(data)
            if positive:
                data = np.abs(data) + 0.5
        array = np.asarray(data).astype(dtype)
        op = ConstantOp(array)
        lo, hi = (float(array.min()), float(array.max())) if array.size else (0.0, 0.0)
        return self.emit(op, lo, hi)[0]

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
        """Return 1..max_outputs values: the newest, the other unused results (unless
        this program keeps dead code), then any others drawn from the pool."""
        results = [self.pool[-1]]
        if not self.draw(st.booleans()):  # keep dead code
            sinks = [v for v in reversed(self.pool[:-1]) if not v.ssa.uses and computed(v)]
            results += sinks[: max_outputs - 1]
        extra = self.draw(st.integers(0, max(0, max_outputs - len(results))))
        for _ in range(extra):
            results.append(self.pick(lambda v: v not in results))
        results = [v for v in results if v is not None]
        ssa = [v.ssa for v in results]
        self.block.add_op(func.ReturnOp(*ssa))
        arg_types = [a.type for a in self.block.args]
        fn = func.FuncOp("main", (arg_types, [v.type for v in ssa]), Region(self.block))
        return ModuleOp([fn])


def is_constant(v: Value) -> bool:
    return isinstance(v.ssa.owner, ConstantOp)


def computed(v: Value) -> bool:
    """Whether `v` is the result of an op other than a constant."""
    return isinstance(v.ssa, OpResult) and not is_constant(v)
