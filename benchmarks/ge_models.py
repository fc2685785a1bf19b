"""Benchmark models built directly in `ge` (constant weights), for when the zoo is absent.

The memory benchmark prefers the real path (`ge.testing.models` through ONNX into `ge`);
these builders give the same graph shapes without torch: ResNet-18/50, MobileNetV2, an
Inception block with four parallel branches, a BERT encoder layer and a GPT block.
"""

from __future__ import annotations

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, f32
from xdsl.ir import Block, Region, SSAValue

from gedialects import ge
from gedialects.ge.types import shape_of, tensor


class Graph:
    """Appends `ge` ops to one block; weights are small positive constants, each its own
    draw: equal weights would let CSE merge layers that read one input (BERT's Q, K and V
    projections were one matmul while every weight was 0.01)."""

    def __init__(self, *shapes: tuple[int, ...]):
        self.block = Block(arg_types=[tensor(s, f32) for s in shapes])
        self.args = list(self.block.args)
        self.rng = np.random.default_rng(0)

    def __call__(self, op) -> SSAValue:
        self.block.add_op(op)
        return op.results[0]

    def weight(self, *shape: int) -> SSAValue:
        """Values in [0.005, 0.015]: positive, so batch-norm variances stay valid."""
        return self(ge.ConstantOp(self.rng.uniform(0.005, 0.015, shape).astype(np.float32)))

    def conv(self, x, cout: int, k: int, stride: int = 1, groups: int = 1, act: bool = True):
        cin, p = shape_of(x.type)[1], k // 2
        w = self.weight(cout, cin // groups, k, k)
        y = self(ge.Conv2DOp(x, w, strides=[stride] * 2, pads=[p] * 4, groups=groups))
        stats = [self.weight(cout) for _ in range(4)]
        y = self(ge.BatchNormOp(y, *stats))
        return self(ge.ReluOp(y)) if act else y

    def linear(self, x, out: int):
        w = self.weight(shape_of(x.type)[-1], out)
        return self(ge.AddOp(self(ge.MatMulOp(x, w)), self.weight(out)))

    def norm(self, x):
        hidden = shape_of(x.type)[-1]
        return self(ge.LayerNormOp(x, self.weight(hidden), self.weight(hidden)))

    def finish(self, *outputs: SSAValue) -> ModuleOp:
        self.block.add_op(func.ReturnOp(*outputs))
        signature = ([a.type for a in self.args], [o.type for o in outputs])
        return ModuleOp([func.FuncOp("main", signature, Region(self.block))])


def _stem(g: Graph, x):
    y = g.conv(x, 64, 7, 2)
    return g(ge.MaxPool2DOp(y, kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]))


def _head(g: Graph, x):
    pooled = g(ge.GlobalAvgPoolOp(x))
    return g.linear(g(ge.ReshapeOp(pooled, shape=[1, shape_of(x.type)[1]])), 1000)


def resnet(blocks: tuple[int, ...], bottleneck: bool) -> ModuleOp:
    g = Graph((1, 3, 224, 224))
    x = _stem(g, g.args[0])
    for stage, count in enumerate(blocks):
        width = 64 * 2**stage
        for i in range(count):
            stride = 2 if stage and not i else 1
            out = width * 4 if bottleneck else width
            if bottleneck:
                y = g.conv(g.conv(x, width, 1), width, 3, stride)
                y = g.conv(y, out, 1, act=False)
            else:
                y = g.conv(g.conv(x, width, 3, stride), width, 3, act=False)
            skip = (
                x if shape_of(x.type) == shape_of(y.type) else g.conv(x, out, 1, stride, act=False)
            )
            x = g(ge.ReluOp(g(ge.AddOp(y, skip))))
    return g.finish(_head(g, x))


