# ruff: noqa: E501  (lines of IR text)
"""convert-kernel-to-npu: lowered programs on the modeled NPU equal the reference interpreter."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from xdsl.dialects.builtin import ModuleOp
from xdsl.parser import Parser
from xdsl.passes import PassPipeline

from ge.registry import all_passes, make_context
from gedialects.errors import UnsupportedError
from gedialects.interpreter import run_reference
from gedialects.npu.launch import KernelOp
from lowering.convert_kernel_to_npu import lower_module
from lowering.tiling import choose_matmul_tile
from runtime.npu_interpreter import run_npu
from runtime.targets import default_target

UNARY = ["relu", "exp", "tanh", "sigmoid", "abs", "neg", "erf", "floor", "sin", "gelu", "silu"]
BINARY = ["add", "sub", "mul", "maximum", "minimum"]


def _t(shape: tuple[int, ...], dtype: str = "f32") -> str:
    return f"tensor<{'x'.join(map(str, shape))}{'x' if shape else ''}{dtype}>"


def _kernel_module(text: str, spec: str = "convert-ge-to-kernel,fuse-elementwise") -> ModuleOp:
    ctx = make_context()
    module = Parser(ctx, text).parse_module()
    PassPipeline.parse_spec(dict(all_passes()), spec).apply(ctx, module)
    return module


def _compare(module: ModuleOp, inputs: list[np.ndarray], rtol: float, atol: float):
    want = run_reference(module, inputs)
    result = run_npu(lower_module(module), inputs)
    for got, ref in zip(result.outputs, want, strict=True):
        assert got.shape == ref.shape and got.dtype == ref.dtype
        np.testing.assert_allclose(got, ref, rtol=rtol, atol=atol, equal_nan=True)
    for kernel in result.profile.kernels:
        assert 0 < kernel.roofline_cycles <= kernel.cycles
    return result


@st.composite
def elementwise_programs(draw):
    """A chain of unary/binary ops over inputs that broadcast to one output shape."""
    rank = draw(st.integers(1, 4))
    out = tuple(draw(st.lists(st.integers(1, 40), min_size=rank, max_size=rank)))
    if draw(st.booleans()):
        out = (*out[:-1], draw(st.integers(100, 700)))  # wide rows: several column tiles
    shapes = [out]
    for _ in range(draw(st.integers(0, 2))):
        r = draw(st.integers(1, rank))
        shapes.append(tuple(d if draw(st.booleans()) else 1 for d in out[rank - r :]))
    lines, values = [], [(f"%a{i}", s) for i, s in enumerate(shapes)]
    current = values[0]
    for i in range(draw(st.integers(1, 5))):
        if draw(st.booleans()):
            fn = draw(st.sampled_from(UNARY))
            if fn == "floor" and not current[0].startswith("%a"):
                # floor of a computed value turns an ulp into 1 where it lands on an
                # integer (soak: floor(a1 * gelu(2 a0)) of -1e-22 vs -0.0); it floors inputs
                fn = "abs"
            lines.append(f"%v{i} = ge.{fn} {current[0]} : ({_t(out)}) -> {_t(out)}")
        else:
            fn = draw(st.sampled_from(BINARY))
            other = draw(st.sampled_from(values))
            lhs, rhs = (current, other) if draw(st.booleans()) else (other, current)
            lines.append(
                f"%v{i} = ge.{fn} {lhs[0]}, {rhs[0]} : ({_t(lhs[1])}, {_t(rhs[1])}) -> {_t(out)}"
            )
        current = (f"%v{i}", out)
        values.append(current)
    args = ", ".join(f"%a{i}: {_t(s)}" for i, s in enumerate(shapes))
    body = "\n  ".join(lines)
    text = f"func.func @main({args}) -> {_t(out)} {{\n  {body}\n  func.return {current[0]} : {_t(out)}\n}}"
    return text, shapes


@given(elementwise_programs(), st.integers(0, 2**16))
def test_random_elementwise_kernels_equal_reference(program, seed):
    text, shapes = program
    rng = np.random.default_rng(seed)
    inputs = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    # 1e-5: an ulp of difference in gelu becomes ~1e-6 relative through exp(x * gelu(x))
    # (the soak profile met exactly that: 3299.786 vs 3299.790)
    _compare(_kernel_module(text), inputs, rtol=1e-5, atol=1e-6)


@st.composite
def matmul_programs(draw):
    """A matmul of random shapes (batched, or with a vector operand) and its epilogue: a
    bias of any shape that broadcasts into the product, relu, a multiplier of any such
    shape, a residual of its own shape."""
    m, n, k = (draw(st.integers(1, 130)) for _ in range(3))
    batch = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    b_batch = tuple(d if draw(st.booleans()) else 1 for d in batch)
    b_batch = b_batch[len(b_batch) - draw(st.integers(0, len(b_batch))) :]  # trailing dims
    a, b, out = (*batch, m, k), (*b_batch, k, n), (*batch, m, n)
    vector = draw(st.sampled_from([None, "a", "b"])) if not batch else None
    if vector == "a":
        a, out = (k,), (n,)
    elif vector == "b":
        b, out = (k,), (m,)
    lines, rhs = [], "%b"
    if len(b) >= 2 and draw(st.booleans()):  # B given as (.., N, K): transpose_b
        perm = [*range(len(b) - 2), len(b) - 1, len(b) - 2]
        b_t, b = b, (*b[:-2], b[-1], b[-2])
        lines.append(f"%bt = ge.transpose %b {{perm = array<i64: {', '.join(map(str, perm))}>}} : ({_t(b)}) -> {_t(b_t)}")
        rhs, b = "%bt", b
    args = {"a": a, "b": b}
    b_type = _t(b) if rhs == "%b" else _t(b_t)
    lines.append(f"%y = ge.matmul %a, {rhs} : ({_t(a)}, {b_type}) -> {_t(out)}")
    last = "%y"
    bias_shapes = [out[-1:], out, *([(out[-2], 1)] if len(out) >= 2 else [])]
    for step in ("bias", "relu", "multiplier", "residual"):
        if not draw(st.booleans()):
            continue
        if step == "relu":
            lines.append(f"%{step} = ge.relu {last} : ({_t(out)}) -> {_t(out)}")
        else:
            shape = draw(st.sampled_from(bias_shapes)) if step != "residual" else out
            args[step] = shape
            op = "ge.mul" if step == "multiplier" else "ge.add"
            add = f"{op} {last}, %{step} : ({_t(out)}, {_t(shape)}) -> {_t(out)}"
            lines.append(f"%{step}_out = {add}")
        last = lines[-1].split(" = ")[0]
    params = ", ".join(f"%{name}: {_t(shape)}" for name, shape in args.items())
    text = (
        f"func.func @main({params}) -> {_t(out)} {{\n  "
        + "\n  ".join(lines)
        + f"\n  func.return {last} : {_t(out)}\n}}"
    )
    return text, list(args.values())


_MATRIX_VECTOR_BIAS = """func.func @main(%a: tensor<2x1xf32>, %b: tensor<1xf32>, %bias: tensor<2xf32>) -> tensor<2xf32> {
  %y = ge.matmul %a, %b : (tensor<2x1xf32>, tensor<1xf32>) -> tensor<2xf32>
  %bias_out = ge.add %y, %bias : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  func.return %bias_out : tensor<2xf32>
}"""


@example((_MATRIX_VECTOR_BIAS, [(2, 1), (1,), (2,)]), 0)  # the (M,) bias ran along (M, 1) rows
@given(matmul_programs(), st.integers(0, 2**16))
def test_random_matmul_kernels_equal_reference(program, seed):
    text, shapes = program
    rng = np.random.default_rng(seed)
    inputs = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    module = _kernel_module(text, "fuse-matmul-scale,fuse-elementwise,convert-ge-to-kernel")
    assert [op.name for op in module.body.block.first_op.body.block.ops][:-1] == ["kernel.matmul"]
    _compare(module, inputs, rtol=1e-4, atol=1e-4)


def test_matmul_larger_than_l1_and_elementwise_larger_than_l2():
    target = default_target()
    text = f"""func.func @main(%a: {_t((600, 700))}, %b: {_t((700, 500))}, %x: {_t((3000, 3000))}) -> ({_t((600, 500))}, {_t((3000, 3000))}) {{
  %y = ge.matmul %a, %b : ({_t((600, 700))}, {_t((700, 500))}) -> {_t((600, 500))}
  %e = ge.exp %x : ({_t((3000, 3000))}) -> {_t((3000, 3000))}
  func.return %y, %e : {_t((600, 500))}, {_t((3000, 3000))}
}}"""
    assert 600 * 700 * 4 > target.capacity["l1"] and 3000 * 3000 * 4 > target.capacity["l2"]
    rng = np.random.default_rng(0)
    inputs = [
        rng.standard_normal(s).astype(np.float32) for s in ((600, 700), (700, 500), (3000, 3000))
    ]
    result = _compare(_kernel_module(text), inputs, rtol=1e-4, atol=1e-4)
    matmul = result.profile.kernels[0]
    assert matmul.cube_flops == 2 * 600 * 700 * 500 and matmul.cores == matmul.block_dim > 1


def test_fp16_matmul_accumulates_in_f32():
    text = f"""func.func @main(%a: {_t((64, 300), "f16")}, %b: {_t((300, 80), "f16")}) -> {_t((64, 80), "f16")} {{
  %y = ge.matmul %a, %b : ({_t((64, 300), "f16")}, {_t((300, 80), "f16")}) -> {_t((64, 80), "f16")}
  func.return %y : {_t((64, 80), "f16")}
}}"""
    rng = np.random.default_rng(1)
    a, b = (rng.standard_normal(s).astype(np.float16) for s in ((64, 300), (300, 80)))
    got = run_npu(lower_module(_kernel_module(text)), [a, b]).outputs[0]
    exact = (a.astype(np.float64) @ b.astype(np.float64)).astype(np.float16)
    # f32 accumulation, one rounding to f16 at the end: within one f16 ulp of the exact result
    np.testing.assert_allclose(got, exact, rtol=2**-10, atol=2**-14)


def test_tiles_follow_the_shape_and_fit_the_target():
    target = default_target()
    small, big = (
        choose_matmul_tile(target, 50, 90, 300, 4),
        choose_matmul_tile(target, 4096, 4096, 4096, 2),
    )
    assert (small.tm, small.tn) != (big.tm, big.tn)
    assert big.tm * big.tn * 4 <= target.capacity["l0c"]
    assert 2 * big.tm * big.tk * 2 <= target.capacity["l0a"]
    assert big.blocks == target.ai_cores


def test_lowered_text_reparses_and_kernels_are_named():
    text = f"""func.func @main(%a: {_t((40, 70))}, %b: {_t((70, 30))}) -> {_t((40, 30))} {{
  %y = ge.matmul %a, %b : ({_t((40, 70))}, {_t((70, 30))}) -> {_t((40, 30))}
  %r = ge.relu %y : ({_t((40, 30))}) -> {_t((40, 30))}
  func.return %r : {_t((40, 30))}
}}"""
    lowered = lower_module(_kernel_module(text))
    kernels = [op for op in lowered.walk() if isinstance(op, KernelOp)]
    assert [k.sym_name.data for k in kernels] == ["matmul_0", "elementwise_1"]
    again = Parser(make_context(), str(lowered)).parse_module()
    assert str(again) == str(lowered)


def test_unlowered_kernels_are_named_in_the_error():
    x = _t((2, 8))  # a training-mode dropout draws its own random mask: no npu lowering
    text = f"""func.func @main(%x: {x}) -> {x} {{
  %y = ge.dropout %x {{ratio = 0.3 : f64, is_training = true, seed = 7 : i64}} : ({x}) -> {x}
  func.return %y : {x}
}}"""
    with pytest.raises(UnsupportedError, match="'kernel.dropout' has no lowering"):
        lower_module(_kernel_module(text))


@st.composite
def row_programs(draw):
    """A softmax, layer norm or last-axis reduction of random shape (long rows: several KiB)."""
    rank = draw(st.integers(1, 4))
    shape = tuple(draw(st.lists(st.integers(1, 12), min_size=rank - 1, max_size=rank - 1)))
    shape = (*shape, draw(st.integers(1, 3000)))
    kinds = ["softmax", "layer_norm", "reduce_sum", "reduce_mean", "reduce_max", "reduce_min"]
    kind, x = draw(st.sampled_from(kinds)), _t(shape)
    if kind in ("softmax", "layer_norm"):
        out, operands, types = shape, "%x", x
        attrs = "{axis = -1 : i64}"
        if kind == "layer_norm":
            count = draw(st.integers(1, 2))  # scale, and maybe bias
            operands += "".join(f", %p{i}" for i in range(count))
            types += "".join(f", {_t(shape[-1:])}" for _ in range(count))
            attrs = "{axis = -1 : i64, epsilon = 1.0e-05 : f64}"
        args = [shape] + [shape[-1:]] * (operands.count("%p"))
    else:
        keep = draw(st.booleans())
        out = (*shape[:-1], 1) if keep else shape[:-1]
        attrs = f"{{axes = array<i64: {rank - 1}>, keepdims = {str(keep).lower()}}}"
        operands, types, args = "%x", x, [shape]
        if not out:
            out = (1,)  # keep a rank-1 result: rank-0 kernels are not lowered
            attrs = attrs.replace("false", "true")
    params = ", ".join([f"%x: {x}"] + [f"%p{i}: {_t(s)}" for i, s in enumerate(args[1:])])
    text = f"""func.func @main({params}) -> {_t(out)} {{
  %y = ge.{kind} {operands} {attrs} : ({types}) -> {_t(out)}
  func.return %y : {_t(out)}
}}"""
    return text, args


@given(row_programs(), st.integers(0, 2**16))
def test_random_row_kernels_equal_reference(program, seed):
    text, shapes = program
    rng = np.random.default_rng(seed)
    inputs = [rng.standard_normal(s).astype(np.float32) * 4 for s in shapes]
    _compare(_kernel_module(text), inputs, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(("shape", "blocks"), [((1, 32, 1, 2048), 32), ((1, 12, 128, 128), 32)])
def test_row_tiles_spread_over_the_lead_axes(shape: tuple[int, ...], blocks: int) -> None:
    """A decoding step's softmax (one row for each of 32 heads) runs on 32 cores, not on
    the one its single row per matrix gave; BERT's 12 x 128 rows stay balanced."""
    x = _t(shape)
    text = f"""func.func @main(%x: {x}) -> {x} {{
  %y = ge.softmax %x {{axis = -1 : i64}} : ({x}) -> {x}
  func.return %y : {x}
}}"""
    module = _kernel_module(text)
    lowered = lower_module(module)
    (kernel,) = [op for op in lowered.walk() if isinstance(op, KernelOp)]
    assert kernel.block_dim.value.data == blocks
    rng = np.random.default_rng(0)
    _compare(module, [rng.standard_normal(shape).astype(np.float32)], rtol=1e-5, atol=1e-6)


