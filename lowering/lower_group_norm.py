"""kernel.group_norm -> one vector-unit npu.kernel: statistics per group, the per-channel
affine and the activation applied where the output tile is written.

The input (N, C, *spatial) is viewed as (N*G, C/G, S) in HBM: a row per (image, group), its
C/G channels of S pixels; scale and bias as (G, C/G, 1) columns. Items are rows, round-robin
over the vector cores; tiles are 3-D (groups, channels, pixels), so the statistics reduce
over the last two axes and a channel's scale broadcasts along its pixels.
- whole groups: a tile holds `tg` whole rows (tg divides G, so a tile never spans two
  images); one load serves the mean, the centred variance and the output, as in
  `lower_norm`'s instance norm.
- streamed: a group larger than the unified buffer is one item, walked in (kc channels, hs
  pixels) chunks three times (sum, centred squares, normalize), zero-padded to the tile; the
  padding adds (padded count) * mean^2 to the squares, taken off afterwards.
In the last pass y = (x - mean) * (scale * rsqrt(var + eps)) + bias, then the activation
(`lowering.gemm_epilogue`'s steps, so it means what it means in a conv's epilogue), then
MTE3 stores the tile: a GroupNorm + SiLU reads x once per pass and writes y once, where the
unfused form also wrote the normalized tensor and read it back for the affine and the SiLU.
(tg) or (kc, hs) come from the unified buffer's capacity by an estimate of the slowest core's
HBM and vector time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from xdsl.ir import Operation, SSAValue

from gedialects.errors import UnsupportedError
from gedialects.ge.types import element_of, to_numpy_dtype
from gedialects.kernel.mirrored import GroupNormKernelOp
from gedialects.npu.attrs import BufferType
from gedialects.npu.buffers import ReshapeOp
from gedialects.npu.launch import KernelOp
from gedialects.npu.vector import BINARY_OPS, REDUCE_OPS, SCALAR_OPS, UNARY_OPS, VecDupOp
from lowering.gemm_epilogue import Step, activation_steps, apply_steps
from lowering.npu_builder import Index, KernelBuilder
from lowering.registry import lowers
from lowering.tiling import aligned
from runtime.cost_model import hbm_share
from runtime.targets import Target

ISSUE = 40
"""Cycles an instruction's issue costs in the tile estimate (as `lower_norm` counts them)."""

VECTOR_PASSES = 8
"""Vector passes over a tile without the activation: sum, centre, square, sum, scale, add."""


@dataclass(frozen=True)
class GroupTiling:
    """`tg` rows a tile, each as (kc, hs) chunks of its (cpg, s) plane (whole: kc, hs = cpg, s)."""

    tg: int
    kc: int
    hs: int

    def whole(self, cpg: int, s: int) -> bool:
        return (self.kc, self.hs) == (cpg, s)


def _powers(limit: int) -> list[int]:
    return sorted({1 << i for i in range(limit.bit_length())} | {limit})


