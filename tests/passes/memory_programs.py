"""Small hand-built `ge` programs shared by the memory planning and stream tests."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, f32
from xdsl.ir import Block, Region, SSAValue

from gedialects.ge import (
    AddOp,
    BatchNormOp,
    ConcatOp,
    ConstantOp,
    Conv2DOp,
    NegOp,
    ReluOp,
    ReshapeOp,
    SigmoidOp,
    TanhOp,
)
from gedialects.ge.types import tensor

RNG = np.random.default_rng(0)


class Program:
    """A tiny builder of one-function modules for these tests."""

    def __init__(self, *shapes: tuple[int, ...]):
        self.block = Block(arg_types=[tensor(s, f32) for s in shapes])
        self.args = list(self.block.args)

    def __call__(self, op):
        self.block.add_op(op)
        return op.results[0] if len(op.results) == 1 else op.results

    def const(self, *shape: int, low: float = -1.0) -> SSAValue:
        return self(ConstantOp(RNG.uniform(low, 1.0, shape).astype(np.float32)))

    def finish(self, *outputs: SSAValue) -> ModuleOp:
        self.block.add_op(func.ReturnOp(*outputs))
        signature = ([a.type for a in self.args], [o.type for o in outputs])
        module = ModuleOp([func.FuncOp("main", signature, Region(self.block))])
        module.verify()
        return module


def conv_bn_relu(p: Program, x: SSAValue, cin: int, cout: int) -> SSAValue:
    conv = p(Conv2DOp(x, p.const(cout, cin, 3, 3), pads=[1, 1, 1, 1]))
    stats = [p.const(cout, low=0.5) for _ in range(4)]
    return p(ReluOp(p(BatchNormOp(conv, *stats))))


def seed_model() -> ModuleOp:
    p = Program((1, 3, 8, 8))
    y = conv_bn_relu(p, p.args[0], 3, 4)
    z = conv_bn_relu(p, y, 4, 4)
    return p.finish(p(ReluOp(p(AddOp(z, y)))))


def inputs_of(module: ModuleOp) -> list[np.ndarray]:
    fn = module.ops.first
    return [RNG.standard_normal(t.get_shape()).astype(np.float32) for t in fn.function_type.inputs]


def main(module: ModuleOp) -> func.FuncOp:
    return module.ops.first


UNARY = (ReluOp, NegOp, SigmoidOp, TanhOp)


@st.composite
def concat_programs(draw):  # noqa: ANN201
    batch, axis = draw(st.sampled_from([1, 1, 2])), draw(st.sampled_from([0, 1, 1, 2]))
    rows, cols = draw(st.integers(1, 3)), draw(st.integers(1, 4))
    p = Program((batch, rows, cols))
    pieces, outputs, late = [], [], []
    for _ in range(draw(st.integers(1, 4))):
        x = p.args[0]
        for _ in range(draw(st.integers(1, 2))):
            x = p(draw(st.sampled_from(UNARY))(x))
        if draw(st.integers(0, 7)) == 0:  # a view's bytes are its source's
            x = p(ReshapeOp(x, shape=[batch, rows, cols]))
        if draw(st.integers(0, 7)) == 0:  # read twice: read where the concat placed it
            outputs.append(p(NegOp(x)))
        if draw(st.integers(0, 7)) == 0:  # read again after the concat (a UNet's skip)
            late.append(x)
        if draw(st.integers(0, 9)) == 0:
            x = p.args[0]  # an argument
        pieces.append(x)
    joined = p(ConcatOp(*pieces, axis=axis))
    if draw(st.booleans()):
        joined = p(ReluOp(joined))
    outputs += [p(NegOp(x)) for x in late]
    return p.finish(joined, *outputs)
