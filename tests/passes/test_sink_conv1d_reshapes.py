"""`sink-conv1d-reshapes`: random Conv1d programs (a conv over (N, C, 1, L) between the
importer's reshapes, then chains of float elementwise ops with second operands of every
broadcasting rank, gates of two convs) compute the same before and after the pass, no float
elementwise op is left on such a reshape, and an exported Conv1d block's activation and
skip connection fuse into its conv, equal to onnxruntime."""

from __future__ import annotations

import numpy as np
from hypothesis import event, given, settings
from hypothesis import strategies as st
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, f32
from xdsl.ir import Block, Region

from ge.testing.equivalence import assert_preserves_semantics
from gedialects.ge import ops
from gedialects.ge.constant import ConstantOp
from gedialects.ge.types import tensor
from passes.sink_conv1d_reshapes import _elementwise, lifted

UNARY = [ops.ReluOp, ops.SigmoidOp, ops.TanhOp, ops.NegOp, lambda v: ops.EluOp(v, alpha=0.5)]
BINARY = [ops.AddOp, ops.MulOp, ops.SubOp, ops.MaximumOp]


@st.composite
def conv1d_programs(draw):  # noqa: ANN201
    n, c, o, length = draw(st.integers(1, 2)), draw(st.integers(1, 4)), 4, draw(st.integers(3, 12))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    block = Block(arg_types=[tensor((n, c, length), f32)])
    x = block.args[0]

    def add(op):  # noqa: ANN001, ANN202
        block.add_op(op)
        return op.results[0]

    def const(*shape: int):  # noqa: ANN202
        return add(ConstantOp(rng.standard_normal(shape).astype(np.float32)))

    x4 = add(ops.ReshapeOp(x, shape=[n, c, 1, length]))
    convs = [
        add(ops.Conv2DOp(x4, const(o, c, 1, 3), const(o), pads=[0, 1, 0, 1]))
        for _ in range(draw(st.integers(1, 2)))
    ]
    values = [add(ops.ReshapeOp(v, shape=[n, o, length])) for v in convs]
    for _ in range(draw(st.integers(1, 5))):
        v = draw(st.sampled_from(values))
        if draw(st.booleans()):
            values.append(add(draw(st.sampled_from(UNARY))(v)))
            continue
        other = draw(
            st.sampled_from(
                [*values, "same", "rank0", "rank1", "rank2", "input"] if o == c else
                [*values, "same", "rank0", "rank1", "rank2"]
            )
        )  # fmt: skip
        shapes = {"same": (n, o, length), "rank0": (), "rank1": (length,), "rank2": (o, 1)}
        if other == "input":
            other = x
        elif isinstance(other, str):
            event(f"second operand: {other}")
            other = const(*shapes[other])
        pair = (v, other) if draw(st.booleans()) else (other, v)
        values.append(add(draw(st.sampled_from(BINARY))(*pair)))
    out = values[-1]
    block.add_op(func.ReturnOp(out))
    module = ModuleOp([func.FuncOp("main", ([x.type], [out.type]), Region(block))])
    inputs = [rng.standard_normal((n, c, length)).astype(np.float32)]
    return module, inputs


@settings(max_examples=100, deadline=None)
@given(conv1d_programs())
def test_sinking_keeps_the_outputs_and_leaves_no_elementwise_op_on_a_conv1d_reshape(case) -> None:  # noqa: ANN001
    module, inputs = case
    after = assert_preserves_semantics("sink-conv1d-reshapes", module, inputs, rtol=1e-5, atol=1e-5)
    for op in after.walk():
        if _elementwise(op):
            assert all(lifted(v) is None for v in op.operands), op


def test_a_conv1d_block_fuses_its_activation_and_skip_connection() -> None:
    """relu(conv1d(x)) + x as torch exports it: one conv kernel with its relu and residual
    (before, an elementwise kernel after the conv), equal to onnxruntime."""
    import onnxruntime as ort
    import torch

    import ge

    class Block(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv1d(16, 16, 3, padding=1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(self.conv(x)) + x

    from ge.testing.models import export_onnx

    torch.manual_seed(0)
    x = torch.randn(2, 16, 99)
    model = export_onnx(Block().eval(), (x,))
    (want,) = ort.InferenceSession(model.SerializeToString()).run(None, {"x": x.numpy()})
    compiled = ge.compile(model, level="npu", cache=False)
    (got,) = compiled.run(x.numpy())
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    kernels = [k for k in compiled.last_profile["kernels"] if k["cycles"]]
    assert [k["op"] for k in kernels] == ["kernel.conv2d"]
    assert {"ge.relu", "ge.add"} <= set(kernels[0]["fused_from"])
