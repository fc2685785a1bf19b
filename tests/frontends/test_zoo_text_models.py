"""Language, sequence and audio models of the kinds a model zoo has, exported by torch at the
opsets users export them at, run through `ge-run` (npu level, REPORT.json) and compared with
onnxruntime. The models are in `zoo_text_models`."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import onnx.compose
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

torch = pytest.importorskip("torch")

import zoo_text_models as zoo  # noqa: E402

from ge.cli.run import main as ge_run  # noqa: E402

REPORT_KEYS = {"target", "mode", "cache", "compile_seconds", "run_seconds", "outputs"}
REPORT_KEYS |= {"kernels", "memory", "makespan_cycles", "critical_path_cycles", "streams"}


def _ids(g: torch.Generator, b: int = 2, s: int = 7) -> torch.Tensor:
    return torch.randint(0, zoo.VOCAB, (b, s), generator=g)


def _mask(b: int = 2, s: int = 7, dtype=torch.int32) -> torch.Tensor:
    mask = torch.ones(b, s, dtype=dtype)
    mask[1, s - 2 :] = 0
    return mask


def _bert_inputs(g, b=2, s=7):
    return [_ids(g, b, s), _mask(b, s), torch.randint(0, 2, (b, s), generator=g)]


def _past(g, b=2, past=3):
    shape = (b, zoo.HEADS, past, zoo.HIDDEN // zoo.HEADS)
    return [torch.randn(*shape, generator=g) for _ in range(2 * zoo.LAYERS)]


Case = tuple[Callable[[], torch.nn.Module], Callable[[torch.Generator], list], dict]
CASES: dict[str, Case] = {
    "bert": (zoo.Bert, _bert_inputs, {"dynamic": ("batch", "sequence")}),
    "bert-layernorm": (lambda: zoo.Bert(hand_norm=False), _bert_inputs, {}),
    "gpt2": (zoo.Gpt2, lambda g: [_ids(g)], {"dynamic": ("batch", "sequence")}),
    "gpt2-zoo": (lambda: zoo.Gpt2(product=True), lambda g: [_ids(g)], {}),
    "gpt2-past": (lambda: zoo.Gpt2(past=True), lambda g: [_ids(g, 2, 1), *_past(g)], {}),
    "llama": (zoo.Llama, lambda g: [_ids(g)], {}),
    "t5": (zoo.T5Block, lambda g: [_ids(g)], {}),
    "lstm": (zoo.Recurrent, lambda g: [_ids(g)], {}),
    "bilstm": (lambda: zoo.Recurrent("lstm", True), lambda g: [_ids(g)], {}),
    "gru": (lambda: zoo.Recurrent("gru"), lambda g: [_ids(g)], {}),
    "textcnn": (zoo.TextCnn, lambda g: [_ids(g, 2, 9)], {}),
    "wav2vec": (zoo.Wav2Vec, lambda g: [torch.randn(2, 80, generator=g)], {}),
    "whisper": (zoo.Whisper, lambda g: [torch.randn(1, 8, 20, generator=g)], {}),
    "speech": (zoo.SpeechCommands, lambda g: [torch.randn(2, 1, 12, 16, generator=g)], {}),
    "quirks": (zoo.Quirks, lambda g: [_ids(g), _mask(dtype=torch.int64)], {}),
    "loop": (zoo.scripted_loop, lambda g: [torch.randn(2, 5, 8, generator=g)], {}),
    "loop-stack": (zoo.scripted_stack, lambda g: [torch.randn(2, 5, 8, generator=g)], {}),
    "distilbert": (zoo.DistilBert, lambda g: [_ids(g), _mask(dtype=torch.int64)], {}),
    "sdpa": (zoo.SdpaEncoder, lambda g: [_ids(g), _mask(dtype=torch.int64)], {"from": 14}),
    "torch-encoder": (zoo.TorchEncoder, lambda g: [_ids(g)], {"from": 14}),
}


def export(model, inputs: list, path: Path, opset: int, dynamic: tuple[str, ...] = ()) -> list:
    """Export as users do (`dynamo=False`); the input names."""
    names = [f"in{i}" for i in range(len(inputs))]
    axes = {n: dict(enumerate(dynamic)) for n in names} if dynamic else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            tuple(inputs),
            str(path),
            opset_version=opset,
            dynamo=False,
            input_names=names,
            dynamic_axes=axes,
        )
    return names


def run_both(path: Path, feeds: dict, tmp: Path) -> tuple[dict, list, dict]:
    """ge-run's outputs and REPORT.json, and onnxruntime's outputs, for the same feeds."""
    want = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feeds)
    np.savez(tmp / "in.npz", **feeds)
    out, report = tmp / "out.npz", tmp / "report.json"
    argv = [str(path), "--inputs", str(tmp / "in.npz"), "--output", str(out), "--no-cache"]
    assert ge_run([*argv, "--report", str(report)]) == 0
    return dict(np.load(out)), want, json.loads(report.read_text())


def check(got: dict, want: list, figures: dict) -> None:
    assert list(got) == figures["outputs"]
    for (name, value), expected in zip(got.items(), want, strict=True):
        assert value.dtype == expected.dtype, name
        np.testing.assert_allclose(value, expected, rtol=1e-4, atol=1e-4, err_msg=name)
    assert REPORT_KEYS <= set(figures)
    assert all(k["cycles"] >= 0 for k in figures["kernels"])
    assert figures["memory"]["peak_bytes"] >= figures["memory"]["lower_bound_bytes"]


OPSETS = (11, 13, 14, 17)
FAST = {case: max(OPSETS[i % len(OPSETS)], CASES[case][2].get("from", 0))
        for i, case in enumerate(CASES)}  # fmt: skip
"""Each model at one opset in the default run (every opset is some model's); the rest are
the opset sweep (marker `sweep`: `-m 'not sweep'` leaves it out of a quick local run)."""
SWEEP = (pytest.mark.slow, pytest.mark.sweep)
GRID = [
    pytest.param(case, opset, marks=() if FAST[case] == opset else SWEEP)
    for case in CASES
    for opset in OPSETS
    if opset >= CASES[case][2].get("from", 0)  # torch exports it from that opset
]
FUSED = dict.fromkeys(
    ["bert", "gpt2", "gpt2-past", "distilbert", "llama", "sdpa", "t5", "whisper"],
    "kernel.attention",
)
"""A kernel each model's export must compile to at every opset (fusions old opsets once hid)."""
ALSO_FUSED = {"llama": "kernel.rms_norm", "t5": "kernel.rms_norm"}
"""A second such kernel: RMSNorm written out by the exporter, rebuilt by recognize-rms-norm."""


def run_case(case: str, opset: int, tmp: Path) -> tuple[dict, list, dict]:
    make, make_inputs, options = CASES[case]
    torch.manual_seed(0)
    model = make().eval()
    inputs = make_inputs(torch.Generator().manual_seed(0))
    path = tmp / "model.onnx"
    names = export(model, inputs, path, opset, options.get("dynamic", ()))
    return run_both(path, {n: t.numpy() for n, t in zip(names, inputs)}, tmp)


def fallbacks(figures: dict) -> list[tuple[str, str]]:
    """(op, reason) of each kernel that ran by reference rather than on the modeled NPU."""
    return [(k["op"], k["fallback_reason"]) for k in figures["kernels"] if k["engine"] != "npu"]


@pytest.mark.parametrize(("case", "opset"), GRID)
def test_zoo_text_model_matches_onnxruntime(case: str, opset: int, tmp_path: Path):
    got, want, figures = run_case(case, opset, tmp_path)
    check(got, want, figures)
    assert fallbacks(figures) == []
    if case in FUSED:
        assert FUSED[case] in {k["op"] for k in figures["kernels"]}
    if case in ALSO_FUSED:
        assert ALSO_FUSED[case] in {k["op"] for k in figures["kernels"]}


GEARED = ["bert", "gpt2", "llama", "t5", "gru", "bilstm", "distilbert", "sdpa", "torch-encoder"]


def _repeat_batch(inputs: list, batch: int) -> list[np.ndarray]:
    return [np.resize(t.numpy(), (batch, *t.shape[1:])) for t in inputs]


@pytest.mark.parametrize("case", GEARED)
def test_shape_gears_serve_text_models(case: str, tmp_path: Path):
    """ge.compile(dynamic_batch=[1, 4]) of an export whose batch axis is free: token ids index
    a shared table per sample, GPT-2's Conv1D and torch's MultiheadAttention fold the batch
    with other rows, recurrences start from a batch-sized zero state, and each gear's graph is
    the model imported at that batch. Batch 3 (padded to gear 4) and 5 (beyond every gear:
    eager) equal onnxruntime."""
    import ge

    make, make_inputs, options = CASES[case]
    torch.manual_seed(0)
    inputs = make_inputs(torch.Generator().manual_seed(0))
    path = tmp_path / "model.onnx"
    names = export(make().eval(), inputs, path, 17, ("batch",))
    compiled = ge.compile(onnx.load(path), dynamic_batch=[1, 4], cache=False)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for batch in (1, 3, 5):
        feeds = dict(zip(names, _repeat_batch(inputs, batch)))
        got = compiled(**feeds)
        got = got if isinstance(got, list | tuple) else [got]
        for value, expected in zip(got, session.run(None, feeds), strict=True):
            np.testing.assert_allclose(value, expected, rtol=1e-4, atol=1e-4, err_msg=case)
    assert set(compiled._plans) == {1, 4}


@pytest.mark.parametrize("case", ["torch-encoder", "gru", "gpt2"])
def test_shape_gears_serve_torch_modules_exported_at_batch_one(case: str):
    """ge.compile(module, example_inputs at batch 1, dynamic_batch=[1, 4]): each gear is the
    module exported again at its batch (at batch 1 the analysis cannot tell where a reshape
    puts the batch; the GRU's zero state is a batch-sized constant multiplied through)."""
    import ge

    make, make_inputs, _ = CASES[case]
    torch.manual_seed(0)
    model = make().eval()
    one = [t[:1] for t in make_inputs(torch.Generator().manual_seed(0))]
    compiled = ge.compile(model, example_inputs=one, dynamic_batch=[1, 4], cache=False)
    for batch in (3, 5):
        inputs = [torch.as_tensor(a) for a in _repeat_batch(one, batch)]
        with torch.no_grad():
            want = model(*inputs)
        want = want if isinstance(want, list | tuple) else [want]
        got = compiled(*inputs)
        got = got if isinstance(got, list | tuple) else [got]
        for value, expected in zip(got, want, strict=True):
            np.testing.assert_allclose(np.asarray(value), expected.numpy(), rtol=1e-4, atol=1e-4)


def test_shape_gears_refuse_a_loop_over_the_batch(tmp_path: Path):
    """A scripted `for row in x` runs as many steps as there are samples: padding adds steps."""
    import ge
    from ge.gears import GearError

    path = tmp_path / "model.onnx"
    export(zoo.scripted_loop(), [torch.randn(2, 5, 8)], path, 17, ("batch",))
    with pytest.raises(GearError, match="'ge.slice' slices along the batch axis"):
        ge.compile(onnx.load(path), dynamic_batch=[1, 4], cache=False)


@pytest.mark.parametrize("case", ["bert", "gpt2", "textcnn", "wav2vec"])
def test_dynamic_axes_run_at_batch_one_and_at_other_shapes(case: str, tmp_path: Path):
    """dim_param batch/sequence: without --inputs ge-run runs batch 1 (a time axis too short
    for a Conv1d is lengthened); with --inputs of other shapes it matches onnxruntime."""
    make, make_inputs, _ = CASES[case]
    torch.manual_seed(0)
    inputs = make_inputs(torch.Generator().manual_seed(0))
    path = tmp_path / "model.onnx"
    axes = ("batch", "sequence") if inputs[0].dim() == 2 else ("batch",)
    names = export(make().eval(), inputs, path, 14, axes)
    out = tmp_path / "random.npz"
    assert ge_run([str(path), "--output", str(out), "--no-cache"]) == 0
    assert all(v.shape[0] == 1 for v in np.load(out).values())
    g = torch.Generator().manual_seed(1)
    other = _bert_inputs(g, 3, 5) if case == "bert" else [_ids(g, 3, 6)]
    if case == "wav2vec":
        other = [torch.randn(3, 64, generator=g)]
    got, want, figures = run_both(path, {n: t.numpy() for n, t in zip(names, other)}, tmp_path)
    check(got, want, figures)
    assert got[figures["outputs"][0]].shape[0] == 3


def test_gpt2_first_step_with_an_empty_past(tmp_path: Path):
    """Generation's first step feeds past key/values of length 0 (optimum's merged decoders
    do too): each Concat(past, new) keeps the new keys alone, and nothing falls back."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    inputs = [_ids(g, 2, 1), *_past(g)]
    names = [f"in{i}" for i in range(len(inputs))]
    axes = {names[0]: {1: "sequence"}, **{n: {2: "past"} for n in names[1:]}}
    path = tmp_path / "model.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(zoo.Gpt2(past=True).eval(), tuple(inputs), str(path), opset_version=14,
                          dynamo=False, input_names=names, dynamic_axes=axes)  # fmt: skip
    for past, sequence in ((0, 4), (0, 1), (3, 2)):
        feeds = {names[0]: _ids(g, 2, sequence).numpy()}
        feeds |= {n: t.numpy() for n, t in zip(names[1:], _past(g, past=past))}
        got, want, figures = run_both(path, feeds, tmp_path)
        check(got, want, figures)
        assert fallbacks(figures) == []
        assert "kernel.attention" in {k["op"] for k in figures["kernels"]}


def merged_decoder(folder: Path) -> Path:
    """optimum's merged decoder: If(use_cache_branch) between a GPT-2 export that takes past
    key/values and one that does not (the same weights), each branch's names prefixed."""
    torch.manual_seed(0)
    model = zoo.Gpt2(past=True).eval()
    g = torch.Generator().manual_seed(0)
    pasts = _past(g)
    names = ["ids"] + [f"past_{i}" for i in range(len(pasts))]
    outputs = ["logits"] + [f"present_{i}" for i in range(len(pasts))]
    branches, exported = [], []
    for inputs, prefix in (([_ids(g, 2, 3), *pasts], "with_"), ([_ids(g, 2, 3)], "without_")):
        path = folder / f"{prefix}past.onnx"
        given = names[: len(inputs)]
        axes = {"ids": {1: "sequence"}, **{n: {2: "past"} for n in given[1:]}}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                model, tuple(inputs), str(path), opset_version=14, dynamo=False,
                input_names=given, output_names=outputs, dynamic_axes=axes,
            )  # fmt: skip
        exported.append(onnx.load(str(path)))
        graph = onnx.compose.add_prefix_graph(exported[-1].graph, prefix, rename_inputs=False)
        branches.append(
            helper.make_graph(graph.node, prefix + "branch", [], graph.output, graph.initializer)
        )
    flag = helper.make_tensor_value_info("use_cache_branch", TensorProto.BOOL, [1])
    ranks = [2] + [4] * len(pasts)
    graph = helper.make_graph(
        [helper.make_node("If", ["use_cache_branch"], outputs, then_branch=branches[0],
                          else_branch=branches[1])],
        "merged_decoder",
        [*exported[0].graph.input, flag],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, [None] * r)
         for o, r in zip(outputs, ranks)],
    )  # fmt: skip
    merged = helper.make_model(graph, opset_imports=exported[0].opset_import)
    merged.ir_version = exported[0].ir_version
    onnx.checker.check_model(merged)
    path = folder / "decoder_model_merged.onnx"
    onnx.save(merged, str(path))
    return path