@st.composite
def movement_programs(draw):
    """A transpose, concat, slice or reshape of a random tensor."""
    rank = draw(st.integers(1, 4))
    shape = tuple(draw(st.lists(st.integers(1, 9), min_size=rank, max_size=rank)))
    shape = (*shape[:-1], draw(st.integers(1, 300)))
    kind = draw(st.sampled_from(["transpose", "concat", "slice", "reshape"]))
    x = _t(shape)
    if kind == "transpose":
        perm = draw(st.permutations(range(rank)))
        out = tuple(shape[p] for p in perm)
        line = f"%y = ge.transpose %a0 {{perm = array<i64: {', '.join(map(str, perm))}>}} : ({x}) -> {_t(out)}"
        return line, [shape], out
    if kind == "concat":
        axis = draw(st.integers(0, rank - 1))
        other = tuple(draw(st.integers(1, 7)) if a == axis else d for a, d in enumerate(shape))
        out = tuple(d + (other[a] if a == axis else 0) for a, d in enumerate(shape))
        line = f"%y = ge.concat %a0, %a1 {{axis = {axis} : i64}} : ({x}, {_t(other)}) -> {_t(out)}"
        return line, [shape, other], out
    if kind == "slice":
        axis = draw(st.integers(0, rank - 1))
        start = draw(st.integers(0, shape[axis] - 1))
        end = draw(st.integers(start + 1, shape[axis]))
        out = tuple(end - start if a == axis else d for a, d in enumerate(shape))
        attrs = f"starts = array<i64: {start}>, ends = array<i64: {end}>, axes = array<i64: {axis}>, steps = array<i64: 1>"
        return f"%y = ge.slice %a0 {{{attrs}}} : ({x}) -> {_t(out)}", [shape], out
    out = (math.prod(shape),)
    return (
        f"%y = ge.reshape %a0 {{shape = array<i64: {out[0]}>}} : ({x}) -> {_t(out)}",
        [shape],
        out,
    )


