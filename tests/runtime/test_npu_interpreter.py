# ruff: noqa: E501  (lines of IR text)
"""The npu interpreter: tiled programs equal numpy; clocks follow the cost model; misuse fails."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from npu_programs import add_relu_program, conv_program, matmul_program, parse

from gedialects.errors import InterpretationError
from runtime.cost_model import roofline_terms
from runtime.npu_interpreter import NpuExecutable, run_npu
from runtime.targets import default_target

RNG = np.random.default_rng(7)


def _matmul_inputs(m: int, n: int, k: int, dtype=np.float16):
    return RNG.standard_normal((m, k)).astype(dtype), RNG.standard_normal((k, n)).astype(dtype)


def _reference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a.astype(np.float64) @ b.astype(np.float64)


def _check_roofline(result) -> None:
    for kernel in result.profile.kernels:
        assert 0 < kernel.roofline_cycles <= kernel.cycles


@pytest.mark.parametrize(
    ("m", "n", "k", "tile", "block_dim"),
    [
        (64, 64, 64, 64, 1),  # one tile
        (100, 70, 90, 32, 4),  # no dim divides the tiles: edge tiles and a K tail
        (17, 200, 33, 48, 3),  # more blocks than M tiles, K tail of 1
        (520, 96, 1100, 128, 32),  # A is larger than L1 (1 MiB) and every other level
    ],
)
@pytest.mark.parametrize("double", [False, True])
def test_tiled_matmul_equals_numpy(m, n, k, tile, block_dim, double):
    a, b = _matmul_inputs(m, n, k)
    text = matmul_program(m, n, k, tile, tile, tile, block_dim, double=double)
    result = run_npu(parse(text), [a, b])
    np.testing.assert_allclose(result.outputs[0], _reference(a, b), rtol=1e-5, atol=1e-4)
    kernel = result.profile.kernels[0]
    assert kernel.cube_flops == 2 * m * n * k
    assert kernel.cores == min(block_dim, default_target().ai_cores)
    _check_roofline(result)


def test_the_roofline_counts_f32_mmads_at_the_f32_mode_rate():
    """The cube's f32 mode runs at half the fp16 rate: an f32 GEMM's compute bound is twice
    an fp16 one's, and the modeled cycles of a compute-bound one stay above it."""
    m = n = k = 512
    kernels = {}
    for dtype in ("f16", "f32"):
        a, b = (
            x.astype(np.float32 if dtype == "f32" else np.float16) for x in _matmul_inputs(m, n, k)
        )
        text = matmul_program(m, n, k, 64, 64, 64, 16, double=True, dtype=dtype)
        kernels[dtype] = run_npu(parse(text), [a, b]).profile.kernels[0]
    f16, f32 = kernels["f16"], kernels["f32"]
    assert f32.cube_f32_flops == f32.cube_flops == 2 * m * n * k and f16.cube_f32_flops == 0
    peak = default_target().peak_flops_per_cycle
    assert f16.roofline_cycles >= 2 * m * n * k / peak
    assert 2 * (2 * m * n * k) / peak <= f32.roofline_cycles <= f32.cycles
    target, flops = default_target(), 2.0 * 4096**3  # compute-bound: no bytes
    compute = roofline_terms(target, flops, 0, 0, False)["cube"]
    assert roofline_terms(target, flops, 0, 0, False, cube_f32_flops=flops)["cube"] == 2 * compute


@given(
    st.integers(1, 100),
    st.integers(1, 100),
    st.integers(1, 100),
    st.sampled_from([16, 32, 48, 64]),
    st.integers(1, 6),
    st.booleans(),
)
def test_random_matmul_shapes_equal_numpy(m, n, k, tile, block_dim, double):
    a, b = _matmul_inputs(m, n, k)
    result = run_npu(parse(matmul_program(m, n, k, tile, tile, tile, block_dim, double)), [a, b])
    np.testing.assert_allclose(result.outputs[0], _reference(a, b), rtol=1e-5, atol=1e-4)


def test_f32_mode_matmul_is_exact_to_f32_and_slower_on_the_cube():
    a, b = _matmul_inputs(96, 80, 64, np.float32)
    f32 = run_npu(parse(matmul_program(96, 80, 64, 32, 32, 32, 1, dtype="f32")), [a, b])
    np.testing.assert_allclose(f32.outputs[0], _reference(a, b), rtol=1e-5, atol=1e-5)
    f16 = run_npu(parse(matmul_program(96, 80, 64, 32, 32, 32, 1)), [a, b])
    factor = default_target().cube_f32_cycles_per_fractal
    assert f32.profile.kernels[0].busy["M"] == factor * f16.profile.kernels[0].busy["M"]


