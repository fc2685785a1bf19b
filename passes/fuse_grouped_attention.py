"""`fuse-grouped-attention`: key and value heads shared by groups of query heads, read in place.

LLaMA-2-70B, LLaMA-3, Mistral, Qwen2 and Gemma give H query heads but only Hkv < H key and
value heads, each shared by g = H / Hkv queries. HF's `repeat_kv` copies K and V g times
before the attention (Unsqueeze to (B, Hkv, 1, S, d), Expand to (B, Hkv, g, S, d), Reshape
to (B, H, S, d)): an expand kernel per operand that writes g copies, which the attention
then reads again. The attention can read the unrepeated ones instead, as a batched matmul
broadcasts its operands:

- `GroupedKeyValues`: an attention whose key or value is such a repeat (a reshape merging a
  run of axes of an expand that broadcast only inside that run) splits the merged head axis
  into the run's parts on every operand: query, mask and result by reshapes (views), the
  repeated operand as the expand's input, whose unit axes the kernel broadcasts. A
  `k.repeat(1, g, 1, 1)` (heads as (g, Hkv)) is the same rewrite with the other part unit.
- `StackedQueryRows`: a single query row (a decoding step) over a lead axis that the key,
  value and mask broadcast over (the g queries of one KV head) swaps that axis with the
  row axis in `query_perm` and `output_perm`: the g queries become rows of one tile, so K
  and V are read once per KV head rather than once per query head.

The pass runs them with `fuse-attention-layout`'s patterns, which then take the key's and
value's head-split transposes (and a rotary embedding between) through the unit-axis
reshape a repeat leaves (`fuse_attention_layout.transposed_source`).
Pre: `fuse-attention` (and `fuse-attention-layout`). Post: no attention reads a repeat of
K or V that nothing else reads, and no one-row query runs over a lead axis its K, V and
mask all broadcast over.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import DenseArrayBase, ModuleOp, i64
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern, op_type_rewrite_pattern

from gedialects.ge import ops as ge
from gedialects.ge.types import shape_of
from gedialects.kernel import ops as k
from gedialects.kernel.base import provenance
from gedialects.kernel.elementwise import ElementwiseOp
from passes.epilogues import rewrite_module
from passes.fuse_attention_layout import (
    RESHAPES,
    AttentionLayout,
    RopeBelowTranspose,
    split_groups,
)
from passes.matching import moves_only_unit_axes, only_user


def _is_broadcast_copy(op: Operation | None) -> bool:
    """A `ge.expand`, or the `kernel.elementwise` it converts to (one input, yielded)."""
    if isinstance(op, ge.ExpandOp):
        return True
    return (
        isinstance(op, ElementwiseOp)
        and len(op.inputs) == 1
        and op.yielded is op.block.args[0]
    )


@dataclass(frozen=True)
class Repeat:
    """A value that is `source` (viewed as `shape`) repeated: reshape(expand(source)), the
    expand broadcasting unit axes of `source` that the reshape merges, with others, into
    the value's axis `axis` alone; `shape` is the value's shape with that axis split into
    `parts` and the broadcast parts 1 (the rest of the source's axes merged as the value's)."""

    source: SSAValue
    shape: tuple[int, ...]
    ops: tuple[Operation, ...]
    axis: int
    parts: tuple[int, ...]


def repeat_of(value: SSAValue) -> Repeat | None:
    """`value` as a `Repeat`, when it is one whose reshape and expand nothing else reads:
    HF's repeat_kv (unsqueeze, expand, reshape) and ONNX Tile as imported (the input with a
    unit axis before each, expanded, merged back) both are."""
    reshape = value.owner
    if not isinstance(reshape, RESHAPES):
        return None
    expand = reshape.operands[0].owner
    if not _is_broadcast_copy(expand) or only_user(expand.results[0]) is not reshape:
        return None
    source = expand.operands[0]
    src, wide = shape_of(source.type), shape_of(expand.results[0].type)
    out = shape_of(value.type)
    groups = split_groups(out, wide) if len(src) == len(wide) else None
    if groups is None:
        return None
    repeated = {axis for axis, (a, b) in enumerate(zip(src, wide)) if a != b}
    starts = [sum(len(g) for g in groups[:i]) for i in range(len(groups))]
    hit = [i for i, g in enumerate(groups) if repeated & set(range(starts[i], starts[i] + len(g)))]
    if len(hit) != 1:
        return None
    axis = hit[0]
    run = range(starts[axis], starts[axis] + len(groups[axis]))
    kept = [a for a in run if wide[a] != 1]  # units on both sides carry nothing
    parts = tuple(wide[a] for a in kept)
    viewed = (*out[:axis], *(src[a] for a in kept), *out[axis + 1 :])
    ops: tuple[Operation, ...] = (reshape, expand)
    inner = source.owner
    if isinstance(inner, RESHAPES) and only_user(source) is expand:  # the unit axes' view
        source, ops = inner.operands[0], (*ops, inner)
    return Repeat(source, viewed, ops, axis, parts)


def split_perm(perm: tuple[int, ...], pos: int, count: int) -> tuple[int, ...]:
    """`perm` with its entry at `pos` (value v) split into v, v + 1, ... v + count - 1 and
    the entries above v shifted up: the perm of the same transpose once axis v of its
    source (and entry `pos` of its result) is split into `count` axes."""
    v = perm[pos]
    out: list[int] = []
    for t, e in enumerate(perm):
        out += [v + j for j in range(count)] if t == pos else [e if e < v else e + count - 1]
    return tuple(out)


def _split_shape(shape: tuple[int, ...], axis: int, parts: tuple[int, ...]) -> list[int]:
    return [*shape[:axis], *parts, *shape[axis + 1 :]]


def _identity(rank: int) -> tuple[int, ...]:
    return tuple(range(rank))


class _Grouping:
    """The new operands and perms of an attention whose lead axis `axis` splits into
    `parts`; the reshapes it needs collect in `new_ops`."""

    def __init__(self, op: k.AttentionKernelOp, axis: int, parts: tuple[int, ...]):
        self.op, self.axis, self.parts = op, axis, parts
        self.rank = len(shape_of(op.output.type))
        self.new_ops: list[Operation] = []
        self.perms: dict[str, tuple[int, ...]] = {}

    def operand(self, value: SSAValue, name: str, repeat: Repeat | None) -> SSAValue | None:
        """The operand read through `name` with the axis split (None if it cannot be)."""
        perm = self.op.perm(name) or _identity(self.rank)
        self.perms[name] = split_perm(perm, self.axis, len(self.parts))
        if repeat is not None:
            if perm[self.axis] != repeat.axis:
                return None
            return self._reshape(repeat.source, list(repeat.shape))
        shape = shape_of(value.type)
        size = shape[perm[self.axis]]
        parts = self.parts if size == math.prod(self.parts) else (1,) * len(self.parts)
        if size != math.prod(parts):
            return None
        return self._reshape(value, _split_shape(shape, perm[self.axis], parts))

    def mask(self, value: SSAValue) -> SSAValue | None:
        """The mask with the axis split (right-aligned: one that does not reach it stays)."""
        shape = shape_of(value.type)
        axis = self.axis - (self.rank - len(shape))
        if axis < 0:
            return value
        size = shape[axis]
        parts = self.parts if size == math.prod(self.parts) else (1,) * len(self.parts)
        if size != math.prod(parts):
            return None
        return self._reshape(value, _split_shape(shape, axis, parts))

    def split_output(self) -> None:
        """The result's perm with the axis split (the stored result splits it in place)."""
        perm = self.op.perm("output_perm") or _identity(self.rank)
        self.perms["output_perm"] = split_perm(perm, perm.index(self.axis), len(self.parts))

    def _reshape(self, value: SSAValue, shape: list[int]) -> SSAValue:
        if list(shape_of(value.type)) == shape:  # one part (a broadcast of one KV head)
            return value
        reshape = ge.ReshapeOp(value, shape=shape)
        reshape.output.name_hint = value.name_hint and f"{value.name_hint}_grouped"
        self.new_ops.append(reshape)
        return reshape.output


