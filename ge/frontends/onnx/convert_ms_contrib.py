"""Converters of the `com.microsoft` float ops that onnxruntime's graph optimizers and its
transformer optimizer write into saved models (FusedConv, FusedMatMul, FusedGemm, Gelu,
FastGelu, BiasGelu, QuickGelu, BiasAdd, SkipLayerNormalization, SimplifiedLayerNormalization,
SkipSimplifiedLayerNormalization, Attention, MultiHeadAttention, EmbedLayerNormalization and
its quantized form),
composed from `ge` ops so that the fusion passes see the same graph as for the plain form.

Semantics follow onnxruntime's contrib op documentation (docs/ContribOperators.md) and are
checked against onnxruntime in `tests/frontends/test_ms_contrib.py`. Keys are
domain-qualified (`com.microsoft.FusedConv`), as the importer looks them up. What a converter
does not take (Attention's past state, key lengths instead of a mask, relative position bias)
is refused naming the input or attribute.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from xdsl.dialects.builtin import f32, i32, i64
from xdsl.ir import SSAValue

from ge.frontends.onnx.context import Node
from ge.frontends.onnx.convert_math import gemm, scalar
from ge.frontends.onnx.convert_nn import conv, layer_norm
from gedialects.ge import ops
from gedialects.ge.types import element_of

Converter = Callable[[Node], SSAValue | Sequence[SSAValue]]


def _activation(n: Node, x: SSAValue, name: str, params: Sequence[float]) -> SSAValue:
    """FusedConv's `activation` with its `activation_params`."""
    if name in ("", "Identity"):
        return x
    if name == "Relu":
        return n.emit(ops.ReluOp(x))
    if name == "Sigmoid":
        return n.emit(ops.SigmoidOp(x))
    if name == "Tanh":
        return n.emit(ops.TanhOp(x))
    if name == "LeakyRelu":
        return n.emit(ops.LeakyReluOp(x, alpha=float(params[0]) if params else 0.01))
    if name == "HardSigmoid":
        alpha, beta = (list(params) + [0.2, 0.5][len(params) :])[:2]
        return n.emit(ops.HardSigmoidOp(x, alpha=float(alpha), beta=float(beta)))
    if name == "Clip":
        low, high = (list(params) + [-math.inf, math.inf][len(params) :])[:2]
        x = n.emit(ops.MaximumOp(x, scalar(n, low, x)))
        return n.emit(ops.MinimumOp(x, scalar(n, high, x)))
    raise n.unsupported(f"activation '{name}' is not supported")


def fused_conv(n: Node) -> SSAValue:
    """Conv(X, W, B), plus Z (input 3) when given, then the activation."""
    y = conv(n)
    if n.has(3):
        y = n.emit(ops.AddOp(y, n.value(3)))
    params = [float(v) for v in (n.attr("activation_params", None) or [])]
    return _activation(n, y, str(n.attr("activation", "")), params)


def fused_gemm(n: Node) -> SSAValue:
    """Gemm, then the activation (ORT's Gemm + activation fusion: BERT's pooler with its
    Tanh); the activation's parameters are `activation_alpha` and `activation_beta`."""
    params = [
        float(v)
        for v in (n.attr("activation_alpha", None), n.attr("activation_beta", None))
        if v is not None
    ]
    return _activation(n, gemm(n), str(n.attr("activation", "")), params)


def _swap_last_two(n: Node, x: SSAValue) -> SSAValue:
    rank = len(n.shape_of(x))
    if rank < 2:
        raise n.unsupported("transposing an operand of rank < 2")
    perm = [*range(rank - 2), rank - 1, rank - 2]
    return n.emit(ops.TransposeOp(x, perm=perm))


def fused_matmul(n: Node) -> SSAValue:
    """alpha * op(A) @ op(B), op transposing the last two axes when transA/transB is set."""
    if n.attr("transBatchA", 0) or n.attr("transBatchB", 0):
        raise n.unsupported("transBatchA/transBatchB are not supported")
    a, b = n.value(0), n.value(1)
    if n.attr("transA", 0):
        a = _swap_last_two(n, a)
    if n.attr("transB", 0):
        b = _swap_last_two(n, b)
    y = n.emit(ops.MatMulOp(a, b))
    alpha = float(n.attr("alpha", 1.0))
    return y if alpha == 1.0 else n.emit(ops.MulOp(y, scalar(n, alpha, y)))


