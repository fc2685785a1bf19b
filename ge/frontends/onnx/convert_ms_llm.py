"""onnxruntime's decoder-LLM contrib ops (onnxruntime-genai and Olive exports):
com.microsoft.RotaryEmbedding and GroupQueryAttention, composed from `ge` ops.

RotaryEmbedding rotates the first `rotary_embedding_dim` features of each head by the
angles `cos_cache` / `sin_cache` hold for each token's position (halves or interleaved
pairs). GroupQueryAttention is causal attention whose key/value heads serve
num_heads / kv_num_heads query heads each: it appends this step's keys and values to the
past ones (the present outputs, onnxruntime's separate-buffer form), optionally rotates query
and key first (`do_rotary`), and masks each query to the keys at or before its position and
within its row's length (`seqlens_k` + 1). A prompt (no past) has positions 0..S-1 in every
row, a right-padded row's padding masked by its length (its padded query rows are not
onnxruntime's, which leaves them unspecified); after a past, positions are
seqlens_k + 1 - S + i, onnxruntime's for rows of equal length (for a decode batch of
unequal lengths onnxruntime writes each row's keys at its own length in a shared buffer, a
form not taken here: the keys are appended after the whole past). local_window_size, softcap,
smooth softmax and packed QKV are refused naming the attribute or input.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from xdsl.dialects.builtin import i64
from xdsl.ir import SSAValue

from ge.frontends.onnx.context import Node
from ge.frontends.onnx.convert_math import scalar
from gedialects.ge import ops

Converter = Callable[[Node], SSAValue | Sequence[SSAValue]]


def _slice(n: Node, x: SSAValue, axis: int, start: int, end: int, step: int = 1) -> SSAValue:
    rank = len(n.shape_of(x))
    return n.emit(ops.SliceOp(x, starts=[start], ends=[end], axes=[axis % rank], steps=[step]))


def rotate(n: Node, x: SSAValue, cos: SSAValue, sin: SSAValue, interleaved: bool) -> SSAValue:
    """x (..., S, D) with its first 2R features rotated by cos/sin (..., S, R), broadcast:
    the rotate-half form is one `ge.rope` (R < D/2: its rotary_dim), the interleaved one
    written out."""
    depth = n.shape_of(x)[-1]
    half = n.shape_of(cos)[-1]
    rotary = 2 * half
    if not interleaved:  # the rotate-half form: one ge.rope, its tables the halves twice
        last = len(n.shape_of(cos)) - 1
        cos, sin = (n.emit(ops.ConcatOp(t, t, axis=last)) for t in (cos, sin))
        partial = {"rotary_dim": rotary} if rotary < depth else {}
        return n.emit(ops.RopeOp(x, cos, sin, **partial))
    # interleaved (GPT-J): pairs (x[2i], x[2i+1]) rotate, written out
    part = _slice(n, x, -1, 0, rotary) if rotary < depth else x
    first, second = _slice(n, part, -1, 0, rotary, 2), _slice(n, part, -1, 1, rotary, 2)
    mul, sub, add = ops.MulOp, ops.SubOp, ops.AddOp
    out1 = n.emit(sub(n.emit(mul(first, cos)), n.emit(mul(second, sin))))
    out2 = n.emit(add(n.emit(mul(second, cos)), n.emit(mul(first, sin))))
    shape = list(n.shape_of(out1))  # (..., R, 2) back to (..., 2R): pairs side by side
    pairs = [n.emit(ops.ReshapeOp(v, shape=[*shape, 1])) for v in (out1, out2)]
    joined = n.emit(ops.ConcatOp(*pairs, axis=len(shape)))
    rotated = n.emit(ops.ReshapeOp(joined, shape=[*shape[:-1], rotary]))
    if rotary == depth:
        return rotated
    rest = _slice(n, x, -1, rotary, depth)
    return n.emit(ops.ConcatOp(rotated, rest, axis=len(n.shape_of(x)) - 1))


def _angles(n: Node, positions: SSAValue, cos_index: int, sin_index: int, rotary: int | None):
    """cos, sin caches gathered at `positions` (B, S) -> (B, 1, S, R), R cut to rotary / 2."""
    tables = []
    for index in (cos_index, sin_index):
        table = n.value(index)
        if rotary is not None and rotary // 2 < n.shape_of(table)[-1]:
            table = _slice(n, table, -1, 0, rotary // 2)
        picked = n.emit(ops.GatherOp(table, positions, axis=0))  # (B, S, R)
        b, s, r = n.shape_of(picked)
        tables.append(n.emit(ops.ReshapeOp(picked, shape=[b, 1, s, r])))
    return tables


def _heads(n: Node, x: SSAValue, heads: int) -> SSAValue:
    """(B, S, heads*D) -> (B, heads, S, D)."""
    b, s, hidden = n.shape_of(x)
    split = n.emit(ops.ReshapeOp(x, shape=[b, s, heads, hidden // heads]))
    return n.emit(ops.TransposeOp(split, perm=[0, 2, 1, 3]))


def rotary_embedding(n: Node) -> SSAValue:
    """com.microsoft.RotaryEmbedding on (B, S, N*H) or (B, N, S, H) input."""
    if int(n.attr("is_packed_batching", 0)):
        raise n.unsupported("is_packed_batching is not supported")
    x = n.value(0)
    shape = n.shape_of(x)
    if len(shape) == 3:
        heads = int(n.attr("num_heads", 0))
        if heads <= 0:
            rotary = int(n.attr("rotary_embedding_dim", 0)) or 2 * n.shape(2)[-1]
            heads = shape[2] // rotary if rotary else 1
        x = _heads(n, x, heads)
    b, _, s, _ = n.shape_of(x)
    positions = n.value(1)
    if len(n.shape(1)) != 2:  # one offset for every row: offset + 0..S-1
        offset = n.emit(ops.ReshapeOp(n.emit(ops.CastOp(positions, to=i64)), shape=[1, 1]))
        steps = n.constant(np.arange(s, dtype=np.int64).reshape(1, s))
        positions = n.emit(ops.ExpandOp(n.emit(ops.AddOp(offset, steps)), shape=[b, s]))
    rotary = int(n.attr("rotary_embedding_dim", 0)) or None
    cos, sin = _angles(n, positions, 2, 3, rotary)
    y = rotate(n, x, cos, sin, bool(n.attr("interleaved", 0)))
    if len(shape) == 3:
        y = n.emit(ops.ReshapeOp(n.emit(ops.TransposeOp(y, perm=[0, 2, 1, 3])), shape=shape))
    return y


def group_query_attention(n: Node) -> list[SSAValue]:
    """com.microsoft.GroupQueryAttention: (output, present_key, present_value)."""
    for attr, neutral in (("local_window_size", -1), ("softcap", 0.0), ("smooth_softmax", 0)):
        if n.attr(attr, neutral) not in (neutral, None):
            raise n.unsupported(f"attribute '{attr}' is not supported")
    if not (n.has(1) and n.has(2)):
        raise n.unsupported("packed QKV (no key/value inputs) is not supported")
    for index, what in ((9, "position_ids"), (10, "attention_bias"), (11, "head_sink")):
        if n.has(index):
            raise n.unsupported(f"input '{what}' is not supported")
    heads, kv_heads = int(n.attr("num_heads")), int(n.attr("kv_num_heads"))
    q, k = _heads(n, n.value(0), heads), _heads(n, n.value(1), kv_heads)
    v = _heads(n, n.value(2), kv_heads)
    b, _, s, depth = n.shape_of(q)
    lengths = n.emit(ops.ReshapeOp(n.emit(ops.CastOp(n.value(5), to=i64)), shape=[b, 1]))
    steps = n.constant(np.arange(s, dtype=np.int64)[None])
    past = n.shape(3)[2] if n.has(3) else 0
    if past == 0:  # a prompt: positions 0..S-1 in every row, padding masked by its length
        positions = n.emit(ops.ExpandOp(steps, shape=[b, s]))
    else:  # after a past: the row's last position is its length - 1
        first = n.emit(ops.SubOp(lengths, n.constant(np.array([[s - 1]], np.int64))))
        positions = n.emit(ops.AddOp(first, steps))
    if int(n.attr("do_rotary", 0)):
        cos, sin = _angles(n, positions, 7, 8, None)
        interleaved = bool(n.attr("rotary_interleaved", 0))
        q, k = rotate(n, q, cos, sin, interleaved), rotate(n, k, cos, sin, interleaved)
    if n.has(3) and n.shape(3)[2] > 0:
        k = n.emit(ops.ConcatOp(n.value(3), k, axis=2))
        v = n.emit(ops.ConcatOp(n.value(4), v, axis=2))
    present_k, present_v = k, v
    total = n.shape_of(k)[2]
    group = heads // kv_heads
    if group > 1:  # kv head h serves query heads h*group .. h*group+group-1
        k, v = (_repeat_heads(n, t, group) for t in (k, v))
    scale = float(n.attr("scale", 0.0) or 1.0 / math.sqrt(depth))
    scores = n.emit(ops.MatMulOp(q, n.emit(ops.TransposeOp(k, perm=[0, 1, 3, 2]))))
    scores = n.emit(ops.MulOp(scores, scalar(n, scale, scores)))
    keys = n.constant(np.arange(total, dtype=np.int64).reshape(1, 1, total))
    query_pos = n.emit(ops.ReshapeOp(positions, shape=[b, s, 1]))
    allowed = n.emit(ops.LessEqualOp(keys, query_pos))  # (B, S, T): causal, and row length
    allowed = n.emit(ops.LogicalAndOp(allowed, n.emit(ops.LessEqualOp(keys, _rows(n, lengths)))))
    mask = n.emit(ops.ReshapeOp(allowed, shape=[b, 1, s, total]))
    lowest = float(np.finfo(n.dtype_of(scores)).min)
    scores = n.emit(ops.WhereOp(mask, scores, scalar(n, lowest, scores)))
    probs = n.emit(ops.SoftmaxOp(scores, axis=-1))
    context = n.emit(ops.MatMulOp(probs, v))
    merged = n.emit(ops.TransposeOp(context, perm=[0, 2, 1, 3]))
    output = n.emit(ops.ReshapeOp(merged, shape=[b, s, heads * depth]))
    return [output, present_k, present_v]


def _rows(n: Node, lengths: SSAValue) -> SSAValue:
    """seqlens_k (B, 1) as (B, 1, 1): the last key each row may read."""
    b = n.shape_of(lengths)[0]
    return n.emit(ops.ReshapeOp(lengths, shape=[b, 1, 1]))


def _repeat_heads(n: Node, x: SSAValue, group: int) -> SSAValue:
    """(B, Hkv, T, D) -> (B, Hkv*group, T, D), each head repeated `group` times in place."""
    b, heads, t, d = n.shape_of(x)
    wide = n.emit(ops.ReshapeOp(x, shape=[b, heads, 1, t, d]))
    wide = n.emit(ops.ExpandOp(wide, shape=[b, heads, group, t, d]))
    return n.emit(ops.ReshapeOp(wide, shape=[b, heads * group, t, d]))


CONVERTERS: dict[str, Converter] = {
    "com.microsoft.RotaryEmbedding": rotary_embedding,
    "com.microsoft.GroupQueryAttention": group_query_attention,
}
