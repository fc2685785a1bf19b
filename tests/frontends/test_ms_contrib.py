"""onnxruntime's `com.microsoft` float ops (what its graph and transformer optimizers write into
saved models) import and run at the npu level equal to onnxruntime running the same model."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper, numpy_helper

import ge
from gedialects.errors import UnsupportedError

F = TensorProto.FLOAT
MS = "com.microsoft"
RNG = np.random.default_rng(0)


def _normal(*shape: int, scale: float = 1.0) -> np.ndarray:
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def _model(node, inputs: dict[str, np.ndarray], inits: dict[str, np.ndarray], outputs: list[str]):
    graph = helper.make_graph(
        [node],
        "contrib",
        [helper.make_tensor_value_info(k, helper.np_dtype_to_tensor_dtype(v.dtype), v.shape)
         for k, v in inputs.items()],
        [helper.make_empty_tensor_value_info(o) for o in outputs],
        [numpy_helper.from_array(v, k) for k, v in inits.items()],
    )  # fmt: skip
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid(MS, 1)]
    model = helper.make_model(graph, opset_imports=opsets)
    session = onnxruntime.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    expected = session.run(None, inputs)
    for info, value in zip(model.graph.output, expected):  # typed outputs for the checker
        info.CopyFrom(
            helper.make_tensor_value_info(
                info.name, helper.np_dtype_to_tensor_dtype(value.dtype), value.shape
            )
        )
    return model, expected


def _check(node, inputs, inits, outputs, rtol: float = 1e-4, atol: float = 1e-5) -> None:
    model, expected = _model(node, inputs, inits, outputs)
    got = ge.compile(model, level="npu", cache=False).run(**inputs)
    for want, have in zip(expected, got):
        assert have.shape == want.shape and have.dtype == want.dtype
        np.testing.assert_allclose(have, want, rtol=rtol, atol=atol)


CASES = {
    "FusedConv-relu-sum": (
        helper.make_node("FusedConv", ["x", "w", "b", "z"], ["y"], domain=MS, activation="Relu",
                         pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
        {"x": _normal(1, 4, 8, 8), "z": _normal(1, 6, 8, 8)},
        {"w": _normal(6, 4, 3, 3), "b": _normal(6)},
        ["y"],
    ),
    "FusedConv-clip": (
        helper.make_node("FusedConv", ["x", "w"], ["y"], domain=MS, activation="Clip",
                         activation_params=[0.0, 6.0], strides=[2, 2]),
        {"x": _normal(1, 3, 9, 9)},
        {"w": _normal(5, 3, 3, 3)},
        ["y"],
    ),
    "FusedConv-leaky": (
        helper.make_node("FusedConv", ["x", "w", "b"], ["y"], domain=MS, activation="LeakyRelu",
                         activation_params=[0.2]),
        {"x": _normal(1, 2, 5, 5)},
        {"w": _normal(3, 2, 1, 1), "b": _normal(3)},
        ["y"],
    ),
    "FusedMatMul-trans-alpha": (
        helper.make_node("FusedMatMul", ["a", "b"], ["y"], domain=MS, transA=1, transB=1,
                         alpha=0.125),
        {"a": _normal(2, 8, 5)},
        {"b": _normal(2, 6, 8)},
        ["y"],
    ),
    "FusedGemm-tanh": (  # ORT's Gemm + Tanh fusion: BERT's pooler
        helper.make_node("FusedGemm", ["a", "b", "c"], ["y"], domain=MS, transB=1, alpha=0.5,
                         beta=2.0, activation="Tanh"),
        {"a": _normal(3, 8)},
        {"b": _normal(6, 8), "c": _normal(6)},
        ["y"],
    ),
    "FusedGemm-leaky": (
        helper.make_node("FusedGemm", ["a", "b"], ["y"], domain=MS, activation="LeakyRelu",
                         activation_alpha=0.2),
        {"a": _normal(4, 5)},
        {"b": _normal(5, 3)},
        ["y"],
    ),
    "Gelu": (helper.make_node("Gelu", ["x"], ["y"], domain=MS), {"x": _normal(3, 7)}, {}, ["y"]),
    "BiasGelu": (
        helper.make_node("BiasGelu", ["x", "bias"], ["y"], domain=MS),
        {"x": _normal(2, 3, 8)}, {"bias": _normal(8)}, ["y"],
    ),
    "FastGelu": (
        helper.make_node("FastGelu", ["x", "bias"], ["y"], domain=MS),
        {"x": _normal(2, 3, 8)}, {"bias": _normal(8)}, ["y"],
    ),
    "QuickGelu": (
        helper.make_node("QuickGelu", ["x"], ["y"], domain=MS, alpha=1.5),
        {"x": _normal(4, 6)}, {}, ["y"],
    ),
    "SkipLayerNormalization": (
        helper.make_node("SkipLayerNormalization", ["x", "skip", "gamma", "beta", "bias"],
                         ["y", "mean", "inv", "sum"], domain=MS, epsilon=1e-5),
        {"x": _normal(2, 5, 16), "skip": _normal(2, 5, 16)},
        {"gamma": _normal(16), "beta": _normal(16), "bias": _normal(16)},
        ["y", "mean", "inv", "sum"],
    ),
    "SkipSimplifiedLayerNormalization": (
        helper.make_node("SkipSimplifiedLayerNormalization", ["x", "skip", "gamma"],
                         ["y", "", "", "sum"], domain=MS, epsilon=1e-6),
        {"x": _normal(2, 5, 16), "skip": _normal(2, 5, 16)}, {"gamma": _normal(16)},
        ["y", "sum"],
    ),
    "SimplifiedLayerNormalization": (
        helper.make_node("SimplifiedLayerNormalization", ["x", "scale"], ["y"], axis=-1,
                         epsilon=1e-6),  # in ONNX's domain, as onnxruntime registers it
        {"x": _normal(2, 5, 16)}, {"scale": _normal(16)}, ["y"],
    ),
    "Attention-mask": (
        helper.make_node("Attention", ["x", "w", "b", "mask"], ["y"], domain=MS, num_heads=4),
        {"x": _normal(2, 6, 16), "mask": (RNG.random((2, 6)) > 0.3).astype(np.int32)},
        {"w": _normal(16, 48, scale=0.3), "b": _normal(48)},
        ["y"],
    ),
    "Attention-key-lengths": (
        helper.make_node("Attention", ["x", "w", "b", "lengths"], ["y"], domain=MS, num_heads=2),
        {"x": _normal(3, 5, 8), "lengths": np.array([5, 3, 1], np.int32)},
        {"w": _normal(8, 24, scale=0.3), "b": _normal(24)},
        ["y"],
    ),
    "Attention-end-and-start": (
        helper.make_node("Attention", ["x", "w", "b", "bounds"], ["y"], domain=MS, num_heads=2),
        {"x": _normal(2, 5, 8), "bounds": np.array([4, 5, 1, 2], np.int32)},
        {"w": _normal(8, 24, scale=0.3), "b": _normal(24)},
        ["y"],
    ),
    "Attention-causal": (
        helper.make_node("Attention", ["x", "w", "b"], ["y"], domain=MS, num_heads=2,
                         unidirectional=1),
        {"x": _normal(1, 5, 8)}, {"w": _normal(8, 24, scale=0.3), "b": _normal(24)}, ["y"],
    ),
    "MultiHeadAttention": (
        helper.make_node("MultiHeadAttention", ["q", "k", "v"], ["y"], domain=MS, num_heads=2),
        {"q": _normal(2, 4, 8), "k": _normal(2, 6, 8), "v": _normal(2, 6, 8)}, {}, ["y"],
    ),
    "EmbedLayerNormalization": (
        helper.make_node("EmbedLayerNormalization",
                         ["ids", "segments", "word", "position", "segment", "gamma", "beta",
                          "mask"], ["y", "mask_index"], domain=MS, epsilon=1e-12),
        {"ids": RNG.integers(0, 30, (2, 7)).astype(np.int32),
         "segments": RNG.integers(0, 2, (2, 7)).astype(np.int32),
         "mask": np.array([[1] * 7, [1] * 4 + [0] * 3], np.int32)},
        {"word": _normal(30, 16), "position": _normal(10, 16), "segment": _normal(2, 16),
         "gamma": _normal(16), "beta": _normal(16)},
        ["y", "mask_index"],
    ),
    "QEmbedLayerNormalization": (  # quantize_dynamic of a transformer-optimized BERT
        helper.make_node("QEmbedLayerNormalization",
                         ["ids", "segments", "word", "position", "segment", "gamma", "beta",
                          "mask", "word_s", "position_s", "segment_s", "gamma_s", "beta_s",
                          "word_z", "position_z", "segment_z", "gamma_z", "beta_z"],
                         ["y", "mask_index"], domain=MS, epsilon=1e-12),
        {"ids": RNG.integers(0, 30, (2, 7)).astype(np.int32),
         "segments": RNG.integers(0, 2, (2, 7)).astype(np.int32),
         "mask": np.array([[1] * 7, [1] * 4 + [0] * 3], np.int32)},
        {**{name: RNG.integers(0, 256, shape).astype(np.uint8) for name, shape in
            (("word", (30, 16)), ("position", (10, 16)), ("segment", (2, 16)),
             ("gamma", (16,)), ("beta", (16,)))},
         **{f"{name}_s": np.float32(scale) for name, scale in
            (("word", 0.02), ("position", 0.01), ("segment", 0.03), ("gamma", 0.008),
             ("beta", 0.004))},
         **{f"{name}_z": np.uint8(zero) for name, zero in
            (("word", 128), ("position", 120), ("segment", 131), ("gamma", 0), ("beta", 127))}},
        ["y", "mask_index"],
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
def test_contrib_op_equals_onnxruntime(case: str) -> None:
    _check(*CASES[case])


def test_bias_add_is_x_plus_bias_plus_skip() -> None:
    """onnxruntime has BiasAdd on CUDA only: numpy is the oracle."""
    x, skip, bias = _normal(2, 3, 8), _normal(2, 3, 8), _normal(8)
    node = helper.make_node("BiasAdd", ["x", "bias", "skip"], ["y"], domain=MS)
    graph = helper.make_graph(
        [node],
        "bias_add",
        [helper.make_tensor_value_info(n, F, [2, 3, 8]) for n in ("x", "skip")],
        [helper.make_tensor_value_info("y", F, [2, 3, 8])],
        [numpy_helper.from_array(bias, "bias")],
    )
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid(MS, 1)]
    model = helper.make_model(graph, opset_imports=opsets)
    (y,) = ge.compile(model, level="npu", cache=False).run(x=x, skip=skip)
    np.testing.assert_allclose(y, x + bias + skip, rtol=1e-6)


def test_attention_with_past_state_is_refused_naming_it() -> None:
    node = helper.make_node("Attention", ["x", "w", "b", "", "past"], ["y"], domain=MS,
                            num_heads=2)  # fmt: skip
    inputs = {"x": _normal(1, 3, 8), "past": _normal(2, 1, 2, 4, 4)}
    graph = helper.make_graph(
        [node],
        "past",
        [helper.make_tensor_value_info(k, F, v.shape) for k, v in inputs.items()],
        [helper.make_tensor_value_info("y", F, [1, 3, 8])],
        [numpy_helper.from_array(_normal(8, 24), "w"), numpy_helper.from_array(_normal(24), "b")],
    )
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid(MS, 1)]
    model = helper.make_model(graph, opset_imports=opsets)
    with pytest.raises(UnsupportedError, match="past"):
        ge.compile(model, cache=False)
    onnx.checker.check_model(model)  # the model itself is valid


def test_layer_normalization_in_onnx_domain_below_opset_17_is_onnxruntimes() -> None:
    """onnxruntime's transformer optimizer writes LayerNormalization at opsets 12-16, where
    ONNX has no such op (onnx.checker refuses it); it is onnxruntime's contrib op."""
    x, scale, bias = _normal(2, 5, 16), _normal(16), _normal(16)
    node = helper.make_node("LayerNormalization", ["x", "scale", "bias"], ["y"], epsilon=1e-5)
    graph = helper.make_graph(
        [node],
        "ln13",
        [helper.make_tensor_value_info("x", F, x.shape)],
        [helper.make_tensor_value_info("y", F, x.shape)],
        [numpy_helper.from_array(scale, "scale"), numpy_helper.from_array(bias, "bias")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    session = onnxruntime.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    (want,) = session.run(None, {"x": x})
    (got,) = ge.compile(model, level="npu", cache=False).run(x=x)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize(("case", "model_type"), [("bert", "bert"), ("gpt2", "gpt2")])
def test_models_from_onnxruntimes_transformer_optimizer(case: str, model_type: str, tmp_path):
    """The zoo text models exported by torch, then fused by onnxruntime's transformer
    optimizer (EmbedLayerNormalization, Attention with key lengths, SkipLayerNormalization,
    BiasGelu / FastGelu): equal to onnxruntime, attention still one fused kernel."""
    pytest.importorskip("torch")
    import torch
    import zoo_text_models as zoo
    from onnxruntime.transformers import optimizer
    from test_zoo_text_models import CASES, export

    make, inputs, options = CASES[case]
    example = inputs(torch.Generator().manual_seed(0))
    path = tmp_path / f"{case}.onnx"
    names = export(make().eval(), example, path, 14, options.get("dynamic", ()))
    fused = optimizer.optimize_model(
        str(path), model_type=model_type, num_heads=zoo.HEADS, hidden_size=zoo.HIDDEN
    )
    assert any(n.domain == MS for n in fused.model.graph.node)
    fused_path = tmp_path / f"{case}-fused.onnx"
    fused.save_model_to_file(str(fused_path))
    feeds = {n: t.numpy() for n, t in zip(names, example)}
    session = onnxruntime.InferenceSession(str(fused_path), providers=["CPUExecutionProvider"])
    want = session.run(None, feeds)
    shapes = {k: list(v.shape) for k, v in feeds.items()}
    compiled = ge.compile(str(fused_path), level="npu", cache=False, input_shapes=shapes)
    for have, expected in zip(compiled.run(**feeds), want, strict=True):
        np.testing.assert_allclose(have, expected, rtol=1e-4, atol=1e-4)
    assert "kernel.attention" in {k["op"] for k in compiled.last_profile["kernels"]}
    assert not compiled.last_profile["fallbacks"]
