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
from dataclasses import dataclass

from xdsl.dialects.builtin import DictionaryAttr
from xdsl.ir import SSAValue

from gedialects.errors import UnsupportedError
from gedialects.ge.types import element_of, to_numpy_dtype
from gedialects.kernel.ops import MatMulKernelOp
from gedialects.npu.ops import KernelOp
from gedialects.npu.vector import BINARY_OPS, SCALAR_OPS, UNARY_OPS
from lowering.npu_builder import Index, KernelBuilder
from lowering.tiling import choose_matmul_tile
from runtime.targets import Target

ACTIVATIONS = {"relu", "sigmoid", "tanh", "abs", "neg", "exp", "erf"}


@dataclass(frozen=True)
class Step:
    """One epilogue step on the output tile u: `muls` by value, `add`/`mul` an HBM operand that
    broadcasts to the output (numpy rules), or an activation `act` (name, attrs)."""

    kind: str
    value: float | str | None = None
    operand: SSAValue | None = None
    attrs: tuple[tuple[str, float], ...] = ()


def activation_steps(name: str | None, attrs: DictionaryAttr | None) -> list[Step]:
    if name is None:
        return []
    values = tuple((k, float(v.value.data)) for k, v in (attrs.data.items() if attrs else ()))
    if name in ACTIVATIONS and not values or name in ("clip", "leaky_relu"):
        return [Step("act", name, attrs=values)]
    raise UnsupportedError(f"epilogue activation '{name}' has no npu lowering yet")


def _check(op: MatMulKernelOp, pre_transposed: bool) -> None:
    if not pre_transposed and (op.get_flag("transpose_a") or op.get_flag("transpose_b")):
        raise UnsupportedError(f"{op.name} with transposed operands has no npu lowering yet")
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
    steps = [Step("muls", op.alpha.value.data)] if op.alpha.value.data != 1.0 else []
    if len(inputs) > 2:
        steps.append(Step("add", operand=inputs[2]))
    act = op.activation.data if op.activation is not None else None
    steps += activation_steps(act, op.activation_attrs)
    return emit_gemm(inputs[0], inputs[1], output, target, name, op.fused_names, "matmul", steps)


def _operand_tile(value: SSAValue, tm: int, tn: int) -> list[int]:
    dims = value.type.dims
    return [tm if len(dims) >= 2 and dims[-2] != 1 else 1, tn if dims and dims[-1] != 1 else 1]


def emit_gemm(
    a_buf: SSAValue,
    b_buf: SSAValue,
    output: SSAValue,
    target: Target,
    name: str,
    fused_from,  # noqa: ANN001
    kind: str,
    steps: list[Step],
) -> KernelOp:
    """C[..., M, N] = epilogue(A[..., M, K] @ B[..., K, N]) on HBM buffers, batch dims broadcast."""
    a_shape, b_shape = tuple(a_buf.type.dims), tuple(b_buf.type.dims)
    out_shape = tuple(output.type.dims)
    m, k, n = a_shape[-2], a_shape[-1], b_shape[-1]
    lead = out_shape[:-2]
    element, out_element = a_buf.type.element_type, output.type.element_type
    isz = to_numpy_dtype(element).itemsize
    operands = [s.operand for s in steps if s.operand is not None]
    extra = [
        (len(v.type.dims) >= 2 and v.type.dims[-2] != 1, v.type.dims[-1] != 1) for v in operands
    ]
    tiling = choose_matmul_tile(target, m, n, k, isz, extra)
    tm, tn, tk = tiling.tm, tiling.tn, tiling.tk
    blocks = min(tiling.blocks * max(1, math.prod(lead)), target.ai_cores)
    kernel = KernelOp(name, blocks, fused_from=fused_from, kind=kind)
    b = KernelBuilder(kernel)
    ksteps = -(-k // tk)
    pings = (0, 1) if ksteps > 1 else (0,)
    a1 = [b.alloc([tm, tk], element, "l1", "FRACTAL_NZ") for _ in pings]
    b1 = [b.alloc([tk, tn], element, "l1", "FRACTAL_NZ") for _ in pings]
    a0 = [b.alloc([tm, tk], element, "l0a", "FRACTAL_NZ") for _ in pings]
    b0 = [b.alloc([tk, tn], element, "l0b", "FRACTAL_NZ") for _ in pings]
    c = b.alloc([tm, tn], _f32(), "l0c", "FRACTAL_NZ")
    u = b.alloc([tm, tn], out_element, "ub")
    tiles = {v: b.alloc(_operand_tile(v, tm, tn), out_element, "ub") for v in operands}
    for p in pings:
        b.set_flag("MTE1", "MTE2", p)
        b.set_flag("M", "MTE1", p)
    b.set_flag("FIX", "M")
    b.set_flag("MTE3", "FIX")
    if operands:
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
            b.dma(a_buf, a_off, a_size, a1[p], [0, 0], [mext, kext])
            b_off, b_size = _batch_window(b_shape, out_shape, index, [k0, n0], [kext, next_])
            b.dma(b_buf, b_off, b_size, b1[p], [0, 0], [kext, next_])
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
        if steps:
            b.sync("FIX", "V")
            _epilogue(b, steps, u, tiles, out_shape, index, (m0, mext), (n0, next_))
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
    if operands:
        b.wait_flag("V", "MTE2", 2)
    return kernel


def _f32():  # noqa: ANN202
    from xdsl.dialects.builtin import f32

    return f32


def _epilogue(b, steps, u, tiles, out_shape, index, rows, cols) -> None:  # noqa: ANN001
    """Run the epilogue steps on u; operand tiles are loaded first, in one MTE2 batch."""
    if tiles:
        b.wait_flag("V", "MTE2", 2)
        for value, tile in tiles.items():
            offsets, sizes = _bias_window(value.type.dims, out_shape, index, rows, cols)
            dims = value.type.dims
            shape = [rows[1] if len(dims) >= 2 and dims[-2] != 1 else 1]
            shape.append(cols[1] if dims and dims[-1] != 1 else 1)
            b.dma(value, offsets, sizes, tile, [0, 0], shape)
        b.sync("MTE2", "V", 2)
    for step in steps:
        if step.kind == "muls":
            b.add(SCALAR_OPS["muls"](u, step.value, u))
        elif step.kind in ("add", "mul"):
            b.add(BINARY_OPS[step.kind](u, tiles[step.operand], u))
        elif step.value == "clip":
            bounds = dict(step.attrs)
            if "min" in bounds:
                b.add(SCALAR_OPS["maxs"](u, bounds["min"], u))
            if "max" in bounds:
                b.add(SCALAR_OPS["mins"](u, bounds["max"], u))
        elif step.value == "leaky_relu":
            b.add(SCALAR_OPS["leaky_relu"](u, dict(step.attrs).get("alpha", 0.01), u))
        else:
            b.add(UNARY_OPS[step.value](u, u))
    if tiles:
        b.set_flag("V", "MTE2", 2)


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
