"""Tiny torch.nn language, sequence and audio models of the kinds the ONNX model zoo and
Hugging Face exports have (BERT, GPT-2 with and without past key/values, T5 / LLaMA blocks,
LSTM / GRU, text CNN, wav2vec / Whisper feature extractors, speech commands), written as those
models write them so their exports carry the same ONNX patterns; and one tf2onnx-style
opset-10 BERT layer written with onnx.helper."""

from __future__ import annotations

import math

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper
from torch import nn
from torch.nn import functional as F

VOCAB, HIDDEN, HEADS, LAYERS = 50, 32, 4, 2


class _LayerNorm(nn.Module):
    """Old BERT's hand-written layer norm (exports as ReduceMean/Sub/Pow/Sqrt/Div)."""

    def __init__(self, d: int, eps: float = 1e-12):
        super().__init__()
        self.weight, self.bias = nn.Parameter(torch.ones(d)), nn.Parameter(torch.zeros(d))
        self.eps = eps

    def forward(self, x):
        u = x.mean(-1, keepdim=True)
        s = (x - u).pow(2).mean(-1, keepdim=True)
        return self.weight * ((x - u) / torch.sqrt(s + self.eps)) + self.bias


class _BertLayer(nn.Module):
    def __init__(self, hand_norm: bool):
        super().__init__()
        norm = _LayerNorm if hand_norm else nn.LayerNorm
        self.q, self.k, self.v = (nn.Linear(HIDDEN, HIDDEN) for _ in range(3))
        self.o, self.up, self.down = (
            nn.Linear(HIDDEN, HIDDEN),
            nn.Linear(HIDDEN, 2 * HIDDEN),
            nn.Linear(2 * HIDDEN, HIDDEN),
        )
        self.n1, self.n2 = norm(HIDDEN), norm(HIDDEN)

    def heads(self, x):
        b, s = x.shape[0], x.shape[1]
        return x.view(b, s, HEADS, HIDDEN // HEADS).permute(0, 2, 1, 3)

    def forward(self, x, bias):
        q, k, v = self.heads(self.q(x)), self.heads(self.k(x)), self.heads(self.v(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(HIDDEN // HEADS) + bias
        ctx = (F.softmax(scores, -1) @ v).permute(0, 2, 1, 3).contiguous()
        ctx = ctx.view(x.shape[0], x.shape[1], HIDDEN)
        x = self.n1(x + self.o(ctx))
        return self.n2(x + self.down(F.gelu(self.up(x))))


class Bert(nn.Module):
    """Token + position + segment embeddings, `(1 - mask) * -10000`, Erf GELU, pooler."""

    def __init__(self, hand_norm: bool = True):
        super().__init__()
        self.tok, self.pos = nn.Embedding(VOCAB, HIDDEN), nn.Embedding(16, HIDDEN)
        self.seg = nn.Embedding(2, HIDDEN)
        self.norm = _LayerNorm(HIDDEN) if hand_norm else nn.LayerNorm(HIDDEN)
        self.layers = nn.ModuleList(_BertLayer(hand_norm) for _ in range(LAYERS))
        self.pool = nn.Linear(HIDDEN, HIDDEN)

    def forward(self, ids, mask, segments):
        positions = torch.arange(ids.shape[1], dtype=torch.long).unsqueeze(0).expand_as(ids)
        x = self.norm(self.tok(ids) + self.pos(positions) + self.seg(segments))
        bias = (1.0 - mask[:, None, None, :].to(torch.float32)) * -10000.0
        for layer in self.layers:
            x = layer(x, bias)
        return x, torch.tanh(self.pool(x[:, 0]))


class Gpt2(nn.Module):
    """GPT-2 blocks: Conv1D (addmm), split qkv, causal mask sliced from a buffer, tanh GELU,
    optional past key/values (present = Concat(past, new)), last-token logits."""

    def __init__(self, past: bool = False, product: bool = False):
        super().__init__()
        self.past, self.product = past, product
        self.wte, self.wpe = nn.Embedding(VOCAB, HIDDEN), nn.Embedding(32, HIDDEN)
        self.attn_w = nn.ParameterList(
            nn.Parameter(torch.randn(HIDDEN, 3 * HIDDEN) * 0.1) for _ in range(LAYERS)
        )
        self.proj = nn.ModuleList(nn.Linear(HIDDEN, HIDDEN) for _ in range(LAYERS))
        self.mlp_w = nn.ParameterList(
            nn.Parameter(torch.randn(HIDDEN, 4 * HIDDEN) * 0.1) for _ in range(LAYERS)
        )
        self.mlp_b = nn.Parameter(torch.zeros(4 * HIDDEN))
        self.down = nn.ModuleList(nn.Linear(4 * HIDDEN, HIDDEN) for _ in range(LAYERS))
        self.ln = nn.ModuleList(nn.LayerNorm(HIDDEN) for _ in range(2 * LAYERS + 1))
        self.register_buffer("bias", torch.tril(torch.ones(32, 32)).view(1, 1, 32, 32))

    def split(self, x):
        b, s = x.size(0), x.size(1)
        return x.view(b, s, HEADS, HIDDEN // HEADS).permute(0, 2, 1, 3)

    def forward(self, ids, *pasts):
        start = pasts[0].size(-2) if pasts else 0
        positions = torch.arange(start, start + ids.size(-1), dtype=torch.long).unsqueeze(0)
        x = self.wte(ids) + self.wpe(positions)
        presents = []
        for i in range(LAYERS):
            h = self.ln[2 * i](x)
            size = h.size()[:-1] + (3 * HIDDEN,)
            qkv = torch.addmm(torch.zeros(3 * HIDDEN), h.view(-1, HIDDEN), self.attn_w[i])
            q, k, v = qkv.view(size).split(HIDDEN, dim=2)
            q, k, v = self.split(q), self.split(k), self.split(v)
            if pasts:
                k = torch.cat((pasts[2 * i], k), dim=-2)
                v = torch.cat((pasts[2 * i + 1], v), dim=-2)
            presents += [k, v]
            w = q @ k.transpose(-1, -2) / math.sqrt(HIDDEN // HEADS)
            nd, ns = w.size(-2), w.size(-1)
            causal = self.bias[:, :, ns - nd : ns, :ns]
            if self.product:  # the zoo's gpt2-10 (HF 2.x): w * b - 1e4 * (1 - b)
                w = w * causal - 1e4 * (1 - causal)
            else:
                w = torch.where(causal.bool(), w, torch.tensor(-1e4))
            a = (F.softmax(w, -1) @ v).permute(0, 2, 1, 3).contiguous()
            x = x + self.proj[i](a.view(a.size(0), a.size(1), HIDDEN))
            h = self.ln[2 * i + 1](x)
            m = h @ self.mlp_w[i] + self.mlp_b
            x = x + self.down[i](F.gelu(m, approximate="tanh"))
        logits = self.ln[-1](x) @ self.wte.weight.t()
        last = logits[:, -1, :]
        return (last, *presents) if self.past else last


class _RmsNorm(nn.Module):
    def __init__(self, d: int):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d) + 0.1 * torch.randn(d))

    def forward(self, x):
        v = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(v + 1e-6))


def _rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2 :]
    return torch.cat((-x2, x1), dim=-1)


class Llama(nn.Module):
    """RMSNorm, rotary embeddings (Slice/Neg/Concat of halves), causal mask, SiLU gated MLP."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(VOCAB, HIDDEN)
        self.qkv = nn.ModuleList(nn.Linear(HIDDEN, 3 * HIDDEN, bias=False) for _ in range(LAYERS))
        self.o = nn.ModuleList(nn.Linear(HIDDEN, HIDDEN, bias=False) for _ in range(LAYERS))
        self.gate = nn.ModuleList(nn.Linear(HIDDEN, 64, bias=False) for _ in range(LAYERS))
        self.up = nn.ModuleList(nn.Linear(HIDDEN, 64, bias=False) for _ in range(LAYERS))
        self.down = nn.ModuleList(nn.Linear(64, HIDDEN, bias=False) for _ in range(LAYERS))
        self.norms = nn.ModuleList(_RmsNorm(HIDDEN) for _ in range(2 * LAYERS + 1))
        d = HIDDEN // HEADS
        self.register_buffer("inv_freq", 1.0 / 10000 ** (torch.arange(0, d, 2).float() / d))

    def forward(self, ids):
        b, s = ids.shape
        t = torch.arange(s, dtype=torch.float32)
        freqs = t[:, None] * self.inv_freq[None, :]  # torch.outer needs opset 12
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos()[None, None], emb.sin()[None, None]
        mask = torch.full((s, s), torch.finfo(torch.float32).min)  # HF's (triu needs opset 14)
        steps = torch.arange(s)
        mask = mask.masked_fill(steps < (steps + 1).view(s, 1), 0.0)
        x = self.emb(ids)
        for i in range(LAYERS):
            h = self.norms[2 * i](x)
            q, k, v = self.qkv[i](h).view(b, s, 3, HEADS, -1).permute(2, 0, 3, 1, 4)
            q = q * cos + _rotate_half(q) * sin
            k = k * cos + _rotate_half(k) * sin
            w = F.softmax(q @ k.transpose(2, 3) / math.sqrt(q.shape[-1]) + mask, -1)
            x = x + self.o[i]((w @ v).transpose(1, 2).reshape(b, s, HIDDEN))
            h = self.norms[2 * i + 1](x)
            x = x + self.down[i](F.silu(self.gate[i](h)) * self.up[i](h))
        return self.norms[-1](x)


class T5Attention(nn.Module):
    """T5 self-attention with its relative position bucket (Range, Log, Min, Where)."""

    def __init__(self, buckets: int = 8, distance: int = 16):
        super().__init__()
        self.buckets, self.distance = buckets, distance
        self.rel = nn.Embedding(buckets, HEADS)
        self.qkv, self.o = nn.Linear(HIDDEN, 3 * HIDDEN, bias=False), nn.Linear(HIDDEN, HIDDEN)
        self.norm = _RmsNorm(HIDDEN)

    def bucket(self, relative):
        n = self.buckets // 2
        out = (relative > 0).to(torch.long) * n
        relative = torch.abs(relative)
        exact = n // 2
        small = relative < exact
        large = exact + (
            torch.log(relative.float() / exact) / math.log(self.distance / exact) * (n - exact)
        ).to(torch.long)
        large = torch.min(large, torch.full_like(large, n - 1))
        return out + torch.where(small, relative, large)

    def forward(self, x):
        b, s, _ = x.shape
        ctx = torch.arange(s, dtype=torch.long)[:, None]
        mem = torch.arange(s, dtype=torch.long)[None, :]
        bias = self.rel(self.bucket(mem - ctx)).permute(2, 0, 1).unsqueeze(0)
        q, k, v = self.qkv(self.norm(x)).view(b, s, 3, HEADS, -1).permute(2, 0, 3, 1, 4)
        w = F.softmax(q @ k.transpose(-1, -2) + bias, -1)
        return x + self.o((w @ v).transpose(1, 2).reshape(b, s, HIDDEN))


class T5Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb, self.attn = nn.Embedding(VOCAB, HIDDEN), T5Attention()
        self.wi, self.wo = nn.Linear(HIDDEN, 64, bias=False), nn.Linear(64, HIDDEN, bias=False)

    def forward(self, ids):
        x = self.attn(self.emb(ids))
        return x + self.wo(F.relu(self.wi(x)))


class Recurrent(nn.Module):
    """Language model: Embedding + (bi)LSTM / GRU + Linear."""

    def __init__(self, cell: str = "lstm", bidirectional: bool = False):
        super().__init__()
        self.emb = nn.Embedding(VOCAB, 16)
        kind = {"lstm": nn.LSTM, "gru": nn.GRU}[cell]
        self.rnn = kind(16, 24, num_layers=2, batch_first=True, bidirectional=bidirectional)
        self.out = nn.Linear(48 if bidirectional else 24, VOCAB)

    def forward(self, ids):
        y, _ = self.rnn(self.emb(ids))
        return self.out(y)


class TextCnn(nn.Module):
    """Kim's text CNN: Conv1d of several widths, max over time, ArgMax of the classes."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(VOCAB, 16)
        self.convs = nn.ModuleList(nn.Conv1d(16, 8, k) for k in (2, 3, 4))
        self.fc = nn.Linear(24, 5)

    def forward(self, ids):
        x = self.emb(ids).transpose(1, 2)
        pooled = [F.relu(c(x)).max(dim=2).values for c in self.convs]
        logits = self.fc(torch.cat(pooled, 1))
        return logits, logits.argmax(-1)


class Wav2Vec(nn.Module):
    """wav2vec 2.0's feature extractor: Conv1d, GroupNorm(C groups), GELU, Conv1d stack."""

    def __init__(self):
        super().__init__()
        self.c0 = nn.Conv1d(1, 16, 10, stride=5, bias=False)
        self.norm = nn.GroupNorm(16, 16)
        self.c1 = nn.Conv1d(16, 16, 3, stride=2, bias=False)
        self.proj = nn.Linear(16, HIDDEN)

    def forward(self, wave):
        x = F.gelu(self.norm(self.c0(wave[:, None])))
        x = F.gelu(self.c1(x))
        return self.proj(x.transpose(1, 2))


class Whisper(nn.Module):
    """Whisper's encoder front: two Conv1d (the second stride 2), GELU, sinusoidal positions,
    one attention block (nn.MultiheadAttention exports only from opset 14: its SDPA)."""

    def __init__(self, mels: int = 8, frames: int = 20):
        super().__init__()
        self.c1 = nn.Conv1d(mels, HIDDEN, 3, padding=1)
        self.c2 = nn.Conv1d(HIDDEN, HIDDEN, 3, stride=2, padding=1)
        n = frames // 2
        inv = torch.exp(-math.log(10000) / (HIDDEN // 2 - 1) * torch.arange(HIDDEN // 2))
        t = torch.arange(n)[:, None] * inv[None, :]
        self.register_buffer("pos", torch.cat([torch.sin(t), torch.cos(t)], 1))
        self.block = _BertLayer(hand_norm=False)

    def forward(self, mel):
        x = F.gelu(self.c2(F.gelu(self.c1(mel)))).permute(0, 2, 1)
        return self.block(x + self.pos, torch.zeros(1))


class SpeechCommands(nn.Module):
    """Keyword spotting: Conv2d on a (batch, 1, mels, frames) spectrogram, pool, Linear."""

    def __init__(self):
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(1, 8, 3, padding=1), nn.Conv2d(8, 16, 3, stride=2)
        self.bn = nn.BatchNorm2d(8)
        self.fc = nn.Linear(16, 12)

    def forward(self, spec):
        x = F.max_pool2d(F.relu(self.bn(self.c1(spec))), 2)
        x = F.relu(self.c2(x)).mean((2, 3))
        return F.log_softmax(self.fc(x), -1)


class Quirks(nn.Module):
    """Export quirks: Shape/Gather/Unsqueeze/Concat/Reshape, Expand by a computed shape,
    ConstantOfShape, Range with a computed limit, CumSum positions, Where broadcasting."""

    def __init__(self):
        super().__init__()
        self.emb, self.pos = nn.Embedding(VOCAB, 16), nn.Embedding(40, 16)

    def forward(self, ids, mask):
        b, s = ids.shape
        positions = torch.cumsum(mask, dim=1) * mask + 1  # RoBERTa's padding-aware ids
        x = self.emb(ids) + self.pos(positions.long())
        ones = torch.ones(b, s, 1)  # ConstantOfShape of a computed shape
        steps = torch.arange(s * 2, dtype=torch.float32)[::2].view(1, s, 1).expand(b, s, 16)
        x = torch.where(mask[:, :, None].bool(), x, torch.zeros(1)) * ones + steps
        return x.reshape(b, s * 4, 4).reshape(b, -1).sum(-1)


def scripted_loop() -> torch.jit.ScriptModule:
    """A `for` over a tensor's rows that torch.jit.script exports as an ONNX Loop."""

    class Cumulative(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = nn.Linear(8, 8)

        def forward(self, x):
            h = torch.zeros(x.size(0), 8)
            for t in range(x.size(1)):
                h = torch.tanh(self.cell(x[:, t]) + h)
            return h

    return torch.jit.script(Cumulative())


def scripted_if() -> torch.jit.ScriptModule:
    """A branch on a tensor's value that torch.jit.script exports as an ONNX If."""

    class Gate(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(8, 8), nn.Linear(8, 8)

        def forward(self, x):
            if bool(x.mean() > 0):
                y = torch.relu(self.a(x))
            else:
                y = torch.tanh(self.b(x))
            return y + 1.0

    return torch.jit.script(Gate())


def tf_bert_opset10(seq: int = 8) -> onnx.ModelProto:
    """One BERT layer as tf2onnx wrote the zoo's bertsquad-10 (opset 10, written by hand):
    OneHot segment embedding, a position table sliced by Slice-10, TF's layer norm
    (x * scale + (beta - mean * scale), scale = gamma / sqrt(var + eps)), Unsqueeze/Squeeze/
    Split with attributes, Shape -> Gather -> Unsqueeze -> Concat -> Reshape head splits, an
    opset-10 Softmax over the last axis and a start/end logits Split."""
    rng = np.random.default_rng(0)
    h, heads = HIDDEN, HEADS

    def init(name, *shape, scale=0.2):
        return numpy_helper.from_array(
            (rng.standard_normal(shape) * scale).astype(np.float32), name
        )

    def const(name, value, dtype=np.int64):
        return numpy_helper.from_array(np.asarray(value, dtype), name)

    def node(op, ins, outs, **attrs):
        return helper.make_node(op, ins, outs if isinstance(outs, list) else [outs], **attrs)

    inits = [init("wte", VOCAB, h), init("wpe", 16, h), init("seg_table", 2, h)]
    inits += [init(f"w{k}", h, h) for k in "qkvo"] + [init(f"b{k}", h) for k in "qkvo"]
    inits += [init("gamma", h, scale=1.0), init("beta", h), init("w_span", h, 2)]
    inits += [const("p0", [0]), const("pend", [seq]), const("depth", 2)]
    inits += [const("onoff", [0.0, 1.0], np.float32), const("one", 1.0, np.float32)]
    inits += [const("neg", -10000.0, np.float32), const("eps", 1e-12, np.float32)]
    inits += [const("rsd", 1 / np.sqrt(h // heads), np.float32), const("i0", 0)]
    inits += [const("tail", [-1, heads, h // heads]), const("last", [-1, h])]
    nodes = [
        node("Gather", ["wte", "ids"], "tok"),
        node("OneHot", ["segments", "depth", "onoff"], "seg_hot", axis=-1),
        node("MatMul", ["seg_hot", "seg_table"], "seg"),
        node("Slice", ["wpe", "p0", "pend", "p0"], "pos_rows"),
        node("Unsqueeze", ["pos_rows"], "pos", axes=[0]),
        node("Add", ["tok", "seg"], "ts"),
        node("Add", ["ts", "pos"], "emb"),
        node("ReduceMean", ["emb"], "mean", axes=[-1], keepdims=1),
        node("Sub", ["emb", "mean"], "d"),
        node("Mul", ["d", "d"], "dd"),
        node("ReduceMean", ["dd"], "var", axes=[-1], keepdims=1),
        node("Add", ["var", "eps"], "ve"),
        node("Sqrt", ["ve"], "sd"),
        node("Reciprocal", ["sd"], "rs"),
        node("Mul", ["rs", "gamma"], "scale"),
        node("Mul", ["emb", "scale"], "xs"),
        node("Mul", ["mean", "scale"], "ms"),
        node("Sub", ["beta", "ms"], "shift"),
        node("Add", ["xs", "shift"], "x"),
        node("Unsqueeze", ["mask"], "m4", axes=[1, 2]),
        node("Cast", ["m4"], "mf", to=TensorProto.FLOAT),
        node("Sub", ["one", "mf"], "inv"),
        node("Mul", ["inv", "neg"], "bias"),
        node("Shape", ["x"], "xshape"),
        node("Gather", ["xshape", "i0"], "batch", axis=0),
        node("Unsqueeze", ["batch"], "batch1", axes=[0]),
        node("Concat", ["batch1", "tail"], "hshape", axis=0),
        node("Concat", ["batch1", "last"], "oshape", axis=0),
    ]
    for k in "qkv":
        nodes += [
            node("MatMul", ["x", f"w{k}"], f"{k}m"),
            node("Add", [f"{k}m", f"b{k}"], f"{k}b"),
            node("Reshape", [f"{k}b", "hshape"], f"{k}r"),
            node("Transpose", [f"{k}r"], f"{k}h", perm=[0, 2, 3, 1] if k == "k" else [0, 2, 1, 3]),
        ]
    nodes += [
        node("MatMul", ["qh", "kh"], "qk"),
        node("Mul", ["qk", "rsd"], "qks"),
        node("Add", ["qks", "bias"], "scores"),
        node("Softmax", ["scores"], "probs", axis=3),
        node("MatMul", ["probs", "vh"], "ctx"),
        node("Transpose", ["ctx"], "ctx_t", perm=[0, 2, 1, 3]),
        node("Reshape", ["ctx_t", "oshape"], "ctx_flat"),
        node("MatMul", ["ctx_flat", "wo"], "om"),
        node("Add", ["om", "bo"], "attn"),
        node("Add", ["attn", "x"], "y"),
        node("MatMul", ["y", "w_span"], "span"),
        node("Split", ["span"], ["start3", "end3"], axis=2, split=[1, 1]),
        node("Squeeze", ["start3"], "start_logits", axes=[2]),
        node("Squeeze", ["end3"], "end_logits", axes=[2]),
    ]
    ids = [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", seq])
           for n in ("ids", "mask", "segments")]  # fmt: skip
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["batch", seq])
            for n in ("start_logits", "end_logits")]  # fmt: skip
    graph = helper.make_graph(nodes, "bert", ids, outs, inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 10)])


def scripted_stack() -> torch.jit.ScriptModule:
    """A scripted `for` that appends to a list and stacks it: SequenceEmpty, a Loop carrying
    SequenceInsert, ConcatFromSequence (SplitToSequence too, at opsets below 13)."""

    class Running(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = nn.Linear(8, 8)

        def forward(self, x):
            h = torch.zeros_like(x[:, 0])
            states = []
            for t in range(x.size(1)):
                h = torch.tanh(self.cell(x[:, t]) + h)
                states.append(h)
            return torch.stack(states, 1)

    return torch.jit.script(Running())


class DistilBert(nn.Module):
    """DistilBERT's attention: masked_fill((mask == 0).view(b, 1, 1, s).expand_as(scores),
    finfo.min), a mask computed from an input (a select, not an add)."""

    def __init__(self):
        super().__init__()
        self.emb, self.pos = nn.Embedding(VOCAB, HIDDEN), nn.Embedding(16, HIDDEN)
        self.qkv, self.o = nn.Linear(HIDDEN, 3 * HIDDEN), nn.Linear(HIDDEN, HIDDEN)
        self.norm = nn.LayerNorm(HIDDEN)

    def forward(self, ids, mask):
        b, s = ids.shape
        x = self.emb(ids) + self.pos(torch.arange(s, dtype=torch.long))
        q, k, v = self.qkv(x).view(b, s, 3, HEADS, -1).permute(2, 0, 3, 1, 4)
        scores = q / math.sqrt(HIDDEN // HEADS) @ k.transpose(2, 3)
        masked = (mask == 0).view(b, 1, 1, s).expand_as(scores)
        scores = scores.masked_fill(masked, torch.tensor(torch.finfo(scores.dtype).min))
        ctx = (F.softmax(scores, -1) @ v).transpose(1, 2).reshape(b, s, HIDDEN)
        return self.norm(x + self.o(ctx))


class SdpaEncoder(nn.Module):
    """HF's `attn_implementation="sdpa"`: F.scaled_dot_product_attention with a boolean padding
    mask (torch exports it from opset 14, with a NaN guard after the softmax)."""

    def __init__(self):
        super().__init__()
        self.emb, self.qkv = nn.Embedding(VOCAB, HIDDEN), nn.Linear(HIDDEN, 3 * HIDDEN)
        self.o = nn.Linear(HIDDEN, HIDDEN)

    def forward(self, ids, mask):
        b, s = ids.shape
        q, k, v = self.qkv(self.emb(ids)).view(b, s, 3, HEADS, -1).permute(2, 0, 3, 1, 4)
        keep = mask[:, None, None, :].bool()
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=keep)
        return self.o(y.transpose(1, 2).reshape(b, s, HIDDEN))


class TorchEncoder(nn.Module):
    """`nn.TransformerEncoderLayer` (batch_first): torch's MultiheadAttention runs sequence
    first and folds the batch with the heads, (S, N * H, d), and with the sequence, (S * N,
    E), for its output projection."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(VOCAB, HIDDEN)
        self.layer = nn.TransformerEncoderLayer(HIDDEN, HEADS, 2 * HIDDEN, 0.0, batch_first=True)

    def forward(self, ids):
        return self.layer(self.emb(ids))
