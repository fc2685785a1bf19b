"""Capture and replay (`runtime.npu_replay`, `runtime.npu_batch`): a warm run of an npu program
gives what a first, fully interpreted run on the same inputs gives: outputs and profile."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from npu_programs import add_relu_program, conv_program, matmul_program, parse
from xdsl.parser import Parser
from xdsl.passes import PassPipeline

from ge.registry import all_passes, make_context
from ge.testing.strategies import programs_with_inputs
from runtime.kernel_runner import KernelRunner
from runtime.npu_batch import Gathered, stack, stack_columns
from runtime.npu_interpreter import NpuExecutable
from runtime.npu_replay import BATCH_ENV

RNG = np.random.default_rng(7)


def _programs() -> list[tuple[str, str, list[tuple[tuple[int, ...], str]]]]:
    """(name, text, input shapes and dtypes): programs with edge tiles and several waves."""
    return [
        ("matmul", matmul_program(100, 90, 70, 32, 32, 32, 40, double=True),
         [((100, 70), "f16"), ((70, 90), "f16")]),
        ("add_relu", add_relu_program(200, 300, 8, 128, 33, double=True),
         [((200, 300), "f32"), ((200, 300), "f32")]),
        ("conv", conv_program(2, 9, 9, 32, 3, 1, 1, 32),
         [((1, 2, 9, 9, 16), "f16"), ((2 * 9 * 16, 32), "f16")]),
    ]  # fmt: skip


def _inputs(shapes: list[tuple[tuple[int, ...], str]]) -> list[np.ndarray]:
    dtypes = {"f16": np.float16, "f32": np.float32}
    return [RNG.standard_normal(shape).astype(dtypes[dt]) for shape, dt in shapes]


def _same_profile(a, b) -> None:  # noqa: ANN001
    for x, y in zip(a.kernels, b.kernels, strict=True):
        assert (x.cycles, x.busy, x.bytes_read, x.bytes_written, x.instructions) == (
            y.cycles,
            y.busy,
            y.bytes_read,
            y.bytes_written,
            y.instructions,
        )
        assert x.roofline_cycles == y.roofline_cycles


@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("name, text, shapes", _programs(), ids=lambda v: str(v)[:8])
def test_a_warm_run_equals_a_first_run_on_new_inputs(
    name: str, text: str, shapes: list, batched: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not batched:
        monkeypatch.setenv(BATCH_ENV, "0")
    executable = NpuExecutable(parse(text))
    executable.run(_inputs(shapes))  # the first run captures
    assert executable.replays, "a kernel with static addresses is captured"
    fresh = _inputs(shapes)
    warm = executable.run(fresh)
    first = NpuExecutable(parse(text)).run(fresh)
    for got, want in zip(warm.outputs, first.outputs, strict=True):
        np.testing.assert_array_equal(got, want)
    _same_profile(warm.profile, first.profile)


def test_batching_merges_the_blocks_of_a_wave(monkeypatch: pytest.MonkeyPatch) -> None:
    """add_relu's 33 blocks on 32 cores: one wave of 32 blocks (of two shapes: two or three
    tiles each) and one more block; the batched replay makes a fraction of the numpy calls
    (the poisonings left out: most are dead either way, `runtime.npu_access`)."""
    text = add_relu_program(200, 300, 8, 128, 33, double=True)
    inputs = _inputs([((200, 300), "f32"), ((200, 300), "f32")])
    counts = []
    for batched in ("1", "0"):
        monkeypatch.setenv(BATCH_ENV, batched)
        executable = NpuExecutable(parse(text))
        executable.run(inputs)  # captures
        executable.run(inputs)  # merges the waves' blocks, and replays
        actions = [fn for r in executable.replays.values() for fn, _ in r.actions]
        counts.append(sum(not getattr(fn, "poisons", False) for fn in actions))
    assert counts[0] * 3 < counts[1]


def test_a_traced_run_after_capture_is_interpreted_in_full() -> None:
    text, shapes = matmul_program(64, 64, 64, 32, 32, 32, 4), [((64, 64), "f16")] * 2
    executable = NpuExecutable(parse(text))
    inputs = _inputs(shapes)
    executable.run(inputs)
    traced = executable.run(inputs, trace=True)
    assert traced.profile.kernels[0].events, "a trace has every instruction's events"
    assert executable.run(inputs).profile.kernels[0].events is None


@given(programs_with_inputs(max_ops=4))
def test_random_programs_replay_as_they_first_ran(case) -> None:  # noqa: ANN001
    """Random ge programs fused into kernels: the second run (replayed) on other inputs equals
    a fresh runner's first run on them, bit for bit, with the same modeled cycles."""
    module, inputs = case
    spec = "convert-ge-to-kernel,fuse-elementwise"
    PassPipeline.parse_spec(dict(all_passes()), spec).apply(make_context(), module)
    runner = KernelRunner(module)
    runner.run(inputs)
    other = [np.roll(a, 1) for a in inputs]  # values stay valid (indices stay in range)
    warm, first = runner.run(other), KernelRunner(module).run(other)
    for got, want in zip(warm.outputs, first.outputs, strict=True):
        np.testing.assert_array_equal(got, want)
    assert [k.cycles for k in warm.profile.kernels] == [k.cycles for k in first.profile.kernels]


