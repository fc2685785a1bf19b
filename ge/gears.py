"""Shape gears (GE's dynamic_batch_size): one static plan per batch size in a list.

A call with batch n runs on the plan of the smallest gear g >= n: inputs are padded with
g - n zero samples along axis 0 and each output is sliced back along its batch axis. A
batch no gear holds falls back to dynamic (eager) execution, as GE's hybrid mode does.
Gears are only allowed when `passes.batch_axis` proves that padding cannot change any real
sample's result.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import ArrayAttr, FunctionType, ModuleOp
from xdsl.ir import Block, Region, SSAValue

from gedialects.errors import GeError
from gedialects.ge import ConcatOp, ExpandOp, GeOp, ReshapeOp, ResizeOp, SliceOp
from gedialects.ge.base import to_attr
from gedialects.ge.constant import ConstantOp
from gedialects.ge.types import element_of, shape_of, tensor
from gedialects.interpreter import output_names
from passes.batch_axis import (
    Batch,
    BatchMixing,
    batch_placements,
    output_batches,
    shared_operands,
)

MAX_GEARS = 100


class GearError(GeError):
    """Gears were asked for where they cannot be used."""


def validate_gears(gears: Sequence[int]) -> list[int]:
    values = sorted({int(g) for g in gears})
    if not values or values[0] < 1:
        raise GearError("gears must be a non-empty list of positive batch sizes")
    if len(values) > MAX_GEARS:
        raise GearError(f"at most {MAX_GEARS} gears are allowed, got {len(values)}")
    return values


def choose_gear(gears: Sequence[int], batch: int) -> int | None:
    """The smallest gear that holds `batch`, or None."""
    i = bisect.bisect_left(gears, batch)
    return gears[i] if i < len(gears) else None


def output_batch_axes(fn: func.FuncOp) -> list[Batch | None]:
    """Where each output carries the batch; a GearError naming the op if padding the batch
    could change results."""
    try:
        return output_batches(fn)
    except BatchMixing as mixing:
        raise GearError(f"gears cannot be used for this model: {mixing}") from None


def check_batch_free_outputs(
    fn: func.FuncOp, other: func.FuncOp, places: Sequence[Batch | None]
) -> None:
    """An output without a batch axis must not depend on the batch size: `fn` and `other`
    are the model's graph at two batch sizes. A Shape of an input (or a ConstantOfShape of
    it) is folded to a constant of the gear's batch, which padding would hand the caller
    ([4, 3] for 3 samples), and no slicing can mend."""
    ours, theirs = fn.body.block.last_op, other.body.block.last_op
    assert ours is not None and theirs is not None
    for index, (place, a, b) in enumerate(zip(places, ours.operands, theirs.operands)):
        if place is not None:
            continue
        same = a.type == b.type
        if same and isinstance(a.owner, ConstantOp) and isinstance(b.owner, ConstantOp):
            same = np.array_equal(a.owner.to_numpy(), b.owner.to_numpy())
        if not same:
            names = output_names(fn)
            raise GearError(
                f"gears cannot be used for this model: output '{names[index]}' depends on "
                "the batch size itself (a shape computed from an input), which padding to a "
                "gear would change"
            )


def check_batch_free_constants(fn: func.FuncOp, other: func.FuncOp) -> None:
    """No constant may hold the batch size as a value: `fn` and `other` are the model's
    graph at two batch sizes (both above 1). A used constant whose type is the same in both
    but whose data differs was computed from the batch size (`x * x.shape[0]`, a mean over
    the batch through its size); padding to a gear would hand it the gear's size, and no
    slicing of the outputs mends what it did to every sample. Graphs that fold into
    different constants are compared by their outputs only (`check_batch_free_outputs`)."""
    ours, theirs = (
        [op for op in f.walk() if isinstance(op, ConstantOp) and op.output.uses]
        for f in (fn, other)
    )
    if len(ours) != len(theirs):
        return
    for a, b in zip(ours, theirs):
        if a.output.type != b.output.type or a.is_elided or b.is_elided:
            continue
        if a.to_numpy().tobytes() != b.to_numpy().tobytes():
            user = next(iter(a.output.uses)).operation.name
            raise GearError(
                "gears cannot be used for this model: it uses the batch size itself as a "
                f"value (a constant computed from an input's shape feeds '{user}'), which "
                "padding to a gear would change; compile without dynamic_batch"
            )


def pad_batch(array: np.ndarray, gear: int) -> np.ndarray:
    extra = gear - array.shape[0]
    if extra == 0:
        return array
    return np.concatenate([array, np.zeros((extra, *array.shape[1:]), array.dtype)])


def slice_batch(outputs: Sequence[np.ndarray], places: Sequence[Batch | None], n: int):
    """The first n samples of each output (all of an output that carries no batch)."""
    return [o if p is None else _first_samples(o, p, n) for o, p in zip(outputs, places)]


def _first_samples(output: np.ndarray, place: Batch, n: int) -> np.ndarray:
    """The first n samples along `place`'s axis (outer x batch x inner rows)."""
    axis, inner, outer = place
    shape = output.shape
    gear = shape[axis] // (inner * outer)
    split = output.reshape(*shape[:axis], outer, gear, inner, *shape[axis + 1 :])
    kept = np.take(split, np.arange(n), axis=axis + 1)
    return kept.reshape(*shape[:axis], outer * n * inner, *shape[axis + 1 :])


