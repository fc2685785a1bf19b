"""The memory plan carried into the npu level: after `plan-memory`, `convert-kernel-to-npu`
gives every planned kernel result its arena offset, and a contiguous split or a concat
whose producers the plan placed in its bytes launches nothing (their `npu.hbm_alloc`s
alias the bytes, as the kernel runner treats them). The lowered program runs on the
modeled NPU to the reference's outputs, with the same kernels the runner launches."""

from __future__ import annotations

import numpy as np
from hypothesis import event, given
from hypothesis import strategies as st
from memory_programs import UNARY, Program, concat_programs, conv_bn_relu, main
from xdsl.dialects.builtin import ModuleOp

from ge.pipeline import apply_pipeline
from ge.testing import run
from gedialects.ge import AddOp, BatchNormOp, ConcatOp, Conv2DOp, ReluOp, SplitOp
from gedialects.npu.buffers import HbmAllocOp, ViewOp
from gedialects.npu.launch import KernelOp
from lowering.convert_kernel_to_npu import lower_module
from passes.memory.memory_rules import placed_offsets, view_offsets
from passes.memory.record import INPLACE, recorded_offsets
from runtime.npu_interpreter import run_npu


@st.composite
def split_programs(draw: st.DrawFn) -> ModuleOp:
    """A kernel's result split into contiguous pieces (a batch of one, along a row axis),
    each piece through its own kernels, some concatenated back."""
    rows, cols = draw(st.integers(2, 6)), draw(st.integers(1, 5))
    p = Program((1, rows, cols))
    x = p(draw(st.sampled_from(UNARY))(p.args[0]))
    cut = draw(st.integers(1, rows - 1))
    pieces = list(p(SplitOp(x, axis=1, sizes=[cut, rows - cut])))
    pieces = [p(draw(st.sampled_from(UNARY))(piece)) for piece in pieces]
    if draw(st.booleans()):
        return p.finish(p(ConcatOp(*pieces, axis=1)))
    return p.finish(*pieces)


def _check(module: ModuleOp, seed: int) -> None:
    rng = np.random.default_rng(seed)
    types = main(module).function_type.inputs
    inputs = [rng.standard_normal(t.get_shape()).astype(np.float32) for t in types]
    want = run(module, inputs)
    apply_pipeline(module, "convert-ge-to-kernel,copy-concat-operands,plan-memory")
    fn, lowered = main(module), lower_module(module)
    got = run_npu(lowered, inputs).outputs
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-6)
    offsets = recorded_offsets(fn)
    allocs = [op for op in lowered.walk() if isinstance(op, HbmAllocOp) and op.offset]
    planned = {op.offset.value.data for op in allocs}
    assert planned <= set(offsets.values())  # the plan's bytes, and no others
    ops = [op for op in fn.body.block.ops if op.name.startswith("kernel.")]
    free = [op for op in ops if view_offsets(op) is not None or placed_offsets(op) is not None]
    placed = {v for op in free if placed_offsets(op) is not None for v in op.operands}
    for op in ops:  # a result with bytes of its own is allocated at its planned offset
        if op not in free and INPLACE not in op.attributes:
            assert all(offsets[r] in planned for r in op.results if r not in placed)
    launches = sum(1 for op in lowered.walk() if isinstance(op, KernelOp))
    event(f"ops that launch nothing: {len(free)}")
    # each kernel op of these programs launches one npu kernel; views and placed concats none
    assert launches == len(ops) - len(free)


@given(concat_programs(), st.integers(0, 2**16))
def test_placed_concats_launch_nothing_and_run_as_planned(module: ModuleOp, seed: int) -> None:
    _check(module, seed)


@given(split_programs(), st.integers(0, 2**16))
def test_contiguous_splits_launch_nothing_and_run_as_planned(module: ModuleOp, seed: int) -> None:
    _check(module, seed)


def test_a_conv_writing_over_its_residual_runs_as_planned() -> None:
    """ResNet's block: the second conv adds the block's input, which dies there, so the
    plan has the conv write over it (`mem.inplace`), and the npu program's conv writes into
    a view of that buffer, tile after tile (each tile reads its residual before its store)."""
    p = Program((1, 16, 12, 12))
    x = p(ReluOp(p.args[0]))
    y = conv_bn_relu(p, x, 16, 16)
    z = p(BatchNormOp(p(Conv2DOp(y, p.const(16, 16, 3, 3), pads=[1, 1, 1, 1])), *_stats(p)))
    module = p.finish(p(ReluOp(p(AddOp(z, x)))))
    data = np.random.default_rng(1).standard_normal((1, 16, 12, 12)).astype(np.float32)
    (want,) = run(module, [data])
    apply_pipeline(module, "ge-optimize,plan-memory")
    assert any(INPLACE in op.attributes for op in main(module).body.block.ops)
    lowered = lower_module(module)
    assert any(isinstance(op, ViewOp) for op in lowered.walk())
    (got,) = run_npu(lowered, [data]).outputs
    # ge-optimize folds the batch norms into the conv filters, so the sums round differently:
    # the error scales with the output's magnitude (up to ~100 here), not each element's.
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())


def _stats(p: Program) -> list:
    return [p.const(16, low=0.5) for _ in range(4)]
