"""`ge.constant`: built from numpy bytes, elided when large, printed in full bit-exactly."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as npst
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import Builtin, ModuleOp
from xdsl.ir import Block, Region
from xdsl.parser import Parser

from ge.testing import print_ir, run
from gedialects.errors import InterpretationError
from gedialects.ge import GE, ConstantOp
from gedialects.ge.constant import (
    DEFAULT_ELIDE_LIMIT,
    constant_elision,
    dense_from_numpy,
    dense_to_numpy,
)

DTYPES = [np.float32, np.float16, np.float64, np.int64, np.int32, np.int8, np.uint8, np.bool_]


def _context() -> Context:
    ctx = Context()
    for dialect in (Builtin, func.Func, GE):
        ctx.load_dialect(dialect)
    return ctx


def _parse(text: str) -> ModuleOp:
    return Parser(_context(), text).parse_module()


def _round_trip(array: np.ndarray) -> np.ndarray:
    """Print a constant in full, parse it back, return its data."""
    text = print_ir(ModuleOp([ConstantOp(array)]))
    (op,) = _parse(text).ops
    assert isinstance(op, ConstantOp)
    return op.to_numpy()


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_dense_holds_the_numpy_bytes(dtype):
    array = (np.arange(12).reshape(3, 4) % 3).astype(dtype)
    attr = dense_from_numpy(array)
    assert attr.data.data == array.tobytes()
    back = dense_to_numpy(attr)
    assert _same_bits(back, array)
    assert not back.flags.writeable  # a view of the attribute's bytes, not a copy


def test_non_contiguous_and_rank0_arrays_keep_their_shape():
    view = np.arange(24, dtype=np.float32).reshape(4, 6)[:, ::2]
    assert _same_bits(ConstantOp(view).to_numpy(), np.ascontiguousarray(view))
    scalar = ConstantOp(np.array(2.5, np.float32))
    assert scalar.output.type.get_shape() == ()
    assert scalar.to_numpy().shape == ()


def test_large_constants_print_elided_by_default():
    small = ConstantOp(np.zeros(DEFAULT_ELIDE_LIMIT, np.float32) + 1)
    large = ConstantOp(np.arange(DEFAULT_ELIDE_LIMIT + 1, dtype=np.float32))
    other = ConstantOp(np.arange(DEFAULT_ELIDE_LIMIT + 1, dtype=np.float32) * 2)
    assert "elided" not in str(small)
    text = str(large)
    assert 'elided<"sha256:' in text and "tensor<65xf32>" in text
    assert str(other) != text  # the digest names the data
    with constant_elision(10):
        assert "elided" in str(ConstantOp(np.arange(11, dtype=np.int64)))
    with constant_elision(None):
        assert "elided" not in str(large)


def test_elided_text_parses_and_verifies_but_cannot_run():
    text = str(ModuleOp([ConstantOp(np.arange(100, dtype=np.float32))]))
    module = _parse(text)
    module.verify()
    (op,) = module.ops
    assert op.is_elided
    with pytest.raises(InterpretationError, match="printed elided"):
        op.to_numpy()


def test_running_a_program_with_an_elided_constant_says_why():
    text = """
    func.func @main() -> tensor<100xf32> {
      %0 = ge.constant elided<"sha256:0123456789abcdef"> : tensor<100xf32>
      func.return %0 : tensor<100xf32>
    }"""
    with pytest.raises(InterpretationError, match="print IR in full to execute it"):
        run(_parse(text), [])


@given(
    npst.arrays(
        dtype=st.sampled_from(DTYPES),
        shape=npst.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=8),
    )
)
def test_full_printing_parses_back_bit_exactly(array: np.ndarray):
    """Any data, NaN, inf and -0.0 included, lists (<= 100 elements) and hex forms alike."""
    assert _same_bits(_round_trip(array), array)


@pytest.mark.parametrize(
    "array",
    [
        np.array([0.0, -0.0, 0.0], np.float32),  # xDSL alone prints this as the splat 0.0
        np.array([np.nan, 1.0, np.inf, -np.inf], np.float32),  # and these as integers
        np.full(300, np.nan, np.float16),
        np.full(300, -0.0, np.float32),
        np.full((20, 20), 7, np.int64),
        np.array([True, False, True]),
        np.full(500, True),
        np.random.default_rng(0).standard_normal((3, 50)).astype(np.float32),
        np.zeros((0, 4), np.float32),
    ],
    ids=[
        "neg-zero",
        "non-finite",
        "nan-splat",
        "neg-zero-splat",
        "int-splat",
        "bool",
        "bool-splat",
        "hex",
        "empty",
    ],
)
def test_special_values_round_trip(array):
    assert _same_bits(_round_trip(array), array)


def test_large_splats_print_as_one_value():
    text = print_ir(ModuleOp([ConstantOp(np.full((64, 64), 0.5, np.float32))]))
    assert "dense<5.000000e-01> : tensor<64x64xf32>" in text


def test_ten_million_element_weight_round_trips():
    """Build, print in full and parse back a 10M-element f32 weight, bit-exactly.

    The time bound is only a guard against pathological slowness; the figures are
    measured by benchmarks/bench_foundation.py.
    """
    weight = np.random.default_rng(1).standard_normal(10_000_000).astype(np.float32)
    start = time.perf_counter()
    op = ConstantOp(weight)
    text = print_ir(ModuleOp([op]))
    assert len(text) > 8 * 10_000_000
    back = _parse(text)
    (parsed,) = back.ops
    assert _same_bits(parsed.to_numpy(), weight)
    assert time.perf_counter() - start < 120


def test_ge_opt_prints_large_constants_in_full_on_request(tmp_path):
    weight = np.random.default_rng(2).standard_normal((256, 64)).astype(np.float32)
    source = tmp_path / "w.mlir"
    source.write_text(print_ir(_weight_module(weight)))
    command = [sys.executable, "-m", "ge.cli.opt", str(source)]
    elided = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    full = subprocess.run(
        [*command, "--print-large-constants"], capture_output=True, text=True, check=True
    ).stdout
    assert "elided<" in elided and "elided<" not in full
    (fn,) = _parse(full).ops
    assert _same_bits(run(_parse(full), [])[0], weight)
    assert fn.sym_name.data == "main"


def _weight_module(weight: np.ndarray) -> ModuleOp:
    block = Block()
    const = ConstantOp(weight)
    block.add_ops([const, func.ReturnOp(const)])
    fn = func.FuncOp("main", ([], [const.output.type]), Region(block))
    return ModuleOp([fn])


NARROW = {
    "bfloat16": [1.0078125, -np.inf, np.nan, -0.0, 3.5],
    "float8_e4m3fn": [448.0, np.nan, -0.0, 1.125, -3.0],
    "float8_e5m2": [np.inf, 57344.0, -1.5, 0.0, np.nan],
    "float8_e4m3fnuz": [240.0, np.nan, 0.5, -1.0, 0.0],
    "float8_e5m2fnuz": [57344.0, -0.25, np.nan, 2.0, 0.0],
    "float4_e2m1fn": [6.0, -0.5, 1.5, 0.0, -6.0],
    "float6_e2m3fn": [7.5, -0.125, 1.5, -0.0, 3.0],
    "float6_e3m2fn": [28.0, -0.0625, 1.25, 0.0, -3.0],
    "float8_e8m0fnu": [1.0, 2.0**-127, 2.0**127, np.nan, 0.5],
    "int4": [-8, 7, 0, 1, -1],
    "uint4": [15, 3, 0, 8, 1],
    "int2": [-2, 1, 0, -1, 1],
    "uint2": [0, 3, 1, 2, 3],
}


@pytest.mark.parametrize("name", sorted(NARROW))
@pytest.mark.parametrize("size", [5, 200, "splat"])
def test_narrow_types_round_trip_by_value(name, size):
    """bf16, float8, float4 and 2/4-bit integers: lists, hex and splats (NaN, inf, -0.0 and
    the most negative integers, which xDSL's bytes sign-extend, included)."""
    import ml_dtypes

    values = NARROW[name]
    data = [values[0]] * 7 if size == "splat" else (values * 40)[:size]
    array = np.array(data, np.float32).astype(getattr(ml_dtypes, name))
    back = _round_trip(array)
    assert back.dtype == array.dtype and back.shape == array.shape
    got, want = back.astype(np.float32), array.astype(np.float32)
    assert np.array_equal(got, want, equal_nan=True)
    assert np.array_equal(np.signbit(got), np.signbit(want))