_SHAPE_PROPS = {ReshapeOp: ("shape",), ExpandOp: ("shape",), ResizeOp: ("sizes",)}
"""Properties that spell a result's full shape, batch axis included."""


def respecialize_batch(module: ModuleOp, fn: func.FuncOp, batch: int) -> ModuleOp:
    """A copy of `fn` (as `main` of a new module) whose inputs have batch size `batch`."""
    places = batch_placements(fn)
    old_args = fn.body.block.args
    new_types = [tensor((batch, *shape_of(a.type)[1:]), element_of(a.type)) for a in old_args]
    block = Block(arg_types=new_types)
    mapping: dict[SSAValue, SSAValue] = dict(zip(old_args, block.args))
    for op in fn.body.block.ops:
        operands = [mapping[v] for v in op.operands]
        if isinstance(op, func.ReturnOp):
            new_op = func.ReturnOp(*operands)
        elif isinstance(op, GeOp):
            props = dict(op.properties)
            place = places.get(op.results[0]) if op.results else None
            if place is not None:
                extent = place.outer * batch * place.inner
                for key in _SHAPE_PROPS.get(type(op), ()):
                    shape = list(op.ints(key))
                    shape[place.axis] = extent
                    props[key] = to_attr(shape)
                for i, axis in shared_operands(op, [places.get(v) for v in op.operands], place):
                    row = SliceOp(operands[i], starts=[0], ends=[1], axes=[axis], steps=[1])
                    block.add_op(row)  # rows alike (the analysis checked): one serves any batch
                    operands[i] = row.results[0]
                    if isinstance(op, ConcatOp):  # joined, not broadcast: as many rows again
                        shape = list(shape_of(row.results[0].type))
                        shape[axis] = extent
                        block.add_op(rows := ExpandOp(operands[i], shape=shape))
                        operands[i] = rows.results[0]
            results = type(op).infer_result_types([v.type for v in operands], props)
            new_op = type(op).create(
                operands=operands,
                result_types=results,
                properties=props,
                attributes=dict(op.attributes),
            )
        else:
            new_op = op.clone(value_mapper=dict(mapping))
        block.add_op(new_op)
        mapping.update(zip(op.results, new_op.results))
    ret = block.last_op
    assert isinstance(ret, func.ReturnOp)
    out_types = [v.type for v in ret.operands]
    new_fn = func.FuncOp(
        fn.sym_name.data,
        FunctionType.from_lists(new_types, out_types),
        Region(block),
        arg_attrs=fn.arg_attrs if fn.arg_attrs is None else ArrayAttr(fn.arg_attrs.data),
        res_attrs=fn.res_attrs if fn.res_attrs is None else ArrayAttr(fn.res_attrs.data),
    )
    new_module = ModuleOp([new_fn])
    new_module.verify()
    return new_module
