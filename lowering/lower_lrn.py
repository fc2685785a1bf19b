"""kernel.lrn (local response normalization across channels, AlexNet/GoogLeNet) -> one
vector-unit npu.kernel.

y = x / (bias + alpha / size * sum of x^2 over a window of `size` channels)^beta. The input
(N, C, *spatial) is viewed as (N*C, S) rows; a tile is tc channels x ts pixels of one image,
loaded with the window's halo of channels ((size - 1) // 2 before, the rest after) into a band
zeroed first, so channels outside the image count as zeros as in the reference's padding.
The band is squared once and the window sum is `size` `npu.vec_window` adds of the squares at
channel offsets 0..size-1 (the same idea as the pools' taps); the power is
exp(-beta * log(d)) on the vector unit. (tc, ts) come from UB by an estimate of the slowest
core's HBM and vector time, so planes larger than UB are tiled.
"""

from __future__ import annotations

import math

from xdsl.ir import Operation, SSAValue

from gedialects.errors import UnsupportedError
from gedialects.ge.types import element_of, to_numpy_dtype
from gedialects.kernel.mirrored import LRNKernelOp
from gedialects.npu.attrs import BufferType
from gedialects.npu.buffers import ReshapeOp
from gedialects.npu.launch import KernelOp
from gedialects.npu.vector import BINARY_OPS, SCALAR_OPS, UNARY_OPS, VecDupOp
from gedialects.npu.window import VecWindowOp
from lowering.npu_builder import KernelBuilder
from lowering.registry import lowers
from lowering.tiling import aligned
from runtime.cost_model import hbm_share
from runtime.targets import Target

ISSUE = 40


def lrn_tile(target: Target, dims: tuple[int, int, int], size: int, isz: int) -> tuple[int, int]:
    """(tc, ts) with the fewest estimated cycles whose two band buffers (tc + size - 1 rows)
    and two tile buffers fit UB: per tile the band's load, the store, and about size + 8
    vector passes over the tile."""
    n, c, s = dims
    ub, best = target.capacity_of("ub"), None
    for tc in sorted({1 << i for i in range(c.bit_length())} | {c}):
        for ts in sorted({1 << i for i in range(s.bit_length())} | {s}):
            band = (tc + size - 1) * ts * isz
            if 2 * aligned(band) + 2 * aligned(tc * ts * isz) + 64 > ub:
                continue
            tiles = n * -(-c // tc) * -(-s // ts)
            blocks = min(tiles, target.vector_cores)
            share = min(target.rate("hbm", "ub"), hbm_share(target, blocks))
            per = (band + tc * ts * isz) / share + (size + 8) * band / 256 + 4 * ISSUE
            cycles = -(-tiles // blocks) * per
            if best is None or cycles < best[0]:
                best = (cycles, tc, ts)
    if best is None:
        raise UnsupportedError(f"'kernel.lrn': a window of {size} channels does not fit UB")
    return best[1], best[2]


def _view(value: SSAValue, dims: tuple[int, ...], ops: list[Operation]) -> SSAValue:
    view = ReshapeOp(value, BufferType(dims, value.type.element_type, "hbm"))
    ops.append(view)
    return view.result


@lowers(LRNKernelOp)
def lower_lrn(
    op: LRNKernelOp, inputs: list[SSAValue], output: SSAValue, target: Target, name: str
) -> list[Operation]:
    shape = tuple(inputs[0].type.dims)
    element = element_of(op.output.type)
    if str(element) not in ("f16", "f32") or len(shape) < 2:
        raise UnsupportedError(f"'{op.name}' on {len(shape)}-d {element} has no npu lowering")
    size = op.get_int("size")
    lo = (size - 1) // 2
    n, c, s = shape[0], shape[1], math.prod(shape[2:])
    ops: list[Operation] = []
    x, y = _view(inputs[0], (n * c, s), ops), _view(output, (n * c, s), ops)
    tc, ts = lrn_tile(target, (n, c, s), size, to_numpy_dtype(element).itemsize)
    nc, ns = -(-c // tc), -(-s // ts)
    tiles = n * nc * ns
    blocks = min(tiles, target.vector_cores)
    kernel = KernelOp(name, blocks, fused_from=op.fused_names, kind="lrn")
    b = KernelBuilder(kernel)
    band, sq = (b.alloc([tc + size - 1, ts], element, "ub") for _ in range(2))
    acc, yt = (b.alloc([tc, ts], element, "ub") for _ in range(2))
    b.set_flag("MTE3", "V")
    with b.loop(b.block_index, tiles, blocks) as t:
        image, rest = b.divui(t, nc * ns), b.remui(t, nc * ns)
        c0, s0 = b.muli(b.divui(rest, ns), tc), b.muli(b.remui(rest, ns), ts)
        se = b.extent(s0, ts, s)
        # channels [c0 - lo, c0 + tc + size - 1 - lo) clipped to the image, at band row
        # (first channel - (c0 - lo)); the rest of the band stays zero
        first = b.subi(c0, b.minui(c0, lo))
        last = b.minui(b.addi(c0, tc + size - 1 - lo), c)
        b.add(VecDupOp(0.0, band))
        b.sync("V", "MTE2")
        row = b.subi(lo, b.minui(c0, lo)) if lo else 0
        b.dma(x, [b.addi(b.muli(image, c), first), s0], [b.subi(last, first), se], band, [row, 0])
        b.sync("MTE2", "V")
        b.wait_flag("MTE3", "V")
        b.add(BINARY_OPS["mul"](band, band, sq))
        b.add(VecWindowOp("copy", sq, [0, 0], [1, 1], acc))
        for k in range(1, size):
            b.add(VecWindowOp("add", sq, [k, 0], [1, 1], acc))
        b.add(SCALAR_OPS["muls"](acc, op.get_float("alpha") / size, acc))
        b.add(SCALAR_OPS["adds"](acc, op.get_float("bias"), acc))
        b.add(UNARY_OPS["log"](acc, acc))
        b.add(SCALAR_OPS["muls"](acc, -op.get_float("beta"), acc))
        b.add(UNARY_OPS["exp"](acc, acc))
        b.add(VecWindowOp("copy", band, [lo, 0], [1, 1], yt))
        b.add(BINARY_OPS["mul"](yt, acc, yt))
        b.sync("V", "MTE3")
        ce = b.extent(c0, tc, c)
        b.dma(yt, [0, 0], [ce, se], y, [b.addi(b.muli(image, c), c0), s0])
        b.set_flag("MTE3", "V")
    b.wait_flag("MTE3", "V")
    return [*ops, kernel]
