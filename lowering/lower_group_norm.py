"""kernel.group_norm and kernel.instance_norm -> one vector-unit npu.kernel: statistics per
group, the per-channel affine and the activation applied where the output tile is written.
An instance norm is a group norm of one channel a group (C groups), so it lowers here too.

The input (N, C, *spatial) is viewed as (N*G, C/G, S) in HBM: a row per (image, group), its
C/G channels of S pixels; scale and bias as (G, C/G, 1) columns. Items are rows, round-robin
over the vector cores; tiles are 3-D (groups, channels, pixels), so the statistics reduce
over the last two axes and a channel's scale broadcasts along its pixels.
- whole groups: a tile holds `tg` whole rows (tg divides G, so a tile never spans two
  images); one load serves the mean, the centred variance and the output.
- streamed: a group larger than the unified buffer is one item, walked in (kc channels, hs
  pixels) chunks twice, each walk software-pipelined over two buffer sets
  (`lowering.software_pipeline`: a chunk loads while the vector unit works on the one
  before and MTE3 stores the one before that). The first walk sums x - K and (x - K)^2,
  K the mean of the first chunk (a shift that keeps the one-pass variance from cancelling
  when the mean is large against the spread); chunks are zero-padded to the tile, and the
  padding's share, -K and K^2 per padded element, is taken off. The second normalizes.
- split: groups too few for the cores (at most half as many as vector cores) are each
  walked in chunks split in spans over the cores, in two kernels (`_split_groups`): the
  spans' sums into an HBM buffer of partials, then the normalize walks.
In the normalizing pass y = (x - mean) * (scale * rsqrt(var + eps)) + bias, then the activation
(`lowering.gemm_epilogue`'s steps, so it means what it means in a conv's epilogue), then
MTE3 stores the tile: a GroupNorm + SiLU reads x once per pass and writes y once, where the
unfused form also wrote the normalized tensor and read it back for the affine and the SiLU.
An f16 group norm computes in f32 (as ONNX's stash_type 1 and Ascend's own norm kernels do: a
group of 4 x 128 x 128 already overflows an f16 sum of squares): its tiles load into f16
staging tiles that the vector unit widens, and the output narrows into one before its store.
(tg) or (kc, hs) come from the unified buffer's capacity by an estimate of the slowest core's
HBM and vector time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from xdsl.dialects.builtin import f32
from xdsl.ir import Operation, SSAValue

from gedialects.errors import UnsupportedError
from gedialects.ge.types import to_numpy_dtype
from gedialects.kernel.mirrored import GroupNormKernelOp, InstanceNormKernelOp
from gedialects.npu.attrs import BufferType
from gedialects.npu.buffers import HbmAllocOp, ReshapeOp
from gedialects.npu.launch import KernelOp
from gedialects.npu.vector import (
    BINARY_OPS,
    REDUCE_OPS,
    SCALAR_OPS,
    UNARY_OPS,
    VecCastOp,
    VecDupOp,
)
from lowering.gemm_epilogue import Step, activation_steps, apply_steps
from lowering.npu_builder import Index, KernelBuilder
from lowering.registry import lowers
from lowering.software_pipeline import pipelined
from lowering.tiling import aligned, powers_of_two
from runtime.cost_model import hbm_share
from runtime.targets import Target

Norm = GroupNormKernelOp | InstanceNormKernelOp

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


def group_norm_tile(
    target: Target,
    dims: tuple[int, int, int, int],
    isz: int,
    activation: list[Step],
    staged: int = 0,
    min_chunks: int = 1,
) -> GroupTiling:
    """The tiling with the fewest estimated cycles whose buffers fit UB. Whole groups: an
    (x, y) pair of tiles, a scratch tile if the activation needs one, the scale and bias and
    the columns; a tile's load, vector work and store run one after another. Streamed: two
    sets of them, whose loads (two walks) and store overlap the vector work. `staged`: the
    bytes of an element of the narrow staging tiles (x in, y out; scale and bias columns
    counted at `isz` twice over), 0 if none. `min_chunks`: the fewest chunks a group may be
    walked in (a group split over cores needs two a span)."""
    n, groups, cpg, s = dims
    scratch = any(step.needs_scratch for step in activation)
    vec_ops = VECTOR_PASSES + 4 * len(activation)
    ub, best = target.capacity_of("ub"), None

    def consider(tg: int, kc: int, hs: int) -> None:
        nonlocal best
        tile, whole = tg * kc * hs * isz, (kc, hs) == (cpg, s)
        sets = 1 if whole else 2
        space = sets * (2 + scratch) * aligned(tile) + sets * 4 * aligned(tg * kc * isz)
        space += sets * 2 * aligned(tg * kc * hs * staged)
        if space + 5 * aligned(tg * isz) > ub:
            return
        count = n * groups // tg
        blocks = min(count, target.vector_cores)
        share = min(target.rate("hbm", "ub"), hbm_share(target, blocks))
        chunks = -(-cpg // kc) * -(-s // hs)
        if chunks < min_chunks:
            return
        moved = tile // isz * (staged or isz)  # the bytes a chunk's DMA moves
        hbm = (2 if whole else 3) * moved / share
        vector = (vec_ops + (2 if staged else 0)) * tile / 256
        per_chunk = (hbm + vector if whole else max(hbm, vector)) + 8 * ISSUE
        cycles = -(-count // blocks) * chunks * per_chunk
        if best is None or cycles < best[0]:
            best = (cycles, GroupTiling(tg, kc, hs))

    for tg in (d for d in range(1, groups + 1) if groups % d == 0):
        consider(tg, cpg, s)
    for kc in powers_of_two(cpg):  # chunks of whole pixel rows, else of pixels
        if kc < cpg:
            consider(1, kc, s)
    for hs in powers_of_two(s):
        if hs < s:
            consider(1, 1, hs)
    if best is None:
        raise UnsupportedError("not even one pixel of a group fits the unified buffer")
    return best[1]


class _GroupNormKernel:
    """The views, buffers and shared steps of one group norm kernel. Whole groups use set 0
    of the tiles only; streamed groups both sets."""

    def __init__(
        self,
        op: Norm,
        inputs: list[SSAValue],
        output: SSAValue,
        target: Target,
        name: str,
        parts: int = 1,
    ) -> None:
        shape = tuple(inputs[0].type.dims)
        source = inputs[0].type.element_type
        if str(source) not in ("f16", "f32"):
            raise UnsupportedError(f"'{op.name}' on {source} has no npu lowering")
        element = f32  # the statistics and the affine: f16 only staged (see the module doc)
        staged = 0 if source == f32 else to_numpy_dtype(source).itemsize
        self.op = op
        self.n, self.groups, self.cpg, self.s = _grouping(op, shape)
        grouped = isinstance(op, GroupNormKernelOp)
        activation = op.activation if grouped else None
        self.steps = activation_steps(
            activation.data if activation else None, op.activation_attrs if grouped else None
        )
        dims = (self.n, self.groups, self.cpg, self.s)
        chunks = 2 * parts if parts > 1 else 1  # two a span when split
        t = self.tiling = group_norm_tile(target, dims, 4, self.steps, staged, chunks)
        self.whole = t.whole(self.cpg, self.s)
        rows = (self.n * self.groups, self.cpg, self.s)
        columns = (self.groups, self.cpg, 1)
        self.views = [
            ReshapeOp(inputs[0], BufferType(rows, source, "hbm")),
            ReshapeOp(inputs[1], BufferType(columns, source, "hbm")),
            ReshapeOp(inputs[2], BufferType(columns, source, "hbm")),
            ReshapeOp(output, BufferType(rows, source, "hbm")),
        ]
        self.x, self.scale, self.bias, self.y = (v.result for v in self.views)
        self.parts = parts
        self.count = self.n * self.groups // t.tg * parts
        self.blocks = min(self.count, target.vector_cores)
        self.kernel = KernelOp(name, self.blocks, fused_from=op.fused_names, kind=op.name[7:])
        b = self.b = KernelBuilder(self.kernel)
        sets = range(1 if self.whole else 2)
        self.xs = [b.alloc([t.tg, t.kc, t.hs], element, "ub") for _ in sets]
        self.ys = [b.alloc([t.tg, t.kc, t.hs], element, "ub") for _ in sets]
        self.scs = [b.alloc([t.tg, t.kc, 1], element, "ub") for _ in sets]
        self.bis = [b.alloc([t.tg, t.kc, 1], element, "ub") for _ in sets]
        # the tiles DMAs move: narrow staging ones for f16, else the tiles themselves
        narrow = (lambda dims: [b.alloc(dims, source, "ub") for _ in sets]) if staged else None
        self.xs_in = narrow([t.tg, t.kc, t.hs]) if narrow else self.xs
        self.ys_out = narrow([t.tg, t.kc, t.hs]) if narrow else self.ys
        self.scs_in = narrow([t.tg, t.kc, 1]) if narrow else self.scs
        self.bis_in = narrow([t.tg, t.kc, 1]) if narrow else self.bis
        self.mean, self.var, self.part, self.shift = (
            b.alloc([t.tg, 1, 1], element, "ub") for _ in range(4)
        )
        self.per_channel = -(-self.s // t.hs)
        self.chunks = -(-self.cpg // t.kc) * self.per_channel

    def chunk(self, i: Index) -> tuple[Index, Index, Index, Index]:
        """(c0, h0, ce, he): where chunk i of a group starts and its extents."""
        b, t = self.b, self.tiling
        c0 = b.muli(b.divui(i, self.per_channel), t.kc)
        h0 = b.muli(b.remui(i, self.per_channel), t.hs)
        return c0, h0, b.extent(c0, t.kc, self.cpg), b.extent(h0, t.hs, self.s)

    def load_x(self, row: Index, where: tuple, s: int = 0) -> None:
        """MTE2 loads a chunk of x into set s, zero-padded to the tile."""
        t = self.tiling
        c0, h0, ce, he = where
        tile = [t.tg, t.kc, t.hs]
        self.b.dma(self.x, [row, c0, h0], [t.tg, ce, he], self.xs_in[s], [0, 0, 0], tile, pad=0.0)

    def load_affine(self, g0: Index, c0: Index, ce: Index, s: int = 0) -> None:
        window = [self.tiling.tg, self.tiling.kc, 1]
        for value, column in ((self.scale, self.scs_in[s]), (self.bias, self.bis_in[s])):
            self.b.dma(value, [g0, c0, 0], [window[0], ce, 1], column, [0, 0, 0], window, pad=0.0)

    def widen(self, s: int = 0, affine: bool = False) -> None:
        """V converts set s's staged x (and the scale and bias) to f32, if staged."""
        pairs = [(self.xs_in, self.xs)]
        pairs += [(self.scs_in, self.scs), (self.bis_in, self.bis)] if affine else []
        for narrow, wide in pairs:
            if narrow is not wide:
                self.b.add(VecCastOp(narrow[s], wide[s]))

    def sum_into(self, acc: SSAValue, source: SSAValue) -> None:
        self.b.add(REDUCE_OPS["reduce_sum"](source, acc, [1, 2]))

    def rstd(self) -> None:
        """var (the biased variance) -> rsqrt(var + eps), in place."""
        b, var = self.b, self.var
        b.add(SCALAR_OPS["adds"](var, self.op.get_float("epsilon"), var))
        b.add(UNARY_OPS["rsqrt"](var, var))

    def normalize(self, s: int = 0, centred: bool = False) -> None:
        """y = (x - mean) * scale * rstd + bias, then the activation, in set s (x - mean
        already in the x tile if `centred`)."""
        b, x, y, scale = self.b, self.xs[s], self.ys[s], self.scs[s]
        if not centred:
            b.add(BINARY_OPS["sub"](x, self.mean, x))
        b.add(BINARY_OPS["mul"](scale, self.var, scale))
        b.add(BINARY_OPS["mul"](x, scale, y))
        b.add(BINARY_OPS["add"](y, self.bis[s], y))
        apply_steps(b, self.steps, y, {})
        if self.ys_out is not self.ys:
            b.add(VecCastOp(y, self.ys_out[s]))

    def store(self, row: Index, where: tuple, s: int = 0) -> None:
        c0, h0, ce, he = where
        self.b.dma(self.ys_out[s], [0, 0, 0], [self.tiling.tg, ce, he], self.y, [row, c0, h0])


