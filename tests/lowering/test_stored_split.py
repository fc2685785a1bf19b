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


NPU_PIPELINE = (
    "ge-optimize,select-implementations,split-pointwise-convs,schedule-streams{max-streams=1},"
    "plan-memory"
)
"""ge-opt's pipeline to a planned kernel level (then `convert-kernel-to-npu`)."""


def _planned_and_lowered(model) -> tuple:  # noqa: ANN001
    from ge.frontends.onnx import import_onnx_model
    from ge.pipeline import apply_pipeline
    from gedialects.npu.verify import verify_npu_module
    from runtime.targets import default_target

    module = import_onnx_model(model)
    apply_pipeline(module, NPU_PIPELINE)
    lowered = lower_module(module)
    verify_npu_module(lowered, default_target())
    return module, lowered


def _gemm_then_split_model(gates: int, hidden: int, batch: int):  # noqa: ANN202
    """x @ W + b split into `gates` pieces of `hidden` columns, combined elementwise."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((hidden, gates * hidden), np.float32), "W")
    b = numpy_helper.from_array(rng.standard_normal(gates * hidden).astype(np.float32), "B")
    sizes = numpy_helper.from_array(np.full(gates, hidden, np.int64), "S")
    pieces = [f"g{i}" for i in range(gates)]
    nodes = [
        helper.make_node("Relu", ["x"], ["r"]),
        helper.make_node("MatMul", ["r", "W"], ["m"]),
        helper.make_node("Add", ["m", "B"], ["a"]),
        helper.make_node("Split", ["a", "S"], pieces, axis=-1),
        helper.make_node("Sum", pieces, ["y"]),
    ]
    info = helper.make_tensor_value_info
    graph = helper.make_graph(
        nodes,
        "g",
        [info("x", TensorProto.FLOAT, [batch, hidden])],
        [info("y", TensorProto.FLOAT, [batch, hidden])],
        [w, b, sizes],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_contiguous_pieces_of_a_planned_gemm_are_views_of_its_product() -> None:
    """A split of one row into contiguous pieces is views of the product in the plan; the
    lowering allocated each piece at its view offset (640, 768, ...) and `verify-npu` then
    refused its own output: 'offset 640 is not aligned to 512 bytes'."""
    model = _gemm_then_split_model(gates=4, hidden=32, batch=1)
    module, lowered = _planned_and_lowered(model)
    x = np.random.default_rng(1).standard_normal((1, 32)).astype(np.float32)
    (want,) = run_reference(module, [x])
    (got,) = NpuExecutable(lowered).run([x]).outputs
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    kernels = [op.kind.data for op in lowered.walk() if isinstance(op, KernelOp)]
    assert "split" not in kernels


def test_a_bidirectional_gru_s_gate_split_does_not_overwrite_the_gemm_s_input() -> None:
    """The plan had the split write its (strided) pieces after the matmul, so it reused the
    matmul's input bytes for one; the GEMM storing the pieces itself overwrote its input
    while a second block still read it (0.25 off onnxruntime). Such a split now runs as its
    own kernel."""
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(2)
    w = numpy_helper.from_array(rng.standard_normal((2, 12, 4), np.float32) / 2, "W")
    r = numpy_helper.from_array(rng.standard_normal((2, 12, 4), np.float32) / 2, "R")
    node = helper.make_node("GRU", ["x", "W", "R"], ["Y"], hidden_size=4, direction="bidirectional")
    info = helper.make_tensor_value_info
    graph = helper.make_graph(
        [helper.make_node("Transpose", ["xt"], ["x"], perm=[1, 0, 2]), node],
        "gru",
        [info("xt", TensorProto.FLOAT, [2, 1, 4])],
        [info("Y", TensorProto.FLOAT, [1, 2, 2, 4])],
        [w, r],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    _, lowered = _planned_and_lowered(model)
    x = rng.standard_normal((2, 1, 4)).astype(np.float32)
    (got,) = NpuExecutable(lowered).run([x]).outputs
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(got, session.run(None, {"xt": x})[0], rtol=1e-5, atol=1e-5)