def test_elementwise_larger_than_l2_equals_numpy():
    rows, cols = 3000, 3000  # 36 MB per f32 tensor: more than the 32 MiB L2
    assert rows * cols * 4 > default_target().capacity["l2"]
    x, y = (RNG.standard_normal((rows, cols)).astype(np.float32) for _ in range(2))
    result = run_npu(parse(add_relu_program(rows, cols, 16, 1000, 32)), [x, y])
    np.testing.assert_array_equal(result.outputs[0], np.maximum(x + y, 0))
    kernel = result.profile.kernels[0]
    assert kernel.hbm_bytes_read == 2 * x.nbytes and kernel.hbm_bytes_written == x.nbytes
    _check_roofline(result)


def test_elementwise_fp16_edges():
    x, y = (RNG.standard_normal((37, 300)).astype(np.float16) for _ in range(2))
    result = run_npu(parse(add_relu_program(37, 300, 16, 128, 5, double=True, dtype="f16")), [x, y])
    np.testing.assert_array_equal(result.outputs[0], np.maximum(x + y, 0))


@pytest.mark.parametrize(
    "program",
    [
        lambda d: matmul_program(256, 256, 512, 64, 64, 64, 1, double=d),
        lambda d: add_relu_program(512, 512, 32, 256, 1, double=d),
    ],
)
def test_double_buffering_overlaps_pipes(program):
    single, double = parse(program(False)), parse(program(True))
    args = [a.type.dims for a in single.body.block.ops.first.body.block.args]
    inputs = [RNG.standard_normal(shape).astype(np.float16) for shape in args]
    one, two = run_npu(single, inputs), run_npu(double, inputs)
    np.testing.assert_array_equal(one.outputs[0], two.outputs[0])
    k1, k2 = one.profile.kernels[0], two.profile.kernels[0]
    assert k1.busy["MTE2"] == k2.busy["MTE2"]  # the same work ...
    assert k2.cycles < 0.95 * k1.cycles  # ... overlapped


STAGED = """
func.func @main(%x: !npu.buffer<64x64xf32, hbm>) -> !npu.buffer<64x64xf32, hbm> {
  %y = npu.hbm_alloc : !npu.buffer<64x64xf32, hbm>
  npu.kernel "staged" block_dim = 1 {
  ^bb0(%blk: index):
    %u = npu.alloc : !npu.buffer<64x64xf32, ub>
    %s = npu.alloc : !npu.buffer<64x8xf32, ub>
    npu.dma %x[0, 0] [64, 64] -> %u[0, 0] [64, 64] : !npu.buffer<64x64xf32, hbm> -> !npu.buffer<64x64xf32, ub>
    npu.dma %x[0, 0] [64, 5] -> %s[0, 0] [64, 5] : !npu.buffer<64x64xf32, hbm> -> !npu.buffer<64x8xf32, ub>
    npu.set_flag "MTE2" -> "V" [0]
    npu.wait_flag "MTE2" -> "V" [0]
    npu.vec_exp %u -> %u : !npu.buffer<64x64xf32, ub> -> !npu.buffer<64x64xf32, ub>
    npu.set_flag "V" -> "MTE3" [0]
    npu.wait_flag "V" -> "MTE3" [0]
    npu.dma %u[0, 0] [64, 64] -> %y[0, 0] [64, 64] : !npu.buffer<64x64xf32, ub> -> !npu.buffer<64x64xf32, hbm>
  }
  func.return %y : !npu.buffer<64x64xf32, hbm>
}
"""


def test_clocks_follow_the_cost_model():
    t = default_target()
    x = RNG.standard_normal((64, 64)).astype(np.float32)
    result = run_npu(parse(STAGED), [x])
    np.testing.assert_allclose(result.outputs[0], np.exp(x), rtol=1e-6)
    kernel = result.profile.kernels[0]
    whole = 64 * 64 * 4
    strided = 64 * t.dma_burst  # 64 rows of 20 bytes, each rounded up to one 32-byte burst
    # the second read of %x finds it in L2 (read once already by this kernel)
    mte2 = whole / t.rate("hbm", "ub") + math.ceil(strided / t.rate("l2", "ub"))
    vector = whole / t.vector_bytes_per_cycle
    mte3 = whole / t.rate("ub", "hbm")
    assert kernel.busy["MTE2"] == mte2 and kernel.busy["V"] == vector
    assert kernel.busy["MTE3"] == mte3
    assert kernel.cycles == mte2 + vector + mte3  # the flags serialise the three stages
    assert kernel.hbm_bytes_read == whole + 64 * 5 * 4


