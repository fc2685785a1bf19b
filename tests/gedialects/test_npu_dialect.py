"""The npu dialect built from Python: types, builders, verifiers, and the target checks."""

from __future__ import annotations

import pytest
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, f16, f32
from xdsl.ir import Block, Region

from gedialects.errors import GeVerifyError
from gedialects.npu.attrs import PATH_PIPES, BufferType
from gedialects.npu.buffers import AllocOp, HbmAllocOp, ViewOp
from gedialects.npu.cube import MmadOp
from gedialects.npu.launch import KernelOp
from gedialects.npu.sync import SetFlagOp, WaitFlagOp
from gedialects.npu.transfer import DmaOp
from gedialects.npu.vector import BINARY_OPS, REDUCE_OPS, VecTransposeOp
from gedialects.npu.verify import live_peak, verify_npu_module
from runtime.targets import load_target


def _module(*body_ops, args=()) -> tuple[ModuleOp, KernelOp]:
    kernel = KernelOp("k", 2, fused_from=["Add_1"], kind="elementwise")
    kernel.body.block.add_ops(body_ops)
    block = Block(arg_types=list(args))
    block.add_ops([kernel, func.ReturnOp()])
    fn = func.FuncOp("main", (list(args), []), Region(block))
    return ModuleOp([fn]), kernel


def _check_in(kernel: KernelOp, op) -> None:
    """Verify `op` as an instruction of `kernel`."""
    kernel.body.block.add_op(op)
    op.verify()


def test_buffer_type_properties_and_text():
    t = BufferType([64, 32], f16, "l0a", "FRACTAL_NZ")
    assert (t.dims, t.space_name, t.format_name, t.nbytes) == ((64, 32), "l0a", "FRACTAL_NZ", 4096)
    assert str(t) == "!npu.buffer<64x32xf16, l0a, FRACTAL_NZ>"
    assert str(BufferType([8], f32, "ub")) == "!npu.buffer<8xf32, ub>"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (([4], f32, "l3"), "memory space must be one of"),
        (([4], f32, "ub", "NHWC"), "data format must be one of"),
        (([20, 16], f16, "l1", "FRACTAL_NZ"), "multiples of 16"),
        (([1, 2, 3, 4, 8], f16, "ub", "NC1HWC0"), "C0 = 16"),
        (([0, 4], f32, "ub"), "every dimension must be positive"),
    ],
)
def test_bad_buffer_types(args, message):
    with pytest.raises(GeVerifyError, match=message):
        BufferType(*args).verify()


def test_built_kernel_verifies_and_names_its_block_index():
    x = BufferType([64, 64], f32, "hbm")
    u = AllocOp(BufferType([64, 64], f32, "ub"))
    module, kernel = _module(u, args=[x])
    hbm = module.body.block.first_op.body.block.args[0]
    kernel.body.block.add_ops(
        [
            DmaOp(hbm, [kernel.block_index, 0], [32, 64], u.buffer, [0, 0]),
            SetFlagOp("MTE2", "V", 0),
            WaitFlagOp("MTE2", "V", 0),
            BINARY_OPS["add"](u.buffer, u.buffer, u.buffer),
        ]
    )
    module.verify()
    verify_npu_module(module, load_target())
    assert kernel.blocks == 2 and kernel.stream_id == 0
    dma = next(op for op in kernel.walk() if isinstance(op, DmaOp))
    assert dma.window("src_offsets") == [kernel.block_index, 0]
    assert dma.window("dst_sizes") == [32, 64]


def test_every_path_has_a_pipe_and_targets_have_rates_for_the_usual_ones():
    target = load_target()
    assert PATH_PIPES[("hbm", "l1")] == "MTE2" and PATH_PIPES[("l1", "l0a")] == "MTE1"
    assert PATH_PIPES[("ub", "hbm")] == "MTE3" and PATH_PIPES[("l0c", "ub")] == "FIX"
    assert all(target.rate(*path) is not None for path in PATH_PIPES if path != ("l0c", "hbm"))


def test_mmad_checks_modes_and_sizes():
    a = AllocOp(BufferType([32, 16], f16, "l0a", "FRACTAL_NZ"))
    b = AllocOp(BufferType([16, 32], f16, "l0b", "FRACTAL_NZ"))
    c = AllocOp(BufferType([32, 32], f32, "l0c", "FRACTAL_NZ"))
    c16 = AllocOp(BufferType([32, 32], f16, "l0c", "FRACTAL_NZ"))
    good = MmadOp(a.buffer, b.buffer, c.buffer, [32, 32, 16])
    module, kernel = _module(a, b, c, c16, good)
    module.verify()
    with pytest.raises(GeVerifyError, match="k = 32 does not fit the operands"):
        _check_in(kernel, MmadOp(a.buffer, b.buffer, c.buffer, [32, 32, 32]))
    with pytest.raises(GeVerifyError, match="not a cube mode"):
        _check_in(kernel, MmadOp(a.buffer, b.buffer, c16.buffer, [32, 32, 16]))
    with pytest.raises(GeVerifyError, match="'npu.mmad': a must be in l0a, got a buffer in l0b"):
        _check_in(kernel, MmadOp(b.buffer, b.buffer, c.buffer, [16, 16, 16]))


