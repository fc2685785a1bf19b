"""emulate-narrow-types: ops on bf16, float8, float4 and 2/4-bit integers computed wider.

The oracle of the property tests is the reference interpreter run on the narrow program
itself, i.e. numpy's ufunc loops of ml_dtypes, which compute each op on the narrow values and
round (floats) or wrap (integers) its result: `strict=true` must equal it bit for bit. The
default keeps float values in f32 between emulated ops, so it must equal the same chain
evaluated in f32 and rounded once where it ends.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from xdsl.dialects.builtin import ModuleOp
from xdsl.parser import Parser

from ge.testing.equivalence import apply_pipeline, default_context, print_ir
from gedialects.errors import UnsupportedError
from gedialects.ge import ops
from gedialects.ge.constant import ConstantOp
from gedialects.ge.types import element_of, is_narrow, to_numpy_dtype
from gedialects.interpreter import run_reference
from passes.emulate_narrow_types import emulate_narrow_types, needs_emulation

EXAMPLES = max(200, settings.default.max_examples)

FLOATS = (
    "bf16",
    "f8E4M3FN",
    "f8E5M2",
    "f8E4M3FNUZ",
    "f8E5M2FNUZ",
    "f6E2M3FN",
    "f6E3M2FN",
    "f4E2M1FN",
)
INTEGERS = ("i4", "ui4", "i2", "ui2")
BINARY = ("add", "sub", "mul", "maximum", "minimum")
UNARY_FLOAT = ("neg", "abs", "relu", "tanh", "exp", "sqrt")
UNARY_INT = ("neg", "abs")


def parse(text: str) -> ModuleOp:
    return Parser(default_context(), text).parse_module()


@st.composite
def chains(draw: st.DrawFn, types: tuple[str, ...]) -> tuple[str, str, list[str]]:
    """(element type, the body of `@main(%x, %y)`, the op names) of a random op chain."""
    element = draw(st.sampled_from(types))
    unary = UNARY_INT if element in INTEGERS else UNARY_FLOAT
    values, lines, names = ["%x", "%y"], [], []
    for i in range(draw(st.integers(1, 6))):
        if draw(st.booleans()):
            name = draw(st.sampled_from(BINARY))
            a, b = draw(st.sampled_from(values)), draw(st.sampled_from(values))
            lines.append(f"%v{i} = ge.{name} {a}, {b} : (T, T) -> T")
        else:
            name = draw(st.sampled_from(unary))
            a = draw(st.sampled_from(values))
            lines.append(f"%v{i} = ge.{name} {a} : (T) -> T")
        names.append(name)
        values.append(f"%v{i}")
    lines.append(f"func.return {values[-1]} : T")
    return element, "\n".join(lines), names


def program(element: str, body: str, shape: str = "2x3") -> ModuleOp:
    t = f"tensor<{shape}x{element}>"
    text = f"func.func @main(%x: T, %y: T) -> T {{\n{body}\n}}".replace("T", t)
    return parse(text.replace(f"tensor<{shape}x{element}>{element}", t))


def inputs(element: str, seed: int) -> list[np.ndarray]:
    """Two 2x3 arrays of every kind of value the type holds (for floats, in range)."""
    dtype = to_numpy_dtype(
        parse(f"func.func @f(%a: tensor<1x{element}>) {{\n}}")
        .body.block.ops.first.function_type.inputs.data[0]
        .element_type
    )  # noqa: E501
    rng = np.random.default_rng(seed)
    if element in INTEGERS:
        raw = rng.integers(-8, 16, (2, 2, 3))
        return [np.asarray(a).astype(np.int64).astype(dtype) for a in raw]
    return [a.astype(np.float32).astype(dtype) for a in rng.standard_normal((2, 2, 3)) * 3]


def as_f32_bits(array: np.ndarray) -> np.ndarray:
    return np.asarray(array).astype(np.float32)


def same(a: np.ndarray, b: np.ndarray) -> bool:
    a, b = as_f32_bits(a), as_f32_bits(b)
    return a.shape == b.shape and bool(np.all((a == b) | (np.isnan(a) & np.isnan(b))))


def emulated(module: ModuleOp, pipeline: str) -> ModuleOp:
    out = module.clone()
    apply_pipeline(pipeline, out)
    out.verify()
    return out


@settings(max_examples=EXAMPLES)
@given(chains(FLOATS + INTEGERS), st.integers(0, 2**16))
def test_strict_equals_the_narrow_program_op_by_op(case, seed):
    element, body, _ = case
    module = program(element, body)
    xs = inputs(element, seed)
    want = run_reference(module, xs)[0]
    after = emulated(module, "emulate-narrow-types{strict=true}")
    got = run_reference(after, xs)[0]
    assert got.dtype == want.dtype
    assert same(got, want), f"{print_ir(module)}\nafter:\n{print_ir(after)}\n{got} != {want}"


@settings(max_examples=EXAMPLES)
@given(chains(FLOATS), st.integers(0, 2**16))
def test_default_rounds_float_chains_once(case, seed):
    element, body, _ = case
    module = program(element, body)
    xs = inputs(element, seed)
    wide = program("f32", body)
    want = run_reference(wide, [x.astype(np.float32) for x in xs])[0].astype(xs[0].dtype)
    after = emulated(module, "emulate-narrow-types")
    got = run_reference(after, xs)[0]
    assert same(got, want), f"{print_ir(module)}\nafter:\n{print_ir(after)}\n{got} != {want}"


@given(chains(FLOATS + INTEGERS))
def test_only_casts_constants_and_the_signature_keep_narrow_types(case):
    element, body, _ = case
    after = emulated(program(element, body), "emulate-narrow-types")
    assert not any(needs_emulation(op) for op in after.walk())
    for op in after.walk():
        if isinstance(op, ops.GeOp) and not isinstance(op, ops.CastOp):
            types = [v.type for v in (*op.operands, *op.results)]
            assert not any(is_narrow(element_of(t)) for t in types), op


def test_integers_wrap_at_their_width_in_both_modes():
    module = program("i4", "%v0 = ge.add %x, %y : (T, T) -> T\nfunc.return %v0 : T", "2")
    xs = [np.array([7, -8], np.int8), np.array([1, -1], np.int8)]
    xs = [x.astype(to_numpy_dtype(element_of(module.body.block.ops.first.args[0].type)))
          for x in xs]  # fmt: skip
    for pipeline in ("emulate-narrow-types", "emulate-narrow-types{strict=true}"):
        got = run_reference(emulated(module, pipeline), xs)[0]
        assert got.astype(np.int8).tolist() == [-8, 7]


def test_chain_rounding_differs_from_op_by_op_where_it_should():
    """bf16 (ulp 2^-7 at 1): (1 + 2^-8) + 2^-8 ties to 1 op by op, is 1 + 2^-7 as a chain."""
    body = (
        "%c = ge.constant dense<3.906250e-03> : tensor<1xbf16>\n"
        "%v0 = ge.add %x, %c : (T, tensor<1xbf16>) -> T\n"
        "%v1 = ge.add %v0, %c : (T, tensor<1xbf16>) -> T\n"
        "func.return %v1 : T"
    )
    module = program("bf16", body, "1")
    x = np.ones(1, np.float32).astype(to_numpy_dtype(element_of(
        module.body.block.ops.first.args[0].type)))  # fmt: skip
    strict = run_reference(emulated(module, "emulate-narrow-types{strict=true}"), [x, x])[0]
    chain = run_reference(emulated(module, "emulate-narrow-types"), [x, x])[0]
    assert float(strict[0]) == 1.0 and float(chain[0]) == 1.0078125


def test_constants_stay_narrow_and_are_widened_by_a_cast():
    body = (
        "%c = ge.constant dense<[1, -2, 3]> : tensor<3xi4>\n"
        "%v0 = ge.mul %x, %c : (T, tensor<3xi4>) -> T\n"
        "func.return %v0 : T"
    )
    after = emulated(program("i4", body, "3"), "emulate-narrow-types")
    text = print_ir(after)
    assert "ge.constant dense<[1, -2, 3]> : tensor<3xi4>" in text
    (mul,) = [op for op in after.walk() if isinstance(op, ops.MulOp)]
    assert [str(v.type) for v in (*mul.operands, mul.output)] == ["tensor<3xi8>"] * 3
    assert sum(isinstance(op, ops.CastOp) for op in after.walk()) == 3  # x, c, the result
    assert sum(isinstance(op, ConstantOp) for op in after.walk()) == 1


def test_control_flow_over_narrow_values_is_refused():
    module = parse("""func.func @main(%c: i1, %x: tensor<2xbf16>) -> tensor<2xbf16> {
      %r = scf.if %c -> (tensor<2xbf16>) {
        scf.yield %x : tensor<2xbf16>
      } else {
        %n = ge.neg %x : (tensor<2xbf16>) -> tensor<2xbf16>
        scf.yield %n : tensor<2xbf16>
      }
      func.return %r : tensor<2xbf16>
    }""")
    with pytest.raises(UnsupportedError, match="'scf.if' passes bf16 values through"):
        emulate_narrow_types(module)


def test_kernels_that_fused_a_widening_cast_are_left_alone():
    """Compiling kernel-level IR again (ge-run on ge-opt's output) must not refuse a kernel
    whose body widens a bf16 operand: fusion made it from emulated ops."""
    module = parse("""func.func @main(%x: tensor<4xbf16>) -> tensor<4xf32> {
      %y = kernel.elementwise %x {fused_from = ["ge.cast"]} : (tensor<4xbf16>) -> tensor<4xf32> {
      ^bb0(%a: tensor<bf16>):
        %b = ge.cast %a {to = f32} : (tensor<bf16>) -> tensor<f32>
        kernel.yield %b : tensor<f32>
      }
      func.return %y : tensor<4xf32>
    }""")
    before = print_ir(module)
    assert emulate_narrow_types(module) == 0
    assert print_ir(module) == before
