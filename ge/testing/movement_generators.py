"""Generators of reductions and data-movement `ge` ops for the program strategies.

Shapes are drawn so every result is non-empty: slices keep at least one element, pads
never crop a dim away, reshapes factor the element count.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st
from xdsl.ir import Operation

from ge.testing.elementwise_generators import OP_BY_NAME, Generator
from ge.testing.program_builder import ProgramBuilder, Value, out_limit
from gedialects.ge import ConstantOp, ops


def _any_operand(b: ProgramBuilder, min_rank: int = 0, kinds: str = "fiub") -> Value | None:
    dtype = b.dtype(kinds)
    if dtype is None:
        return None
    return b.operand(
        lambda v: v.dtype.kind in kinds and len(v.shape) >= min_rank,
        lambda: (b.shape(min_rank), dtype),
    )


def _axes(b: ProgramBuilder, rank: int) -> list[int]:
    """A random subset of axes (possibly empty), some written negatively."""
    chosen = b.draw(st.lists(st.integers(0, max(rank - 1, 0)), unique=True, max_size=rank))
    return [a - rank if b.draw(st.booleans()) else a for a in chosen] if rank else []


def reduce(name: str) -> Generator:
    cls = OP_BY_NAME[name]
    kinds = "f" if name in ("ge.reduce_mean", "ge.reduce_l2") else "fi"

    def generate(b: ProgramBuilder) -> bool:
        x = _any_operand(b, 0, kinds)
        if x is None:
            return False
        rank = len(x.shape)
        axes = _axes(b, rank)
        if name == "ge.reduce_prod" and rank:
            axes = axes[:1] or [b.draw(st.integers(0, rank - 1))]
        count = math.prod(x.shape[a] for a in axes) if axes else math.prod(x.shape)
        count = max(count, 1)
        limit = out_limit(x.dtype)
        if name == "ge.reduce_prod":
            x = b.bounded(x, min(4.0, limit ** (1 / count)))
            lo, hi = -(x.magnitude**count), x.magnitude**count
        elif name in ("ge.reduce_sum", "ge.reduce_l2"):
            x = b.bounded(x, limit / count if name == "ge.reduce_sum" else math.sqrt(limit / count))
            lo, hi = count * min(x.lo, 0.0), count * max(x.hi, 0.0)
            if name == "ge.reduce_l2":
                lo, hi = 0.0, math.sqrt(count) * x.magnitude
        else:
            lo, hi = x.lo, x.hi
        b.emit(cls(x.ssa, axes=axes, keepdims=b.draw(st.booleans())), lo, hi)
        return True

    return generate


def arg_reduce(name: str) -> Generator:
    cls = ops.ArgMaxOp if name == "ge.argmax" else ops.ArgMinOp

    def generate(b: ProgramBuilder) -> bool:
        x = _any_operand(b, 1, "fi")
        if x is None:
            return False
        rank = len(x.shape)
        axis = b.draw(st.integers(-rank, rank - 1))
        props = dict(
            axis=axis,
            keepdims=b.draw(st.booleans()),
            select_last_index=b.draw(st.booleans()),
        )
        b.emit(cls(x.ssa, **props), 0.0, float(x.shape[axis] - 1))
        return True

    return generate


def transpose(b: ProgramBuilder) -> bool:
    x = _any_operand(b)
    if x is None:
        return False
    perm = b.draw(st.permutations(range(len(x.shape))))
    b.emit(ops.TransposeOp(x.ssa, perm=perm), x.lo, x.hi)
    return True


def _factors(n: int) -> list[int]:
    out, p = [], 2
    while n > 1:
        while n % p == 0:
            out.append(p)
            n //= p
        p += 1
    return out


def reshape(b: ProgramBuilder) -> bool:
    x = _any_operand(b)
    if x is None:
        return False
    factors = _factors(math.prod(x.shape))
    rank = b.draw(st.integers(0 if not factors else 1, b.max_rank))
    shape = [1] * rank
    for f in factors:
        shape[b.draw(st.integers(0, rank - 1))] *= f
    b.emit(ops.ReshapeOp(x.ssa, shape=shape), x.lo, x.hi)
    return True


def expand(b: ProgramBuilder) -> bool:
    x = _any_operand(b)
    if x is None:
        return False
    lead = b.draw(st.integers(0, max(0, b.max_rank - len(x.shape))))
    grown = [b.draw(st.integers(1, 3)) if d == 1 else d for d in x.shape]
    lead_dims = [b.draw(st.integers(1, 3)) for _ in range(lead)]
    shape = [*lead_dims, *grown]
    b.emit(ops.ExpandOp(x.ssa, shape=shape), x.lo, x.hi)
    return True


def concat(b: ProgramBuilder) -> bool:
    x = _any_operand(b, 1)
    if x is None:
        return False
    rank = len(x.shape)
    axis = b.draw(st.integers(-rank, rank - 1))
    a = axis % rank

    def fits(v: Value) -> bool:
        same = len(v.shape) == rank and v.dtype == x.dtype
        return same and all(d == e for i, (d, e) in enumerate(zip(v.shape, x.shape)) if i != a)

    def fresh() -> tuple[tuple[int, ...], np.dtype]:
        shape = list(x.shape)
        shape[a] = b.draw(st.integers(1, b.max_dim))
        return tuple(shape), x.dtype

    parts = [x] + [b.operand(fits, fresh, partner=x) for _ in range(b.draw(st.integers(1, 2)))]
    b.draw(st.randoms(use_true_random=False)).shuffle(parts)
    lo, hi = min(p.lo for p in parts), max(p.hi for p in parts)
    b.emit(ops.ConcatOp(*[p.ssa for p in parts], axis=axis), lo, hi)
    return True


def _discard(op: Operation) -> bool:
    """Drop an op built only to learn its type (False: nothing planted). Its operands would
    otherwise keep it as a user, and a rewriter walking their users would meet an op in no
    block (the soak profile found `fuse-elementwise` failing so)."""
    op.drop_all_references()
    return False


def _slice_bounds(b: ProgramBuilder, dim: int) -> tuple[int, int, int]:
    """ONNX slice (start, end, step) for a dim, keeping at least one element; may clamp."""
    step = b.draw(st.sampled_from([1, 2, -1, -2, 3]))
    first = b.draw(st.integers(0, dim - 1))
    count = b.draw(st.integers(1, max(1, len(range(first, -1 if step < 0 else dim, step)))))
    last = first + step * (count - 1)
    end = last + (1 if step > 0 else -1)
    if b.draw(st.booleans()):  # write bounds out of range or from the end
        start = first - dim if b.draw(st.booleans()) else first
        end = (dim + 5 if step > 0 else -dim - 5) if b.draw(st.booleans()) else end
        return start, end, step
    return first, (end if end >= 0 else -dim - 1), step


def slice_(b: ProgramBuilder) -> bool:
    x = _any_operand(b, 1)
    if x is None:
        return False
    rank = len(x.shape)
    axes = b.draw(st.lists(st.integers(0, rank - 1), unique=True, min_size=1, max_size=rank))
    starts, ends, steps = zip(*[_slice_bounds(b, x.shape[a]) for a in axes])
    axes = [a - rank if b.draw(st.booleans()) else a for a in axes]
    op = ops.SliceOp(x.ssa, starts=starts, ends=ends, axes=axes, steps=steps)
    if 0 in op.output.type.get_shape():
        return _discard(op)
    b.emit(op, x.lo, x.hi)
    return True


def gather(b: ProgramBuilder) -> bool:
    x = _any_operand(b, 1)
    if x is None:
        return False
    rank = len(x.shape)
    axis = b.draw(st.integers(-rank, rank - 1))
    dim = x.shape[axis]
    indices = _constant_indices(b, dim)
    b.emit(ops.GatherOp(x.ssa, indices.ssa, axis=axis), x.lo, x.hi)
    return True


def _constant_indices(b: ProgramBuilder, dim: int) -> Value:
    """A constant of random indices into an axis of `dim`, some negative, rank 0 to 2."""
    rng = np.random.default_rng(b.draw(st.integers(0, 255)))
    dtype = b.draw(st.sampled_from([np.int64, np.int32]))
    array = rng.integers(-dim, dim, b.shape(0, 2)).astype(dtype)
    return b.emit(ConstantOp(array), -dim, dim)[0]


def scatter(b: ProgramBuilder) -> bool:
    """Updates into constant indices that may repeat (the later update wins, or all combine)."""
    x = _any_operand(b, 1, "fi")
    if x is None:
        return False
    rank = len(x.shape)
    axis = b.draw(st.integers(-rank, rank - 1))
    a, dim = axis % rank, x.shape[axis]
    indices = _constant_indices(b, dim)
    shape = indices.shape
    wanted = (*x.shape[:a], *shape, *x.shape[a + 1 :])
    updates = b.operand(
        lambda v: v.shape == wanted and v.dtype == x.dtype, lambda: (wanted, x.dtype)
    )
    reduction = b.draw(st.sampled_from(["none", "add", "max", "min"]))
    if reduction == "add":  # an entry may take every update
        share = out_limit(x.dtype) / (math.prod(shape) + 1)
        x, updates = b.bounded(x, share), b.bounded(updates, share)
        lo = x.lo + math.prod(shape) * min(updates.lo, 0.0)
        hi = x.hi + math.prod(shape) * max(updates.hi, 0.0)
    else:
        lo, hi = min(x.lo, updates.lo), max(x.hi, updates.hi)
    op = ops.ScatterOp(x.ssa, indices.ssa, updates.ssa, axis=axis, reduction=reduction)
    b.emit(op, lo, hi)
    return True


def split(b: ProgramBuilder) -> bool:
    x = _any_operand(b, 1)
    if x is None:
        return False
    rank = len(x.shape)
    axis = b.draw(st.integers(-rank, rank - 1))
    dim = x.shape[axis]
    cuts = sorted(b.draw(st.lists(st.integers(1, max(1, dim - 1)), unique=True, max_size=2)))
    cuts = [c for c in cuts if c < dim]
    sizes = np.diff([0, *cuts, dim]).tolist()
    b.emit(ops.SplitOp(x.ssa, axis=axis, sizes=sizes), x.lo, x.hi)
    return True


def pad(b: ProgramBuilder) -> bool:
    x = _any_operand(b, 1, "fi")
    if x is None:
        return False
    mode = b.draw(st.sampled_from(["constant", "reflect", "edge", "wrap"]))
    begins, ends = [], []
    for d in x.shape:
        top = 2 if mode in ("constant", "edge") else d - 1
        low = -(d - 1) // 2 if mode == "constant" else 0
        begins.append(b.draw(st.integers(low, max(low, top))))
        ends.append(b.draw(st.integers(low, max(low, top))))
    value = b.draw(st.sampled_from([0.0, 1.0, -2.5])) if mode == "constant" else 0.0
    op = ops.PadOp(x.ssa, pads=[*begins, *ends], mode=mode, value=value)
    if 0 in op.output.type.get_shape():
        return _discard(op)
    b.emit(op, min(x.lo, value), max(x.hi, value))
    return True


def resize(b: ProgramBuilder) -> bool:
    x = _any_operand(b, 1, "fi")
    if x is None:
        return False
    mode = b.draw(st.sampled_from(["nearest", "linear"])) if x.is_float else "nearest"
    coordinates = ["half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel"]
    props = dict(
        sizes=[b.draw(st.integers(1, 2 * d)) for d in x.shape],
        mode=mode,
        coordinate_transformation_mode=b.draw(st.sampled_from(coordinates)),
        nearest_mode=b.draw(st.sampled_from(["round_prefer_floor", "floor", "ceil"])),
    )
    b.emit(ops.ResizeOp(x.ssa, **props), x.lo, x.hi)
    return True


GENERATORS: dict[str, Generator] = {
    **{
        n: reduce(n)
        for n in (
            "ge.reduce_sum",
            "ge.reduce_mean",
            "ge.reduce_max",
            "ge.reduce_min",
            "ge.reduce_prod",
            "ge.reduce_l2",
        )
    },
    "ge.argmax": arg_reduce("ge.argmax"),
    "ge.argmin": arg_reduce("ge.argmin"),
    "ge.transpose": transpose,
    "ge.reshape": reshape,
    "ge.expand": expand,
    "ge.concat": concat,
    "ge.slice": slice_,
    "ge.gather": gather,
    "ge.scatter": scatter,
    "ge.split": split,
    "ge.pad": pad,
    "ge.resize": resize,
}
"""Generators of reductions and data movement, by op name."""