def group_norm_tile(
    target: Target, dims: tuple[int, int, int, int], isz: int, activation: list[Step]
) -> GroupTiling:
    """The tiling with the fewest estimated cycles whose tiles fit UB: two (x, y) tiles, a
    scratch tile if the activation needs one, the scale and bias chunks and three columns."""
    n, groups, cpg, s = dims
    tiles = 2 + any(step.needs_scratch for step in activation)
    vec_ops = VECTOR_PASSES + 4 * len(activation)
    ub, best = target.capacity_of("ub"), None

    def consider(tg: int, kc: int, hs: int) -> None:
        nonlocal best
        tile = tg * kc * hs * isz
        if tiles * aligned(tile) + 2 * aligned(tg * kc * isz) + 3 * aligned(tg * isz) > ub:
            return
        count = n * groups // tg
        blocks = min(count, target.vector_cores)
        share = min(target.rate("hbm", "ub"), hbm_share(target, blocks))
        chunks = -(-cpg // kc) * -(-s // hs)
        loads = 1 if chunks == 1 else 3
        per_chunk = (loads + 1) * tile / share + vec_ops * tile / 256 + 8 * ISSUE
        cycles = -(-count // blocks) * chunks * per_chunk
        if best is None or cycles < best[0]:
            best = (cycles, GroupTiling(tg, kc, hs))

    for tg in (d for d in range(1, groups + 1) if groups % d == 0):
        consider(tg, cpg, s)
    if best is None:  # a group larger than UB: chunks of whole pixel rows, else of pixels
        for kc in _powers(cpg):
            consider(1, kc, s)
        for hs in _powers(s):
            consider(1, 1, hs)
    if best is None:
        raise UnsupportedError("not even one pixel of a group fits the unified buffer")
    return best[1]


class _GroupNormKernel:
    """The buffers, views and loop of one group norm kernel."""

    def __init__(self, op: GroupNormKernelOp, inputs: list[SSAValue], output: SSAValue,
                 target: Target, name: str) -> None:  # fmt: skip
        shape = tuple(inputs[0].type.dims)
        self.element = element = inputs[0].type.element_type
        if str(element) not in ("f16", "f32"):
            raise UnsupportedError(f"'{op.name}' on {element} has no npu lowering")
        self.op = op
        self.groups = op.get_int("num_groups")
        self.n, channels = shape[0], shape[1]
        self.cpg, self.s = channels // self.groups, math.prod(shape[2:])
        self.steps = activation_steps(
            op.activation.data if op.activation else None, op.activation_attrs
        )
        isz = to_numpy_dtype(element_of(op.output.type)).itemsize
        dims = (self.n, self.groups, self.cpg, self.s)
        self.tiling = group_norm_tile(target, dims, isz, self.steps)
        rows = (self.n * self.groups, self.cpg, self.s)
        columns = (self.groups, self.cpg, 1)
        self.views = [
            ReshapeOp(inputs[0], BufferType(rows, element, "hbm")),
            ReshapeOp(inputs[1], BufferType(columns, inputs[1].type.element_type, "hbm")),
            ReshapeOp(inputs[2], BufferType(columns, inputs[2].type.element_type, "hbm")),
            ReshapeOp(output, BufferType(rows, element, "hbm")),
        ]
        self.x, self.scale, self.bias, self.y = (v.result for v in self.views)
        self.count = self.n * self.groups // self.tiling.tg
        self.blocks = min(self.count, target.vector_cores)
        self.kernel = KernelOp(name, self.blocks, fused_from=op.fused_names, kind="group_norm")
        self.b = KernelBuilder(self.kernel)
        tg, kc, hs = self.tiling.tg, self.tiling.kc, self.tiling.hs
        self.xt, self.yt = (self.b.alloc([tg, kc, hs], element, "ub") for _ in range(2))
        self.sc, self.bi = (self.b.alloc([tg, kc, 1], element, "ub") for _ in range(2))
        self.mean, self.var, self.part = (
            self.b.alloc([tg, 1, 1], element, "ub") for _ in range(3)
        )

    def load_x(self, row: Index, c0: Index, h0: Index) -> tuple[Index, Index]:
        """MTE2 loads a chunk of x (zero-padded to the tile); V waits. Returns its extents."""
        b, t = self.b, self.tiling
        ce, he = b.extent(c0, t.kc, self.cpg), b.extent(h0, t.hs, self.s)
        src = [t.tg, ce, he]
        b.dma(self.x, [row, c0, h0], src, self.xt, [0, 0, 0], [t.tg, t.kc, t.hs], pad=0.0)
        return ce, he

    def load_affine(self, g0: Index, c0: Index, ce: Index) -> None:
        window = [self.tiling.tg, self.tiling.kc, 1]
        for value, column in ((self.scale, self.sc), (self.bias, self.bi)):
            self.b.dma(value, [g0, c0, 0], [window[0], ce, 1], column, [0, 0, 0], window, pad=0.0)

    def sum_into(self, acc: SSAValue, source: SSAValue) -> None:
        self.b.add(REDUCE_OPS["reduce_sum"](source, acc, [1, 2]))

    def finish_variance(self) -> None:
        """var (the sum of centred squares) -> rsqrt(var / S + eps), in place."""
        b, var = self.b, self.var
        b.add(SCALAR_OPS["muls"](var, 1.0 / (self.cpg * self.s), var))
        b.add(SCALAR_OPS["adds"](var, self.op.get_float("epsilon"), var))
        b.add(UNARY_OPS["rsqrt"](var, var))

    def normalize_and_store(self, row: Index, c0: Index, h0: Index, extents: tuple) -> None:
        """y = (x - mean, already in xt) * scale * rstd + bias, the activation, then MTE3
        stores the chunk; V first waits for the last store of yt."""
        b, t = self.b, self.tiling
        b.wait_flag("MTE3", "V")
        b.add(BINARY_OPS["mul"](self.sc, self.var, self.sc))
        b.add(BINARY_OPS["mul"](self.xt, self.sc, self.yt))
        b.add(BINARY_OPS["add"](self.yt, self.bi, self.yt))
        apply_steps(b, self.steps, self.yt, {})
        b.sync("V", "MTE3", 1)
        b.dma(self.yt, [0, 0, 0], [t.tg, *extents], self.y, [row, c0, h0])
        b.set_flag("MTE3", "V")


@lowers(GroupNormKernelOp)
def lower_group_norm(
    op: GroupNormKernelOp, inputs: list[SSAValue], output: SSAValue, target: Target, name: str
) -> list[Operation]:
    k = _GroupNormKernel(op, inputs, output, target, name)
    b = k.b
    b.set_flag("V", "MTE2")
    b.set_flag("MTE3", "V")
    with b.loop(b.block_index, k.count, k.blocks) as item:
        row = b.muli(item, k.tiling.tg)
        g0 = b.remui(row, k.groups)
        b.wait_flag("V", "MTE2")
        if k.tiling.whole(k.cpg, k.s):
            _whole_groups(k, row, g0)
        else:
            _streamed_group(k, row, g0)
        b.set_flag("V", "MTE2")
    b.wait_flag("V", "MTE2")
    b.wait_flag("MTE3", "V")
    return [*k.views, k.kernel]


def _whole_groups(k: _GroupNormKernel, row: Index, g0: Index) -> None:
    b, size = k.b, k.cpg * k.s
    k.load_affine(g0, 0, k.cpg)
    extents = k.load_x(row, 0, 0)
    b.sync("MTE2", "V", 1)
    k.sum_into(k.mean, k.xt)
    b.add(SCALAR_OPS["muls"](k.mean, 1.0 / size, k.mean))
    b.add(BINARY_OPS["sub"](k.xt, k.mean, k.xt))
    b.add(BINARY_OPS["mul"](k.xt, k.xt, k.yt))
    k.sum_into(k.var, k.yt)
    k.finish_variance()
    k.normalize_and_store(row, 0, 0, extents)


def _streamed_group(k: _GroupNormKernel, row: Index, g0: Index) -> None:
    """Three passes over the group's chunks: sum, centred squares, normalize (one group an
    item, tg = 1)."""
    b, t = k.b, k.tiling
    per_channel = -(-k.s // t.hs)
    chunks = -(-k.cpg // t.kc) * per_channel

    def passes(body) -> None:  # noqa: ANN001
        b.set_flag("V", "MTE2", 2)
        with b.loop(0, chunks, 1) as j:
            c0 = b.muli(b.divui(j, per_channel), t.kc)
            h0 = b.muli(b.remui(j, per_channel), t.hs)
            b.wait_flag("V", "MTE2", 2)
            body(c0, h0)
            b.set_flag("V", "MTE2", 2)
        b.wait_flag("V", "MTE2", 2)

    def add_sum(acc: SSAValue, centred: bool) -> None:
        if centred:
            b.add(BINARY_OPS["sub"](k.xt, k.mean, k.xt))
            b.add(BINARY_OPS["mul"](k.xt, k.xt, k.xt))
        k.sum_into(k.part, k.xt)
        b.add(BINARY_OPS["add"](acc, k.part, acc))

    def statistics(centred: bool):  # noqa: ANN202
        def body(c0: Index, h0: Index) -> None:
            k.load_x(row, c0, h0)
            b.sync("MTE2", "V", 1)
            add_sum(k.var if centred else k.mean, centred)

        return body

    def normalize(c0: Index, h0: Index) -> None:
        extents = k.load_x(row, c0, h0)
        k.load_affine(g0, c0, extents[0])
        b.sync("MTE2", "V", 1)
        b.add(BINARY_OPS["sub"](k.xt, k.mean, k.xt))
        k.normalize_and_store(row, c0, h0, extents)

    b.add(VecDupOp(0.0, k.mean))
    b.add(VecDupOp(0.0, k.var))
    passes(statistics(centred=False))
    b.add(SCALAR_OPS["muls"](k.mean, 1.0 / (k.cpg * k.s), k.mean))
    passes(statistics(centred=True))
    padded = chunks * t.kc * t.hs - k.cpg * k.s
    if padded:
        b.add(BINARY_OPS["mul"](k.mean, k.mean, k.part))
        b.add(SCALAR_OPS["muls"](k.part, float(padded), k.part))
        b.add(BINARY_OPS["sub"](k.var, k.part, k.var))
    k.finish_variance()
    passes(normalize)
