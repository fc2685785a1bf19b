"""A conv's `input_activation` (its producer's activation, moved into its loads) on the
modeled NPU: the img2col lowering activates the rows it stages through UB, and the result
equals the reference semantics, conv(act(x)) with the activated image zero-padded."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_lower_conv import _module, geometries

from gedialects.errors import UnsupportedError
from gedialects.interpreter import run_reference
from gedialects.npu.img2col import Img2ColOp
from gedialects.npu.vector import UNARY_OPS
from lowering.convert_kernel_to_npu import lower_module
from runtime.npu_interpreter import NpuExecutable

RELU = ', input_activation = "relu"'
LEAKY = ', input_activation = "leaky_relu", input_activation_attrs = {alpha = 0.2 : f64}'
RELU6 = ', input_activation = "clip", input_activation_attrs = {min = 0.0 : f64, max = 6.0 : f64}'


def _run(geo: dict, prologue: str, algorithm: str | None = None):
    module, shapes = _module(geo, prologue + ', activation = "relu"', algorithm=algorithm)
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    want = run_reference(module, inputs)[0]
    lowered = lower_module(module)
    return NpuExecutable(lowered).run(inputs).outputs[0], want, lowered


@given(geometries(), st.sampled_from([RELU, LEAKY, RELU6]))
def test_conv_with_input_activation_equals_reference(geo: dict, prologue: str) -> None:
    got, want, lowered = _run(geo, prologue)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    assert any(isinstance(op, Img2ColOp) for op in lowered.walk())  # pointwise ones too


def test_the_activation_runs_on_the_staged_rows() -> None:
    """Negative inputs matter: without the activation the result differs (the test above
    would pass on an all-positive image too, so this one pins that the step is emitted)."""
    geo = dict(n=1, c=20, h=9, w=9, o=8, k=3, s=1, p=1, d=1, g=1)
    got, want, lowered = _run(geo, RELU)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    module, shapes = _module(geo, ', activation = "relu"')
    rng = np.random.default_rng(0)
    plain = run_reference(module, [rng.standard_normal(s).astype(np.float32) for s in shapes])
    assert not np.allclose(plain[0], want, atol=1e-3)
    def relus(module) -> int:  # noqa: ANN001
        return sum(isinstance(op, UNARY_OPS["relu"]) for op in module.walk())

    assert relus(lowered) > relus(lower_module(module))  # the staging's own relus


def test_folded_stem_rows_keep_their_padding_zero() -> None:
    """A 3-channel 7x7 stem folds its kernel rows into channels: the rows it clears as
    padding pass through the activation too (leaky_relu keeps 0, so they stay zero)."""
    geo = dict(n=1, c=3, h=20, w=20, o=16, k=7, s=2, p=3, d=1, g=1)
    got, want, _ = _run(geo, LEAKY)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    ("prologue", "algorithm", "message"),
    [
        (', input_activation = "sigmoid"', None, "input activation 'sigmoid'"),
        (RELU, "direct", "algorithm=direct"),
        (RELU, "winograd_2x2", "algorithm=winograd_2x2"),
    ],
)
def test_what_the_lowering_refuses(prologue: str, algorithm: str | None, message: str) -> None:
    """sigmoid(0) != 0 would turn the cleared padding rows of a folded conv into 0.5; the
    other algorithms have no staged rows to activate: such convs run by reference."""
    geo = dict(n=1, c=8, h=6, w=6, o=8, k=3, s=1, p=1, d=1, g=1)
    module, _ = _module(geo, prologue, algorithm=algorithm)
    with pytest.raises(UnsupportedError, match=message):
        lower_module(module)
