"""The interpreter's fast paths answer exactly as the straightforward code they replace.

`Core.l2_cached` (narrow reader bits, a count instead of a mask, cached window sums) is
compared with the original per-element algorithm on random reads by random cores; the probe's
popcount of reader bits with the original per-read counting; `scalar_run` (fused scalar ops)
with one op at a time.
"""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from npu_programs import parse
from xdsl.dialects import func

from runtime.npu_core import Buffer, Core
from runtime.npu_probe import Shares
from runtime.npu_scalar import SCALAR_FNS, _function, constant_value, scalar_run
from runtime.npu_slots import Slots
from runtime.profile import KernelProfile


def _core(index: int, cores: int) -> Core:
    stats = KernelProfile("k", None, [], None, 0, cores, cores)
    return Core(index, {}, 32, cores, stats)


def _reference(reads: list, shape: tuple, share: np.ndarray) -> list[float]:
    """The original `l2_cached` (a uint64 bit per core, a masked sum per read)."""
    bits, answers = np.zeros(shape, np.uint64), []
    for core, window in reads:
        mine = np.uint64(1 << core)
        first = (bits[window] & mine) == 0
        bits[window] |= mine
        answers.append(first.size - float(share[window][first].sum()))
    return answers


@st.composite
def _reads(draw: st.DrawFn) -> tuple:
    cores = draw(st.sampled_from([2, 8, 9, 28, 33, 64]))
    shape = (draw(st.integers(1, 12)), draw(st.integers(1, 40)))
    reads = []
    for _ in range(draw(st.integers(1, 25))):
        r0, c0 = draw(st.integers(0, shape[0] - 1)), draw(st.integers(0, shape[1] - 1))
        r1, c1 = draw(st.integers(r0 + 1, shape[0])), draw(st.integers(c0 + 1, shape[1]))
        reads.append((draw(st.integers(0, cores - 1)), (slice(r0, r1), slice(c0, c1))))
    return cores, shape, reads


@given(_reads(), st.integers(0, 2**32 - 1))
def test_l2_cached_equals_the_masked_sum(case: tuple, seed: int) -> None:
    cores, shape, reads = case
    share = 1.0 / np.random.default_rng(seed).integers(1, cores + 1, shape)
    buf = Buffer(np.zeros(shape, np.float16), SimpleNamespace(space_name="hbm"), "%x")
    shares, readers = Shares({buf: share}), {}
    machine = [_core(i, cores) for i in range(cores)]
    for core in machine:
        core.l2_share, core.l2_readers = shares, readers
    answers = [machine[c].l2_cached(buf, window) for c, window in reads]
    assert answers == _reference(reads, shape, share)
    assert readers[buf].dtype.itemsize * 8 >= cores
    # the probe sets bits only; their popcount is the original count of distinct readers
    for core in machine:
        core.probe, core.l2_readers = True, {}
        core.l2_readers = machine[0].l2_readers
    counts = np.zeros(shape, np.int32)
    seen = np.zeros(shape, np.uint64)
    for c, window in reads:
        assert machine[c].l2_cached(buf, window) == 0.0
        first = (seen[window] & np.uint64(1 << c)) == 0
        seen[window] |= np.uint64(1 << c)
        counts[window] += first
    assert np.array_equal(np.bitwise_count(machine[0].l2_readers[buf]), counts)


def test_reader_bits_are_as_narrow_as_the_cores_allow() -> None:
    widths = {n: _core(n - 1, n).reader_bit.dtype.itemsize for n in (1, 8, 9, 16, 28, 33, 64)}
    assert widths == {1: 1, 8: 1, 9: 2, 16: 2, 28: 4, 33: 8, 64: 8}


SCALARS = """
func.func @f(%a: index, %b: index) -> index {
  %c3 = arith.constant 3 : index
  %cm7 = arith.constant -7 : index
  %t = arith.constant true
  %0 = arith.addi %a, %c3 : index
  %1 = arith.muli %0, %b : index
  %2 = arith.divsi %cm7, %0 : index
  %3 = arith.remsi %cm7, %0 : index
  %4 = arith.minsi %1, %2 : index
  %5 = arith.cmpi slt, %4, %3 : index
  %6 = arith.select %5, %1, %3 : index
  %7 = arith.ceildivsi %6, %c3 : index
  %8 = arith.subi %7, %a : index
  %9 = arith.andi %t, %5 : i1
  func.return %8 : index
}
"""


@given(st.integers(0, 50), st.integers(-20, 20), st.booleans())
def test_scalar_run_equals_one_op_at_a_time(a: int, b: int, probe: bool) -> None:
    fn = next(op for op in parse(SCALARS).walk() if isinstance(op, func.FuncOp))
    ops = [op for op in fn.body.block.ops if not isinstance(op, func.ReturnOp)]
    slots = Slots()
    args = [slots(v) for v in fn.body.block.args]
    fused = scalar_run(ops, slots, probe)
    env = slots.new_env()
    env[args[0]], env[args[1]] = a, b
    expected = list(env)
    for op in ops:  # the reference: each op by its function, in order
        if op.name == "arith.constant":
            expected[slots(op.results[0])] = constant_value(op)
        else:
            values = [expected[slots(v)] for v in op.operands]
            expected[slots(op.results[0])] = _function(op)(*values)
    core = SimpleNamespace(clocks={"S": 5.0}, stats=SimpleNamespace(busy=Counter()))
    fused(env, core)
    assert env == expected
    charged = sum(type(op) in SCALAR_FNS or op.name == "arith.cmpi" for op in ops)
    assert charged == 10
    assert core.clocks["S"] == 5.0 + (0 if probe else charged)
    assert core.stats.busy["S"] == (0 if probe else charged)


def test_reader_shares_of_a_zero_dim_buffer_are_a_scalar() -> None:
    """A 0-d HBM buffer's reader count is a numpy scalar (no memory to write into); its
    share is still 1 / count, and a buffer no core read has share 1 (ONNX's flexattention
    cases read 0-d scales)."""
    from runtime.npu_probe import _reciprocal

    assert _reciprocal(np.uint8(2)) == 0.5
    assert _reciprocal(np.uint8(0)) == 1.0
    counts = np.array([0, 1, 4], np.uint8)
    np.testing.assert_array_equal(_reciprocal(counts), [1.0, 1.0, 0.25])
