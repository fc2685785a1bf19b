"""kernel.rope on the modeled NPU equals the kernel dialect's reference: random shapes and
the broadcasting forms of cos and sin (leading axes 1, one row for every position, one
value for both halves)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from xdsl.parser import Parser

from ge.registry import make_context
from gedialects.errors import UnsupportedError
from gedialects.interpreter import run_reference
from gedialects.npu.launch import KernelOp
from lowering.convert_kernel_to_npu import lower_module
from runtime.npu_interpreter import NpuExecutable

DTYPES = {"f32": np.float32, "f16": np.float16, "f64": np.float64}


def _t(shape, dtype="f32") -> str:  # noqa: ANN001
    return f"tensor<{'x'.join(map(str, shape))}x{dtype}>" if shape else f"tensor<{dtype}>"


def _module(shape, table, dtype="f32", rotary_dim=None):  # noqa: ANN001, ANN202
    x, c = _t(shape, dtype), _t(table, dtype)
    part = "" if rotary_dim is None else f", rotary_dim = {rotary_dim} : i64"
    text = f"""func.func @main(%x: {x}, %c: {c}, %s: {c}) -> {x} {{
  %y = kernel.rope %x, %c, %s {{fused_from = ["ge.rope"]{part}}} : ({x}, {c}, {c}) -> {x}
  func.return %y : {x}
}}"""
    return Parser(make_context(), text).parse_module()


def _check(shape, table, dtype="f32", rotary_dim=None):  # noqa: ANN001, ANN202
    module = _module(shape, table, dtype, rotary_dim)
    rng, np_type = np.random.default_rng(0), DTYPES[dtype]
    x = rng.standard_normal(shape).astype(np_type)
    cos, sin = (rng.uniform(-1, 1, table).astype(np_type) for _ in range(2))
    want = run_reference(module, [x, cos, sin])[0]
    lowered = lower_module(module)
    assert sum(isinstance(op, KernelOp) for op in lowered.walk()) == 1
    result = NpuExecutable(lowered).run([x, cos, sin])  # flags, races, capacities checked
    tol = 1e-2 if dtype == "f16" else 1e-6
    np.testing.assert_allclose(result.outputs[0], want, rtol=tol, atol=tol)
    kernel = result.profile.kernels[0]
    assert 0 < kernel.roofline_cycles <= kernel.cycles
    return kernel


def test_llama_query_and_tables() -> None:
    """(1, 32, 128, 128) queries, (1, 1, 128, 128) tables: near the HBM roofline."""
    kernel = _check((1, 32, 128, 128), (1, 1, 128, 128))
    assert kernel.cycles < 1.5 * kernel.roofline_cycles


def test_a_sequence_length_of_no_power_of_two_uses_the_cores() -> None:
    """12 heads of 100 positions: the tile search charges a core at most its own HBM path
    rate, so it spreads the heads over the cores (it took 4 cores, 4,700 cycles, when it
    counted a core's share of the chip's bandwidth alone)."""
    kernel = _check((1, 12, 100, 64), (1, 1, 100, 64))
    assert kernel.cores >= 16 and kernel.cycles < 2 * kernel.roofline_cycles


def test_tables_of_one_row_and_one_value() -> None:
    _check((2, 3, 5, 8), (1, 1, 1, 8))
    _check((2, 3, 5, 8), (3, 5, 1))
    _check((4, 6), (6,))


def test_partial_rotary_passes_the_other_columns_through() -> None:
    """GPT-NeoX / Phi: the first 16 (or 8) of 64 columns rotate, the other 48 pass through
    in the same kernel (where the export sliced, rotated and concatenated in three more)."""
    kernel = _check((1, 8, 40, 64), (1, 1, 40, 16), rotary_dim=16)
    assert kernel.cycles < 2 * kernel.roofline_cycles
    # walks of several heads a core: each set's unrotated tile is free again in time (it
    # stores in its load stage; stored two stages later it waited on the next load: a hang)
    kernel = _check((1, 32, 512, 128), (1, 1, 512, 32), rotary_dim=32)
    assert kernel.cycles < 1.5 * kernel.roofline_cycles
    _check((2, 3, 5, 8), (5, 2), rotary_dim=2)
    _check((3, 10), (4,), "f16", rotary_dim=4)


def test_f16() -> None:
    _check((1, 4, 16, 64), (16, 64), "f16")


def test_f64_is_refused() -> None:
    with pytest.raises(UnsupportedError, match="'kernel.rope' on f64 has no npu lowering"):
        lower_module(_module((2, 4), (4,), "f64"))


@st.composite
def shapes(draw):  # noqa: ANN001, ANN201
    shape = draw(st.lists(st.integers(1, 6), min_size=0, max_size=3))
    shape.append(2 * draw(st.integers(1, 40)))
    table = [d if draw(st.booleans()) else 1 for d in shape[:-1]]
    rotary = 2 * draw(st.integers(1, shape[-1] // 2)) if draw(st.booleans()) else None
    table.append((rotary or shape[-1]) if draw(st.integers(0, 4)) else 1)
    return tuple(shape), tuple(table[len(table) - draw(st.integers(1, len(table))) :]), rotary


@settings(deadline=None)
@given(shapes())
def test_random_shapes_match_the_reference(case) -> None:  # noqa: ANN001
    shape, table, rotary = case
    _check(shape, table, rotary_dim=rotary)
