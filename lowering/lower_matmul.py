"""kernel.matmul -> npu.kernel: output tiles on the cube with a double-buffered K loop.

C[..., M, N] = act(alpha * A[..., M, K] @ B[..., K, N] + bias). Each output tile (tm, tn) of
one batch index goes to a block; its K loop alternates two sets of L1/L0 buffers (ping, pong),
so MTE2 loads step k+1 while MTE1 and the cube work on step k. Edge tiles use dynamic extents
(the cube reads only [:m, :k] and [:k, :n]). The L0C tile goes to UB through FIX, where the
epilogue (alpha, bias, activation) runs on the vector unit, and MTE3 writes it to HBM.
f32 operands use the cube's f32 mode; f16 operands accumulate in f32.
"""

from __future__ import annotations

import math

from xdsl.ir import SSAValue

from gedialects.errors import UnsupportedError
from gedialects.ge.types import element_of, shape_of, to_numpy_dtype
from gedialects.kernel.ops import MatMulKernelOp
from gedialects.npu.ops import KernelOp
from gedialects.npu.vector import BINARY_OPS, SCALAR_OPS, UNARY_OPS
from lowering.npu_builder import Index, KernelBuilder
from lowering.tiling import choose_matmul_tile
from runtime.targets import Target

ACTIVATIONS = {"relu", "sigmoid", "tanh"}


def _check(op: MatMulKernelOp, pre_transposed: bool) -> None:
    if not pre_transposed and (op.get_flag("transpose_a") or op.get_flag("transpose_b")):
        raise UnsupportedError(f"{op.name} with transposed operands has no npu lowering yet")
    activation = op.activation.data if op.activation is not None else None
    if activation is not None and (activation not in ACTIVATIONS or op.activation_attrs):
        raise UnsupportedError(f"{op.name} epilogue '{activation}' has no npu lowering yet")
    element = element_of(op.lhs.type)
    if str(element) not in ("f16", "f32") or element_of(op.rhs.type) != element:
        raise UnsupportedError(f"{op.name} on {element} has no cube mode")


def _batch_window(shape, out_shape, lead, tail_offsets, tail_sizes):  # noqa: ANN001, ANN202
    """Window of an operand for one batch index (broadcast batch dims read index 0)."""
    n, r = len(out_shape), len(shape)
    offsets, sizes = [], []
    for a in range(r - 2):
        j = a + n - r
        offsets.append(0 if shape[a] == 1 else lead[j])
        sizes.append(1)
    return [*offsets, *tail_offsets], [*sizes, *tail_sizes]


