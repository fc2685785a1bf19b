"""The npu level end to end: equal outputs, REPORT.json sections that follow the contract."""

import numpy as np
import pytest
from examples_path import load_example

import ge
from ge.report import build_report
from ge.testing import run


@pytest.fixture(scope="module")
def block():
    return load_example("main_job").resnet_basic_block(channels=8, size=10)


def test_npu_level_equals_reference_and_reports_kernels(block):
    x = np.random.default_rng(0).standard_normal((1, 8, 10, 10)).astype(np.float32)
    compiled = ge.compile(block, level="npu", cache=False)
    np.testing.assert_allclose(compiled(x), run(block, [x])[0], rtol=1e-4, atol=1e-5)
    profile = compiled.last_profile
    kernels = profile["kernels"]
    # the seed's ResNet block: [conv1+bn1+relu1], [conv2+bn2+add+relu2]
    assert [k["fused_from"] for k in kernels] == [
        ["ge.conv2d", "ge.batch_norm", "ge.relu"],
        ["ge.conv2d", "ge.batch_norm", "ge.add", "ge.relu"],
    ]
    assert all(k["algorithm"] for k in kernels)
    assert profile["makespan_cycles"] >= profile["critical_path_cycles"] > 0
    assert profile["makespan_cycles"] == max(k["end_cycle"] for k in kernels)
    assert all(k["end_cycle"] >= k["start_cycle"] + k["cycles"] - 1e-6 for k in kernels)
    memory = profile["memory"]
    assert memory["lower_bound_bytes"] <= memory["peak_bytes"] <= memory["no_reuse_bytes"]
    for buffer in memory["buffers"]:
        assert 0 <= buffer["first_kernel"] <= buffer["last_kernel"] < len(kernels)
    report = build_report(
        target="ascend910a",
        mode="static",
        cache="miss",
        compile_seconds=0.0,
        run_seconds=0.0,
        outputs=compiled.output_names,
        sections={k: profile[k] for k in ("kernels", "memory", "makespan_cycles",
                                          "critical_path_cycles", "streams")},
    )  # fmt: skip
    assert report["streams"] == 1


def test_profiler_sees_modeled_npu_kernels(block):
    x = np.zeros((1, 8, 10, 10), np.float32)
    compiled = ge.compile(block, level="npu", cache=False)
    with ge.profile() as prof:
        compiled(x)
    assert {e.clock for e in prof.events} == {"modeled"}
    assert len(prof.events) == 2 and all(e.seconds > 0 for e in prof.events)


