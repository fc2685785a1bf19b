"""Planted patterns for the fusion passes: conv / matmul chains, softmax, attention blocks.

Each planter builds the pattern a fusion pass looks for, with random variations (bias or
none, grouped convs, BN, per-channel factors, activations, residuals, masks, dropout
modes) and, sometimes, a second user of an intermediate value, which must block the
fusion of that value (the pass must never drop work another consumer needs).
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from planted import float_value, planted_programs

from ge.testing.program_builder import ProgramBuilder, Value
from ge.testing.strategies import smooth_ops
from gedialects.ge import ops
from gedialects.ge.types import shape_of
from gedialects.kernel.ops import inverse, permuted

BOUND = 1e3
ACTIVATIONS = (
    lambda v: ops.ReluOp(v),
    lambda v: ops.ClipOp(v, min=0.0, max=6.0),
    lambda v: ops.SigmoidOp(v),
    lambda v: ops.HardSwishOp(v),
    lambda v: ops.GeluOp(v),
    lambda v: ops.LeakyReluOp(v, alpha=0.1),
    lambda v: ops.TanhOp(v),
    lambda v: ops.SiluOp(v),
)
TOLERANCE = {"rtol": 1e-4, "atol": 1e-3}
"""Fusion reassociates (BN into weights, scale into alpha): f32 rounding on values ~1e3."""


def emit(b: ProgramBuilder, op) -> Value:
    return b.emit(op, -BOUND, BOUND)[0]


def maybe(b: ProgramBuilder, odds: int = 2) -> bool:
    return b.draw(st.integers(0, odds - 1)) == 0


def second_user(b: ProgramBuilder, v: Value, extra: list[Value]) -> None:
    """Sometimes give `v` a second user, which keeps it from being fused away."""
    if maybe(b, 5):
        extra.append(emit(b, ops.NegOp(v.ssa)))


def activation(b: ProgramBuilder, v: Value) -> Value:
    return emit(b, b.draw(st.sampled_from(ACTIVATIONS))(v.ssa))


def plant_conv_chain(b: ProgramBuilder) -> list[Value]:
    """conv [-> bn] [-> per-channel add/mul] [-> act] [-> + residual [-> act]]."""
    x = float_value(b, 4, 4, limit=10.0)
    n, c, h, w = x.shape
    groups = b.draw(st.sampled_from([g for g in (1, 2, c) if c % g == 0]))
    out = b.draw(st.integers(1, 2)) * groups
    k = b.draw(st.integers(1, min(3, h, w)))
    pad = (k - 1) // 2 if maybe(b) else 0
    bias = b.constant((out,), x.dtype).ssa if maybe(b) else None
    weight = b.constant((out, c // groups, k, k), x.dtype)
    y = emit(b, ops.Conv2DOp(x.ssa, weight.ssa, bias, groups=groups, pads=[pad] * 4))
    extra: list[Value] = []
    if maybe(b):
        params = [b.constant((out,), x.dtype, positive=i == 3).ssa for i in range(4)]
        second_user(b, y, extra)
        y = emit(b, ops.BatchNormOp(y.ssa, *params, epsilon=1e-3))
    if maybe(b, 3):
        shape = b.draw(st.sampled_from([(out, 1, 1), (1, out, 1, 1), (1,), y.shape[1:]]))
        factor = b.constant(shape, x.dtype)
        cls = b.draw(st.sampled_from([ops.AddOp, ops.MulOp]))
        y = emit(b, cls(y.ssa, factor.ssa) if maybe(b) else cls(factor.ssa, y.ssa))
    if maybe(b):
        second_user(b, y, extra)
        y = activation(b, y)
    if maybe(b):
        residual = b.pick(lambda v: v.shape == y.shape and v.dtype == y.dtype and v is not y)
        residual = residual or b.argument(y.shape, y.dtype)
        second_user(b, y, extra)
        y = emit(b, ops.AddOp(y.ssa, residual.ssa) if maybe(b) else ops.AddOp(residual.ssa, y.ssa))
        if maybe(b):
            y = activation(b, y)
    return [y, *extra]


def plant_conv_transpose_chain(b: ProgramBuilder) -> list[Value]:
    """conv_transpose [-> act]: a strided, padded, grouped upsampling and its activation."""
    x = float_value(b, 4, 4, limit=10.0)
    n, c, h, w = x.shape
    groups = b.draw(st.sampled_from([g for g in (1, 2, c) if c % g == 0]))
    out = b.draw(st.integers(1, 2))
    k, stride = b.draw(st.integers(1, 3)), b.draw(st.integers(1, 3))
    pad = b.draw(st.integers(0, min(k - 1, (stride * (min(h, w) - 1) + k - 1) // 2)))
    bias = b.constant((out * groups,), x.dtype).ssa if maybe(b) else None
    weight = b.constant((c, out, k, k), x.dtype)
    y = emit(b, ops.ConvTranspose2DOp(
        x.ssa, weight.ssa, bias, groups=groups, strides=[stride] * 2, pads=[pad] * 4
    ))  # fmt: skip
    extra: list[Value] = []
    if not maybe(b, 4):
        second_user(b, y, extra)
        y = activation(b, y)
    return [y, *extra]


def plant_matmul_chain(b: ProgramBuilder) -> list[Value]:
    """[transpose ->] matmul [-> * or / scalar] [-> + bias] [-> act] [-> [reshape ->] +
    residual]."""
    x = float_value(b, 2, 3, limit=10.0)
    m = b.draw(st.integers(1, 4))
    extra: list[Value] = []
    if maybe(b):
        wt = b.constant((*x.shape[:-2], m, x.shape[-1]), x.dtype)
        perm = [*range(len(wt.shape) - 2), len(wt.shape) - 1, len(wt.shape) - 2]
        rhs = emit(b, ops.TransposeOp(wt.ssa, perm=perm))
        second_user(b, rhs, extra)
    else:
        rhs = b.constant((x.shape[-1], m), x.dtype)
    y = emit(b, ops.MatMulOp(x.ssa, rhs.ssa))
    if maybe(b):
        c = b.scalar(b.draw(st.sampled_from([0.125, 0.5, 2.0, 8.0])), x.dtype)
        second_user(b, y, extra)
        y = emit(b, b.draw(st.sampled_from([ops.MulOp, ops.DivOp]))(y.ssa, c.ssa))
    if maybe(b):
        shape = b.draw(st.sampled_from([(m,), (1, m), y.shape, (y.shape[-2], 1)]))
        second_user(b, y, extra)
        y = emit(b, ops.AddOp(y.ssa, b.constant(shape, x.dtype).ssa))
    if maybe(b):
        y = activation(b, y)
    if maybe(b):
        if maybe(b, 3):  # viewed first, as torch's MultiheadAttention projects (L N, E) rows
            second_user(b, y, extra)
            y = emit(b, ops.ReshapeOp(y.ssa, shape=[1, *y.shape]))
        residual = b.pick(lambda v: v.shape == y.shape and v.dtype == y.dtype and v is not y)
        residual = residual or b.argument(y.shape, y.dtype)
        second_user(b, y, extra)
        y = emit(b, ops.AddOp(y.ssa, residual.ssa) if maybe(b) else ops.AddOp(residual.ssa, y.ssa))
    return [y, *extra]


def plant_gated_matmul(b: ProgramBuilder) -> list[Value]:
    """A gated linear unit, act(x Wg [+ bg]) * (x Wu [+ bu]) in either operand order, or a
    matmul times a broadcast factor (a layer scale) or another same-shaped value
    [-> + residual]."""
    x = float_value(b, 2, 3, limit=10.0)
    n = b.draw(st.integers(1, 4))
    extra: list[Value] = []

    def projection(activated: bool) -> Value:
        y = emit(b, ops.MatMulOp(x.ssa, b.constant((x.shape[-1], n), x.dtype).ssa))
        if maybe(b):
            second_user(b, y, extra)
            y = emit(b, ops.AddOp(y.ssa, b.constant((n,), x.dtype).ssa))
        if activated:
            second_user(b, y, extra)
            y = activation(b, y)
        return y

    kind = b.draw(st.sampled_from(["glu", "split", "scale", "value"]))
    if kind == "split":  # both halves of one projection, cut by slices or a split
        n = 2 * b.draw(st.integers(1, 3))  # the projection's width, both halves
        whole = projection(False)
        if maybe(b):
            halves = [emit(b, ops.SliceOp(whole.ssa, starts=[s], ends=[s + n // 2], axes=[-1],
                                          steps=[1])) for s in (0, n // 2)]  # fmt: skip
        else:
            split = ops.SplitOp(whole.ssa, axis=len(whole.shape) - 1, sizes=[n // 2, n // 2])
            halves = b.emit(split, -BOUND, BOUND)
        y, other = (activation(b, v) if maybe(b) else v for v in halves)
        if maybe(b):
            y, other = other, y
        second_user(b, other, extra)
        y = emit(b, ops.MulOp(y.ssa, other.ssa))
        return [y, *extra]
    y = projection(maybe(b))
    if kind == "glu":
        other = projection(maybe(b))
    elif kind == "scale":
        shape = b.draw(st.sampled_from([(n,), (1, n), (), (y.shape[-2], 1), y.shape]))
        other = b.constant(shape, x.dtype)
    else:
        other = b.pick(lambda v: v.shape == y.shape and v.dtype == y.dtype and v is not y)
        other = other or b.argument(y.shape, y.dtype)
    second_user(b, y, extra)
    y = emit(b, ops.MulOp(y.ssa, other.ssa) if maybe(b) else ops.MulOp(other.ssa, y.ssa))
    if maybe(b):
        residual = b.pick(lambda v: v.shape == y.shape and v.dtype == y.dtype and v is not y)
        residual = residual or b.argument(y.shape, y.dtype)
        y = emit(b, ops.AddOp(y.ssa, residual.ssa))
    return [y, *extra]


def plant_transposed_product(b: ProgramBuilder) -> list[Value]:
    """x W [+ bias] [-> act] [-> * m] -> transpose of the last two, or the rows split by a
    view and the columns moved before them [-> view -> + r]: the VAE attention's (and
    SDXL's) output projection viewed back as an image."""
    x = float_value(b, 2, 3, limit=10.0)
    n = b.draw(st.integers(1, 4))
    extra: list[Value] = []
    if maybe(b):  # W given as Wᵀ and transposed back (a kernel with transpose_b)
        wt = b.constant((n, x.shape[-1]), x.dtype)
        rhs = emit(b, ops.TransposeOp(wt.ssa, perm=[1, 0]))
    else:
        rhs = b.constant((x.shape[-1], n), x.dtype)
    y = emit(b, ops.MatMulOp(x.ssa, rhs.ssa))
    if maybe(b):
        shape = b.draw(st.sampled_from([(n,), (1, n), (y.shape[-2], 1)]))
        y = emit(b, ops.AddOp(y.ssa, b.constant(shape, x.dtype).ssa))
    if maybe(b):
        y = activation(b, y)
    if maybe(b, 4):  # a multiplier does not commute with the transpose
        y = emit(b, ops.MulOp(y.ssa, b.argument(y.shape, y.dtype).ssa))
    second_user(b, y, extra)
    lead, (m, n) = list(y.shape[:-2]), y.shape[-2:]
    if m % 2 == 0 and maybe(b):  # the rows viewed as (2, m / 2) first, then permuted (SDXL)
        y = emit(b, ops.ReshapeOp(y.ssa, shape=[*lead, 2, m // 2, n]))
        rank = len(lead)
        y = emit(b, ops.TransposeOp(y.ssa, perm=[*range(rank), rank + 2, rank, rank + 1]))
    else:
        perm = [*range(len(y.shape) - 2), len(y.shape) - 1, len(y.shape) - 2]
        y = emit(b, ops.TransposeOp(y.ssa, perm=perm))
    if maybe(b):
        y = emit(b, ops.ReshapeOp(y.ssa, shape=[1, *y.shape]))
        residual = b.argument(y.shape, y.dtype)
        y = emit(b, ops.AddOp(y.ssa, residual.ssa))
    return [y, *extra]


def _softmax(b: ProgramBuilder, s: Value, extra: list[Value], axis: int = -1) -> Value:
    p = emit(b, ops.SoftmaxOp(s.ssa, axis=axis))
    if maybe(b):
        second_user(b, p, extra)
        training = maybe(b, 3)
        p = emit(b, ops.DropoutOp(p.ssa, ratio=0.25, is_training=training, seed=7))
    return p


def plant_softmax(b: ProgramBuilder) -> list[Value]:
    """[x * c ->] softmax [-> dropout (inference or training)]."""
    x = float_value(b, 1, 4, limit=10.0)
    extra: list[Value] = []
    if maybe(b):
        c = b.scalar(b.draw(st.sampled_from([0.25, 0.5, 2.0])), x.dtype)
        x = emit(b, ops.MulOp(x.ssa, c.ssa))
        second_user(b, x, extra)
    axis = b.draw(st.integers(-len(x.shape), len(x.shape) - 1))
    return [_softmax(b, x, extra, axis), *extra]


def plant_attention(b: ProgramBuilder) -> list[Value]:
    """softmax(Q @ transpose(K) * c [+ mask]) [-> dropout] @ V."""
    batch, seq, dim = (b.draw(st.integers(1, 3)) for _ in range(3))
    dtype = np.dtype(np.float32)
    q, key, v = (b.argument((batch, seq, dim), dtype) for _ in range(3))
    extra: list[Value] = []
    kt = emit(b, ops.TransposeOp(key.ssa, perm=[0, 2, 1]))
    s = emit(b, ops.MatMulOp(q.ssa, kt.ssa))
    second_user(b, s, extra)
    if not maybe(b, 4):
        c = b.scalar(float(1 / np.sqrt(dim)), dtype)
        s = emit(b, b.draw(st.sampled_from([ops.MulOp, ops.DivOp]))(s.ssa, c.ssa))
    if maybe(b):
        mask_shape = b.draw(st.sampled_from([(seq,), (1, seq), (seq, seq), (batch, seq, seq)]))
        s = emit(b, ops.AddOp(s.ssa, b.constant(mask_shape, dtype).ssa))
    p = _softmax(b, s, extra)
    return [emit(b, ops.MatMulOp(p.ssa, v.ssa)), *extra]


def _rows_perm(b: ProgramBuilder, rank: int) -> list[int]:
    return [*b.draw(st.permutations(range(rank - 1))), rank - 1]


def _relaid(b: ProgramBuilder, logical: tuple[int, ...], extra: list[Value]) -> Value:
    """An argument brought to `logical` by one or two transposes keeping the last axis."""
    perms = [_rows_perm(b, len(logical)) for _ in range(b.draw(st.integers(1, 2)))]
    shape = tuple(logical)
    for perm in reversed(perms):  # the argument's shape, undoing each transpose
        shape = permuted(shape, inverse(perm))
    x = b.argument(shape, np.dtype(np.float32))
    for perm in perms:
        x = emit(b, ops.TransposeOp(x.ssa, perm=perm))
        second_user(b, x, extra)
    return x


def plant_head_attention(b: ProgramBuilder) -> list[Value]:
    """Attention over heads: Q (maybe rotated by a rope) and V through transposes from other
    layouts (B, S, H, d) and the like, the key through (0, 2, 3, 1) (maybe read by another
    op too) or K from
    another layout through the swap of its last two axes, the result maybe transposed back;
    maybe in torch's SDPA form (Q and K' scaled, a NaN guard after the softmax)."""
    batch, heads, seq, dim = (b.draw(st.integers(1, 3)) for _ in range(4))
    dtype = np.dtype(np.float32)
    extra: list[Value] = []
    logical = (batch, heads, seq, dim)
    q = _relaid(b, logical, extra)
    if dim % 2 == 0 and maybe(b, 3):  # LLaMA: the query rotated after its head split
        tables = [b.constant(b.draw(st.sampled_from([(1, 1, seq, dim), (seq, dim)])), dtype)
                  for _ in range(2)]  # fmt: skip
        if maybe(b):
            tables[1] = b.argument((1, 1, seq, dim), dtype)
        q = emit(b, ops.RopeOp(q.ssa, tables[0].ssa, tables[1].ssa))
    if maybe(b):
        key = b.argument((batch, seq, heads, dim), dtype)
        kt = emit(b, ops.TransposeOp(key.ssa, perm=[0, 2, 3, 1]))
        second_user(b, kt, extra)
    else:
        kt = emit(b, ops.TransposeOp(_relaid(b, logical, extra).ssa, perm=[0, 1, 3, 2]))
    v = _relaid(b, logical, extra) if maybe(b) else b.argument(logical, dtype)
    if maybe(b):  # torch's SDPA export: sqrt(scale) on Q and on K'
        root = b.scalar(float(dim**-0.25), dtype).ssa
        q, kt = (emit(b, ops.MulOp(x.ssa, root)) for x in (q, kt))
        s = emit(b, ops.MatMulOp(q.ssa, kt.ssa))
    else:
        s = emit(b, ops.MatMulOp(q.ssa, kt.ssa))
        s = emit(b, ops.MulOp(s.ssa, b.scalar(float(1 / np.sqrt(dim)), dtype).ssa))
    if maybe(b):
        s = emit(b, ops.AddOp(s.ssa, b.constant((seq, seq), dtype).ssa))
    p = _softmax(b, s, extra)
    if maybe(b):  # and its NaN guard, where(isnan(P), 0, P)
        nan = emit(b, ops.LogicalNotOp(emit(b, ops.EqualOp(p.ssa, p.ssa)).ssa))
        p = emit(b, ops.WhereOp(nan.ssa, b.scalar(0.0, dtype).ssa, p.ssa))
    o = emit(b, ops.MatMulOp(p.ssa, v.ssa))
    for _ in range(b.draw(st.integers(0, 2))):
        second_user(b, o, extra)
        o = emit(b, ops.TransposeOp(o.ssa, perm=_rows_perm(b, 4)))
    return [o, *extra]


def _repeated(b: ProgramBuilder, x: Value, groups: int, first: bool, extra: list[Value]) -> Value:
    """HF's repeat_kv of (B, Hkv, S, d): unsqueeze, expand the group, merge into the heads;
    or with `first`, `repeat(1, g, 1, 1)` (heads as (group, KV head)). Sometimes read by
    another op."""
    batch, kv, seq, dim = shape_of(x.ssa.type)
    unit = (batch, 1, kv, seq, dim) if first else (batch, kv, 1, seq, dim)
    wide = (batch, groups, kv, seq, dim) if first else (batch, kv, groups, seq, dim)
    if first and maybe(b, 3):  # ONNX Tile as imported: a unit axis before every axis
        unit = (1, batch, 1, kv, 1, seq, 1, dim)
        wide = (1, batch, groups, kv, 1, seq, 1, dim)
    u = emit(b, ops.ReshapeOp(x.ssa, shape=list(unit)))
    e = emit(b, ops.ExpandOp(u.ssa, shape=list(wide)))
    second_user(b, e, extra)
    return emit(b, ops.ReshapeOp(e.ssa, shape=[batch, kv * groups, seq, dim]))


def plant_grouped_attention(b: ProgramBuilder) -> list[Value]:
    """Grouped-query (or multi-query) attention: Q of H = Hkv * g heads, K and V of Hkv heads
    repeated over the group (maybe K rotated first, maybe from the (B, S, Hkv, d) layout),
    a causal-style mask of the scores' rows, a padding mask, or none; one query row at
    times (a decoding step); the result maybe merged back to (B, S, H, d)."""
    batch, kv, groups = (b.draw(st.integers(low, high)) for low, high in ((1, 2), (1, 2), (2, 3)))
    seq = 1 if maybe(b, 3) else b.draw(st.integers(1, 4))
    kv_seq, dim = b.draw(st.integers(1, 5)), 2 * b.draw(st.integers(1, 3))
    heads, dtype = kv * groups, np.dtype(np.float32)
    extra: list[Value] = []
    q = _relaid(b, (batch, heads, seq, dim), extra) if maybe(b) else b.argument(
        (batch, heads, seq, dim), dtype
    )
    kv_values = []
    for _ in range(2):
        if maybe(b):  # the (B, S, Hkv, d) projection's head split
            x = b.argument((batch, kv_seq, kv, dim), dtype)
            x = emit(b, ops.TransposeOp(x.ssa, perm=[0, 2, 1, 3]))
        else:
            x = b.argument((batch, kv, kv_seq, dim), dtype)
        kv_values.append(x)
    if maybe(b):  # LLaMA: K rotated after its head split, before the repeat
        tables = [b.constant((1, 1, kv_seq, dim), dtype) for _ in range(2)]
        kv_values[0] = emit(b, ops.RopeOp(kv_values[0].ssa, tables[0].ssa, tables[1].ssa))
    repeat = [kv != 1 or not maybe(b, 4) for _ in kv_values]  # one KV head also broadcasts
    repeat[0] = repeat[0] or not repeat[1]
    first = maybe(b, 3)  # the group axis before the KV heads (torch's repeat / Tile order)
    k, v = (_repeated(b, x, groups, first, extra) if r else x for x, r in zip(kv_values, repeat))
    kt = emit(b, ops.TransposeOp(k.ssa, perm=[0, 1, 3, 2]))
    s = emit(b, ops.MatMulOp(q.ssa, kt.ssa))
    s = emit(b, ops.MulOp(s.ssa, b.scalar(float(1 / np.sqrt(dim)), dtype).ssa))
    scores = (batch, heads, seq, kv_seq)
    mask = b.draw(st.sampled_from([None, scores[2:], (batch, 1, 1, kv_seq), scores]))
    if mask is not None:
        s = emit(b, ops.AddOp(s.ssa, b.constant(mask, dtype).ssa))
    p = emit(b, ops.SoftmaxOp(s.ssa, axis=-1))
    o = emit(b, ops.MatMulOp(p.ssa, v.ssa))
    if maybe(b):
        o = emit(b, ops.TransposeOp(o.ssa, perm=[0, 2, 1, 3]))
    return [o, *extra]


def plant_parallel_matmuls(b: ProgramBuilder) -> list[Value]:
    """Two to four matmuls of one input by constant weights (some as (N, K) through a
    transpose: Gemm's transB), with constant biases (some may lack one) or none, the same
    activation or none; sometimes one weight read by another op too, or one matmul with
    its own activation (those must stay apart)."""
    lead = tuple(b.draw(st.lists(st.integers(1, 2), max_size=1)))
    m, k = b.draw(st.integers(1, 4)), b.draw(st.integers(1, 5))
    dtype = np.dtype(np.float32)
    x = b.argument((*lead, m, k), dtype)
    biased, act = maybe(b), b.draw(st.sampled_from([None, *ACTIVATIONS[:3]]))
    outputs: list[Value] = []
    for _ in range(b.draw(st.integers(2, 4))):
        n = b.draw(st.integers(1, 5))
        if maybe(b):
            weight = b.constant((n, k), dtype)
            second_user(b, weight, outputs)
            rhs = emit(b, ops.TransposeOp(weight.ssa, perm=[1, 0]))
        else:
            rhs = b.constant((k, n), dtype)
            second_user(b, rhs, outputs)
        y = emit(b, ops.MatMulOp(x.ssa, rhs.ssa))
        if biased and not maybe(b, 4):  # sometimes one without (Whisper's K)
            y = emit(b, ops.AddOp(y.ssa, b.constant((n,), dtype).ssa))
        own = act if not maybe(b, 5) else ACTIVATIONS[3]
        outputs.append(y if own is None else emit(b, own(y.ssa)))
    return outputs


def plant_parallel_convs(b: ProgramBuilder) -> list[Value]:
    """Two or three convs of one input (a batch of one, or two: then they stay apart) with
    one geometry, each with its own output channels, constant weights (sometimes read by
    another op too), biases (all or none), batch norms (all or none) and one activation."""
    batch, c = b.draw(st.sampled_from([1, 1, 1, 2])), b.draw(st.integers(1, 3))
    h, w = b.draw(st.integers(1, 5)), b.draw(st.integers(1, 5))
    dtype = np.dtype(np.float32)
    x = b.argument((batch, c, h, w), dtype)
    k = b.draw(st.integers(1, min(3, h, w)))
    pad, stride = (k - 1) // 2 if maybe(b) else 0, b.draw(st.integers(1, 2))
    biased, normed = maybe(b), maybe(b)
    act = b.draw(st.sampled_from([None, *ACTIVATIONS[:3]]))
    outputs: list[Value] = []
    for _ in range(b.draw(st.integers(2, 3))):
        out = b.draw(st.integers(1, 4))
        weight = b.constant((out, c, k, k), dtype)
        second_user(b, weight, outputs)
        bias = b.constant((out,), dtype).ssa if biased and not maybe(b, 4) else None
        y = emit(b, ops.Conv2DOp(x.ssa, weight.ssa, bias, pads=[pad] * 4, strides=[stride] * 2))
        if normed:
            params = [b.constant((out,), dtype, positive=i == 3).ssa for i in range(4)]
            y = emit(b, ops.BatchNormOp(y.ssa, *params, epsilon=1e-3))
        outputs.append(y if act is None else emit(b, act(y.ssa)))
    return outputs


def plant_group_norm_activation(b: ProgramBuilder) -> list[Value]:
    """group_norm or instance_norm [-> view] [-> act], the norm sometimes read by a second
    user too."""
    x = float_value(b, 3, 4, limit=10.0)
    channels = x.shape[1]
    groups = b.draw(st.sampled_from([g for g in range(1, channels + 1) if channels % g == 0]))
    scale, bias = (b.constant((channels,), x.dtype).ssa for _ in range(2))
    if maybe(b, 3):
        y = emit(b, ops.InstanceNormOp(x.ssa, scale, bias))
    else:
        y = emit(b, ops.GroupNormOp(x.ssa, scale, bias, num_groups=groups))
    extra: list[Value] = []
    if maybe(b, 3):  # a view of the norm, which the activation then reads
        second_user(b, y, extra)
        y = emit(b, ops.ReshapeOp(y.ssa, shape=[x.shape[0], int(np.prod(x.shape[1:]))]))
    if maybe(b, 4):
        second_user(b, y, extra)
        y = activation(b, y)
    return [y, *extra]


def programs(*planters, noise=("unary", "binary")):
    """Planted programs with smooth random ops around the patterns."""
    return planted_programs(planters, ops=smooth_ops(noise), max_noise=2)
