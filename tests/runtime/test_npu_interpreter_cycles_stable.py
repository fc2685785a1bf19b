# ruff: noqa: E501  (recorded figures)
"""The npu interpreter's modeled figures do not move when its Python is made faster.

Per-kernel cycles, per-core cycles, busy cycles per pipe, instruction counts and bytes of a few
hand-written programs, recorded before the interpreter's speed work (issue 5), must stay exactly
equal (the matmul figures were re-recorded once, when the DMA model changed so that a
transfer's L2 and HBM parts overlap: a change of the model, not of its speed); and the fast
img2col must equal the straightforward one on random windows.

Outputs are checked against float64 references, not by their bits: the cube's f32 sums run in
OpenBLAS's sgemm, whose kernel (so its summation order and last bits) depends on the CPU (a
digest recorded on an AVX2 machine failed on an AVX-512 one). Elementwise programs are exact
IEEE operations on every CPU and must equal their reference bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from npu_programs import add_relu_program, conv_program, matmul_program, parse

from runtime import npu_semantics as sem
from runtime.npu_interpreter import NpuExecutable

# name: (program, input shapes, dtype)
PROGRAMS = {
    "matmul_1core": (matmul_program(64, 64, 64, 64, 64, 64, 1), [(64, 64), (64, 64)], "f2"),
    "matmul_edges_4": (matmul_program(100, 70, 90, 32, 32, 32, 4), [(100, 90), (90, 70)], "f2"),
    "matmul_double_8": (
        matmul_program(200, 160, 300, 64, 64, 64, 8, double=True),
        [(200, 300), (300, 160)],
        "f2",
    ),
    "matmul_big_32": (
        matmul_program(520, 96, 1100, 128, 128, 128, 32),
        [(520, 1100), (1100, 96)],
        "f2",
    ),
    "add_relu_6": (add_relu_program(50, 70, 8, 32, 6), [(50, 70), (50, 70)], "f4"),
    "add_relu_double": (
        add_relu_program(300, 200, 16, 64, 5, double=True),
        [(300, 200), (300, 200)],
        "f4",
    ),
    "conv_3x3": (conv_program(2, 9, 11, 48, 3, 2, 1, 16), [(1, 2, 9, 11, 16), (288, 48)], "f2"),
}


def _figures(name: str) -> tuple:
    text, shapes, dtype = PROGRAMS[name]
    rng = np.random.default_rng(0)
    executable = NpuExecutable(parse(text))
    inputs = [rng.standard_normal(s).astype(dtype) for s in shapes]
    results = [executable.run(inputs) for _ in range(2)]  # the second run uses the caches
    for result in results[1:]:
        for x, y in zip(result.outputs, results[0].outputs):
            assert np.array_equal(x, y, equal_nan=True)
    kernels = results[-1].profile.kernels
    cycles = [(k.cycles, k.core_cycles, dict(k.busy), k.instructions) for k in kernels]
    traffic = [(dict(k.bytes_read), dict(k.bytes_written), k.hbm_compulsory_bytes) for k in kernels]
    for a, b in zip(results[0].profile.kernels, kernels):
        assert (a.cycles, a.core_cycles, dict(a.busy)) == (b.cycles, b.core_cycles, dict(b.busy))
    _check_outputs(name, inputs, results[-1].outputs)
    return cycles, traffic


def _conv_3x3_reference(x5: np.ndarray, wz: np.ndarray) -> np.ndarray:
    """`conv_program(2, 9, 11, 48, 3, 2, 1, 16)` in float64: an NC1HWC0 image and
    (c1 kh kw c0, n) weights, 3x3, stride 2, pad 1, output (pixels, n)."""
    c1, h, w, c0 = x5.shape[1:]
    k, stride, pad, n = 3, 2, 1, wz.shape[1]
    image = x5.astype(np.float64).transpose(0, 1, 4, 2, 3).reshape(c1 * c0, h, w)
    weight = wz.astype(np.float64).reshape(c1, k, k, c0, n).transpose(4, 0, 3, 1, 2)
    padded = np.pad(image, ((0, 0), (pad, pad), (pad, pad)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (k, k), axis=(1, 2))
    windows = windows[:, ::stride, ::stride]  # (c, ho, wo, kh, kw)
    return np.einsum("chwij,ncij->hwn", windows, weight.reshape(n, c1 * c0, k, k)).reshape(-1, n)


def _check_outputs(name: str, inputs: list[np.ndarray], outputs: list[np.ndarray]) -> None:
    """Elementwise programs bit for bit; cube programs within f32 accumulation of float64."""
    if name.startswith("add_relu"):
        assert np.array_equal(outputs[0], np.maximum(inputs[0] + inputs[1], 0))
        return
    if name.startswith("matmul"):
        want = inputs[0].astype(np.float64) @ inputs[1].astype(np.float64)
    else:
        want = _conv_3x3_reference(*inputs)
    assert outputs[0].dtype == np.float32
    np.testing.assert_allclose(outputs[0], want, rtol=1e-5, atol=1e-5 * np.abs(want).max())


RECORDED: dict[str, tuple] = {
    "add_relu_6": (
        [
            (
                244.0,
                [244.0, 244.0, 85.0, 232.0, 232.0, 76.0],
                {"S": 168, "MTE2": 900, "V": 168, "MTE3": 225},
                105,
            )
        ],
        [({"hbm": 28000, "ub": 78512}, {"ub": 71008, "hbm": 14000}, 42000)],
    ),
    "add_relu_double": (
        [
            (
                3389.0,
                [3389.0, 3140.0, 3116.0, 3077.0, 3301.0],
                {"S": 688, "MTE2": 15705, "V": 2432, "MTE3": 3750},
                380,
            )
        ],
        [({"hbm": 480000, "ub": 1173888}, {"ub": 1102592, "hbm": 240000}, 720000)],
    ),
    "conv_3x3": (
        [
            (
                1365.0,
                [1365.0],
                {"MTE2": 1062, "MTE1": 142, "S": 4, "M": 108, "FIX": 23, "MTE3": 90},
                11,
            )
        ],
        [
            (
                {"hbm": 33984, "l1": 44928, "l0a": 17280, "l0b": 55296, "l0c": 5760, "ub": 5760},
                {"l1": 33984, "l0b": 27648, "l0a": 17280, "l0c": 5760, "ub": 5760, "hbm": 5760},
                39744,
            )
        ],
    ),
    "matmul_1core": (
        [(944.0, [944.0], {"S": 11, "MTE2": 512, "MTE1": 48, "M": 64, "FIX": 64, "MTE3": 256}, 7)],
        [
            (
                {"hbm": 16384, "l1": 16384, "l0a": 8192, "l0b": 8192, "l0c": 16384, "ub": 16384},
                {"l1": 16384, "l0a": 8192, "l0b": 8192, "l0c": 16384, "ub": 16384, "hbm": 16384},
                32768,
            )
        ],
    ),
    "matmul_big_32": (
        [
            (
                14453.0,
                [
                    14453.0,
                    14453.0,
                    14453.0,
                    14453.0,
                    4343.0,
                    0.0,
                    0.0,
                    0.0,
                    0.0,
                    0.0,
                    0.0,
                    0.0,
                    0.0,
                    0.0,
                    0.0,
                    0.0,
                    0.0,
                    0.0,
                    0.0,
                    0.0,
                    0.0,
                    0.0,
                    0.0,
                    0.0,
                    0.0,
                    0.0,
                    0.0,
                    0.0,
                    0.0,
                    0.0,
                    0.0,
                    0.0,
                ],
                {"S": 175, "MTE2": 45505, "MTE1": 8640, "M": 13662, "FIX": 780, "MTE3": 6240},
                235,
            )
        ],
        [
            (
                {
                    "hbm": 2200000,
                    "l1": 2949120,
                    "l0a": 1144000,
                    "l0b": 1056000,
                    "l0c": 199680,
                    "ub": 199680,
                },
                {
                    "l1": 2949120,
                    "l0a": 1474560,
                    "l0b": 1474560,
                    "l0c": 1797120,
                    "ub": 199680,
                    "hbm": 199680,
                },
                1554880,
            )
        ],
    ),
    "matmul_double_8": (
        [
            (
                1802.0,
                [1802.0, 1544.0, 1250.0, 1358.0, 1176.0, 818.0, 1176.0, 1176.0],
                {"S": 348, "MTE2": 8108, "MTE1": 2880, "M": 2470, "FIX": 500, "MTE3": 2000},
                324,
            )
        ],
        [
            (
                {
                    "hbm": 744000,
                    "l1": 983040,
                    "l0a": 360000,
                    "l0b": 384000,
                    "l0c": 128000,
                    "ub": 128000,
                },
                {
                    "l1": 983040,
                    "l0a": 491520,
                    "l0b": 491520,
                    "l0c": 640000,
                    "ub": 128000,
                    "hbm": 128000,
                },
                344000,
            )
        ],
    ),
    "matmul_edges_4": (
        [
            (
                507.0,
                [507.0, 429.0, 437.0, 449.0],
                {"S": 204, "MTE2": 1334, "MTE1": 432, "M": 210, "FIX": 110, "MTE3": 450},
                204,
            )
        ],
        [
            (
                {
                    "hbm": 104400,
                    "l1": 147456,
                    "l0a": 54000,
                    "l0b": 50400,
                    "l0c": 28000,
                    "ub": 28000,
                },
                {"l1": 147456, "l0a": 73728, "l0b": 73728, "l0c": 84000, "ub": 28000, "hbm": 28000},
                58600,
            )
        ],
    ),
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_modeled_figures_are_unchanged(name: str) -> None:
    assert _figures(name) == RECORDED[name]


def _img2col_reference(src, dst, rows, cols, geometry) -> None:  # noqa: ANN001
    """The straightforward img2col: pad the image, build every patch, cut the window."""
    (kh, kw), (sh, sw), (pt, pb, pl, pr), (dh, dw), (ho, wo) = geometry
    (m0, m), (k0, k) = rows, cols
    image = np.pad(src[0], ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    first, last = m0 // wo, min(ho, -(-(m0 + m) // wo))
    patches = np.zeros((max(last - first, 0), wo, image.shape[0], kh, kw, 16), src.dtype)
    for i in range(kh):
        for j in range(kw):
            top, left = first * sh + i * dh, j * dw
            window = image[
                :,
                top : top + (last - first - 1) * sh + 1 : sh,
                left : left + (wo - 1) * sw + 1 : sw,
            ]
            patches[:, :, :, i, j, :] = window.transpose(1, 2, 0, 3)
    matrix = patches.reshape((last - first) * wo, -1)
    local = matrix[m0 - first * wo : m0 - first * wo + m, k0 : k0 + k]
    dst[:m, :k] = 0
    dst[: local.shape[0], : local.shape[1]] = local


@st.composite
def _img2col_case(draw):  # noqa: ANN001, ANN202
    c1, h, w = draw(st.integers(1, 3)), draw(st.integers(1, 9)), draw(st.integers(1, 9))
    kh, kw, sh, sw, dh, dw = (draw(st.integers(1, 3)) for _ in range(6))
    pads = tuple(draw(st.integers(0, 2)) for _ in range(4))
    ho = (h + pads[0] + pads[1] - dh * (kh - 1) - 1) // sh + 1
    wo = (w + pads[2] + pads[3] - dw * (kw - 1) - 1) // sw + 1
    if ho < 1 or wo < 1:
        ho, wo, pads = 1, 1, (dh * (kh - 1), 0, dw * (kw - 1), 0)
        h, w = 1, 1
    big_k = c1 * kh * kw * 16
    m, k = draw(st.integers(1, ho * wo + 3)), draw(st.integers(1, big_k + 20))
    m0, k0 = draw(st.integers(0, ho * wo - 1)), draw(st.integers(0, big_k + 5))
    geometry = ((kh, kw), (sh, sw), pads, (dh, dw), (ho, wo))
    return (c1, h, w), (m0, m), (k0, k), geometry


@given(_img2col_case())
def test_img2col_equals_the_straightforward_one(case) -> None:  # noqa: ANN001
    (c1, h, w), rows, cols, geometry = case
    src = np.random.default_rng(1).standard_normal((1, c1, h, w, 16)).astype(np.float16)
    want = np.full((rows[1] + 2, cols[1] + 2), np.nan, np.float16)
    got = want.copy()
    _img2col_reference(src, want, rows, cols, geometry)
    sem.img2col(src, got, rows, cols, geometry)
    assert np.array_equal(got, want, equal_nan=True)


def test_window_function_slices_checks_and_refuses() -> None:
    from runtime.npu_slots import window_function

    window = window_function(([0, 4, 0], ((0, 3),)), ([2, 8, 5], ((2, 7),)), (10, 20, 30))
    env = [0] * 8
    env[3], env[7] = 5, 25
    assert window(env) == ((slice(5, 7), slice(4, 12), slice(0, 25)), [2, 8, 25])
    env[7] = 30  # 0 + 30 <= 30: still inside
    assert window(env) is not None
    env[3] = 9  # 9 + 2 > 10: past axis 0
    assert window(env) is None
    assert window_function(([0, 0], ()), ([3, 40], ()), (3, 30))([]) is None  # static, past
    assert window_function(([], ()), ([], ()), ())([]) == ((Ellipsis,), [])  # 0-d: a view