@given(movement_programs(), st.integers(0, 2**16))
def test_random_movement_kernels_equal_reference(program, seed):
    line, shapes, out = program
    args = ", ".join(f"%a{i}: {_t(s)}" for i, s in enumerate(shapes))
    text = f"func.func @main({args}) -> {_t(out)} {{\n  {line}\n  func.return %y : {_t(out)}\n}}"
    rng = np.random.default_rng(seed)
    inputs = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    _compare(_kernel_module(text), inputs, rtol=0, atol=0)


def test_transposed_b_is_read_transposed_and_a_goes_through_a_transpose_kernel():
    """transpose_b: the GEMM loads B's (N, K) rows and transposes them on their way into
    L0B; transpose_a still runs a transpose kernel first."""
    text = """func.func @main(%a: tensor<2x50x70xf32>, %b: tensor<2x90x70xf32>, %c: tensor<70x50xf32>) -> (tensor<2x50x90xf32>, tensor<2x50x50xf32>) {
  %y = kernel.matmul %a, %b {transpose_a = false, transpose_b = true, alpha = 0.5 : f64, fused_from = ["ge.matmul"]} : (tensor<2x50x70xf32>, tensor<2x90x70xf32>) -> tensor<2x50x90xf32>
  %z = kernel.matmul %c, %a {transpose_a = true, transpose_b = true, alpha = 1.0 : f64, fused_from = ["ge.matmul"]} : (tensor<70x50xf32>, tensor<2x50x70xf32>) -> tensor<2x50x50xf32>
  func.return %y, %z : tensor<2x50x90xf32>, tensor<2x50x50xf32>
}"""
    module = Parser(make_context(), text).parse_module()
    rng = np.random.default_rng(3)
    inputs = [
        rng.standard_normal(s).astype(np.float32) for s in ((2, 50, 70), (2, 90, 70), (70, 50))
    ]
    result = _compare(module, inputs, rtol=1e-4, atol=1e-4)
    names = [k.name for k in result.profile.kernels]
    assert names == ["matmul_0", "matmul_1_t0", "matmul_1"]