def test_mmad_costs_one_cycle_per_fractal():
    a, b = _matmul_inputs(64, 64, 64)
    kernel = run_npu(parse(matmul_program(64, 64, 64, 64, 64, 64, 1)), [a, b]).profile.kernels[0]
    assert kernel.busy["M"] == 4 * 4 * 4
    assert kernel.busy["MTE1"] == 64 * 64 * 2 / 512 + 64 * 64 * 2 / 256


def test_block_dim_spreads_tiles_over_cores():
    a, b = _matmul_inputs(256, 256, 64)
    one = run_npu(parse(matmul_program(256, 256, 64, 64, 64, 64, 1)), [a, b]).profile.kernels[0]
    four = run_npu(parse(matmul_program(256, 256, 64, 64, 64, 64, 4)), [a, b]).profile.kernels[0]
    assert four.cores == 4 and len(four.core_cycles) == 4
    # four cores: a quarter of the tiles each, but fewer L2 hits and a shorter pipeline to fill
    assert one.cycles / 4 <= four.cycles < one.cycles / 2
    assert four.busy["M"] == one.busy["M"]


def test_missing_flag_is_a_race():
    text = matmul_program(64, 64, 64, 32, 32, 32, 1)
    text = text.replace('npu.set_flag "MTE2" -> "MTE1" [0]\n', "", 1)
    text = text.replace('npu.wait_flag "MTE2" -> "MTE1" [0]\n', "", 1)
    with pytest.raises(
        InterpretationError, match="race on core 0: 'npu.dma' on MTE1 reads %a1 \\(l1\\)"
    ):
        run_npu(parse(text), _matmul_inputs(64, 64, 64))


def test_access_past_a_buffer_is_refused():
    text = STAGED.replace(
        "npu.dma %x[0, 0] [64, 5]",
        "%c60 = arith.constant 60 : index\n    npu.dma %x[%c60, 0] [64, 5]",
    )
    with pytest.raises(InterpretationError, match=r"accesses \[60:124\] on axis 0 of %x.*past"):
        run_npu(parse(text), [np.zeros((64, 64), np.float32)])


def test_a_wait_that_is_never_set_would_hang():
    text = STAGED.replace(
        '    npu.set_flag "MTE2" -> "V" [0]\n',
        '    %no = arith.constant false\n    scf.if %no {\n      npu.set_flag "MTE2" -> "V" [0]\n    }\n',
    )
    with pytest.raises(InterpretationError, match="never set; the core would hang"):
        run_npu(parse(text), [np.zeros((64, 64), np.float32)])


def test_level_capacity_is_enforced_while_running():
    executable = NpuExecutable(parse(STAGED))
    from runtime.npu_core import Core
    from runtime.profile import KernelProfile

    core = Core(0, {"ub": 1024}, 32, 1, KernelProfile("k", None, [], None, 0, 1, 1))
    core.push_scope()
    buf_type = executable.fn.body.block.args[0].type
    from gedialects.npu.attrs import BufferType

    small = BufferType([16, 16], buf_type.element_type, "ub")
    core.allocate("a", small, "%a")
    with pytest.raises(InterpretationError, match="exceeds its capacity: 1024 of 1024"):
        core.allocate("b", small, "%b")
    core.pop_scope()
    assert core.used["ub"] == 0


def test_executable_runs_again_with_new_inputs():
    executable = NpuExecutable(parse(STAGED))
    for seed in range(2):
        x = np.random.default_rng(seed).standard_normal((64, 64)).astype(np.float32)
        np.testing.assert_allclose(executable.run([x]).outputs[0], np.exp(x), rtol=1e-6)


