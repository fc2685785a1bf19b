"""select-implementations: sane choices where the answer is known, forcing, equal outputs."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, f32
from xdsl.ir import Block, Region

from ge.pipeline import apply_pipeline
from ge.testing import run
from gedialects.errors import UnsupportedError
from gedialects.ge import ConstantOp, Conv2DOp, ReluOp
from gedialects.ge.types import tensor
from gedialects.kernel.ops import Conv2DKernelOp
from passes.select_implementations import COSTS_ATTR, FFT_GAIN


def conv_module(n, c, h, o, k, stride=1, pad=0, dilation=1, groups=1, seed=0):
    rng = np.random.default_rng(seed)
    block = Block(arg_types=[tensor([n, c, h, h], f32)])
    w = ConstantOp(rng.standard_normal((o, c // groups, k, k)).astype(np.float32) * 0.1)
    conv = Conv2DOp(
        block.args[0],
        w,
        strides=[stride] * 2,
        pads=[pad] * 4,
        dilations=[dilation] * 2,
        groups=groups,
    )
    relu = ReluOp(conv)
    block.add_ops([w, conv, relu, func.ReturnOp(relu)])
    fn = func.FuncOp("main", ((block.args[0].type,), (relu.output.type,)), Region(block))
    return ModuleOp([fn])


def select(module, options=""):
    apply_pipeline(module, f"convert-ge-to-kernel,select-implementations{options}")
    (kernel,) = [op for op in module.walk() if isinstance(op, Conv2DKernelOp)]
    return kernel


@pytest.mark.parametrize(
    "geometry, expected",
    [
        (dict(n=1, c=256, h=14, o=256, k=3, pad=1), {"im2col", "winograd_2x2", "winograd_4x4"}),
        (dict(n=8, c=128, h=28, o=128, k=3, pad=1), {"im2col", "winograd_2x2", "winograd_4x4"}),
        (dict(n=1, c=256, h=14, o=1024, k=1), {"im2col"}),
        (dict(n=1, c=144, h=56, o=144, k=3, pad=1, groups=144), {"direct"}),
        (dict(n=1, c=3, h=224, o=64, k=7, stride=2, pad=3), {"im2col"}),
        (dict(n=1, c=64, h=64, o=64, k=31, pad=15), {"fft"}),
    ],
)
def test_selection_is_sane_where_the_answer_is_known(geometry, expected):
    kernel = select(conv_module(**geometry))
    assert kernel.algorithm.data in expected
    costs = kernel.attributes[COSTS_ATTR].data
    cheapest = min(costs[a].value.data for a in costs)
    assert costs[kernel.algorithm.data].value.data <= cheapest + 1


@pytest.mark.parametrize("k", [1, 3, 5, 7])
def test_fft_is_never_chosen_for_small_kernels(k):
    # (256 channels at 7x7 would not do: no im2col tile's weight columns fit L1 beside its rows,
    # so FFT is the fastest algorithm that lowers there)
    for c, h in ((16, 28), (64, 56), (128, 14)):
        kernel = select(conv_module(1, c, h, c, k, pad=k // 2))
        assert kernel.algorithm.data != "fft"


def test_fft_must_win_by_a_margin_over_direct_sums():
    """Five 3-channel 8x8 images (ONNX's test_convtranspose_3d as a 2-D conv): FFT is
    estimated 100 cycles, im2col 119; within `FFT_GAIN`, so im2col, whose sums keep exact
    zeros exact (FFT's rounding left 1.6e-6 there, over the case's atol of 1e-7). Where FFT
    wins by far (a 31x31 kernel) it is still taken."""
    kernel = select(conv_module(5, 3, 8, 2, 3))
    costs = {a: v.value.data for a, v in kernel.attributes[COSTS_ATTR].data.items()}
    assert min(costs, key=costs.get) == "fft"
    assert costs["fft"] > FFT_GAIN * costs["im2col"]
    assert kernel.algorithm.data == "im2col"
    assert select(conv_module(1, 64, 64, 64, 31, pad=15)).algorithm.data == "fft"


def test_forced_algorithm_fails_clearly_where_it_cannot_run():
    with pytest.raises(UnsupportedError, match="'winograd_2x2' cannot run .* 3x3 kernel"):
        select(conv_module(1, 8, 10, 8, 5, pad=2), "{conv-algorithm=winograd_2x2}")


@given(
    algorithm=st.sampled_from(["direct", "im2col", "winograd_2x2", "winograd_4x4", "fft"]),
    c=st.integers(1, 6),
    h=st.integers(3, 12),
    o=st.integers(1, 6),
    pad=st.integers(0, 2),
)
def test_forced_algorithms_give_the_same_outputs(algorithm, c, h, o, pad):
    module = conv_module(2, c, h, o, 3, pad=pad, seed=c * 7 + o)
    x = np.random.default_rng(h).standard_normal((2, c, h, h)).astype(np.float32)
    expected = run(module, [x])[0]
    select(module, f"{{conv-algorithm={algorithm}}}")
    np.testing.assert_allclose(run(module, [x])[0], expected, rtol=1e-4, atol=1e-4)


def test_autotune_measures_once_and_reuses_the_json_cache(tmp_path):
    import json

    cache = tmp_path / "autotune.json"
    options = f'{{autotune=true autotune-cache="{cache}"}}'
    first = select(conv_module(1, 8, 12, 8, 3, pad=1), options)
    measured = json.loads(cache.read_text())
    assert len(measured) == 1
    (entry,) = measured.values()
    cycles = entry["cycles"]
    assert set(cycles) == {"direct", "im2col", "winograd_2x2", "winograd_4x4", "fft"}
    assert "im2col" not in entry["estimated"]  # run on the npu interpreter, not estimated
    run_on_npu = {name: c for name, c in cycles.items() if name not in entry["estimated"]}
    assert first.algorithm.data == min(run_on_npu, key=run_on_npu.get)
    entry["cycles"] = {**cycles, "direct": 0.0}
    entry["estimated"] = {}
    cache.write_text(json.dumps(measured))
    again = select(conv_module(1, 8, 12, 8, 3, pad=1), options)
    assert again.algorithm.data == "direct"  # read back from the file, not re-measured


def test_autotune_figures_are_the_interpreters_modeled_cycles(tmp_path):
    """The im2col figure is what the npu interpreter charges for the lowered conv."""
    import json

    from passes.autotune import conv_program, modeled_cycles
    from runtime.targets import load_target

    cache = tmp_path / "autotune.json"
    module = conv_module(1, 8, 12, 8, 3, pad=1)
    apply_pipeline(module, "convert-ge-to-kernel")
    conv = next(op for op in module.walk() if op.name == "kernel.conv2d")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 8, 12, 12)).astype(np.float32)
    w = rng.standard_normal((8, 8, 3, 3)).astype(np.float32)
    expected = modeled_cycles(conv_program(conv, "im2col", w), x, load_target("ascend910a"))
    apply_pipeline(module, f'select-implementations{{autotune=true autotune-cache="{cache}"}}')
    (entry,) = json.loads(cache.read_text()).values()
    assert entry["cycles"]["im2col"] == expected > 0


def test_autotune_prunes_candidates_the_estimate_rules_out(tmp_path):
    """With prune=1 only the candidates tied with the best estimate run on the interpreter;
    the others keep their estimate and say they were pruned."""
    from passes.autotune import Autotuner
    from passes.select_implementations import conv_geometry
    from runtime.targets import load_target

    module = conv_module(1, 8, 12, 8, 3, pad=1)
    apply_pipeline(module, "convert-ge-to-kernel")
    conv = next(op for op in module.walk() if isinstance(op, Conv2DKernelOp))
    tuner = Autotuner(load_target("ascend910a"), tmp_path / "a.json", prune=1.0)
    tuner.measure_conv(conv_geometry(conv), conv)
    (entry,) = tuner.results.values()
    pruned = {a for a, why in entry["estimated"].items() if why.startswith("pruned")}
    assert pruned and len(pruned) < len(entry["cycles"])
