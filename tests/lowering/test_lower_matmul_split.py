"""K split over groups of cores (`tiling.choose_matmul_split`, `lower_matmul`): an init kernel
writes the bias (and residual) into C, then each group's GEMM over its K range adds its
products into C by atomic DMAs. Chosen for K-heavy GEMMs with few output tiles a core
(BERT's FFN down), equal to the reference on every shape, and the split kernels' modeled
cycles beat the whole-K ones they replace."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from xdsl.parser import Parser

from ge.registry import make_context
from gedialects.interpreter import run_reference
from lowering import tiling
from lowering.convert_kernel_to_npu import lower_module
from runtime.npu_interpreter import NpuExecutable
from runtime.targets import load_target

TARGET = load_target("ascend910a")


def _matmul(  # noqa: ANN202
    m: int, n: int, k: int, activation: str | None = None, alpha: float = 1.0,
    bias: bool = True, residual: bool = False,
):  # fmt: skip
    """(module, inputs) of act(alpha * A @ B [+ bias]) [+ residual], A (1, M, K)."""

    def t(shape):  # noqa: ANN001, ANN202
        return f"tensor<{'x'.join(map(str, shape))}xf32>"

    shapes = {"a": (1, m, k), "b": (k, n)}
    if bias:
        shapes["v"] = (n,)
    if residual:
        shapes["r"] = (1, m, n)
    c = t((1, m, n))
    act = f', activation = "{activation}"' if activation else ""
    addends = (" bias %v" if bias else "") + (" residual %r" if residual else "")
    params = ", ".join(f"%{name}: {t(shape)}" for name, shape in shapes.items())
    types = ", ".join(t(shape) for shape in shapes.values())
    text = f"""func.func @main({params}) -> {c} {{
  %c = kernel.matmul %a, %b{addends} {{transpose_a = false, transpose_b = false, \
alpha = {alpha:.6e} : f64{act}, fused_from = ["ge.matmul", "ge.add"]}} : ({types}) -> {c}
  func.return %c : {c}
}}"""
    module = Parser(make_context(), text).parse_module()
    rng = np.random.default_rng(m * n + k)
    return module, [rng.standard_normal(s).astype(np.float32) for s in shapes.values()]


def _run(module, inputs):  # noqa: ANN001, ANN202
    """(kernel names, total modeled cycles) after checking the outputs against the reference."""
    executable = NpuExecutable(lower_module(module, TARGET), TARGET)
    for _ in range(2):  # the second run replays the first's captured work
        result = executable.run(inputs)
        np.testing.assert_allclose(
            result.outputs[0], run_reference(module, inputs)[0], rtol=1e-4, atol=1e-4
        )
    kernels = result.profile.kernels
    return [k.name for k in kernels], sum(k.cycles for k in kernels)


def test_bert_ffn_down_splits_k_and_runs_faster(monkeypatch):
    """M 128, N 768, K 3072: two K halves on 16 cores each, 14,913 -> 13,176 + 644 (init)."""
    module, inputs = _matmul(128, 768, 3072)
    names, split_cycles = _run(module, inputs)
    assert names == ["matmul_0_init", "matmul_0"]
    monkeypatch.setattr(tiling, "SPLIT_GAIN", 0.0)  # never split
    whole_names, whole_cycles = _run(module, inputs)
    assert whole_names == ["matmul_0"]
    assert split_cycles < 0.95 * whole_cycles


@pytest.mark.parametrize(
    ("shape", "parts"),
    [((128, 768, 3072), 2), ((128, 768, 768), 1), ((128, 3072, 768), 1), ((512, 768, 3072), 1)],
    ids=["ffn-down", "projection", "ffn-up", "many-tiles"],
)
def test_which_gemms_split(shape, parts):
    """Only K-heavy shapes with few output fractals a core: BERT's projection and FFN up are
    bound by their output tiles' loads, 512 x 768 by the cube (a split was 5% slower)."""
    m, n, k = shape
    chosen, _ = tiling.choose_matmul_split(TARGET, m, n, k, 4, 4 * m * n, exact=True)
    assert chosen == parts


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no-bias"])
def test_a_residual_is_added_by_the_init_kernel(bias):
    """BERT's FFN down with its skip connection: the init kernel writes bias + residual (or
    the residual alone) into C, and the split still beats the whole K with the residual in
    its epilogue."""
    module, inputs = _matmul(128, 768, 3072, bias=bias, residual=True)
    names, split_cycles = _run(module, inputs)
    assert names == ["matmul_0_init", "matmul_0"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tiling, "SPLIT_GAIN", 0.0)
        whole_names, whole_cycles = _run(module, inputs)
    assert whole_names == ["matmul_0"] and split_cycles < whole_cycles


@pytest.mark.parametrize("residual", [False, True], ids=["bias", "bias-residual"])
def test_a_vector_product_splits_with_its_addends_viewed(residual):
    """v (K,) @ B (K, N): one output row, so K splits; the init kernel reads the (N,) bias
    and residual through the (1, N) view of the product (it once took the views for the
    op's own (N,) operands and failed verification)."""
    k, n = 3072, 768
    shapes = {"a": (k,), "b": (k, n), "v": (n,), **({"r": (n,)} if residual else {})}
    t = {name: f"tensor<{'x'.join(map(str, s))}xf32>" for name, s in shapes.items()}
    params = ", ".join(f"%{name}: {t[name]}" for name in shapes)
    addends = " bias %v" + (" residual %r" if residual else "")
    text = f"""func.func @main({params}) -> {t["v"]} {{
  %c = kernel.matmul %a, %b{addends} {{fused_from = ["ge.matmul", "ge.add"]}} : \
({", ".join(t.values())}) -> {t["v"]}
  func.return %c : {t["v"]}
}}"""
    module = Parser(make_context(), text).parse_module()
    rng = np.random.default_rng(0)
    names, _ = _run(module, [rng.standard_normal(s).astype(np.float32) for s in shapes.values()])
    assert names == ["matmul_0_init", "matmul_0"]


def test_an_activation_keeps_k_whole():
    module, inputs = _matmul(128, 768, 3072, activation="relu")
    names, _ = _run(module, inputs)
    assert names == ["matmul_0"]


@settings(max_examples=25, deadline=None)
@given(
    m=st.integers(1, 70),
    n=st.integers(1, 90),
    k=st.sampled_from([512, 768, 1024]),
    alpha=st.sampled_from([1.0, 0.125]),
    addends=st.sampled_from([(True, False), (True, True), (False, True)]),
)
def test_split_gemms_equal_the_reference(monkeypatch_module, m, n, k, alpha, addends):
    """Every split the target allows (2, 4, 8 parts), on edge tiles, with alpha, a bias,
    a residual or both."""
    parts, _ = tiling.choose_matmul_split(TARGET, m, n, k, 4, 4 * m * n, exact=True)
    assume(parts > 1)  # (a part's K steps must divide it)
    bias, residual = addends
    module, inputs = _matmul(m, n, k, alpha=alpha, bias=bias, residual=residual)
    names, _ = _run(module, inputs)
    assert names == ["matmul_0_init", "matmul_0"]


@pytest.fixture(scope="module")
def monkeypatch_module():
    """Always split where a split is allowed (the estimate's margin off)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tiling, "SPLIT_GAIN", float("inf"))
        yield patch
