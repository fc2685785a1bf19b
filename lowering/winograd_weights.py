"""Winograd's weight transform U = G g G^T, laid out (alpha^2 * groups, O/groups, C/groups) for
the cube's batched GEMM (the left operand of each group's M = U @ V).

Weights are constants in real models, so U is computed once at compile time in numpy (the
same matrices as the reference) and emitted as a new `npu.hbm_constant`. When the weight is
a runtime input (or its constant was printed elided), a vector kernel transforms it into an
HBM temporary: each item loads a run of (o, c) rows of 3x3 taps, extracts the 9 taps as
rows, and forms the alpha^2 positions as linear combinations (`winograd_combine`).
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.ir import SSAValue

from gedialects.ge.types import to_numpy_dtype
from gedialects.kernel.conv_algorithms import WINOGRAD, winograd_weight_transform
from gedialects.npu.buffers import HbmConstantOp, constant_array
from gedialects.npu.launch import KernelOp
from lowering.npu_builder import KernelBuilder
from lowering.winograd_combine import combine
from runtime.targets import Target

LOAD, STORE = 0, 1
TAPS = 9


def constant_weights(w: SSAValue, m: int, groups: int) -> HbmConstantOp | None:
    """U as a new constant when `w` is a constant with its data, else None."""
    weights = constant_array(w)
    if weights is None:
        return None
    o, cg = weights.shape[:2]
    u = winograd_weight_transform(weights, m, groups)  # (T, T, G, O/G, C/G)
    u = u.reshape((m + 2) ** 2 * groups, o // groups, cg).astype(weights.dtype)
    return HbmConstantOp.from_array(u, w.type.element_type)


@dataclass(frozen=True)
class WeightTiling:
    rows: int  # (o, c) rows per item
    items: int
    blocks: int


def choose_weight_tile(target: Target, rows: int, alpha: int, itemsize: int) -> WeightTiling:
    """Rows per item: as many as UB holds (taps, extracted taps, 3 * alpha half-transformed,
    alpha^2 results, scratch), but no more than spread the rows over every vector core."""
    per_row = (2 * TAPS + 3 * alpha + alpha * alpha + 1) * itemsize
    fit = max(16, target.capacity_of("ub") // per_row // 32 * 32 - 32)
    spread = -(-rows // target.vector_cores)
    per = min(fit, -(-spread // 16) * 16)
    items = -(-rows // per)
    return WeightTiling(per, items, min(items, target.vector_cores))


class WeightTransform:
    """U[alpha^2, O * C/groups] = G g G^T from the weights viewed as (O * C/groups, 9)."""

    def __init__(self, w: SSAValue, u: SSAValue, m: int, target: Target):
        self.w, self.u, self.m = w, u, m
        self.total = w.type.dims[0]
        isz = to_numpy_dtype(w.type.element_type).itemsize
        self.t = choose_weight_tile(target, self.total, m + 2, isz)

    def emit(self, name: str, fused_from, algorithm: str) -> KernelOp:  # noqa: ANN001
        t, a, g = self.t, self.m + 2, WINOGRAD[self.m][1]
        kernel = KernelOp(name, t.blocks, fused_from=fused_from, kind="conv2d", algorithm=algorithm)
        b = KernelBuilder(kernel)
        el = self.w.type.element_type
        loaded = b.alloc([t.rows, TAPS], el, "ub")
        taps = [b.alloc([1, t.rows], el, "ub") for _ in range(TAPS)]
        half = [[b.alloc([1, t.rows], el, "ub") for _ in range(3)] for _ in range(a)]
        outs = [b.alloc([1, t.rows], el, "ub") for _ in range(a * a)]
        tmp = b.alloc([1, t.rows], el, "ub")
        b.set_flag("V", "MTE2", LOAD)
        b.set_flag("MTE3", "V", STORE)
        per = -(-t.items // t.blocks)
        start = b.muli(b.block_index, per)
        with b.loop(start, b.minui(b.addi(start, per), t.items), 1) as item:
            r0 = b.muli(item, t.rows)
            rext = b.extent(r0, t.rows, self.total)
            b.wait_flag("V", "MTE2", LOAD)
            b.dma(self.w, [r0, 0], [rext, TAPS], loaded, [0, 0])
            b.sync("MTE2", "V", LOAD)
            for k, tap in enumerate(taps):
                b.dma(loaded, [0, k], [t.rows, 1], tap, [0, 0], [1, t.rows])
            b.set_flag("V", "MTE2", LOAD)
            for row in range(a):  # G down the kernel rows
                for j in range(3):
                    combine(b, g[row], [taps[3 * i + j] for i in range(3)], half[row][j], tmp)
            b.wait_flag("MTE3", "V", STORE)
            for row in range(a):  # G^T across the kernel columns
                for col in range(a):
                    combine(b, g[col], half[row], outs[row * a + col], tmp)
            b.sync("V", "MTE3", STORE)
            for xi, out in enumerate(outs):
                b.dma(out, [0, 0], [1, rext], self.u, [xi, r0])
            b.set_flag("MTE3", "V", STORE)
        b.wait_flag("V", "MTE2", LOAD)
        b.wait_flag("MTE3", "V", STORE)
        return kernel