@pytest.mark.parametrize(("m", "n", "k", "dtype"), [(128, 768, 768, "f32"), (256, 200, 320, "f16")])
def test_a_transposed_b_beats_a_transpose_kernel_before_the_gemm(m, n, k, dtype):
    """B as (N, K) rows transposed on their L0B loads: one kernel, cheaper than the
    transpose kernel plus the plain GEMM it replaced (BERT's projection: as cheap as a
    plain B; shorter contiguous rows of B can cost its loads more)."""
    a_t, bt_t, b_t, c_t = (_t(s, dtype) for s in ((m, k), (n, k), (k, n), (m, n)))

    def matmul(rhs: str, rhs_type: str, transposed: str) -> str:
        return (f"%c = kernel.matmul %a, {rhs} {{transpose_a = false, transpose_b = "
                f'{transposed}, alpha = 1.0 : f64, fused_from = ["ge.matmul"]}} : '
                f"({a_t}, {rhs_type}) -> {c_t}")  # fmt: skip

    head, tail = f"func.func @main(%a: {a_t}, %b: {bt_t}) -> {c_t} {{\n", f"\nfunc.return %c : {c_t}\n}}"
    fused = head + matmul("%b", bt_t, "true") + tail
    transpose = f'%t = kernel.transpose %b {{fused_from = ["ge.transpose"], perm = array<i64: 1, 0>}} : ({bt_t}) -> {b_t}\n'
    before = head + transpose + matmul("%t", b_t, "false") + tail
    numpy_type = np.float16 if dtype == "f16" else np.float32
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal(s).astype(numpy_type) for s in ((m, k), (n, k))]
    runs = [run_npu(lower_module(Parser(make_context(), text).parse_module()), inputs)
            for text in (fused, before)]  # fmt: skip
    np.testing.assert_array_equal(runs[0].outputs[0], runs[1].outputs[0])
    (one,), two = runs[0].profile.kernels, runs[1].profile.kernels
    assert len(two) == 2 and one.cycles < sum(kernel.cycles for kernel in two)
    if (m, n, k) == (128, 768, 768):
        assert one.cycles == two[1].cycles  # rows of a 768-wide B either way


