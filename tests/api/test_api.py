"""ge.compile: static with cache, dynamic (eager), shape gears, profiler, device memory."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
from examples_path import load_example
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, f32
from xdsl.ir import Block, Region

import ge
import runtime.targets
from ge.gears import GearError
from ge.profiler import Event, Profile
from ge.testing import run
from gedialects.errors import GeError
from gedialects.ge import (
    AddOp,
    ConstantOp,
    MatMulOp,
    ReduceSumOp,
    ReluOp,
    ReshapeOp,
    SoftmaxOp,
)
from gedialects.ge.types import tensor


def _block_module():
    return load_example("main_job").resnet_basic_block(channels=4, size=6)


def _x(batch=1, seed=0):
    return np.random.default_rng(seed).standard_normal((batch, 4, 6, 6)).astype(np.float32)


def _mlp(batch=4, mix_batch=False):
    """x -> matmul -> add -> relu -> (reshape) ; optionally a reduction over the batch."""
    rng = np.random.default_rng(3)
    block = Block(arg_types=[tensor([batch, 8], f32)])
    w = ConstantOp(rng.standard_normal((8, 5)).astype(np.float32))
    b = ConstantOp(rng.standard_normal((5,)).astype(np.float32))
    mm = MatMulOp(block.args[0], w)
    add = AddOp(mm, b)
    relu = ReluOp(add)
    ops = [w, b, mm, add, relu]
    last = relu
    if mix_batch:
        last = ReduceSumOp(relu, axes=[0])
        ops.append(last)
    else:
        last = ReshapeOp(relu, shape=[batch, 5, 1])
        ops.append(last)
        soft = SoftmaxOp(last, axis=1)
        ops.append(soft)
        last = soft
    ops.append(func.ReturnOp(last))
    block.add_ops(ops)
    fn = func.FuncOp("main", ((block.args[0].type,), (last.results[0].type,)), Region(block))
    return ModuleOp([fn])


def test_static_equals_reference_and_second_compile_hits_cache(tmp_path):
    module = _block_module()
    first = ge.compile(module, cache=tmp_path)
    assert first.last_cache == "miss"
    np.testing.assert_allclose(first(_x()), run(module, [_x()])[0], rtol=1e-5, atol=1e-6)
    second = ge.compile(_block_module(), cache=tmp_path)
    assert second.last_cache == "hit"
    np.testing.assert_array_equal(second(_x()), first(_x()))
    assert first.last_cache == "miss"  # its plan was compiled; calls do not change that


def test_the_cache_keys_a_target_file_by_its_figures_not_its_path(tmp_path):
    """A target file edited in place is another chip (its plans were chosen for the old
    figures); the same figures under another name or path hit."""
    preset = Path(runtime.targets.__file__).parent / "target_presets" / "ascend910a.toml"
    chip = tmp_path / "chip.toml"
    chip.write_text(preset.read_text())
    cache = tmp_path / "cache"
    assert ge.compile(_block_module(), cache=cache, target=str(chip)).last_cache == "miss"
    assert ge.compile(_block_module(), cache=cache, target="ascend910a").last_cache == "hit"
    chip.write_text(re.sub(r"hbm_bandwidth = \d+", "hbm_bandwidth = 100000", preset.read_text()))
    assert ge.compile(_block_module(), cache=cache, target=str(chip)).last_cache == "miss"


def test_dynamic_mode_equals_static_and_caches_per_signature():
    module = _block_module()
    static = ge.compile(module, cache=False)
    eager = ge.compile(module, mode="dynamic", cache=False)
    np.testing.assert_allclose(eager(_x()), static(_x()), rtol=1e-5, atol=1e-6)
    runner = eager._eager
    # two convs, two batch norms, two relus and an add share signatures pairwise
    assert runner.launches == 7
    assert runner.compiles < runner.launches
    eager(_x(seed=1))
    assert runner.launches == 14 and runner.compiles == len(runner.programs)


@pytest.mark.parametrize("batch", [1, 3, 8, 9, 20, 32])
def test_gears_at_between_and_beyond(batch):
    module = _mlp(batch=4)
    compiled = ge.compile(module, dynamic_batch=[1, 8, 16], cache=False)
    x = np.random.default_rng(batch).standard_normal((batch, 8)).astype(np.float32)
    y = compiled(x)
    assert y.shape == (batch, 5, 1)
    from ge.gears import respecialize_batch
    from gedialects.interpreter import entry_function

    expected = run(respecialize_batch(module, entry_function(module), batch), [x])[0]
    np.testing.assert_allclose(y, expected, rtol=1e-6, atol=1e-6)
    if batch <= 16:
        assert set(compiled._plans) <= {1, 8, 16}


def test_gears_refused_when_padding_changes_results():
    with pytest.raises(GearError, match="reduces over the batch axis"):
        ge.compile(_mlp(mix_batch=True), dynamic_batch=[1, 8], cache=False)


def test_too_many_gears_is_refused():
    with pytest.raises(GearError, match="at most 100"):
        ge.compile(_mlp(), dynamic_batch=list(range(1, 102)), cache=False)


def test_profiler_table_and_chrome_trace(tmp_path):
    compiled = ge.compile(_block_module(), cache=False)
    with ge.profile() as prof:
        compiled(_x())
        compiled(_x())
    table = prof.key_averages().table()
    assert "conv2d" in table and "calls" in table
    rows = prof.key_averages().rows
    assert sum(r.calls for r in rows if r.op.endswith("conv2d")) == 4
    prof.export_chrome_trace(tmp_path / "trace.json")
    events = json.loads((tmp_path / "trace.json").read_text())["traceEvents"]
    kernels = [e for e in events if e["ph"] == "X"]
    assert len(kernels) == len(prof.events) and all(e["pid"] == 0 for e in kernels)
    assert [e["args"]["name"] for e in events if e["ph"] == "M"] == ["streams"]


def test_a_profile_with_pipes_traces_every_core_s_instructions(tmp_path):
    """DESIGN.md's trace shows the modeled streams and pipes: `ge.profile(pipes=True)`
    (`ge-run --trace`) records each npu kernel's instructions; the trace had kernels only."""
    compiled = ge.compile(_block_module(), level="npu", cache=False)
    plain = compiled(_x())
    with ge.profile(pipes=True) as prof:
        traced = compiled(_x())
        compiled(_x())
    np.testing.assert_array_equal(traced, plain)  # instruction by instruction, same values
    prof.export_chrome_trace(tmp_path / "trace.json")
    events = json.loads((tmp_path / "trace.json").read_text())["traceEvents"]
    kernels = [e for e in events if e["ph"] == "X" and e["pid"] == 0]
    assert len(kernels) == len(prof.events) == 2 * len(compiled.last_profile["kernels"])
    first, second = kernels[: len(kernels) // 2], kernels[len(kernels) // 2 :]
    assert min(e["ts"] for e in second) >= max(e["ts"] + e["dur"] for e in first) - 1e-9
    names = {(e["pid"], e["args"]["name"]) for e in events if e["name"] == "process_name"}
    assert (0, "streams") in names and (1, "core 0") in names
    pipes = {e["args"]["name"] for e in events if e["name"] == "thread_name"}
    assert {"MTE2", "M", "V", "MTE3"} <= pipes
    spans = {(k["name"], k["ts"]): (k["ts"], k["ts"] + k["dur"]) for k in kernels}
    instructions = [e for e in events if e["ph"] == "X" and e["pid"] > 0]
    assert {e["name"] for e in instructions} >= {"npu.dma", "npu.mmad"}
    for e in instructions:  # inside a kernel of that name
        assert any(
            name == e["cat"] and lo - 1e-9 <= e["ts"] and e["ts"] + e["dur"] <= hi + 1e-9
            for (name, _), (lo, hi) in spans.items()
        )


def test_kernels_running_at_once_are_drawn_on_different_cores(tmp_path):
    """Two streams' kernels overlap in time and each numbers its cores from 0; the trace
    draws the second on the cores the first leaves free, so no pipe's slices overlap
    (Perfetto needs them nested), and a kernel after both reuses core 0."""

    def kernel(name: str, stream: int, start: float, cores: int) -> Event:
        pipes = [(c, "MTE2", 0.0, 4e-6, "npu.dma") for c in range(cores)]
        return Event(name, "kernel.conv2d", 4e-6, stream=stream, start_seconds=start, pipes=pipes)

    prof = Profile(pipes=True)
    for event in (kernel("a", 0, 0.0, 2), kernel("b", 1, 1e-6, 3), kernel("c", 0, 6e-6, 1)):
        prof.record(event)
    prof.export_chrome_trace(tmp_path / "trace.json")
    events = json.loads((tmp_path / "trace.json").read_text())["traceEvents"]
    drawn = {e["cat"]: [] for e in events if e["ph"] == "X" and e["pid"] > 0}
    for e in events:
        if e["ph"] == "X" and e["pid"] > 0:
            drawn[e["cat"]].append(e["pid"] - 1)
    assert drawn == {"a": [0, 1], "b": [2, 3, 4], "c": [0]}
    cores = [e["args"]["name"] for e in events if e["name"] == "process_name" and e["pid"] > 0]
    assert cores == ["core 0", "core 1", "core 2", "core 3", "core 4"]


def test_inputs_kept_on_device_are_not_copied_again():
    compiled = ge.compile(_block_module(), cache=False)
    stats = ge.transfer_stats()
    x = ge.to_device(_x())
    before = stats.host_to_device_bytes
    compiled(x)
    compiled(x)
    assert stats.host_to_device_bytes == before
    assert stats.skipped_bytes >= 2 * _x().nbytes
    compiled(_x())
    assert stats.host_to_device_bytes == before + _x().nbytes


def test_memory_stats_like_pytorch():
    ge.reset_peak_memory_stats()
    base = ge.memory_allocated()
    x = ge.to_device(np.zeros((1024,), np.float32))
    assert ge.memory_allocated() == base + 4096
    assert ge.max_memory_allocated() >= base + 4096
    del x
    assert ge.memory_allocated() == base
    ge.reset_peak_memory_stats()
    assert ge.max_memory_allocated() == base


def test_inputs_by_name_and_errors():
    compiled = ge.compile(_block_module(), cache=False)
    (name,) = compiled.input_names
    np.testing.assert_array_equal(compiled(**{name: _x()}), compiled(_x()))
    with pytest.raises(GeError, match="expected 1 inputs"):
        compiled(_x(), _x())
    with pytest.raises(GeError, match="unknown mode"):
        ge.compile(_block_module(), mode="fast")
    with pytest.raises(GeError, match="precision_mode"):
        ge.compile(_block_module(), precision_mode="fp8", cache=False)


def _linear_with_free_batch():
    """An ONNX x[b, 32] @ W + c with a symbolic batch."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(5)
    w = numpy_helper.from_array(rng.standard_normal((32, 10)).astype(np.float32), "W")
    c = numpy_helper.from_array(rng.standard_normal(10).astype(np.float32), "C")
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "W", "C"], ["y"])],
        "linear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", 32])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["b", 10])],
        [w, c],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    return model


@pytest.mark.parametrize("mode", ["static", "dynamic"])
def test_an_empty_batch_gives_an_empty_output(mode):
    """Dynamic mode's matmul tile search divided by the empty M (a ZeroDivisionError)."""
    compiled = ge.compile(_linear_with_free_batch(), level="npu", mode=mode, cache=False)
    y = compiled(np.zeros((0, 32), np.float32))
    assert y.shape == (0, 10) and y.dtype == np.float32


def test_gears_refuse_a_scalar_input_naming_it():
    """It was `IndexError: tuple index out of range`, reading the batch off a 0-d array."""
    compiled = ge.compile(_linear_with_free_batch(), dynamic_batch=[1, 4], cache=False)
    with pytest.raises(GeError, match=r"input 'x' has shape \(\), the model wants rank 2"):
        compiled(np.float32(1.0))


def test_gears_and_dynamic_mode_are_refused_together():
    """Accepted, then a batch of 2 was refused as not the model's batch of 1."""
    with pytest.raises(GeError, match="dynamic_batch .* mode='dynamic'"):
        ge.compile(_linear_with_free_batch(), mode="dynamic", dynamic_batch=[1, 4], cache=False)


def test_a_batch_beyond_the_gears_is_profiled():
    """It runs eagerly; its launches were not recorded and `last_profile` was the previous
    gear call's."""
    compiled = ge.compile(_linear_with_free_batch(), level="npu", dynamic_batch=[1, 4])
    x = np.random.default_rng(0).standard_normal((6, 32)).astype(np.float32)
    compiled(x[:3])
    with ge.profile() as prof:
        y = compiled(x)
    assert y.shape == (6, 10) and prof.events
    assert compiled.last_profile["launches"] >= 1 and compiled.last_profile["kernels"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"bogus_option": 1}, "unknown compile option(s) bogus_option; the options are target"),
        ({"memory_reuse": "no"}, "memory_reuse must be True or False, got 'no'"),
    ],
)
def test_compile_options_are_checked(options, message):
    """A raw TypeError from the options' constructor, and "no" taken as true."""
    with pytest.raises(GeError) as info:
        ge.compile(_block_module(), cache=False, **options)
    assert message in str(info.value)