def test_a_kernel_with_empty_results_launches_nothing_and_falls_back_nowhere():
    """A Gather of no rows (what `x[mask]` of an all-false mask gathers) and the ops after it
    compute nothing: no kernel runs for them (fold-constants folds ops of empty tensors; a
    kernel left with empty results would launch nothing), and nothing falls back."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [
            helper.make_node("Gather", ["x", "rows"], ["picked"]),
            helper.make_node("Relu", ["picked"], ["none"]),
            helper.make_node("Sigmoid", ["x"], ["all"]),
        ],
        "empty",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [5, 4]),
            helper.make_tensor_value_info("rows", TensorProto.INT64, [0]),
        ],
        [
            helper.make_tensor_value_info("none", TensorProto.FLOAT, [0, 4]),
            helper.make_tensor_value_info("all", TensorProto.FLOAT, [5, 4]),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model, full_check=True)
    feeds = {"x": np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32),
             "rows": np.zeros(0, np.int64)}  # fmt: skip
    want = ort.InferenceSession(model.SerializeToString()).run(None, feeds)
    compiled = ge.compile(model, level="npu", cache=False)
    for _ in range(2):  # and again, from the compiled program
        got = compiled(**feeds)
        for g, w in zip(got, want, strict=True):
            assert g.shape == w.shape and g.dtype == w.dtype
            np.testing.assert_allclose(g, w, rtol=1e-6)
    profile = compiled.last_profile
    assert profile["fallbacks"] == []
    kernels = profile["kernels"]
    assert all(k["engine"] == "npu" for k in kernels)
    assert [k["fused_from"] for k in kernels] == [["ge.sigmoid"]]  # the rest folded away
    assert kernels[0]["cycles"] > 0


def test_a_kernel_runner_launches_nothing_for_empty_results():
    """Without fold-constants (a kernel program as the runner gets it), a kernel whose results
    are all empty is a zero-cycle record on the npu engine, not a fallback."""
    from xdsl.parser import Parser

    from ge.registry import make_context
    from runtime.kernel_runner import KernelRunner

    text = """func.func @main(%x: tensor<0x4xf32>, %y: tensor<3x4xf32>) -> (tensor<0x4xf32>, tensor<3x4xf32>) {
      %a = kernel.elementwise %x {fused_from = ["ge.relu"]} : (tensor<0x4xf32>) -> tensor<0x4xf32> {
      ^bb0(%e: tensor<f32>):
        %r = ge.relu %e : (tensor<f32>) -> tensor<f32>
        kernel.yield %r : tensor<f32>
      }
      %b = kernel.elementwise %y {fused_from = ["ge.relu"]} : (tensor<3x4xf32>) -> tensor<3x4xf32> {
      ^bb0(%e: tensor<f32>):
        %r = ge.relu %e : (tensor<f32>) -> tensor<f32>
        kernel.yield %r : tensor<f32>
      }
      func.return %a, %b : tensor<0x4xf32>, tensor<3x4xf32>
    }"""  # noqa: E501
    module = Parser(make_context(), text).parse_module()
    y = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    run = KernelRunner(module).run([np.zeros((0, 4), np.float32), y])
    assert run.fallbacks == [] and run.outputs[0].shape == (0, 4)
    np.testing.assert_array_equal(run.outputs[1], np.maximum(y, 0))
    assert len(run.profile.kernels) == 1  # the empty kernel launched nothing


def test_an_empty_past_cache_concatenated_runs_on_the_npu():
    """A decoder's first step concatenates an empty past key cache to the new keys: the
    concat keeps its one non-empty piece (`simplify`), so nothing falls back."""
    import onnxruntime as ort
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [
            helper.make_node("Concat", ["past", "new"], ["keys"], axis=2),
            helper.make_node("Transpose", ["keys"], ["keys_t"], perm=[0, 1, 3, 2]),
            helper.make_node("MatMul", ["new", "keys_t"], ["scores"]),
        ],
        "first_step",
        [
            helper.make_tensor_value_info("past", TensorProto.FLOAT, [1, 2, 0, 4]),
            helper.make_tensor_value_info("new", TensorProto.FLOAT, [1, 2, 3, 4]),
        ],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, 2, 3, 3])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    new = np.random.default_rng(0).standard_normal((1, 2, 3, 4)).astype(np.float32)
    feeds = {"past": np.zeros((1, 2, 0, 4), np.float32), "new": new}
    (want,) = ort.InferenceSession(model.SerializeToString()).run(None, feeds)
    compiled = ge.compile(model, level="npu", cache=False)
    np.testing.assert_allclose(compiled(**feeds), want, rtol=1e-5, atol=1e-6)
    assert compiled.last_profile["fallbacks"] == []
    assert all("ge.concat" not in k["fused_from"] for k in compiled.last_profile["kernels"])


@pytest.mark.parametrize("level", ["reference", "npu"])
def test_a_mean_over_no_elements_is_zero_as_in_onnxruntime(level: str) -> None:
    """numpy's 0 / 0 gave NaN; onnxruntime gives 0, as torch's EmbeddingBag does for an
    empty bag (exported as a Loop of ReduceMeans). Means over some elements are unchanged."""
    import onnxruntime as ort
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [
            helper.make_node("ReduceMean", ["x"], ["over_none"], axes=[0], keepdims=0),
            helper.make_node("ReduceMean", ["x"], ["of_none"], axes=[1], keepdims=1),
        ],
        "empty_mean",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [0, 3])],
        [
            helper.make_tensor_value_info("over_none", TensorProto.FLOAT, [3]),
            helper.make_tensor_value_info("of_none", TensorProto.FLOAT, [0, 1]),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    x = np.zeros((0, 3), np.float32)
    expected = ort.InferenceSession(model.SerializeToString()).run(None, {"x": x})
    got = ge.compile(model, level=level, cache=False)(x)
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_array_equal(np.asarray(g), e)
    assert np.asarray(got[0]).tolist() == [0.0, 0.0, 0.0]