def _with_bias(n: Node) -> SSAValue:
    x = n.value(0)
    return n.emit(ops.AddOp(x, n.value(1))) if n.has(1) else x


def gelu(n: Node) -> SSAValue:
    return n.emit(ops.GeluOp(n.value(0), approximate="none"))


def bias_gelu(n: Node) -> SSAValue:
    return n.emit(ops.GeluOp(_with_bias(n), approximate="none"))


def fast_gelu(n: Node) -> SSAValue:
    return n.emit(ops.GeluOp(_with_bias(n), approximate="tanh"))


def quick_gelu(n: Node) -> SSAValue:
    """x * sigmoid(alpha x): a SiLU with a gain."""
    alpha = float(n.attr("alpha", 1.702))
    return n.emit(ops.SiluOp(n.value(0), alpha=None if alpha == 1.0 else alpha))


def bias_add(n: Node) -> SSAValue:
    """X + bias + skip."""
    return n.emit(ops.AddOp(n.emit(ops.AddOp(n.value(0), n.value(1))), n.value(2)))


def _statistics(n: Node, x: SSAValue, eps: float, centred: bool) -> tuple[SSAValue, SSAValue]:
    """Mean (zero when not `centred`) and 1 / sqrt(var + eps) over the last axis, in f32 and
    kept as size 1: the optional outputs of the norm ops (only built when named)."""
    x32 = n.emit(ops.CastOp(x, to=f32)) if n.dtype_of(x) != np.float32 else x
    axes = [len(n.shape_of(x)) - 1]
    mean = n.emit(ops.ReduceMeanOp(x32, axes=axes, keepdims=True))
    d = n.emit(ops.SubOp(x32, mean)) if centred else x32
    var = n.emit(ops.ReduceMeanOp(n.emit(ops.MulOp(d, d)), axes=axes, keepdims=True))
    eps_value = n.constant(np.asarray(eps, np.float32))
    inv = n.emit(ops.ReciprocalOp(n.emit(ops.SqrtOp(n.emit(ops.AddOp(var, eps_value))))))
    if not centred:
        mean = n.constant(np.zeros(n.shape_of(inv), np.float32))
    return mean, inv


def _norm_outputs(
    n: Node, y: SSAValue, x: SSAValue, eps: float, centred: bool, stats: Sequence[int]
) -> list[SSAValue]:
    """[y, (mean, inv_std_var at the indexes `stats`), x] as the node names them."""
    outputs = [y, x, x, x]
    if any(n.wants(k) for k in stats):
        mean, inv = _statistics(n, x, eps, centred)
        for k, value in zip(stats, (mean, inv) if len(stats) == 2 else (inv,)):
            outputs[k] = value
    return outputs


def _skip_sum(n: Node, bias_index: int) -> SSAValue:
    total = n.emit(ops.AddOp(n.value(0), n.value(1)))
    return n.emit(ops.AddOp(total, n.value(bias_index))) if n.has(bias_index) else total


def skip_layer_norm(n: Node) -> list[SSAValue]:
    """LayerNorm(input + skip + bias) * gamma + beta over the last axis; output 3 is the sum."""
    total = _skip_sum(n, 4)
    eps = float(n.attr("epsilon", 1e-12))
    y = n.emit(ops.LayerNormOp(total, n.value(2), n.optional(3), axis=-1, epsilon=eps))
    return _norm_outputs(n, y, total, eps, True, (1, 2))


def simplified_layer_norm(n: Node) -> list[SSAValue]:
    """RMSNorm: X / sqrt(mean(X^2) + eps) * scale over the axes from `axis`."""
    axis, eps = int(n.attr("axis", -1)), float(n.attr("epsilon", 1e-5))
    if n.wants(1) and axis % n.rank(0) != n.rank(0) - 1:
        raise n.unsupported("inv_std_var over more than the last axis is not supported")
    y = n.emit(ops.RMSNormOp(n.value(0), n.value(1), axis=axis, epsilon=eps))
    return _norm_outputs(n, y, n.value(0), eps, False, (1,))[:2]


