"""SiLU as an epilogue: x * sigmoid(x) with the sigmoid in a scratch UB tile, on every
GEMM-shaped lowering (im2col, direct and Winograd convs, matmul), equal to the reference.

`recognize-silu` makes `nn.SiLU` one activation, so the conv before it applies it while
its tile is in UB (YOLO's and EfficientNet's Conv-BN-SiLU blocks) where it cost a kernel of
its own. The scratch tile counts in each tile choice (`Step.needs_scratch`), so a kernel
whose tiles fill UB still verifies: the npu executable checks the capacities on every run.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from test_lower_conv import _module, geometries, padding_only
from test_lower_conv_direct import geometries as direct_geometries
from test_lower_conv_winograd import geometries as winograd_geometries
from test_lower_matmul_split import _matmul
from xdsl.parser import Parser

from ge.registry import make_context
from gedialects.interpreter import run_reference
from gedialects.kernel.conv_algorithms import ALGORITHMS
from gedialects.npu.vector import UNARY_OPS
from lowering.convert_kernel_to_npu import lower_module
from runtime.npu_interpreter import NpuExecutable

WHERE = ["activation", "post_activation", "both"]
"""Where the SiLU goes: after the bias, after the residual (ResNet's ReLU's place), or both."""


ALPHAS = ["", ", activation_attrs = {alpha = 1.702 : f64}"]
"""SiLU, and QuickGELU (x * sigmoid(1.702 x)): the gain's scaling goes to the scratch tile."""


def _conv(geo: dict, algorithm: str, where: str, alpha: str = ""):  # noqa: ANN202
    """(module, shapes) of the conv with SiLU in `where` (the latter two with a residual)."""
    full = where != "activation"
    first = "relu" if where == "post_activation" else "silu"
    module, shapes = _module(geo, f', activation = "{first}"{alpha if first == "silu" else ""}',
                             full, algorithm)  # fmt: skip
    post = 'post_activation = "silu"' + alpha.replace("activation_attrs", "post_activation_attrs")
    text = str(module).replace('post_activation = "relu"', post)
    return Parser(make_context(), text).parse_module(), shapes


def _run(module, shapes, algorithm: str = "im2col"):  # noqa: ANN001, ANN202
    """Run on the npu and compare; Winograd to its own error bound on the output's scale."""
    rng = np.random.default_rng(1)
    inputs = [rng.standard_normal(s).astype(np.float32) * 3 for s in shapes]
    want = run_reference(module, inputs)[0]
    lowered = lower_module(module)
    gates = [op for op in lowered.walk() if isinstance(op, UNARY_OPS["sigmoid"])]
    assert gates, "the SiLU's sigmoid runs in the kernel's epilogue"
    result = NpuExecutable(lowered).run(inputs)  # verifies UB's capacity too
    # on the output's scale: a sum of terms ~100 leaves f32 rounding of ~1e-5 of it in a
    # small output whatever the order (found: 1.74335 vs 1.74368 beside outputs of 256)
    scale = max(1.0, float(np.abs(want).max()))
    atol = 10 * ALGORITHMS[algorithm].rtol if algorithm.startswith("winograd") else 1e-5
    np.testing.assert_allclose(result.outputs[0] / scale, want / scale, rtol=0, atol=atol)
    return result


@settings(max_examples=30, deadline=None)
@given(geometries(), st.sampled_from(WHERE), st.sampled_from(ALPHAS))
def test_im2col_conv_with_silu_equals_reference(geo: dict, where: str, alpha: str) -> None:
    module, shapes = _conv(geo, "im2col", where, alpha)
    _run(module, shapes)


@settings(max_examples=15, deadline=None)
@given(direct_geometries(), st.sampled_from(WHERE), st.sampled_from(ALPHAS))
def test_direct_conv_with_silu_equals_reference(geo: dict, where: str, alpha: str) -> None:
    module, shapes = _conv(geo, "direct", where, alpha)
    out = run_reference(module, [np.zeros(s, np.float32) for s in shapes])[0]
    if padding_only(geo, out.shape[2:]):
        return  # (a window of padding alone: the direct lowering refuses it, tested there)
    _run(module, shapes)


@settings(max_examples=10, deadline=None)
@given(winograd_geometries(), st.sampled_from(["winograd_2x2", "winograd_4x4"]),
       st.sampled_from(WHERE))  # fmt: skip
def test_winograd_conv_with_silu_equals_reference(geo: dict, algorithm: str, where: str) -> None:
    module, shapes = _conv(dict(geo, k=3, s=1, d=1), algorithm, where)
    _run(module, shapes, algorithm)


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 300), st.integers(1, 300), st.integers(1, 300), st.booleans())
def test_matmul_with_silu_equals_reference(m: int, n: int, k: int, residual: bool) -> None:
    module, inputs = _matmul(m, n, k, activation="silu", residual=residual)
    want = run_reference(module, inputs)[0]
    lowered = lower_module(module)
    assert any(isinstance(op, UNARY_OPS["sigmoid"]) for op in lowered.walk())
    result = NpuExecutable(lowered).run(inputs)
    np.testing.assert_allclose(result.outputs[0], want, rtol=1e-4, atol=1e-4)