def _conv_text(n, c, h, w, o, epilogue: str, operands: str, types: list, dtype="f32"):  # noqa: ANN001
    x, wt, out = _t((n, c, h, w), dtype), _t((o, c, 1, 1), dtype), _t((n, o, h, w), dtype)
    params = ", ".join([f"%x: {x}", f"%w: {wt}", *types])
    attrs = "strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64"
    return f"""func.func @main({params}) -> {out} {{
  %y = kernel.conv2d %x, %w {operands} {{{attrs}{epilogue}, fused_from = ["ge.conv2d"]}} : {x}, {wt} -> {out}
  func.return %y : {out}
}}"""


@pytest.mark.parametrize(
    ("shape", "full"),
    [((1, 3, 5, 5, 8), False), ((2, 40, 7, 9, 24), True), ((3, 17, 11, 3, 70), True)],
)
def test_pointwise_conv_with_epilogue_equals_reference(shape, full):
    n, c, h, w, o = shape
    vec, res = _t((o,)), _t((n, o, h, w))
    if full:
        operands = f"bias %b : {vec} scale %s : {vec} shift %h : {vec} residual %r : {res}"
        types = [f"%b: {vec}", f"%s: {vec}", f"%h: {vec}", f"%r: {res}"]
        epilogue = ', activation = "clip", activation_attrs = {min = 0.0 : f64, max = 6.0 : f64}, post_activation = "relu"'
        shapes = [(o,), (o,), (o,), (n, o, h, w)]
    else:
        operands, types, epilogue, shapes = "", [], ', activation = "relu"', []
    module = Parser(
        make_context(), _conv_text(n, c, h, w, o, epilogue, operands, types)
    ).parse_module()
    rng = np.random.default_rng(5)
    inputs = [
        rng.standard_normal(s).astype(np.float32) for s in [(n, c, h, w), (o, c, 1, 1), *shapes]
    ]
    result = _compare(module, inputs, rtol=1e-4, atol=1e-4)
    assert result.profile.kernels[0].cube_flops == 2 * n * o * c * h * w