def test_vector_shape_rules():
    u = AllocOp(BufferType([8, 16], f32, "ub"))
    row = AllocOp(BufferType([8, 1], f32, "ub"))
    col = AllocOp(BufferType([1, 8], f32, "ub"))
    t = AllocOp(BufferType([16, 8], f32, "ub"))
    ops = [
        BINARY_OPS["sub"](u.buffer, row.buffer, u.buffer),
        REDUCE_OPS["reduce_sum"](u.buffer, row.buffer, [1]),
        VecTransposeOp(u.buffer, t.buffer, [1, 0]),
    ]
    module, kernel = _module(u, row, col, t, *ops)
    module.verify()
    with pytest.raises(GeVerifyError, match="do not broadcast"):
        _check_in(kernel, BINARY_OPS["add"](u.buffer, col.buffer, u.buffer))
    with pytest.raises(GeVerifyError, match=r"destination must be \(8, 1\)"):
        _check_in(kernel, REDUCE_OPS["reduce_max"](u.buffer, col.buffer, [1]))
    with pytest.raises(GeVerifyError, match="not a permutation"):
        _check_in(kernel, VecTransposeOp(u.buffer, t.buffer, [1, 1]))


def test_live_peak_frees_loop_buffers_and_aligns_to_blocks():
    from xdsl.dialects import arith, scf

    zero, one = (
        arith.ConstantOp.from_int_and_width(0, 64),
        arith.ConstantOp.from_int_and_width(1, 64),
    )
    inner = AllocOp(BufferType([100], f32, "ub"))  # 400 bytes -> 416 (13 blocks of 32)
    loop_body = Block(arg_types=[zero.result.type])
    loop_body.add_ops([inner, scf.YieldOp()])
    loop = scf.ForOp(zero.result, one.result, one.result, [], Region(loop_body))
    outer = AllocOp(BufferType([64], f32, "ub"))
    l1 = AllocOp(BufferType([16, 16], f16, "l1"))
    _, kernel = _module(zero, one, outer, loop, l1)
    peak, holders = live_peak(kernel.body.block, 32)
    assert peak["ub"] == 256 + 416 and peak["l1"] == 512
    assert holders["ub"] == [outer, inner]


def test_hbm_offsets_must_be_aligned():
    x = HbmAllocOp(BufferType([64], f32, "hbm"), offset=100)
    fn = func.FuncOp("main", ([], []), Region(Block([x, func.ReturnOp()])))
    with pytest.raises(GeVerifyError, match="offset 100 is not aligned to 512 bytes"):
        verify_npu_module(ModuleOp([fn]), load_target())


def test_flags_need_distinct_pipes_and_a_kernel():
    with pytest.raises(GeVerifyError, match="two different pipes"):
        _module(SetFlagOp("V", "V", 0))[0].verify()
    with pytest.raises(GeVerifyError, match="'X' is not a pipe"):
        _module(SetFlagOp("X", "V", 0))[0].verify()


@pytest.mark.parametrize(
    "result, offset, message",
    [
        (BufferType([2, 8], f32, "hbm"), 0, None),  # the first 16 elements
        (BufferType([4, 4], f32, "hbm"), 48, None),  # the last 16
        (BufferType([4, 4], f32, "hbm"), 49, r"elements \[49, 65\) are past the 64"),
        (BufferType([16], f32, "hbm"), -1, r"elements \[-1, 15\) are past"),
        (BufferType([16], f16, "hbm"), 0, "is not an ND view"),
        (BufferType([16], f32, "ub"), 0, "result"),
    ],
)
def test_a_view_is_a_contiguous_window_of_its_source(result, offset, message) -> None:
    source = HbmAllocOp(BufferType([64], f32, "hbm"))
    view = ViewOp(source.buffer, result, offset)
    fn = func.FuncOp("main", ([], []), Region(Block([source, view, func.ReturnOp()])))
    if message is None:
        fn.verify()
        return
    with pytest.raises(Exception, match=message):
        fn.verify()


def test_a_view_lives_between_kernels() -> None:
    source = HbmAllocOp(BufferType([64], f32, "hbm"))
    module, kernel = _module(args=[source.buffer.type])
    with pytest.raises(Exception, match="viewed between kernels"):
        _check_in(kernel, ViewOp(module.body.block.first_op.body.block.args[0], source.buffer.type))