def test_stack_views_windows_at_a_fixed_stride() -> None:
    cores = np.zeros((6, 4, 8), np.float32)
    view = stack([cores[i, 1:3, :4] for i in (1, 2, 3)], written=True)
    assert isinstance(view, np.ndarray) and view.shape == (3, 2, 4)
    view[...] = 1
    assert cores[1:4, 1:3, :4].all() and not cores[0].any() and not cores[4:].any()


def test_stack_gathers_windows_at_irregular_places() -> None:
    cores = np.arange(6 * 8, dtype=np.float32).reshape(6, 8)
    rows = stack([cores[i, :4] for i in (0, 1, 4)], written=True)
    assert isinstance(rows, Gathered)
    np.testing.assert_array_equal(rows.full[rows.index], cores[[0, 1, 4], :4])
    stacked = stack_columns({0: [cores[i, :4] for i in (0, 1, 4)], 1: [cores[5]] * 3}, set())
    assert stacked is not None and isinstance(stacked[1], Gathered)  # one place: one row
    np.testing.assert_array_equal(stacked[1].full[stacked[1].index], cores[[5, 5, 5]])


def test_stack_refuses_overlapping_writes_and_other_allocations() -> None:
    buffer = np.zeros(64, np.float32)
    assert stack([buffer[i : i + 8] for i in (0, 4, 8)], written=True) is None
    assert stack([buffer[i : i + 8] for i in (0, 4, 8)], written=False) is not None
    other = np.zeros(64, np.float32)
    assert stack([buffer[:8], other[:8]], written=False) is None


def test_stack_writes_interleaved_windows_that_share_no_element() -> None:
    """Each block stores 4 pixels of every channel row of an NCHW output (4 x 16): the
    windows' spans overlap, their elements do not, so they stack; windows 2 pixels apart
    share elements and do not."""
    output = np.zeros((4, 16), np.float32)
    view = stack([output[:, 4 * i : 4 * i + 4] for i in range(4)], written=True)
    assert isinstance(view, np.ndarray) and view.shape == (4, 4, 4)
    view[...] = np.arange(4)[:, None, None]
    np.testing.assert_array_equal(output, np.repeat(np.arange(4.0), 4)[None].repeat(4, 0))
    assert stack([output[:, 2 * i : 2 * i + 4] for i in range(4)], written=True) is None


def test_a_replayed_power_rounds_as_its_first_run() -> None:
    """Soak found a fused pow of a broadcast base that replayed 1 ulp off its first run: numpy
    raised the stacked tiles with its SIMD loop and the first run with its exact square."""
    text = """
    func.func @main(%x: tensor<2xf32>, %e: tensor<2x2x1x1xf32>) -> tensor<2x2x1x2xf32> {
      %p = ge.pow %x, %e : (tensor<2xf32>, tensor<2x2x1x1xf32>) -> tensor<2x2x1x2xf32>
      %r = ge.relu %p : (tensor<2x2x1x2xf32>) -> tensor<2x2x1x2xf32>
      func.return %r : tensor<2x2x1x2xf32>
    }"""
    module = Parser(make_context(), text).parse_module()
    spec = "convert-ge-to-kernel,fuse-elementwise"
    PassPipeline.parse_spec(dict(all_passes()), spec).apply(make_context(), module)
    exponents = np.array([2.0, 0.125, 1.75, 0.25], np.float32).reshape(2, 2, 1, 1)
    runner = KernelRunner(module)
    runner.run([np.float32([1.8812797, 1.3217702]), exponents])
    inputs = [np.float32([1.3217702, 1.8812797]), exponents]
    warm, first = runner.run(inputs), KernelRunner(module).run(inputs)
    np.testing.assert_array_equal(warm.outputs[0], first.outputs[0])
    assert warm.outputs[0][0, 0, 0, 0] == np.float32(1.3217702) ** 2


@pytest.mark.parametrize("budget", [0, 10**5])
@given(programs_with_inputs(max_ops=4))
def test_runners_over_their_memory_budget_release_and_run_the_same(budget: int, case) -> None:  # noqa: ANN001
    """Past `KEPT_HBM_BYTES` an executable lets its HBM arrays and replay go after each run
    (a style-transfer net at 1024x1024 kept 9.5 GB): later runs interpret again and give
    what a runner within its budget replays, bit for bit, with the same cycles."""
    from runtime import kernel_runner

    module, inputs = case
    spec = "convert-ge-to-kernel,fuse-elementwise"
    PassPipeline.parse_spec(dict(all_passes()), spec).apply(make_context(), module)
    kept = KernelRunner(module)
    kept.run(inputs)
    saved = kernel_runner.KEPT_HBM_BYTES
    kernel_runner.KEPT_HBM_BYTES = budget
    try:
        tight = KernelRunner(module)
        tight.run(inputs)
        other = [np.roll(a, 1) for a in inputs]
        got, want = tight.run(other), kept.run(other)
    finally:
        kernel_runner.KEPT_HBM_BYTES = saved
    assert tight.kept_bytes <= budget
    released = [e for e in tight.executables.values() if e not in tight.kept]
    assert all(not e.replays and not e.memory.arguments for e in released)
    for a, b in zip(got.outputs, want.outputs, strict=True):
        np.testing.assert_array_equal(a, b)
    assert [k.cycles for k in got.profile.kernels] == [k.cycles for k in want.profile.kernels]