@pytest.mark.parametrize(
    "epilogue",
    [
        ', activation = "elu", activation_attrs = {alpha = 1.0 : f64}',
        ', activation = "elu", activation_attrs = {alpha = 2.5 : f64}',
        ', activation = "elu", activation_attrs = {alpha = -0.3 : f64}',
        ', activation = "softplus"',
        ', activation = "relu", post_activation = "softplus"',
    ],
)
def test_elu_and_softplus_epilogues_run_on_the_npu(epilogue: str) -> None:
    """ELU (any alpha: max(x, 0) + alpha (exp(min(x, 0)) - 1) needs no sign mask) and
    softplus (max(x, 0) + log(1 + exp(-|x|)), no overflow at large x) fused into a conv:
    on the vector unit, equal to the reference (they ran by reference before)."""
    n, c, h, w, o = 1, 24, 9, 7, 40
    module = Parser(make_context(), _conv_text(n, c, h, w, o, epilogue, "", [])).parse_module()
    rng = np.random.default_rng(7)
    inputs = [rng.standard_normal(s).astype(np.float32) * 4 for s in [(n, c, h, w), (o, c, 1, 1)]]
    result = _compare(module, inputs, rtol=1e-4, atol=1e-4)  # (lowering refused them before)
    assert result.profile.kernels[0].cube_flops == 2 * n * o * c * h * w


