"""`fuse-attention-layout`: the head split and merge transposes around attention, absorbed.

A transformer reshapes its (B, S, H * d) projections to (B, S, H, d) and transposes them to
(B, H, S, d) for attention, and transposes the (B, H, S, d) result back before the output
projection. Each transpose is a kernel that reads and writes the whole tensor. A
`kernel.attention` can instead read Q and V, and write O, in the (B, S, H, d) layout (its
tiles are rows of d either way): a transpose that feeds Q or V, or that is the only reader
of the result, becomes the kernel's `query_perm`, `value_perm` or `output_perm`, when it keeps
the last axis last; a NaN guard between the kernel and the transpose (torch's SDPA export)
moves after the kernel's new layout. The key's (0, 2, 3, 1) transpose to (B, H, d, S)
becomes `key_transposed` with `key_perm` (0, 2, 1, 3): the kernel loads K's tiles as rows of
d from the (B, S, H, d) tensor and transposes them on their way into L0B.
A rotary embedding between the head split and the attention (LLaMA's query and key) moves
below the transpose first: it rotates along the last axis, which the transpose keeps.
Pre: `fuse-attention`. Post: no single-use transpose keeping the last axis feeds an
attention's query or value or reads its result alone, and none feeds its key that keeps
the key's last axis last or (without `key_transposed`) moves it to the last but one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import DenseArrayBase, IntegerAttr, ModuleOp, i64
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern, op_type_rewrite_pattern
from xdsl.rewriter import InsertPoint

from gedialects.ge import ops as ge
from gedialects.ge.constant import ConstantOp
from gedialects.ge.types import shape_of
from gedialects.kernel import mirrored as moves
from gedialects.kernel import ops as k
from gedialects.kernel.base import provenance
from passes.epilogues import rewrite_module
from passes.matching import constant_array, only_user
from passes.nan_guard import guard, nan_guarded

TRANSPOSES = (ge.TransposeOp, moves.TransposeKernelOp)
RESHAPES = (ge.ReshapeOp, moves.ReshapeKernelOp)


@dataclass(frozen=True)
class ReadThrough:
    """An operand computed as transpose(`source` reshaped to `shape`, `perm`) by `ops` (a
    transpose, or a reshape that only splits axes after one), which a layout can read."""

    source: SSAValue
    shape: tuple[int, ...]
    perm: tuple[int, ...]
    ops: tuple[Operation, ...]


def transposed_source(value: SSAValue) -> ReadThrough | None:
    """`value` as a `ReadThrough`: a transpose's result, or a splitting reshape (grouped
    attention's head split, a repeat's unit axis) of a transpose nothing else reads."""
    producer = value.owner
    if isinstance(producer, TRANSPOSES):
        source = producer.operands[0]
        return ReadThrough(source, shape_of(source.type), producer.ints("perm"), (producer,))
    if not isinstance(producer, RESHAPES):
        return None
    transpose = producer.operands[0].owner
    if not isinstance(transpose, TRANSPOSES) or only_user(transpose.results[0]) is not producer:
        return None
    source = transpose.operands[0]
    moved = reshape_above_transpose(
        shape_of(source.type), transpose.ints("perm"), shape_of(value.type)
    )
    if moved is None:
        return None
    return ReadThrough(source, *moved, (producer, transpose))


def split_groups(shape: tuple[int, ...], out: tuple[int, ...]) -> list[tuple[int, ...]] | None:
    """For each axis of `shape`, the run of `out`'s axes it splits into, when reshaping
    `shape` to `out` only splits axes (unit axes join the axis before them, or the first)."""
    groups: list[tuple[int, ...]] = []
    j = 0
    for dim in shape:
        group: list[int] = []
        while j < len(out) and (not group or math.prod(group) < dim):
            group.append(out[j])
            j += 1
        if math.prod(group) != dim:
            return None
        groups.append(tuple(group))
    if not groups or any(x != 1 for x in out[j:]):
        return None
    groups[-1] += tuple(out[j:])
    return groups


def reshape_above_transpose(
    shape: tuple[int, ...], perm: tuple[int, ...], out: tuple[int, ...]
) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
    """(shape', perm') with reshape(transpose(x, perm), out) == transpose(reshape(x, shape'),
    perm') for x of `shape`, when the reshape only splits axes (None otherwise)."""
    groups = split_groups(tuple(shape[p] for p in perm), out)
    if groups is None:
        return None
    by_source = [groups[perm.index(axis)] for axis in range(len(perm))]
    offsets = [sum(len(g) for g in by_source[:axis]) for axis in range(len(perm))]
    moved = tuple(offsets[perm[t]] + j for t in range(len(perm)) for j in range(len(groups[t])))
    return tuple(x for g in by_source for x in g), moved


def _rows_kept(op: Operation | None) -> tuple[int, ...] | None:
    """The perm of a transpose that keeps the last axis last, else None."""
    if not isinstance(op, TRANSPOSES):
        return None
    perm = op.ints("perm")
    return perm if perm and perm[-1] == len(perm) - 1 else None


class AttentionLayout(RewritePattern):
    """transpose -> attention -> transpose: the perms move into the kernel."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: k.AttentionKernelOp, rewriter: PatternRewriter, /) -> None:
        operands, perms, absorbed = list(op.operands), {}, []
        new_ops: list[Operation] = []
        key_transposed = op.get_flag("key_transposed")
        for index, name in op.OPERAND_PERMS:
            value = operands[index]
            if only_user(value) is not op or operands.count(value) > 1:
                continue
            found = transposed_source(value)
            if found is None:
                continue
            source, perm = found.source, found.perm
            inner = op.perm(name)  # Q = transpose(transpose(x, perm), inner)
            perm = perm if inner is None else tuple(perm[i] for i in inner)
            if name == "key_perm":
                perm, key_transposed = _key_layout(perm, key_transposed)
            if not perm or perm[-1] != len(perm) - 1:
                continue
            perms[name] = perm
            if found.shape != shape_of(source.type):  # a reshape below the transpose, moved up
                split = ge.ReshapeOp(source, shape=list(found.shape))
                split.output.name_hint = source.name_hint and f"{source.name_hint}_split"
                source = _emit(new_ops, split)
            operands[index] = source
            absorbed += found.ops
        guard_ops, reader = _output_reader(op)
        out_perm = _rows_kept(reader)
        if out_perm is not None:
            outer = op.perm("output_perm")  # transpose(transpose(O, outer), perm)
            perms["output_perm"] = out_perm if outer is None else tuple(outer[i] for i in out_perm)
        if not perms:
            return
        props = {n: a for n, a in op.properties.items() if n not in ("fused_from", *perms)}
        props |= {n: DenseArrayBase.from_list(i64, list(p))
                  for n, p in perms.items() if list(p) != sorted(p)}  # fmt: skip
        props["key_transposed"] = IntegerAttr.from_bool(key_transposed)
        fused_from = [n for o in absorbed for n in provenance(o)] + op.fused_names
        if out_perm is not None:
            fused_from += provenance(reader)
        fused = k.AttentionKernelOp(*operands, fused_from=fused_from, **props)
        fused.output.name_hint = (reader if out_perm is not None else op).results[0].name_hint
        if out_perm is None:
            rewriter.replace(op, [*new_ops, fused], [fused.output])
        else:  # the reader's result is the new kernel's (through the guard, if one was)
            after, result = guard(fused.output) if guard_ops else ([], fused.output)
            rewriter.insert([*new_ops, fused, *after], InsertPoint.before(op))
            rewriter.replace(reader, [], [result])
            for dead in [*guard_ops, op]:
                rewriter.erase(dead)
        for producer in absorbed:
            rewriter.erase(producer)


class RopeBelowTranspose(RewritePattern):
    """rope(transpose(u, perm), cos, sin) -> transpose(rope(u, cos', sin'), perm) for a perm
    that keeps the last axis last, when the rope feeds an attention: a rotation along the
    last axis commutes with such a transpose (the tables transposed back by perm's inverse:
    a constant's folded, another's only when that is a view), and below it the transpose
    meets the attention, whose layouts take it (LLaMA's query and key: head split, then
    RoPE)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ge.RopeOp, rewriter: PatternRewriter, /) -> None:
        producer = op.input.owner
        perm = _rows_kept(producer)
        if perm is None or only_user(op.input) is not op:
            return
        if not _feeds_attention(op.output):
            return
        inverse = [perm.index(i) for i in range(len(perm))]
        new_ops: list[Operation] = []
        tables = [_transposed_table(v, inverse, new_ops) for v in (op.cos, op.sin)]
        if None in tables:
            return
        partial = {} if op.rotary_dim is None else {"rotary_dim": op.rotary_dim}
        rope = ge.RopeOp(producer.operands[0], *tables, **partial)
        moved = ge.TransposeOp(rope.output, perm=list(perm))
        rewriter.replace(op, [*new_ops, rope, moved])
        rewriter.erase(producer)


def _feeds_attention(value: SSAValue) -> bool:
    """Whether an attention alone reads `value`, directly or through a reshape that only
    splits lead axes (a grouped attention's)."""
    reader = only_user(value)
    if isinstance(reader, RESHAPES):
        shape, out = shape_of(value.type), shape_of(reader.results[0].type)
        if split_groups(shape, out) is None or out[-1:] != shape[-1:]:
            return False
        reader = only_user(reader.results[0])
    return isinstance(reader, k.AttentionKernelOp)


def _transposed_table(
    value: SSAValue, inverse: list[int], new_ops: list[Operation]
) -> SSAValue | None:
    """A rope table of x's transpose, as the table of x: padded to x's rank and transposed by
    `inverse`. A constant is transposed now; a runtime table only if that moves its unit
    axes alone (LLaMA's (1, 1, S, D) -> (1, S, 1, D): a view), else None."""
    rank = len(inverse)
    shape = shape_of(value.type)
    padded = [1] * (rank - len(shape)) + list(shape)
    array = constant_array(value)
    if array is not None:
        table = ConstantOp(np.ascontiguousarray(array.reshape(padded).transpose(inverse)))
        new_ops.append(table)
        return table.output
    kept = [axis for axis in inverse if padded[axis] != 1]
    if kept != sorted(kept):
        return None
    return _emit(new_ops, ge.ReshapeOp(value, shape=[padded[axis] for axis in inverse]))


def _emit(new_ops: list[Operation], op: Operation) -> SSAValue:
    new_ops.append(op)
    return op.results[0]


def _key_layout(perm: tuple[int, ...], transposed: bool) -> tuple[tuple[int, ...], bool]:
    """(key_perm, key_transposed) for a key read through transpose(x, perm): K' = x with
    (.., d, Sk) laid out as (.., Sk, d) rows (perm moves the last axis to the last but one)
    becomes K = transpose(x, perm with its last two swapped), read as rows."""
    if transposed or len(perm) < 2 or perm[-2] != len(perm) - 1:
        return perm, transposed
    return (*perm[:-2], perm[-1], perm[-2]), True


def _output_reader(op: k.AttentionKernelOp) -> tuple[list[Operation], Operation | None]:
    """(the NaN guard's ops, the op reading the result): the result's only reader, or the
    only reader of the NaN guard `fuse-attention` put after the kernel (elementwise, so it
    commutes with a transpose: the guard then follows the kernel's new layout)."""
    reader = only_user(op.output)
    if reader is not None:
        return [], reader
    where = next((u.operation for u in op.output.uses if isinstance(u.operation, ge.WhereOp)), None)
    found = nan_guarded(where)
    if found is None or found[0] is not op.output:
        return [], None
    return found[1], only_user(where.output)


@dataclass(frozen=True)
class FuseAttentionLayout(ModulePass):
    """Absorb the head split / merge transposes around kernel.attention into its layouts."""

    name = "fuse-attention-layout"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        rewrite_module(op, RopeBelowTranspose(), AttentionLayout())