def mobilenet_v2() -> ModuleOp:
    g = Graph((1, 3, 224, 224))
    x = g.conv(g.args[0], 32, 3, 2)
    setting = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2)]
    setting += [(6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
    for expand, cout, count, first_stride in setting:
        for i in range(count):
            cin, stride = shape_of(x.type)[1], first_stride if i == 0 else 1
            y = g.conv(x, cin * expand, 1) if expand != 1 else x
            y = g.conv(y, cin * expand, 3, stride, groups=cin * expand)
            y = g.conv(y, cout, 1, act=False)
            x = g(ge.AddOp(x, y)) if stride == 1 and cin == cout else y
    return g.finish(_head(g, g.conv(x, 1280, 1)))


def inception_block() -> ModuleOp:
    """GoogLeNet's inception (3a) on 28x28x192: 1x1, 1x1-3x3, 1x1-5x5, pool-1x1, concat."""
    g = Graph((1, 192, 28, 28))
    x = g.args[0]
    b1 = g.conv(x, 64, 1)
    b2 = g.conv(g.conv(x, 96, 1), 128, 3)
    b3 = g.conv(g.conv(x, 16, 1), 32, 5)
    pool = g(ge.MaxPool2DOp(x, kernel_shape=[3, 3], pads=[1, 1, 1, 1]))
    b4 = g.conv(pool, 32, 1)
    return g.finish(g(ge.ConcatOp(b1, b2, b3, b4, axis=1)))


def _attention(g: Graph, x, heads: int, causal: bool):
    batch, seq, hidden = shape_of(x.type)
    dim = hidden // heads

    def split_heads(v, perm):
        return g(ge.TransposeOp(g(ge.ReshapeOp(v, shape=[batch, seq, heads, dim])), perm=perm))

    q = split_heads(g.linear(x, hidden), [0, 2, 1, 3])
    k = split_heads(g.linear(x, hidden), [0, 2, 3, 1])
    v = split_heads(g.linear(x, hidden), [0, 2, 1, 3])
    scores = g(ge.MulOp(g(ge.MatMulOp(q, k)), g(ge.ConstantOp(np.float32([dim**-0.5])))))
    if causal:
        mask = np.triu(np.full((seq, seq), -1e9, np.float32), 1)
        scores = g(ge.AddOp(scores, g(ge.ConstantOp(mask))))
    probs = g(ge.SoftmaxOp(scores, axis=-1))
    context = g(ge.TransposeOp(g(ge.MatMulOp(probs, v)), perm=[0, 2, 1, 3]))
    return g.linear(g(ge.ReshapeOp(context, shape=[batch, seq, hidden])), hidden)


def bert_layer(seq: int = 128, hidden: int = 768, heads: int = 12) -> ModuleOp:
    g = Graph((1, seq, hidden))
    x = g.args[0]
    x = g.norm(g(ge.AddOp(x, _attention(g, x, heads, causal=False))))
    ffn = g.linear(g(ge.GeluOp(g.linear(x, 4 * hidden))), hidden)
    return g.finish(g.norm(g(ge.AddOp(x, ffn))))


def gpt_block(seq: int = 128, hidden: int = 768, heads: int = 12) -> ModuleOp:
    g = Graph((1, seq, hidden))
    x = g.args[0]
    x = g(ge.AddOp(x, _attention(g, g.norm(x), heads, causal=True)))
    ffn = g.linear(g(ge.GeluOp(g.linear(g.norm(x), 4 * hidden), approximate="tanh")), hidden)
    return g.finish(g(ge.AddOp(x, ffn)))


BUILDERS = {
    "resnet18": lambda: resnet((2, 2, 2, 2), bottleneck=False),
    "resnet50": lambda: resnet((3, 4, 6, 3), bottleneck=True),
    "mobilenet_v2": mobilenet_v2,
    "inception": inception_block,
    "bert_layer": bert_layer,
    "gpt_block": gpt_block,
}
"""Model name (as in `ge.testing.models.MODELS`) -> builder of its `ge` module."""
