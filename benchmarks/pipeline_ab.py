"""Two pass pipelines on the same ONNX models, side by side on the npu interpreter.

The benchmarks of one rewrite (`bench_transposed_epilogue.py`, `bench_silu_epilogue.py`,
`bench_channel_gates.py`) compile each case with and without it, run both on ascend910a
and print the kernels' summed modeled cycles, their HBM bytes, the kernels launched and
the output's distance from onnxruntime's: `compare` is that table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext

import numpy as np
import onnxruntime as ort

from ge.frontends.onnx import import_onnx_model
from ge.pipeline import apply_pipeline
from runtime.kernel_runner import KernelRunner

Inputs = np.ndarray | dict[str, np.ndarray]
"""One array for the model's input "x", or arrays by input name, in the model's order."""
Case = tuple[str, Callable[[], tuple[object, Inputs]]]
"""(name, build): build gives the ONNX model and its inputs."""


def torch_case(model, shape: tuple[int, ...]) -> Callable[[], tuple[object, np.ndarray]]:  # noqa: ANN001
    """A case's build for a `torch.nn` module of one input "x" of `shape`: seeded random
    input, exported at opset 17 (`ge.testing.models.export_onnx`)."""

    def build() -> tuple[object, np.ndarray]:
        import torch

        from ge.testing.models import export_onnx

        torch.manual_seed(0)
        x = torch.randn(shape)
        return export_onnx(model.eval(), [x], input_names=["x"]), x.numpy()

    return build


def _feeds(x: Inputs) -> dict[str, np.ndarray]:
    return x if isinstance(x, dict) else {"x": x}


def run(model, spec: str, x: Inputs) -> tuple[float, int, np.ndarray, int]:  # noqa: ANN001
    """(cycles, HBM bytes, first output, kernels) of the model through `spec` on the npu."""
    module = import_onnx_model(model)
    apply_pipeline(module, spec)
    result = KernelRunner(module).run(list(_feeds(x).values()))
    assert not result.fallbacks, result.fallbacks
    kernels = result.profile.kernels
    cycles = sum(k.cycles for k in kernels)
    moved = sum(k.hbm_bytes_read + k.hbm_bytes_written for k in kernels)
    return cycles, moved, result.outputs[0], len(kernels)


def compare(
    cases: Sequence[Case],
    before: str,
    after: str,
    labels: tuple[str, str, str],
    before_context: Callable[[], AbstractContextManager] = nullcontext,
) -> None:
    """One line per case: `before`'s and `after`'s cycles, their ratio, HBM MB and kernels,
    and the `after` output's largest error relative to onnxruntime's largest output.
    `before` compiles inside `before_context()` (a pattern patched out of a pass)."""
    name_label, before_label, after_label = labels
    width = max(len(name_label), *(len(name) for name, _ in cases))
    print(f"{name_label:<{width}} {before_label:>9} {after_label:>9} {'ratio':>6} "
          f"{'HBM MB':>13} kernels  error")  # fmt: skip
    for name, build in cases:
        model, x = build()
        want = ort.InferenceSession(model.SerializeToString()).run(None, _feeds(x))[0]
        with before_context():
            cycles0, moved0, _, count0 = run(model, before, x)
        cycles1, moved1, out, count1 = run(model, after, x)
        err = float(np.abs(out - want).max() / np.abs(want).max())
        print(
            f"{name:<{width}} {cycles0:>9,.0f} {cycles1:>9,.0f} {cycles1 / cycles0:>6.2f} "
            f"{moved0 / 1e6:>6.1f}->{moved1 / 1e6:<6.1f} {count0:>2}->{count1:<4} {err:.1e}"
        )