@pytest.mark.parametrize("mode", ["static", "dynamic"])
def test_a_model_that_launches_no_kernel_runs_in_every_mode(mode):
    """A Shape of the input alone: dynamic mode joined the profiles of no launch with
    `max()` of nothing (a ValueError)."""
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Shape", ["x"], ["y"])],
        "shape",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3])],
        [helper.make_tensor_value_info("y", TensorProto.INT64, [2])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    compiled = ge.compile(model, level="npu", mode=mode, cache=False)
    np.testing.assert_array_equal(compiled(np.ones((5, 3), np.float32)), [5, 3])
    assert compiled.last_profile["kernels"] == []


def test_gears_refuse_an_input_with_another_free_axis():
    """x[2, T] with gears: every gear's plan pinned T to 1, and a call with T = 5 was then
    refused ('the model wants tensor<4x1xf32>'); given a size for T, the gears serve."""
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "relu",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", "T"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["b", "T"])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    with pytest.raises(GearError, match="input 'x' leaves axis 1 free too"):
        ge.compile(model, dynamic_batch=[1, 4], cache=False)
    compiled = ge.compile(model, dynamic_batch=[1, 4], input_shapes={"x": [1, 5]}, cache=False)
    x = np.random.default_rng(0).standard_normal((3, 5)).astype(np.float32)
    np.testing.assert_array_equal(compiled(x), np.maximum(x, 0))


def test_gears_refuse_an_output_computed_from_the_batch_size():
    """Shape(x) and ConstantOfShape(Shape(x)) fold to constants of the gear's batch: three
    samples padded to gear 4 gave [4, 3] and a (4, 3) array, as no slicing can mend."""
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [
            helper.make_node("Shape", ["x"], ["s"]),
            helper.make_node("ConstantOfShape", ["s"], ["z"]),
            helper.make_node("Relu", ["x"], ["y"]),
        ],
        "shapes",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", 3])],
        [
            helper.make_tensor_value_info("s", TensorProto.INT64, [2]),
            helper.make_tensor_value_info("z", TensorProto.FLOAT, ["b", 3]),
            helper.make_tensor_value_info("y", TensorProto.FLOAT, ["b", 3]),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    with pytest.raises(GearError, match="output 's' depends on the batch size itself"):
        ge.compile(model, dynamic_batch=[1, 4], cache=False)
    with pytest.raises(GearError, match="output 's' depends on the batch size itself"):
        ge.compile(model, dynamic_batch=[4], cache=False)  # one gear: checked at 5 too
    s, z, _ = ge.compile(model, cache=False)(np.ones((3, 3), np.float32))  # no gears: right
    np.testing.assert_array_equal(s, [3, 3])
    assert z.shape == (3, 3)


@pytest.mark.parametrize("gear_list", [[2, 4, 8], [1, 8]])
def test_gears_refuse_the_batch_size_used_as_a_value(gear_list):
    """x * x.shape[0] (Shape, Gather, Cast, Mul), an output with a batch axis: three samples
    padded to gear 4 were multiplied by 4, 2.24 off onnxruntime with no warning."""
    from onnx import TensorProto, helper

    index = helper.make_tensor("zero", TensorProto.INT64, [], [0])
    graph = helper.make_graph(
        [
            helper.make_node("Shape", ["x"], ["s"]),
            helper.make_node("Gather", ["s", "zero"], ["n"]),
            helper.make_node("Cast", ["n"], ["f"], to=TensorProto.FLOAT),
            helper.make_node("Mul", ["x", "f"], ["y"]),
        ],
        "times_batch",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["b", 6])],
        initializer=[index],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    with pytest.raises(GearError, match="uses the batch size itself as a value.*'ge.mul'"):
        ge.compile(model, dynamic_batch=gear_list, cache=False)
    x = np.ones((3, 6), np.float32)
    np.testing.assert_array_equal(ge.compile(model, cache=False)(x), 3 * x)  # no gears: right


def test_a_scalar_kept_on_device_keeps_rank_0():
    """DeviceArray made rank 0 rank 1 (np.ascontiguousarray)."""
    assert ge.to_device(np.float32(2.5)).array.shape == ()
