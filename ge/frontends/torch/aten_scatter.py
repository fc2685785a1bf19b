"""aten ops that write into a copy of a tensor: scatter, index_put, index_copy/add and the
functionalized slice writes (`x[:, 1:3] = v` exports as slice_scatter), as `ge.scatter`.

`scatter` / `scatter_add` / `scatter_reduce` (one index per element, ONNX ScatterElements'
form) scatter the elements of the data flattened at linear positions, each index checked
on its own axis first (`ge.frontends.indexing.axis_index`). `index_copy` / `index_add` /
`index_put` scatter whole slices along an axis. `slice_scatter` and `select_scatter` of
unit steps are a pad and a select (`write_box`, no scatter).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from xdsl.ir import SSAValue

from ge.frontends.indexing import axis_index, element_positions, write_box
from ge.frontends.torch.convert import Converter, dtype_of, op_key
from ge.frontends.torch.table import converts
from gedialects.ge import ops as ge
from gedialects.ge.types import shape_of

REDUCTIONS = {"sum": "add", "prod": "mul", "amax": "max", "amin": "min"}
"""torch.scatter_reduce's `reduce` -> ge.scatter's reduction (with include_self=True)."""


def _axis(dim: int, rank: int) -> int:
    return dim % rank if rank else 0


def _elements(cx: Converter, x: SSAValue, dim: int, index: SSAValue, src: SSAValue, how: str):  # noqa: ANN202
    """x with x[..., index[p], ...] (on `dim`) combined with src[p] for every position p of
    index (whose shape may be smaller than x's on every axis, as src's may be larger)."""
    shape, index_shape = shape_of(x.type), shape_of(index.type)
    if not shape:
        x, index, src = (cx.reshape(v, [1]) for v in (x, index, src))
        shape, index_shape = (1,), (1,)
    axis = _axis(dim, len(shape))
    count = int(np.prod(index_shape, dtype=np.int64))
    if src is not None and shape_of(src.type) != index_shape:  # only the leading block counts
        ends = list(index_shape)
        src = cx.emit(ge.SliceOp(src, starts=[0] * len(ends), ends=ends,
                                 axes=list(range(len(ends))), steps=[1] * len(ends)))  # fmt: skip
    checked = axis_index(cx, cx.cast(index, np.dtype(np.int64)), shape[axis])
    linear = element_positions(cx, checked, shape, axis)
    flat = cx.reshape(x, [int(np.prod(shape, dtype=np.int64))])
    updates = cx.reshape(src, [count])
    scattered = cx.emit(ge.ScatterOp(flat, cx.reshape(linear, [count]), updates, reduction=how))
    return cx.reshape(scattered, list(shape_of(x.type)) or [])


def _like(cx: Converter, value: Any, x: SSAValue, shape: tuple[int, ...]) -> SSAValue:
    """`value` (a tensor or a number) in x's dtype, broadcast to `shape`."""
    v = cx.operand(value, dtype_of(x))
    if shape_of(v.type) != tuple(shape):
        v = cx.emit(ge.ExpandOp(v, shape=list(shape)))
    return v


@converts("scatter", "scatter_add")
def scatter(cx: Converter, a: dict[str, Any]) -> SSAValue:
    x, index = a["self"], a["index"]
    src = _like(cx, a["src"] if "src" in a else a["value"], x, shape_of(index.type))
    how = "add" if op_key(cx.node.target) == "scatter_add" else "none"
    if a.get("reduce") is not None:  # the deprecated scatter(..., reduce="add"|"multiply")
        how = {"add": "add", "multiply": "mul"}[a["reduce"]]
    return _elements(cx, x, a["dim"], index, src, how)


@converts("scatter_reduce")
def scatter_reduce(cx: Converter, a: dict[str, Any]) -> SSAValue:
    if a["reduce"] not in REDUCTIONS or not a.get("include_self", True):
        raise cx.unsupported(f"reduce='{a['reduce']}' with include_self={a.get('include_self')}")
    x = a["self"]
    src = _like(cx, a["src"], x, shape_of(a["src"].type))
    return _elements(cx, x, a["dim"], a["index"], src, REDUCTIONS[a["reduce"]])


@converts("index_copy", "index_add")
def index_copy(cx: Converter, a: dict[str, Any]) -> SSAValue:
    x, shape = a["self"], shape_of(a["self"].type)
    axis = _axis(a["dim"], len(shape))
    source = cx.operand(a["source"], dtype_of(x))
    add = op_key(cx.node.target) == "index_add"
    if add and a.get("alpha", 1) != 1:
        source = cx.emit(ge.MulOp(source, cx.scalar(a["alpha"], dtype_of(x))))
    index = cx.reshape(a["index"], [int(np.prod(shape_of(a["index"].type), dtype=np.int64))])
    want = [*shape[:axis], shape_of(index.type)[0], *shape[axis + 1 :]]
    source = cx.reshape(source, want)
    return cx.emit(ge.ScatterOp(x, index, source, axis=axis, reduction="add" if add else "none"))


