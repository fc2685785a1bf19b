"""A matmul whose product only a split along its last axis reads (`combine-parallel-matmuls`'
form): its GEMM stores each output tile's columns into the pieces they meet. Random shapes,
pieces that do not divide the tiles, both cube modes, epilogues and transposed weights equal
the reference, on the whole-program lowering and on the kernel runner, and no split kernel
launches."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from xdsl.parser import Parser

from ge.registry import make_context
from gedialects.interpreter import run_reference
from gedialects.npu.launch import KernelOp
from lowering.convert_kernel_to_npu import lower_module
from runtime.kernel_runner import KernelRunner
from runtime.npu_interpreter import NpuExecutable


def _t(shape: tuple[int, ...], dtype: str) -> str:
    return f"tensor<{'x'.join(map(str, shape))}x{dtype}>"


@st.composite
def stored_splits(draw) -> tuple[str, list[tuple[int, ...]], str]:  # noqa: ANN001
    """(kernel-level text, argument shapes, dtype) of act(x @ W + b) split into pieces."""
    lead = tuple(draw(st.lists(st.integers(1, 2), max_size=1)))
    m, k = draw(st.integers(1, 80)), draw(st.integers(1, 96))
    widths = draw(st.lists(st.integers(1, 90), min_size=2, max_size=4))
    dtype = draw(st.sampled_from(["f32", "f16"]))
    transposed = draw(st.booleans())
    n = sum(widths)
    shapes = [(*lead, m, k), (n, k) if transposed else (k, n)]
    bias = draw(st.booleans())
    if bias:
        shapes.append((n,))
    act = draw(st.sampled_from(["", ', activation = "relu"']))
    product = _t((*lead, m, n), dtype)
    pieces = [_t((*lead, m, w), dtype) for w in widths]
    names = ", ".join(f"%p{i}" for i in range(len(widths)))
    params = ", ".join(f"%a{i}: {_t(s, dtype)}" for i, s in enumerate(shapes))
    types = ", ".join(_t(s, dtype) for s in shapes)
    text = f"""func.func @main({params}) -> ({", ".join(pieces)}) {{
  %p = kernel.matmul %a0, %a1{" bias %a2" if bias else ""} {{transpose_a = false, \
transpose_b = {str(transposed).lower()}, alpha = 1.0 : f64{act}, fused_from = ["ge.matmul"]}} \
: ({types}) -> {product}
  {names} = kernel.split %p {{fused_from = ["ge.split"], axis = -1 : i64, sizes = \
array<i64: {", ".join(map(str, widths))}>}} : ({product}) -> ({", ".join(pieces)})
  func.return {names} : {", ".join(pieces)}
}}"""
    return text, shapes, dtype


@given(stored_splits(), st.integers(0, 2**16))
def test_stored_split_equals_reference(program, seed: int) -> None:
    text, shapes, dtype = program
    module = Parser(make_context(), text).parse_module()
    rng = np.random.default_rng(seed)
    numpy_type = np.float16 if dtype == "f16" else np.float32
    inputs = [rng.standard_normal(s).astype(numpy_type) for s in shapes]
    want = run_reference(module, inputs)
    tol = 2e-2 if dtype == "f16" else 1e-4
    lowered = lower_module(module)
    kernels = [op for op in lowered.walk() if isinstance(op, KernelOp)]
    assert [k.kind.data for k in kernels] == ["matmul"]  # no split kernel
    got = NpuExecutable(lowered).run(inputs).outputs
    runner = KernelRunner(module).run(inputs)  # the runner's two-op program
    assert not runner.fallbacks
    assert [k.name for k in runner.profile.kernels] == ["matmul_0"]
    for g, r, w in zip(got, runner.outputs, want, strict=True):
        np.testing.assert_allclose(g.astype(np.float32), w.astype(np.float32), rtol=tol, atol=tol)
        np.testing.assert_array_equal(r, g)