@pytest.mark.parametrize(
    "epilogue",
    [
        ', activation = "hard_swish"',
        ', activation = "hard_sigmoid", activation_attrs = {alpha = 0.1666 : f64, beta = 0.5 : f64}',
        ', activation = "hard_sigmoid", activation_attrs = {alpha = 0.2 : f64, beta = 0.5 : f64}'
        ', post_activation = "hard_swish"',
    ],
)
def test_hard_sigmoid_and_hard_swish_epilogues_run_on_the_npu(epilogue: str) -> None:
    """MobileNetV3's activations, fused into a conv: on the vector unit, equal to the reference."""
    n, c, h, w, o = 1, 24, 9, 7, 40
    module = Parser(make_context(), _conv_text(n, c, h, w, o, epilogue, "", [])).parse_module()
    rng = np.random.default_rng(6)
    inputs = [rng.standard_normal(s).astype(np.float32) * 4 for s in [(n, c, h, w), (o, c, 1, 1)]]
    result = _compare(module, inputs, rtol=1e-4, atol=1e-4)
    assert result.profile.kernels[0].cube_flops == 2 * n * o * c * h * w


@settings(max_examples=25, deadline=None)
@given(
    st.integers(1, 3), st.integers(1, 90), st.integers(1, 70), st.integers(1, 90),
    st.booleans(), st.integers(0, 2**16),
)  # fmt: skip
def test_transposed_product_runs_on_the_npu(batch, m, k, n, activated, seed):
    """`fuse-matmul-transpose`'s form: a 2-D constant Wᵀ times A read transposed (A's batch
    broadcast against the 2-D left operand), a column bias, a residual through the view."""
    rng = np.random.default_rng(seed)
    weight = rng.standard_normal((k, n)).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32)
    dense = lambda a: np.array2string(a, separator=", ", threshold=10**9)  # noqa: E731
    a, y, out = (batch, m, k), (batch, m, n), (batch, n, m)
    act = f"%act = ge.relu %yb : ({_t(y)}) -> {_t(y)}" if activated else ""
    text = f"""func.func @main(%a: {_t(a)}, %r: {_t((1, *out))}) -> {_t((1, *out))} {{
  %w = ge.constant dense<{dense(weight)}> : {_t((k, n))}
  %b = ge.constant dense<{dense(bias)}> : {_t((n,))}
  %y = ge.matmul %a, %w : ({_t(a)}, {_t((k, n))}) -> {_t(y)}
  %yb = ge.add %y, %b : ({_t(y)}, {_t((n,))}) -> {_t(y)}
  {act}
  %t = ge.transpose {"%act" if activated else "%yb"} {{perm = array<i64: 0, 2, 1>}} : ({_t(y)}) -> {_t(out)}
  %v = ge.reshape %t {{shape = array<i64: 1, {batch}, {n}, {m}>}} : ({_t(out)}) -> {_t((1, *out))}
  %s = ge.add %v, %r : ({_t((1, *out))}, {_t((1, *out))}) -> {_t((1, *out))}
  func.return %s : {_t((1, *out))}
}}"""
    module = _kernel_module(text, "ge-optimize")
    kernels = [op for op in module.body.block.first_op.body.block.ops if op.name.startswith("kernel.")]
    assert [op.name for op in kernels if op.name != "kernel.reshape"] == ["kernel.matmul"]
    (matmul,) = [op for op in kernels if op.name == "kernel.matmul"]
    # (with m or n 1 the transpose moves a unit axis: `simplify` made it a view already)
    assert matmul.get_flag("transpose_b") == (min(m, n) > 1) and matmul.residual is not None
    inputs = [rng.standard_normal(s).astype(np.float32) for s in (a, (1, *out))]
    _compare(module, inputs, rtol=1e-4, atol=1e-4)