@pytest.mark.parametrize(
    ("c", "h", "w", "n", "kernel", "stride", "pad", "tm"),
    [(20, 9, 7, 32, 3, 1, 1, 32), (16, 10, 10, 16, 3, 2, 0, 16), (5, 6, 5, 16, 1, 1, 0, 48)],
)
def test_conv_through_img2col_equals_numpy(c, h, w, n, kernel, stride, pad, tm):
    c1 = -(-c // 16)
    x = RNG.standard_normal((1, c, h, w)).astype(np.float16)
    weight = RNG.standard_normal((n, c, kernel, kernel)).astype(np.float16)
    x5 = np.zeros((1, c1 * 16, h, w), np.float16)
    x5[:, :c] = x
    x5 = x5.reshape(1, c1, 16, h, w).transpose(0, 1, 3, 4, 2)  # NC1HWC0
    wz = np.zeros((n, c1 * 16, kernel, kernel), np.float16)
    wz[:, :c] = weight
    wz = (
        wz.reshape(n, c1, 16, kernel, kernel).transpose(1, 3, 4, 2, 0).reshape(-1, n)
    )  # (c1 kh kw c0, n)
    result = run_npu(parse(conv_program(c1, h, w, n, kernel, stride, pad, tm)), [x5, wz])
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    win = np.lib.stride_tricks.sliding_window_view(xp[0], (kernel, kernel), axis=(1, 2))
    win = win[:, ::stride, ::stride]  # (c, ho, wo, kh, kw)
    want = np.einsum("chwij,ncij->hwn", win, weight.astype(np.float64)).reshape(-1, n)
    np.testing.assert_allclose(result.outputs[0], want, rtol=1e-5, atol=1e-4)
    _check_roofline(result)


def test_trace_has_kernels_on_streams_and_instructions_on_pipes(tmp_path):
    from runtime.trace import chrome_trace, write_trace

    a, b = _matmul_inputs(64, 64, 64)
    executable = NpuExecutable(parse(matmul_program(64, 64, 64, 32, 32, 32, 2)))
    untraced = executable.run([a, b]).profile.kernels[0]
    assert untraced.events is None
    result = executable.run([a, b], trace=True)
    kernel = result.profile.kernels[0]
    assert len(kernel.events) == kernel.instructions == untraced.instructions
    trace = chrome_trace(result.profile, default_target())
    spans = [e for e in trace["traceEvents"] if e["ph"] == "X"]
    assert spans[0]["name"] == "matmul" and spans[0]["dur"] == kernel.cycles / 1000
    assert spans[0]["args"]["bound"] == kernel.bound() and kernel.bound()["pipe"]
    pipes = {e["tid"] for e in spans[1:]}
    assert {"MTE2", "MTE1", "M", "FIX", "MTE3"} <= pipes
    ends = [e["ts"] + e["dur"] for e in spans[1:]]
    assert max(ends) == pytest.approx(kernel.cycles / 1000)
    write_trace(tmp_path / "t.json", result.profile, default_target())
    assert (tmp_path / "t.json").read_text().startswith('{"traceEvents"')


def _a_bt_program(m: int, n: int, k: int, dynamic: bool) -> str:
    """C = A @ B^T for B given as (N, K): B's rows load into L1 and the MTE1 load into L0B
    transposes them (`npu.dma {transpose}`); `dynamic` gives N as an SSA value."""
    nn = "%nn" if dynamic else str(n)
    l1b = f"!npu.buffer<{n}x{k}xf16, l1, FRACTAL_NZ>"
    l0b = f"!npu.buffer<{k}x{n}xf16, l0b, FRACTAL_NZ>"
    return f"""
func.func @main(%A: !npu.buffer<{m}x{k}xf16, hbm>, %B: !npu.buffer<{n}x{k}xf16, hbm>) -> !npu.buffer<{m}x{n}xf32, hbm> {{
  %C = npu.hbm_alloc {{offset = 0 : i64}} : !npu.buffer<{m}x{n}xf32, hbm>
  npu.kernel "a_bt" block_dim = 1 attributes {{kind = "matmul", fused_from = ["MatMul_0"]}} {{
  ^bb0(%blk: index):
    %nn = arith.constant {n} : index
    %a1 = npu.alloc : !npu.buffer<{m}x{k}xf16, l1, FRACTAL_NZ>
    %b1 = npu.alloc : {l1b}
    %a0 = npu.alloc : !npu.buffer<{m}x{k}xf16, l0a, FRACTAL_NZ>
    %b0 = npu.alloc : {l0b}
    %c = npu.alloc : !npu.buffer<{m}x{n}xf32, l0c, FRACTAL_NZ>
    %u = npu.alloc : !npu.buffer<{m}x{n}xf32, ub>
    npu.dma %A[0, 0] [{m}, {k}] -> %a1[0, 0] [{m}, {k}] : !npu.buffer<{m}x{k}xf16, hbm> -> !npu.buffer<{m}x{k}xf16, l1, FRACTAL_NZ>
    npu.dma %B[0, 0] [{nn}, {k}] -> %b1[0, 0] [{nn}, {k}] : !npu.buffer<{n}x{k}xf16, hbm> -> {l1b}
    npu.set_flag "MTE2" -> "MTE1" [0]
    npu.wait_flag "MTE2" -> "MTE1" [0]
    npu.dma %a1[0, 0] [{m}, {k}] -> %a0[0, 0] [{m}, {k}] : !npu.buffer<{m}x{k}xf16, l1, FRACTAL_NZ> -> !npu.buffer<{m}x{k}xf16, l0a, FRACTAL_NZ>
    npu.dma %b1[0, 0] [{nn}, {k}] -> %b0[0, 0] [{k}, {nn}] {{transpose}} : {l1b} -> {l0b}
    npu.set_flag "MTE1" -> "M" [0]
    npu.wait_flag "MTE1" -> "M" [0]
    npu.mmad %a0, %b0 -> %c [{m}, {nn}, {k}] : !npu.buffer<{m}x{k}xf16, l0a, FRACTAL_NZ>, {l0b} -> !npu.buffer<{m}x{n}xf32, l0c, FRACTAL_NZ>
    npu.set_flag "M" -> "FIX" [0]
    npu.wait_flag "M" -> "FIX" [0]
    npu.dma %c[0, 0] [{m}, {nn}] -> %u[0, 0] [{m}, {nn}] : !npu.buffer<{m}x{n}xf32, l0c, FRACTAL_NZ> -> !npu.buffer<{m}x{n}xf32, ub>
    npu.set_flag "FIX" -> "MTE3" [0]
    npu.wait_flag "FIX" -> "MTE3" [0]
    npu.dma %u[0, 0] [{m}, {nn}] -> %C[0, 0] [{m}, {nn}] : !npu.buffer<{m}x{n}xf32, ub> -> !npu.buffer<{m}x{n}xf32, hbm>
  }}
  func.return %C : !npu.buffer<{m}x{n}xf32, hbm>
}}"""


@pytest.mark.parametrize("dynamic", [False, True])
def test_transposing_load_puts_b_transposed_on_the_cube(dynamic):
    """A (N, K) operand loaded as rows and transposed on its MTE1 load gives A @ B^T, and
    the load costs what a plain move of its bytes costs."""
    m, n, k = 32, 48, 64
    a, bt = (RNG.standard_normal(shape).astype(np.float16) for shape in ((m, k), (n, k)))
    result = run_npu(parse(_a_bt_program(m, n, k, dynamic)), [a, bt])
    np.testing.assert_allclose(result.outputs[0], _reference(a, bt.T), rtol=1e-5, atol=1e-4)
    kernel = result.profile.kernels[0]
    assert kernel.busy["MTE1"] == m * k * 2 / 512 + n * k * 2 / 256


def test_a_transposing_load_of_the_wrong_window_is_refused():
    """A dynamic window the verifier cannot see is checked when it runs."""
    text = _a_bt_program(32, 48, 64, dynamic=True)
    text = text.replace("%b1[0, 0] [%nn, 64] -> %b0", "%b1[0, 0] [%nn, 32] -> %b0")
    with pytest.raises(InterpretationError, match=r"windows \[48, 32\] and \[64, 48\] differ"):
        run_npu(parse(text), [np.zeros((32, 64), np.float16), np.zeros((48, 64), np.float16)])


def test_a_rank_0_argument_returned_as_it_is_keeps_rank_0():
    """np.ascontiguousarray gives rank 0 a dimension: the scalar came back as shape (1,)."""
    from ge.testing import apply_pipeline

    module = parse(
        "func.func @main(%x: tensor<f32>, %y: tensor<2xf32>) -> (tensor<f32>, tensor<2xf32>) {\n"
        "  %0 = ge.relu %y : (tensor<2xf32>) -> tensor<2xf32>\n"
        "  func.return %x, %0 : tensor<f32>, tensor<2xf32>\n}\n"
    )
    apply_pipeline(
        "ge-optimize,select-implementations,split-pointwise-convs,schedule-streams,"
        "plan-memory,convert-kernel-to-npu",
        module,
    )
    x, y = np.array(1.5, np.float32), np.array([-1, 2], np.float32)
    scalar, relu = NpuExecutable(module).run([x, y]).outputs
    assert scalar.shape == () and scalar == x
    np.testing.assert_array_equal(relu, [0, 2])