def lower_matmul(
    op: MatMulKernelOp,
    inputs: list[SSAValue],
    output: SSAValue,
    target: Target,
    name: str,
    pre_transposed: bool = False,
) -> KernelOp:
    """The kernel of `op` on HBM buffers; with `pre_transposed`, operands the op transposes
    come already transposed (the caller ran a transpose kernel), so the shapes are the buffers'."""
    _check(op, pre_transposed)
    a_shape, b_shape = tuple(inputs[0].type.dims), tuple(inputs[1].type.dims)
    out_shape = tuple(output.type.dims)
    m, k, n = a_shape[-2], a_shape[-1], b_shape[-1]
    lead = out_shape[:-2]
    element = element_of(op.lhs.type)
    isz = to_numpy_dtype(element).itemsize
    bias = inputs[2] if len(inputs) > 2 else None
    bias_shape = shape_of(op.bias.type) if bias is not None else ()
    bias_rows = len(bias_shape) >= 2 and bias_shape[-2] != 1
    tiling = choose_matmul_tile(target, m, n, k, isz, (4 * 16 if bias_rows else 4) * 2)
    tm, tn, tk = tiling.tm, tiling.tn, tiling.tk
    blocks = min(tiling.blocks * max(1, math.prod(lead)), target.ai_cores)
    kernel = KernelOp(name, blocks, fused_from=op.fused_names, kind="matmul")
    b = KernelBuilder(kernel)
    ksteps = -(-k // tk)
    pings = (0, 1) if ksteps > 1 else (0,)
    a1 = [b.alloc([tm, tk], element, "l1", "FRACTAL_NZ") for _ in pings]
    b1 = [b.alloc([tk, tn], element, "l1", "FRACTAL_NZ") for _ in pings]
    a0 = [b.alloc([tm, tk], element, "l0a", "FRACTAL_NZ") for _ in pings]
    b0 = [b.alloc([tk, tn], element, "l0b", "FRACTAL_NZ") for _ in pings]
    c = b.alloc([tm, tn], _f32(), "l0c", "FRACTAL_NZ")
    out_element = element_of(op.output.type)
    u = b.alloc([tm, tn], out_element, "ub")
    ub_bias = None
    if bias is not None:
        ub_bias = b.alloc([tm if bias_rows else 1, tn], out_element, "ub")
    epilogue = bias is not None or op.alpha.value.data != 1.0 or op.activation is not None
    for p in pings:
        b.set_flag("MTE1", "MTE2", p)
        b.set_flag("M", "MTE1", p)
    b.set_flag("FIX", "M")
    b.set_flag("MTE3", "FIX")
    if bias is not None:
        b.set_flag("V", "MTE2", 2)
    nm, nn = -(-m // tm), -(-n // tn)
    ntiles = math.prod(lead) * nm * nn
    with b.loop(b.block_index, ntiles, blocks) as t:
        n0 = b.muli(b.remui(t, nn), tn)
        q = b.divui(t, nn)
        m0 = b.muli(b.remui(q, nm), tm)
        rest: Index = b.divui(q, nm)
        index: list[Index] = []
        for dim in reversed(lead):
            index.insert(0, b.remui(rest, dim))
            rest = b.divui(rest, dim)
        mext, next_ = b.extent(m0, tm, m), b.extent(n0, tn, n)

        def kstep(p: int, k0: Index) -> None:
            kext = b.extent(k0, tk, k)
            b.wait_flag("MTE1", "MTE2", p)
            a_off, a_size = _batch_window(a_shape, out_shape, index, [m0, k0], [mext, kext])
            b.dma(inputs[0], a_off, a_size, a1[p], [0, 0], [mext, kext])
            b_off, b_size = _batch_window(b_shape, out_shape, index, [k0, n0], [kext, next_])
            b.dma(inputs[1], b_off, b_size, b1[p], [0, 0], [kext, next_])
            b.sync("MTE2", "MTE1", p)
            b.wait_flag("M", "MTE1", p)
            b.dma(a1[p], [0, 0], [mext, kext], a0[p], [0, 0])
            b.dma(b1[p], [0, 0], [kext, next_], b0[p], [0, 0])
            b.set_flag("MTE1", "MTE2", p)
            b.sync("MTE1", "M", p)
            b.mmad(a0[p], b0[p], c, [mext, next_, kext], b.ne(k0, 0))
            b.set_flag("M", "MTE1", p)

        b.wait_flag("FIX", "M")
        if len(pings) == 1:
            kstep(0, 0)
        else:
            with b.loop(0, k, 2 * tk) as kk:
                kstep(0, kk)
                k1 = b.addi(kk, tk)
                with b.when(b.ult(k1, k)):
                    kstep(1, k1)
        b.sync("M", "FIX")
        b.wait_flag("MTE3", "FIX")
        b.dma(c, [0, 0], [mext, next_], u, [0, 0])
        b.set_flag("FIX", "M")
        if epilogue:
            b.sync("FIX", "V")
            _epilogue(
                b, op, u, bias, ub_bias, bias_shape, out_shape, index, (m0, mext), (n0, next_)
            )
            b.sync("V", "MTE3")
        else:
            b.sync("FIX", "MTE3")
        out_off = [*index, m0, n0]
        out_size = [*(1 for _ in index), mext, next_]
        b.dma(u, [0, 0], [mext, next_], output, out_off, out_size)
        b.set_flag("MTE3", "FIX")
    for p in pings:
        b.wait_flag("MTE1", "MTE2", p)
        b.wait_flag("M", "MTE1", p)
    b.wait_flag("FIX", "M")
    b.wait_flag("MTE3", "FIX")
    if bias is not None:
        b.wait_flag("V", "MTE2", 2)
    return kernel


def _f32():  # noqa: ANN202
    from xdsl.dialects.builtin import f32

    return f32


def _epilogue(b, op, u, bias, ub_bias, bias_shape, out_shape, index, rows, cols) -> None:  # noqa: ANN001
    """u = act(alpha * u + bias) on the vector unit."""
    alpha = op.alpha.value.data
    if alpha != 1.0:
        b.add(SCALAR_OPS["muls"](u, alpha, u))
    if bias is not None:
        b.wait_flag("V", "MTE2", 2)
        offsets, sizes = _bias_window(bias_shape, out_shape, index, rows, cols)
        tile = [rows[1] if len(bias_shape) >= 2 and bias_shape[-2] != 1 else 1, cols[1]]
        if bias_shape[-1] == 1:
            raise UnsupportedError("a bias broadcast along columns has no npu lowering yet")
        b.dma(bias, offsets, sizes, ub_bias, [0, 0], tile)
        b.sync("MTE2", "V", 2)
        b.add(BINARY_OPS["add"](u, ub_bias, u))
        b.set_flag("V", "MTE2", 2)
    if op.activation is not None:
        b.add(UNARY_OPS[op.activation.data](u, u))


def _bias_window(shape, out_shape, index, rows, cols):  # noqa: ANN001, ANN202
    n, r = len(out_shape), len(shape)
    offsets, sizes = [], []
    for a, dim in enumerate(shape):
        j = a + n - r
        if dim == 1:
            offsets.append(0)
            sizes.append(1)
        elif j == n - 1:
            offsets.append(cols[0])
            sizes.append(cols[1])
        elif j == n - 2:
            offsets.append(rows[0])
            sizes.append(rows[1])
        else:
            offsets.append(index[j])
            sizes.append(1)
    return offsets, sizes