@converts("index_put")
def index_put(cx: Converter, a: dict[str, Any]) -> SSAValue:
    """x[..., i, j, ...] = v (or += v): index tensors on adjacent axes, merged into one
    axis as `index` does, the values broadcast to what that index reads."""
    x, shape = a["self"], shape_of(a["self"].type)
    given = [(axis, i) for axis, i in enumerate(a["indices"]) if i is not None]
    axes = [axis for axis, _ in given]
    if not given or axes != list(range(axes[0], axes[0] + len(axes))):
        raise cx.unsupported("index tensors on non-adjacent axes")
    if any(dtype_of(i).kind not in "iu" for _, i in given):
        raise cx.unsupported("boolean (mask) index_put: where it writes depends on the data")
    first, last = axes[0], axes[-1] + 1
    indices = [cx.cast(i, np.dtype(np.int64)) for _, i in given]
    index_shape = tuple(np.broadcast_shapes(*(shape_of(i.type) for i in indices)))
    flat = None
    for axis, idx in zip(axes, indices, strict=True):
        if shape_of(idx.type) != index_shape:
            idx = cx.emit(ge.ExpandOp(idx, shape=list(index_shape)))
        idx = axis_index(cx, idx, shape[axis]) if len(axes) > 1 else idx
        if flat is None:
            flat = idx
        else:
            flat = cx.emit(ge.MulOp(flat, cx.scalar(shape[axis], np.dtype(np.int64))))
            flat = cx.emit(ge.AddOp(flat, idx))
    merged_dim = int(np.prod(shape[first:last], dtype=np.int64))
    merged = cx.reshape(x, [*shape[:first], merged_dim, *shape[last:]])
    count = int(np.prod(index_shape, dtype=np.int64))
    rows = cx.reshape(flat, [count])
    read = (*shape[:first], *index_shape, *shape[last:])
    values = cx.reshape(_like(cx, a["values"], x, read), [*shape[:first], count, *shape[last:]])
    how = "add" if a.get("accumulate") else "none"
    out = cx.emit(ge.ScatterOp(merged, rows, values, axis=first, reduction=how))
    return cx.reshape(out, list(shape))


def _box_write(cx: Converter, x: SSAValue, src: SSAValue, axis: int, start: int) -> SSAValue:
    """x with the slab [start, start + len) of `axis` replaced by src (`write_box`)."""
    starts = [start if d == axis else 0 for d in range(len(shape_of(x.type)))]
    return write_box(cx, x, cx.cast(src, dtype_of(x)), starts)


@converts("slice_scatter")
def slice_scatter(cx: Converter, a: dict[str, Any]) -> SSAValue:
    x, shape, src = a["self"], shape_of(a["self"].type), a["src"]
    axis = _axis(a.get("dim", 0), len(shape))
    size, step = shape[axis], a.get("step", 1)
    start, end, _ = slice(a.get("start"), a.get("end"), step).indices(size)
    if step == 1:
        return _box_write(cx, x, src, axis, start)
    index = cx.constant(np.arange(start, end, step, dtype=np.int64))
    return cx.emit(ge.ScatterOp(x, index, cx.cast(src, dtype_of(x)), axis=axis))


@converts("select_scatter")
def select_scatter(cx: Converter, a: dict[str, Any]) -> SSAValue:
    x, shape = a["self"], shape_of(a["self"].type)
    axis = _axis(a["dim"], len(shape))
    src = cx.reshape(a["src"], [*shape[:axis], 1, *shape[axis + 1 :]])
    return _box_write(cx, x, src, axis, a["index"] % shape[axis])


@converts("fill")
def fill(cx: Converter, a: dict[str, Any]) -> SSAValue:
    """A tensor of self's shape and dtype, every element `value` (what a functionalized
    `x[1:3] = 5.0` writes before its slice_scatter)."""
    return _like(cx, a["value"], a["self"], shape_of(a["self"].type))


@converts("copy")
def copy(cx: Converter, a: dict[str, Any]) -> SSAValue:
    """`self.copy_(src)` functionalized: src broadcast to self's shape, in self's dtype."""
    return _like(cx, a["src"], a["self"], shape_of(a["self"].type))