@lowers(GroupNormKernelOp, InstanceNormKernelOp)
def lower_group_norm(
    op: Norm, inputs: list[SSAValue], output: SSAValue, target: Target, name: str
) -> list[Operation]:
    parts = _parts(_grouping(op, tuple(inputs[0].type.dims)), target)
    if parts > 1:
        return _split_groups(op, inputs, output, target, name, parts)
    k = _GroupNormKernel(op, inputs, output, target, name)
    b = k.b
    b.set_flag("V", "MTE2")
    b.set_flag("MTE3", "V")
    with b.loop(b.block_index, k.count, k.blocks) as item:
        row = b.muli(item, k.tiling.tg)
        g0 = b.remui(row, k.groups)
        b.wait_flag("V", "MTE2")
        if k.whole:
            _whole_groups(k, row, g0)
        else:
            _streamed_group(k, row, g0)
        b.set_flag("V", "MTE2")
    b.wait_flag("V", "MTE2")
    b.wait_flag("MTE3", "V")
    return [*k.views, k.kernel]


MIN_SPAN = 4096
"""Elements a core's span of a split group holds at least: below that, the second kernel and
the first chunk every span reads again cost more than the cores save."""


def _grouping(op: Norm, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """(N, G, C/G, S) of a group norm (an instance norm: G = C) on an (N, C, *spatial) input."""
    channels = shape[1]
    groups = op.get_int("num_groups") if isinstance(op, GroupNormKernelOp) else channels
    return shape[0], groups, channels // groups, math.prod(shape[2:])


def _parts(grouping: tuple[int, int, int, int], target: Target) -> int:
    """How many cores share each group: 1 unless there are at most half as many groups as
    vector cores (GroupNorm(1, C), an instance norm of a few channels, at batch 1), then as
    many as the cores allow with MIN_SPAN elements a span (the group is then walked in at
    least two chunks a span, whether or not it would fit UB whole)."""
    n, groups, cpg, s = grouping
    if 2 * n * groups > target.vector_cores:
        return 1
    return max(1, min(target.vector_cores // (n * groups), cpg * s // MIN_SPAN))


PARTIALS = 4
"""The MTE3 -> V event of the split's partial sums (apart from the walks' flags)."""


def _split_groups(
    op: Norm, inputs: list[SSAValue], output: SSAValue, target: Target, name: str, parts: int
) -> list[Operation]:
    """Groups too few for the cores, each split in `parts` spans of chunks over as many
    cores, in two kernels: `<name>_stats` sums each span (x - K and (x - K)^2, K the first
    chunk's mean, which every span computes alike) into an HBM buffer of partial sums; then
    `<name>` adds a group's partials, takes its mean and rstd, and normalizes its span. Two
    kernels because the cores of one have no barrier between the sums and their use."""
    stats = _GroupNormKernel(op, inputs, output, target, f"{name}_stats", parts)
    norm = _GroupNormKernel(op, inputs, output, target, name, parts)
    partials = HbmAllocOp(BufferType((stats.n * stats.groups, parts, 2), f32, "hbm"))
    per = -(-stats.chunks // parts)

    def span(k: _GroupNormKernel, item: Index) -> tuple[Index, Index, Index, Index]:
        row, part = k.b.divui(item, parts), k.b.remui(item, parts)
        first = k.b.muli(part, per)
        return row, part, first, k.b.minui(k.b.addi(first, per), k.chunks)

    b = stats.b
    b.set_flag("MTE3", "V", PARTIALS)
    with b.loop(b.block_index, stats.count, stats.blocks) as item:
        row, part, first, last = span(stats, item)
        b.wait_flag("MTE3", "V", PARTIALS)
        _shift(stats, row)
        _sum_walk(stats, row, first, last)
        b.sync("V", "MTE3", PARTIALS)
        for index, total in enumerate((stats.mean, stats.var)):
            b.dma(total, [0, 0, 0], [1, 1, 1], partials.buffer, [row, part, index])
        b.set_flag("MTE3", "V", PARTIALS)
    b.wait_flag("MTE3", "V", PARTIALS)

    b = norm.b
    sums = [b.alloc([1, parts, 1], f32, "ub") for _ in range(2)]
    b.set_flag("V", "MTE2", PARTIALS)
    with b.loop(b.block_index, norm.count, norm.blocks) as item:
        row, _, first, last = span(norm, item)
        b.wait_flag("V", "MTE2", PARTIALS)
        _shift(norm, row)
        for index, tile in enumerate(sums):
            b.dma(partials.buffer, [row, 0, index], [1, parts, 1], tile, [0, 0, 0])
        b.sync("MTE2", "V", PARTIALS)
        norm.sum_into(norm.mean, sums[0])
        norm.sum_into(norm.var, sums[1])
        b.set_flag("V", "MTE2", PARTIALS)
        _shifted_moments(norm, norm.cpg * norm.s)
        _normalize_walk(norm, row, b.remui(row, norm.groups), first, last)
    b.wait_flag("V", "MTE2", PARTIALS)
    return [*stats.views, *norm.views, partials, stats.kernel, norm.kernel]


def _whole_groups(k: _GroupNormKernel, row: Index, g0: Index) -> None:
    """One load serves the mean, the centred variance and the output."""
    b, size, x, y = k.b, k.cpg * k.s, k.xs[0], k.ys[0]
    where = (0, 0, k.cpg, k.s)
    k.load_affine(g0, 0, k.cpg)
    k.load_x(row, where)
    b.sync("MTE2", "V", 1)
    k.widen(affine=True)
    k.sum_into(k.mean, x)
    b.add(SCALAR_OPS["muls"](k.mean, 1.0 / size, k.mean))
    b.add(BINARY_OPS["sub"](x, k.mean, x))
    b.wait_flag("MTE3", "V")  # y is the squares' scratch too
    b.add(BINARY_OPS["mul"](x, x, y))
    k.sum_into(k.var, y)
    b.add(SCALAR_OPS["muls"](k.var, 1.0 / size, k.var))
    k.rstd()
    k.normalize(centred=True)
    b.sync("V", "MTE3", 1)
    k.store(row, where)
    b.set_flag("MTE3", "V")


X_FREE, X_LOADED, Y_FREE, Y_READY = 2, 2, 2, 2
"""The streamed walks' flags per buffer set (+ 0 or 1): V -> MTE2 when set s's x tile may
be refilled, MTE2 -> V when it is loaded, MTE3 -> V when its y tile may be rewritten, V ->
MTE3 when it is ready to store (events apart from the item loop's 0 and 1)."""


def _streamed_group(k: _GroupNormKernel, row: Index, g0: Index) -> None:
    """Two pipelined walks over the group's chunks (one group an item, tg = 1): the shifted
    sums, then the normalized output."""
    _shift(k, row)
    _sum_walk(k, row, 0, k.chunks)
    _shifted_moments(k, k.cpg * k.s)
    _normalize_walk(k, row, g0, 0, k.chunks)


def _shift(k: _GroupNormKernel, row: Index) -> None:
    """K, the mean of the group's first chunk (all data: kc <= C/G, hs <= S), and the sums
    set to zero."""
    b = k.b
    k.load_x(row, k.chunk(0))
    b.sync("MTE2", "V", 1)
    k.widen()
    k.sum_into(k.shift, k.xs[0])
    b.add(SCALAR_OPS["muls"](k.shift, 1.0 / (k.tiling.kc * k.tiling.hs), k.shift))
    b.add(VecDupOp(0.0, k.mean))
    b.add(VecDupOp(0.0, k.var))


def _sum_walk(k: _GroupNormKernel, row: Index, first: Index, last: Index) -> None:
    """Chunks [first, last) of the group's row: mean += sum(x - K), var += sum((x - K)^2)."""
    b = k.b

    def load(i: Index, s: int) -> None:
        b.wait_flag("V", "MTE2", X_FREE + s)
        k.load_x(row, k.chunk(i), s)
        b.set_flag("MTE2", "V", X_LOADED + s)

    def accumulate(i: Index, s: int) -> None:
        x = k.xs[s]
        b.wait_flag("MTE2", "V", X_LOADED + s)
        k.widen(s)
        b.add(BINARY_OPS["sub"](x, k.shift, x))
        k.sum_into(k.part, x)
        b.add(BINARY_OPS["add"](k.mean, k.part, k.mean))
        b.add(BINARY_OPS["mul"](x, x, x))
        k.sum_into(k.part, x)
        b.add(BINARY_OPS["add"](k.var, k.part, k.var))
        b.set_flag("V", "MTE2", X_FREE + s)

    pipelined(b, first, last, [(0, load), (1, accumulate)], [("V", "MTE2", X_FREE)])


def _normalize_walk(k: _GroupNormKernel, row: Index, g0: Index, first: Index, last: Index):  # noqa: ANN202
    """Chunks [first, last) normalized (mean and rstd known), with the activation, stored."""
    b = k.b

    def load_with_affine(i: Index, s: int) -> None:
        where = k.chunk(i)
        b.wait_flag("V", "MTE2", X_FREE + s)
        k.load_x(row, where, s)
        k.load_affine(g0, where[0], where[2], s)
        b.set_flag("MTE2", "V", X_LOADED + s)

    def normalize(i: Index, s: int) -> None:
        b.wait_flag("MTE2", "V", X_LOADED + s)
        b.wait_flag("MTE3", "V", Y_FREE + s)
        k.widen(s, affine=True)
        k.normalize(s)
        b.set_flag("V", "MTE2", X_FREE + s)
        b.set_flag("V", "MTE3", Y_READY + s)

    def store(i: Index, s: int) -> None:
        b.wait_flag("V", "MTE3", Y_READY + s)
        k.store(row, k.chunk(i), s)
        b.set_flag("MTE3", "V", Y_FREE + s)

    stages = [(0, load_with_affine), (1, normalize), (2, store)]
    pipelined(b, first, last, stages, [("V", "MTE2", X_FREE), ("MTE3", "V", Y_FREE)])


def _shifted_moments(k: _GroupNormKernel, size: int) -> None:
    """mean (the sum of x - K) and var (of (x - K)^2) -> the mean and rsqrt(var + eps).
    Each zero of the padding added -K and K^2: P padded elements are taken off first."""
    b, shift, mean, var, part = k.b, k.shift, k.mean, k.var, k.part
    padded = k.chunks * k.tiling.kc * k.tiling.hs - size
    if padded:
        b.add(SCALAR_OPS["muls"](shift, float(padded), part))
        b.add(BINARY_OPS["add"](mean, part, mean))
        b.add(BINARY_OPS["mul"](part, shift, part))
        b.add(BINARY_OPS["sub"](var, part, var))
    b.add(SCALAR_OPS["muls"](mean, 1.0 / size, mean))  # d = mean(x - K)
    b.add(SCALAR_OPS["muls"](var, 1.0 / size, var))
    b.add(BINARY_OPS["mul"](mean, mean, part))
    b.add(BINARY_OPS["sub"](var, part, var))  # mean((x - K)^2) - d^2
    b.add(BINARY_OPS["add"](mean, shift, mean))
    k.rstd()