def test_a_merged_decoder_runs_either_branch_on_the_npu(tmp_path: Path):
    """The first step (no cache, past of length 0: both branches give one type, so one
    module would hold the If as an scf.if on the reference interpreter) and a cached step
    each compile per value of `use_cache_branch` and run with no fallback."""
    path = merged_decoder(tmp_path)
    g = torch.Generator().manual_seed(1)
    for use_cache, past, sequence in ((False, 0, 4), (True, 3, 1), (False, 0, 2)):
        feeds = {"ids": _ids(g, 2, sequence).numpy(), "use_cache_branch": np.array([use_cache])}
        feeds |= {f"past_{i}": t.numpy() for i, t in enumerate(_past(g, past=past))}
        got, want, figures = run_both(path, feeds, tmp_path)
        check(got, want, figures)
        assert fallbacks(figures) == [] and figures["stages"] == 2
        assert "kernel.attention" in {k["op"] for k in figures["kernels"]}


def test_scripted_if_takes_either_branch(tmp_path: Path):
    """torch.jit.script's `if` on a tensor is an ONNX If on a run-time condition: the graph
    from it on compiles per value of the condition, so the branch a run takes runs on the
    npu (no fallback), and its values are right both ways."""
    x = torch.randn(2, 8, generator=torch.Generator().manual_seed(0)).abs()
    torch.manual_seed(0)
    path = tmp_path / "model.onnx"
    names = export(zoo.scripted_if(), [x], path, 13)
    for sign in (1.0, -1.0):
        got, want, figures = run_both(path, {names[0]: (sign * x).numpy()}, tmp_path)
        check(got, want, figures)
        assert fallbacks(figures) == []
        assert figures["kernels"] and figures["stages"] == 2


def test_tf2onnx_bert_at_opset_10(tmp_path: Path):
    """bertsquad-10's patterns: its TF layer norm is recognised and its attention fused."""
    path = tmp_path / "model.onnx"
    onnx.save(zoo.tf_bert_opset10(), str(path))
    rng = np.random.default_rng(0)
    mask = np.ones((2, 8), np.int64)
    mask[1, 5:] = 0
    feeds = {"ids": rng.integers(0, zoo.VOCAB, (2, 8)), "mask": mask}
    feeds["segments"] = rng.integers(0, 2, (2, 8))
    got, want, figures = run_both(path, feeds, tmp_path)
    check(got, want, figures)
    assert fallbacks(figures) == []
    ops = [k["op"] for k in figures["kernels"]]
    assert "kernel.layer_norm" in ops and "kernel.attention" in ops
    assert "kernel.reduce" not in ops
