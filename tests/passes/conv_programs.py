"""One-conv `kernel` programs of random geometry and epilogue, for the conv reshaping passes
(`turn-1d-convs`, `split-wide-convs`): the module, its inputs, and what the passes see."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, f32
from xdsl.ir import Block, Region

from gedialects.ge.constant import ConstantOp
from gedialects.ge.types import tensor
from gedialects.kernel.conv_algorithms import ConvGeometry
from gedialects.kernel.ops import Conv2DKernelOp


def soak(examples: int) -> int:
    """`examples`, or the active profile's count where it asks for more (the soak profile)."""
    return max(examples, settings.default.max_examples)


@dataclass(frozen=True)
class ConvCase:
    g: ConvGeometry
    bias: bool = False
    batch_norm: bool = False
    activation: str | None = None
    residual: bool = False
    seed: int = 0

    def module(self) -> ModuleOp:
        """func @main(x[, residual]) -> conv(x, constant filters) with the epilogue."""
        g, rng = self.g, np.random.default_rng(self.seed)
        oh, ow = g.out_hw
        out = (g.n, g.o, oh, ow)
        shapes = [(g.n, g.c, g.h, g.w), *([out] if self.residual else [])]
        block = Block(arg_types=[tensor(s, f32) for s in shapes])

        def const(*shape: int) -> object:
            op = ConstantOp(rng.standard_normal(shape).astype(np.float32))
            block.add_op(op)
            return op.output

        w = const(g.o, g.c // g.groups, g.kh, g.kw)
        bias = const(g.o) if self.bias else None
        scale, shift = (const(g.o), const(g.o)) if self.batch_norm else (None, None)
        residual = block.args[1] if self.residual else None
        conv = Conv2DKernelOp(
            block.args[0], w, bias, scale, shift, residual, fused_from=["ge.conv2d"],
            strides=list(g.strides), pads=list(g.pads), dilations=list(g.dilations),
            groups=g.groups, activation=self.activation,
        )  # fmt: skip
        block.add_ops([conv, func.ReturnOp(conv.output)])
        signature = ([a.type for a in block.args], [conv.output.type])
        return ModuleOp([func.FuncOp("main", signature, Region(block))])

    def inputs(self) -> list[np.ndarray]:
        g, rng = self.g, np.random.default_rng(self.seed + 1)
        shapes = [(g.n, g.c, g.h, g.w), *([(g.n, g.o, *g.out_hw)] if self.residual else [])]
        return [rng.standard_normal(s).astype(np.float32) for s in shapes]


@st.composite
def conv_cases(draw, one_dimensional: bool, widths: tuple[int, int]) -> ConvCase:  # noqa: ANN001
    """A conv of any stride, dilation, padding and grouping; `one_dimensional`: over rows of
    height 1 (ONNX's Conv1d), else a few rows of a 2-D kernel."""
    groups = draw(st.sampled_from([1, 1, 1, 2, 4]))
    c, o = groups * draw(st.integers(1, 6)), groups * draw(st.integers(1, 6))
    kw, dw, sw = draw(st.integers(1, 9)), draw(st.integers(1, 3)), draw(st.integers(1, 4))
    span_w = dw * (kw - 1) + 1
    left, right = draw(st.integers(0, span_w - 1)), draw(st.integers(0, span_w - 1))
    w = draw(st.integers(max(widths[0], span_w - left - right), widths[1]))
    if one_dimensional:
        h, kh, sh, dh, top, bottom = 1, 1, 1, 1, 0, 0
    else:
        kh, sh, dh = draw(st.integers(1, 3)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
        top, bottom = draw(st.integers(0, kh - 1)), draw(st.integers(0, kh - 1))
        h = draw(st.integers(max(1, dh * (kh - 1) + 1 - top - bottom), 5))
    g = ConvGeometry(
        draw(st.integers(1, 2)), c, h, w, o, kh, kw, (sh, sw), (top, left, bottom, right),
        (dh, dw), groups,
    )  # fmt: skip
    activation = draw(st.sampled_from([None, "relu", "sigmoid"]))
    return ConvCase(
        g, draw(st.booleans()), draw(st.booleans()), activation, draw(st.booleans()),
        draw(st.integers(0, 2**16)),
    )  # fmt: skip
