"""Constant conv weights are laid out in the cube's K order at compile time (as GE converts
weights to FRACTAL_Z offline), so the im2col kernel loads them with one DMA into L1."""

from __future__ import annotations

import numpy as np
import pytest
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, f32
from xdsl.ir import Block, Region

from ge.pipeline import apply_pipeline
from gedialects.ge import ConstantOp, Conv2DOp
from gedialects.ge.types import tensor
from gedialects.interpreter import run_reference
from gedialects.npu.buffers import HbmConstantOp
from gedialects.npu.transfer import DmaOp
from gedialects.npu.vector import VecTransposeOp
from runtime.kernel_runner import KernelRunner


def conv_module(c: int, size: int, o: int, k: int, groups: int) -> ModuleOp:
    block = Block(arg_types=[tensor([1, c, size, size], f32)])
    rng = np.random.default_rng(0)
    w = ConstantOp(rng.standard_normal((o, c // groups, k, k)).astype(np.float32))
    conv = Conv2DOp(block.args[0], w, strides=[1, 1], pads=[1] * 4, groups=groups)
    block.add_ops([w, conv, func.ReturnOp(conv)])
    fn = func.FuncOp("main", ((block.args[0].type,), (conv.output.type,)), Region(block))
    return ModuleOp([fn])


@pytest.mark.parametrize("c, o, k, groups", [(20, 24, 3, 1), (32, 16, 3, 2), (8, 8, 5, 1)])
def test_constant_weights_are_laid_out_once_at_compile_time(c, o, k, groups):
    module = conv_module(c, 14, o, k, groups)
    apply_pipeline(module, "convert-ge-to-kernel,select-implementations{conv-algorithm=im2col}")
    runner = KernelRunner(module)
    (executable,) = runner.executables.values()
    program = executable.fn
    laid = [op for op in program.walk() if isinstance(op, HbmConstantOp)]
    k_order = -(-(c // groups) // 16) * 16 * k * k
    folded = -(-(c // groups * k) // 16) * 16 * k  # kernel rows folded into channels
    assert tuple(laid[-1].buffer.type.dims) in {(groups, k, o // groups) for k in (k_order, folded)}
    # no weight transposes on the vector unit: the image's layout change is the only V work
    assert not any(isinstance(op, VecTransposeOp) and op.operands[0].type.dims[-1] == k
                   for op in program.walk())  # fmt: skip
    assert any(isinstance(op, DmaOp) and op.src == laid[-1].buffer for op in program.walk())
    x = np.random.default_rng(0).standard_normal((1, c, 14, 14)).astype(np.float32)
    run = runner.run([x])
    assert not run.fallbacks
    np.testing.assert_allclose(run.outputs[0], run_reference(module, [x])[0], rtol=1e-4, atol=1e-4)