def _repeats(op: k.AttentionKernelOp) -> dict[int, Repeat] | None:
    """The key and value operands (by operand index) that are private repeats of one
    head axis split into the same parts; None when there is none or they disagree."""
    found: dict[int, Repeat] = {}
    for index in (1, 2):
        value = op.operands[index]
        if only_user(value) is not op or list(op.operands).count(value) > 1:
            continue
        if (repeat := repeat_of(value)) is not None:
            found[index] = repeat
    if not found or len({r.parts for r in found.values()}) > 1:
        return None
    return found


def _logical_axis(op: k.AttentionKernelOp, repeats: dict[int, Repeat]) -> int | None:
    """The logical (lead) axis every repeat merges, if they agree and it is a lead axis."""
    axes = set()
    rank = len(shape_of(op.output.type))
    for index, repeat in repeats.items():
        name = dict(op.OPERAND_PERMS)[index]
        perm = op.perm(name) or _identity(rank)
        axes.add(perm.index(repeat.axis))
    axis = axes.pop() if len(axes) == 1 else None
    return axis if axis is not None and axis < rank - 2 else None


class GroupedKeyValues(RewritePattern):
    """attention(Q, repeat(K), repeat(V)) -> reshape(attention(Q', K, V)) with the head axis
    split into (KV heads, group) and K, V broadcast over the group."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: k.AttentionKernelOp, rewriter: PatternRewriter, /) -> None:
        rank = len(shape_of(op.output.type))
        if any(len(shape_of(v.type)) != rank for v in (op.query, op.key, op.value)):
            return
        repeats = _repeats(op)
        axis = None if repeats is None else _logical_axis(op, repeats)
        if repeats is None or axis is None:
            return
        parts = next(iter(repeats.values())).parts
        grouping = _Grouping(op, axis, parts)
        operands: list[SSAValue | None] = [
            grouping.operand(op.operands[index], name, repeats.get(index))
            for index, name in op.OPERAND_PERMS
        ]
        if op.mask is not None:
            operands.append(grouping.mask(op.mask))
        if any(v is None for v in operands):
            return
        grouping.split_output()
        props = {n: a for n, a in op.properties.items() if n not in ("fused_from", *op.PERMS)}
        props |= {n: DenseArrayBase.from_list(i64, list(p))
                  for n, p in grouping.perms.items() if list(p) != sorted(p)}  # fmt: skip
        absorbed = [o for r in repeats.values() for o in r.ops]
        fused_from = [n for o in absorbed for n in provenance(o)] + op.fused_names
        fused = k.AttentionKernelOp(*operands, fused_from=fused_from, **props)
        fused.output.name_hint = op.output.name_hint
        if fused.output.type == op.output.type:
            rewriter.replace(op, [*grouping.new_ops, fused], [fused.output])
        else:
            back = ge.ReshapeOp(fused.output, shape=list(shape_of(op.output.type)))
            rewriter.replace(op, [*grouping.new_ops, fused, back], [back.output])
        for dead in absorbed:
            rewriter.erase(dead)


class StackedQueryRows(RewritePattern):
    """A one-row query over a lead axis the key, value and mask broadcast over: that axis
    and the row axis swap (in query_perm and output_perm), so its queries are one tile's
    rows against one read of K and V."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: k.AttentionKernelOp, rewriter: PatternRewriter, /) -> None:
        q_shape, value, out_shape = op.logical_shapes()
        rank = len(out_shape)
        if rank < 3 or q_shape[-2] != 1 or len(q_shape) != rank:
            return
        key = op.logical_key()
        mask = shape_of(op.mask.type) if op.mask is not None else ()
        axis = _broadcast_lead_axis(q_shape, key, value, mask)
        if axis is None:
            return
        swap = list(range(rank))
        swap[axis], swap[rank - 2] = rank - 2, axis
        query = op.perm("query_perm") or _identity(rank)
        stored = op.perm("output_perm") or _identity(rank)
        perms = {
            "query_perm": tuple(query[s] for s in swap),
            "output_perm": tuple(swap[s] for s in stored),
        }
        new_ops: list[Operation] = []
        operands = list(op.operands)
        physical = shape_of(op.query.type)
        if moves_only_unit_axes(physical, perms["query_perm"]):  # a view: no layout
            rows = ge.ReshapeOp(op.query, shape=[physical[p] for p in perms.pop("query_perm")])
            rows.output.name_hint = op.query.name_hint and f"{op.query.name_hint}_rows"
            new_ops.append(rows)
            operands[0] = rows.output
        rows_out = tuple(out_shape[s] for s in swap)
        viewed = moves_only_unit_axes(rows_out, perms["output_perm"])
        if viewed:
            perms.pop("output_perm")
        dropped = ("fused_from", "query_perm", "output_perm")
        props = {n: a for n, a in op.properties.items() if n not in dropped}
        props |= {n: DenseArrayBase.from_list(i64, list(p))
                  for n, p in perms.items() if list(p) != sorted(p)}  # fmt: skip
        fused = k.AttentionKernelOp(*operands, fused_from=op.fused_names, **props)
        fused.output.name_hint = op.output.name_hint
        new_ops.append(fused)
        result = fused.output
        if viewed:
            back = ge.ReshapeOp(result, shape=list(shape_of(op.output.type)))
            new_ops.append(back)
            result = back.output
        rewriter.replace(op, new_ops, [result])


def _broadcast_lead_axis(
    query: tuple[int, ...], key: tuple[int, ...], value: tuple[int, ...], mask: tuple[int, ...]
) -> int | None:
    """The largest lead axis of the query (above 1) where key, value and mask are 1."""
    rank = len(query)
    best = None
    for axis in range(rank - 2):
        if query[axis] == 1 or key[axis] != 1 or value[axis] != 1:
            continue
        masked = axis - (rank - len(mask))
        if masked >= 0 and mask[masked] != 1:
            continue
        if best is None or query[axis] > query[best]:
            best = axis
    return best


@dataclass(frozen=True)
class FuseGroupedAttention(ModulePass):
    """Attentions read grouped K and V unrepeated; a decoding step's group becomes rows."""

    name = "fuse-grouped-attention"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        rewrite_module(
            op, GroupedKeyValues(), StackedQueryRows(), RopeBelowTranspose(), AttentionLayout()
        )