def skip_simplified_layer_norm(n: Node) -> list[SSAValue]:
    """RMSNorm(input + skip + bias) * gamma; output 3 is the sum."""
    total = _skip_sum(n, 3)
    eps = float(n.attr("epsilon", 1e-12))
    y = n.emit(ops.RMSNormOp(total, n.value(2), axis=-1, epsilon=eps))
    return _norm_outputs(n, y, total, eps, False, (1, 2))


def _heads(n: Node, x: SSAValue, heads: int) -> SSAValue:
    """(B, S, H) -> (B, heads, S, H / heads)."""
    b, s, h = n.shape_of(x)
    split = n.emit(ops.ReshapeOp(x, shape=[b, s, heads, h // heads]))
    return n.emit(ops.TransposeOp(split, perm=[0, 2, 1, 3]))


def _merge_heads(n: Node, x: SSAValue) -> SSAValue:
    b, heads, s, d = n.shape_of(x)
    merged = n.emit(ops.TransposeOp(x, perm=[0, 2, 1, 3]))
    return n.emit(ops.ReshapeOp(merged, shape=[b, s, heads * d]))


def _mask_bias(
    n: Node, index: int, like: SSAValue, keys: int, filter_value: float
) -> SSAValue | None:
    """The mask input as an additive bias (1 - valid) * filter on (B, 1, S_q | 1, keys):
    a raw 0/1 mask of (B, keys) or (B, S_q, keys), or key lengths (B,) (keys at and past
    the length are padding), or end and start positions (2B,)."""
    if not n.has(index):
        return None
    shape = n.shape(index)
    if len(shape) == 1:
        valid = _valid_keys(n, index, like, keys)
    elif len(shape) in (2, 3):
        valid = n.emit(ops.CastOp(n.value(index), to=element_of(like.type)))
    else:
        raise n.unsupported(f"a mask of shape {list(shape)} is not supported")
    one = scalar(n, 1.0, like)
    bias = n.emit(ops.MulOp(n.emit(ops.SubOp(one, valid)), scalar(n, filter_value, like)))
    shape = n.shape_of(bias)
    target = [shape[0], 1, 1, keys] if len(shape) == 2 else [shape[0], 1, shape[1], keys]
    return n.emit(ops.ReshapeOp(bias, shape=target))


def _valid_keys(n: Node, index: int, like: SSAValue, keys: int) -> SSAValue:
    """(B, keys) 1.0 where a key is within [start, end) of its batch row (mask_index 1-D)."""
    (length,) = n.shape(index)
    batch = n.shape_of(like)[0]
    if length not in (batch, 2 * batch):
        raise n.unsupported(f"a 1-D mask of {length} for a batch of {batch}")
    bounds = n.emit(ops.CastOp(n.value(index), to=i64))
    positions = n.constant(np.arange(keys, dtype=np.int64).reshape(1, keys))
    end = n.emit(ops.ReshapeOp(n.emit(ops.SliceOp(bounds, starts=[0], ends=[batch], axes=[0],
                                                  steps=[1])), shape=[batch, 1]))  # fmt: skip
    valid = n.emit(ops.LessOp(positions, end))
    if length == 2 * batch:
        start = n.emit(ops.SliceOp(bounds, starts=[batch], ends=[2 * batch], axes=[0], steps=[1]))
        start = n.emit(ops.ReshapeOp(start, shape=[batch, 1]))
        valid = n.emit(ops.LogicalAndOp(valid, n.emit(ops.GreaterEqualOp(positions, start))))
    return n.emit(ops.CastOp(valid, to=element_of(like.type)))


def _attend(
    n: Node,
    q: SSAValue,
    k: SSAValue,
    v: SSAValue,
    heads: int,
    scale: float | None,
    bias: SSAValue | None,
    causal: bool,
) -> SSAValue:
    """softmax(Q K^T * scale + bias [+ causal]) V over heads; Q, K, V are (B, S, H*)."""
    qh, kh, vh = _heads(n, q, heads), _heads(n, k, heads), _heads(n, v, heads)
    depth = n.shape_of(qh)[-1]
    scale = 1.0 / math.sqrt(depth) if scale is None else scale
    kt = n.emit(ops.TransposeOp(kh, perm=[0, 1, 3, 2]))
    scores = n.emit(ops.MatMulOp(qh, kt))
    scores = n.emit(ops.MulOp(scores, scalar(n, scale, scores)))
    if bias is not None:
        scores = n.emit(ops.AddOp(scores, bias))
    if causal:
        sq, skv = n.shape_of(scores)[-2:]
        upper = np.triu(np.ones((sq, skv), bool), k=skv - sq + 1)
        dtype = n.dtype_of(scores)
        additive = np.where(upper, np.finfo(dtype).min, 0).astype(dtype)
        scores = n.emit(ops.AddOp(scores, n.constant(additive)))
    probs = n.emit(ops.SoftmaxOp(scores, axis=-1))
    return _merge_heads(n, n.emit(ops.MatMulOp(probs, vh)))


def attention(n: Node) -> SSAValue:
    """com.microsoft.Attention: packed QKV projection of the input, then attention."""
    for index, what in ((4, "past"), (5, "attention_bias"), (6, "past_sequence_length")):
        if n.has(index):
            raise n.unsupported(f"input '{what}' is not supported")
    if n.wants(1):
        raise n.unsupported("output 'present' is not supported")
    qkv = n.emit(ops.MatMulOp(n.value(0), n.value(1)))
    if n.has(2):
        qkv = n.emit(ops.AddOp(qkv, n.value(2)))
    return packed_attention(n, qkv, mask=3)


def packed_attention(n: Node, qkv: SSAValue, mask: int) -> SSAValue:
    """Attention of a packed (B, S, Q + K + V) projection (`qkv_hidden_sizes`, else equal
    thirds) with the node's `mask` input, `num_heads`, `scale`, `unidirectional` and
    `mask_filter_value`: the part Attention and QAttention share."""
    heads = int(n.attr("num_heads"))
    hidden = n.shape_of(qkv)[-1]
    sizes = [int(s) for s in (n.attr("qkv_hidden_sizes", None) or [hidden // 3] * 3)]
    q, k, v = _split(n, qkv, sizes)
    filter_value = float(n.attr("mask_filter_value", -10000.0))
    bias = _mask_bias(n, mask, q, n.shape_of(k)[1], filter_value)
    scale = n.attr("scale", None)
    causal = bool(n.attr("unidirectional", 0))
    return _attend(n, q, k, v, heads, None if scale in (None, 0.0) else float(scale), bias, causal)


def _split(n: Node, x: SSAValue, sizes: Sequence[int]) -> list[SSAValue]:
    return n.emit_all(ops.SplitOp(x, axis=len(n.shape_of(x)) - 1, sizes=list(sizes)))


def multi_head_attention(n: Node) -> SSAValue:
    """com.microsoft.MultiHeadAttention with separate (B, S, H) query, key and value."""
    for index, what in ((3, "bias"), (5, "attention_bias"), (6, "past_key"), (7, "past_value")):
        if n.has(index):
            raise n.unsupported(f"input '{what}' is not supported")
    if not (n.has(1) and n.has(2)) or len(n.shape(1)) != 3 or len(n.shape(2)) != 3:
        raise n.unsupported("packed or per-head key/value forms are not supported")
    if n.wants(1) or n.wants(2):
        raise n.unsupported("outputs 'present_key'/'present_value' are not supported")
    heads = int(n.attr("num_heads"))
    q, k, v = n.value(0), n.value(1), n.value(2)
    bias = _mask_bias(n, 4, q, n.shape_of(k)[1], float(n.attr("mask_filter_value", -10000.0)))
    scale = n.attr("scale", None)
    causal = bool(n.attr("unidirectional", 0))
    return _attend(n, q, k, v, heads, None if scale in (None, 0.0) else float(scale), bias, causal)


def embed_layer_norm(n: Node) -> list[SSAValue]:
    """LayerNorm(word[ids] + position[position_ids or 0..S) + segment[segment_ids]); output 1
    is the mask's count of ones per row (int32), output 2 the sum before the norm."""
    tables = [n.value(2), n.value(3), n.optional(4), n.value(5), n.optional(6)]
    return _embed_layer_norm(n, tables, n.optional(7), n.optional(8))


def quantized_embed_layer_norm(n: Node) -> list[SSAValue]:
    """QEmbedLayerNormalization (onnxruntime's dynamic quantization of an optimized BERT):
    EmbedLayerNormalization of its tables and LayerNorm parameters, each uint8 with a scale
    (inputs 8-12) and a zero point (13-17), dequantized as (q - zero) * scale."""

    def dequantized(index: int) -> SSAValue | None:
        q = n.optional(index)
        if q is None:
            return None
        centred = n.emit(ops.CastOp(q, to=f32))
        centred = n.emit(ops.SubOp(centred, n.emit(ops.CastOp(n.value(index + 11), to=f32))))
        return n.emit(ops.MulOp(centred, n.value(index + 6)))

    tables = [dequantized(i) for i in (2, 3, 4, 5, 6)]
    return _embed_layer_norm(n, tables, n.optional(7), None)[:2]


def _embed_layer_norm(
    n: Node, tables: list[SSAValue | None], mask: SSAValue | None, position_ids: SSAValue | None
) -> list[SSAValue]:
    """The sum of the word, position and segment rows (`tables`: word, position, segment,
    gamma, beta), its LayerNorm, and the mask's count of ones per row."""
    word, position, segment, gamma, beta = tables
    ids = n.value(0)
    b, s = n.shape(0)
    total = n.emit(ops.GatherOp(word, ids, axis=0))
    if position_ids is not None:
        positions = n.emit(ops.GatherOp(position, position_ids, axis=0))
    else:
        rows = n.constant(np.arange(s, dtype=np.int64))
        positions = n.emit(ops.GatherOp(position, rows, axis=0))
    total = n.emit(ops.AddOp(total, positions))
    if n.has(1) and segment is not None:
        total = n.emit(ops.AddOp(total, n.emit(ops.GatherOp(segment, n.value(1), axis=0))))
    eps = float(n.attr("epsilon", 1e-12))
    y = n.emit(ops.LayerNormOp(total, gamma, beta, axis=-1, epsilon=eps))
    if mask is not None:
        ones = n.emit(ops.CastOp(mask, to=i32))
        count = n.emit(ops.ReduceSumOp(ones, axes=[1], keepdims=False))
    else:
        count = n.constant(np.zeros(b, np.int32))
    return [y, count, total]


CONVERTERS: dict[str, Converter] = {
    "com.microsoft.FusedConv": fused_conv,
    "com.microsoft.FusedMatMul": fused_matmul,
    "com.microsoft.FusedGemm": fused_gemm,
    "com.microsoft.Gelu": gelu,
    "com.microsoft.BiasGelu": bias_gelu,
    "com.microsoft.FastGelu": fast_gelu,
    "com.microsoft.QuickGelu": quick_gelu,
    "com.microsoft.BiasAdd": bias_add,
    "com.microsoft.SkipLayerNormalization": skip_layer_norm,
    # onnxruntime registers these two in ONNX's domain; `repair.ort_ops_to_their_domain`
    # moves them here (LayerNormalization only below opset 17, where ONNX has none)
    "com.microsoft.SimplifiedLayerNormalization": simplified_layer_norm,
    "com.microsoft.LayerNormalization": layer_norm,
    "com.microsoft.SkipSimplifiedLayerNormalization": skip_simplified_layer_norm,
    "com.microsoft.Attention": attention,
    "com.microsoft.MultiHeadAttention": multi_head_attention,
    "com.microsoft.EmbedLayerNormalization": embed_layer_norm,
    "com.microsoft.QEmbedLayerNormalization": quantized_embed_layer_norm,
}
