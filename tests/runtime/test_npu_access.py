# ruff: noqa: E501  (lines of IR text)
"""Dead poisonings in a captured action list (`runtime.npu_access`): a poisoning every byte of
which is overwritten before any read is dropped; one whose bytes something reads is kept, so a
replay still shows a read of data never written as NaN."""

from __future__ import annotations

import numpy as np
from npu_programs import parse

from runtime import npu_semantics as sem
from runtime.npu_access import accesses, drop_dead_poison
from runtime.npu_core import poison
from runtime.npu_interpreter import NpuExecutable


def _kept(actions: list) -> list[np.ndarray]:
    return [args[0] for fn, args in drop_dead_poison(actions) if fn is poison]


def test_a_poisoning_overwritten_before_any_read_is_dropped() -> None:
    buf, src, out = np.empty((4, 8), np.float32), np.ones((4, 8), np.float32), np.empty(32)
    actions = [(poison, (buf,)), (sem.copy, (buf, src)), (sem.reshape_copy, (out, buf))]
    assert _kept(actions) == []


def test_a_poisoning_read_before_it_is_overwritten_is_kept() -> None:
    buf, src, out = np.empty((4, 8), np.float32), np.ones((2, 8), np.float32), np.empty(32)
    half = [(poison, (buf,)), (sem.copy, (buf[:2], src)), (sem.reshape_copy, (out, buf))]
    assert [k is buf for k in _kept(half)] == [True]  # reads rows 2 and 3, never written
    read_first = [(poison, (buf,)), (sem.reshape_copy, (out, buf)), (sem.copy, (buf, src))]
    assert len(_kept(read_first)) == 1


def test_reads_of_only_the_written_part_drop_the_poisoning() -> None:
    buf, src, out = np.empty((4, 8), np.float32), np.ones((2, 8), np.float32), np.empty((2, 8))
    actions = [(poison, (buf,)), (sem.copy, (buf[2:], src)), (sem.copy, (out, buf[2:]))]
    assert _kept(actions) == []  # rows 0 and 1 stay fresh, but nothing reads them


def test_a_function_that_declares_nothing_reads_everything() -> None:
    buf, src = np.empty((4, 8), np.float32), np.ones((4, 8), np.float32)

    def undeclared(dst: np.ndarray, value: np.ndarray) -> None:
        np.copyto(dst, value)

    assert accesses(undeclared, (buf, src)) == ([buf, src], [])
    actions = [(poison, (buf,)), (undeclared, (buf, src))]
    assert len(_kept(actions)) == 1  # it might read buf: kept


def test_mmad_reads_its_operand_windows_and_overwrites_its_result_window() -> None:
    a, b, c = np.empty((32, 32)), np.empty((32, 32)), np.empty((32, 32))
    reads, written = accesses(sem.mmad, (a, b, c, 16, 8, 4, False))
    assert [r.shape for r in reads] == [(16, 4), (4, 8)] and [w.shape for w in written] == [(16, 8)]
    reads, _ = accesses(sem.mmad, (a, b, c, 16, 8, 4, True))
    assert [r.shape for r in reads] == [(16, 4), (4, 8), (16, 8)]  # accumulates: reads c


def test_a_replay_still_reads_the_poison_of_a_buffer_never_written() -> None:
    """The kernel stores a UB buffer of which its DMA wrote 5 of 8 columns, then fills all
    8: the other three are NaN on the first run and on every replay (not what the last run
    left there)."""
    text = """
func.func @main(%x: !npu.buffer<64x64xf32, hbm>) -> !npu.buffer<64x8xf32, hbm> {
  %y = npu.hbm_alloc : !npu.buffer<64x8xf32, hbm>
  npu.kernel "partial" block_dim = 1 {
  ^bb0(%blk: index):
    %s = npu.alloc : !npu.buffer<64x8xf32, ub>
    npu.dma %x[0, 0] [64, 5] -> %s[0, 0] [64, 5] : !npu.buffer<64x64xf32, hbm> -> !npu.buffer<64x8xf32, ub>
    npu.set_flag "MTE2" -> "MTE3" [0]
    npu.wait_flag "MTE2" -> "MTE3" [0]
    npu.dma %s[0, 0] [64, 8] -> %y[0, 0] [64, 8] : !npu.buffer<64x8xf32, ub> -> !npu.buffer<64x8xf32, hbm>
    npu.set_flag "MTE3" -> "MTE2" [0]
    npu.wait_flag "MTE3" -> "MTE2" [0]
    npu.dma %x[0, 0] [64, 8] -> %s[0, 0] [64, 8] : !npu.buffer<64x64xf32, hbm> -> !npu.buffer<64x8xf32, ub>
  }
  func.return %y : !npu.buffer<64x8xf32, hbm>
}
"""
    executable = NpuExecutable(parse(text))
    x = np.arange(64 * 64, dtype=np.float32).reshape(64, 64)
    for _ in range(3):  # capture, merge, replay
        out = executable.run([x]).outputs[0]
        np.testing.assert_array_equal(out[:, :5], x[:, :5])
        assert np.isnan(out[:, 5:]).all()
