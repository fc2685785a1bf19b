"""kernel.batch_norm (inference, runtime statistics) and kernel.instance_norm -> one
vector-unit npu.kernel each.

The input (N, C, *spatial) is viewed as (N*C, S) rows. A tile is tc channels x ts pixels of one
image, so the per-channel vectors are (tc, 1) columns that broadcast along the pixels (vector
binary ops broadcast as numpy does); tiles go round-robin over the vector cores.
- batch norm: per tile the channel block's scale, bias, mean and var come in (four small DMAs)
  and y = (x - mean) * (scale * rsqrt(var + eps)) + bias, the reference's order of operations.
- instance norm: statistics per (image, channel) over all S pixels. When a tile holds whole
  rows (ts = S) one load serves the mean, the centred variance and the output; otherwise the
  rows are streamed three times (sum, centred squares, normalize) in ts-pixel chunks, so
  images larger than UB work and the variance stays the centred two-pass one.
(tc, ts) come from UB's capacity by an estimate of the slowest core's HBM and vector time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from xdsl.ir import Operation, SSAValue

from gedialects.errors import UnsupportedError
from gedialects.ge.types import element_of, to_numpy_dtype
from gedialects.kernel.mirrored import BatchNormKernelOp, InstanceNormKernelOp
from gedialects.npu.attrs import BufferType
from gedialects.npu.buffers import ReshapeOp
from gedialects.npu.launch import KernelOp
from gedialects.npu.vector import BINARY_OPS, REDUCE_OPS, SCALAR_OPS, UNARY_OPS, VecDupOp
from lowering.npu_builder import Index, KernelBuilder
from lowering.registry import lowers
from lowering.tiling import aligned
from runtime.cost_model import hbm_share
from runtime.targets import Target

ISSUE = 40


def _powers(limit: int) -> list[int]:
    return sorted({1 << i for i in range(limit.bit_length())} | {limit})


def norm_tile(
    target: Target, dims: tuple[int, int, int], isz: int, tiles: int, vec_ops: int, whole: bool
) -> tuple[int, int]:
    """(tc, ts) with the fewest estimated cycles whose `tiles` (tc, ts) UB buffers and eight
    (tc, 1) columns fit UB: per tile its HBM loads (three passes when rows are chunked for
    instance norm) and store, `vec_ops` passes of the vector unit and the DMA issue cost."""
    n, c, s = dims
    ub, best = target.capacity_of("ub"), None
    for tc in _powers(c):
        for ts in _powers(s) if not whole else [s]:
            if tiles * aligned(tc * ts * isz) + 8 * aligned(tc * isz) + 64 > ub:
                continue
            count = n * -(-c // tc) * -(-s // ts)
            blocks = min(count, target.vector_cores)
            share = min(target.rate("hbm", "ub"), hbm_share(target, blocks))
            loads = 1 if ts == s else 3
            nbytes = tc * ts * isz
            per = (loads + 1) * nbytes / share + vec_ops * nbytes / 256 + 6 * ISSUE
            cycles = -(-count // blocks) * per
            if best is None or cycles < best[0]:
                best = (cycles, tc, ts)
    if best is None:
        raise UnsupportedError("a channel's row does not fit the unified buffer")
    return best[1], best[2]


class _NormKernel:
    """The tile loop shared by both norms: item -> (image, channel block, pixel chunk)."""

    def __init__(self, op: Operation, name: str, x: SSAValue, target: Target, whole: bool):
        self.op, self.x = op, x
        self.n, self.c = op.input.type.get_shape()[:2]
        self.s = x.type.dims[1]
        self.element = x.type.element_type
        isz = to_numpy_dtype(element_of(op.output.type)).itemsize
        vec_ops = 3 if isinstance(op, BatchNormKernelOp) else 7
        self.tc, self.ts = norm_tile(target, (self.n, self.c, self.s), isz, 2, vec_ops, whole)
        self.nc, self.ns = -(-self.c // self.tc), -(-self.s // self.ts)
        count = self.n * self.nc * (self.ns if isinstance(op, BatchNormKernelOp) else 1)
        self.count, self.blocks = count, min(count, target.vector_cores)
        self.kernel = KernelOp(name, self.blocks, fused_from=op.fused_names, kind=op.name[7:])
        self.b = KernelBuilder(self.kernel)

    def column(self) -> SSAValue:
        return self.b.alloc([self.tc, 1], self.element, "ub")

    def tile(self) -> SSAValue:
        return self.b.alloc([self.tc, self.ts], self.element, "ub")

    def load_columns(self, params: list[SSAValue], c0: Index, ce: Index) -> list[SSAValue]:
        cols = [self.column() for _ in params]
        for value, col in zip(params, cols):
            self.b.dma(value, [c0], [ce], col, [0, 0], [ce, 1])
        return cols


def _view(value: SSAValue, dims: tuple[int, ...], ops: list[Operation]) -> SSAValue:
    view = ReshapeOp(value, BufferType(dims, value.type.element_type, "hbm"))
    ops.append(view)
    return view.result


def _views(op: Operation, inputs: list[SSAValue], output: SSAValue, ops: list[Operation]):  # noqa: ANN202
    shape = tuple(inputs[0].type.dims)
    element = element_of(op.output.type)
    if str(element) not in ("f16", "f32"):
        raise UnsupportedError(f"'{op.name}' on {element} has no npu lowering")
    if len(shape) < 2:
        raise UnsupportedError(f"'{op.name}' of rank {len(shape)} has no npu lowering")
    dims = (shape[0] * shape[1], math.prod(shape[2:]))  # rows of (image, channel)
    return _view(inputs[0], dims, ops), _view(output, dims, ops)


@lowers(BatchNormKernelOp)
def lower_batch_norm(
    op: BatchNormKernelOp, inputs: list[SSAValue], output: SSAValue, target: Target, name: str
) -> list[Operation]:
    ops: list[Operation] = []
    x, y = _views(op, inputs, output, ops)
    k = _NormKernel(op, name, x, target, whole=False)
    b, eps = k.b, op.get_float("epsilon")
    xt, yt = k.tile(), k.tile()
    b.set_flag("V", "MTE2")
    b.set_flag("MTE3", "V")
    with b.loop(b.block_index, k.count, k.blocks) as item:
        n, rest = b.divui(item, k.nc * k.ns), b.remui(item, k.nc * k.ns)
        c0, s0 = b.muli(b.divui(rest, k.ns), k.tc), b.muli(b.remui(rest, k.ns), k.ts)
        ce, se = b.extent(c0, k.tc, k.c), b.extent(s0, k.ts, k.s)
        b.wait_flag("V", "MTE2")
        scale, bias, mean, var = k.load_columns(inputs[1:5], c0, ce)
        row = b.addi(b.muli(n, k.c), c0)
        b.dma(x, [row, s0], [ce, se], xt, [0, 0])
        b.sync("MTE2", "V")
        b.wait_flag("MTE3", "V")
        b.add(SCALAR_OPS["adds"](var, eps, var))
        b.add(UNARY_OPS["rsqrt"](var, var))
        b.add(BINARY_OPS["mul"](var, scale, var))
        b.add(BINARY_OPS["sub"](xt, mean, yt))
        b.add(BINARY_OPS["mul"](yt, var, yt))
        b.add(BINARY_OPS["add"](yt, bias, yt))
        b.set_flag("V", "MTE2")
        b.sync("V", "MTE3")
        b.dma(yt, [0, 0], [ce, se], y, [row, s0])
        b.set_flag("MTE3", "V")
    b.wait_flag("V", "MTE2")
    b.wait_flag("MTE3", "V")
    return [*ops, k.kernel]


@lowers(InstanceNormKernelOp)
def lower_instance_norm(
    op: InstanceNormKernelOp, inputs: list[SSAValue], output: SSAValue, target: Target, name: str
) -> list[Operation]:
    ops: list[Operation] = []
    x, y = _views(op, inputs, output, ops)
    try:
        k = _NormKernel(op, name, x, target, whole=True)
    except UnsupportedError:  # a row longer than UB: stream it in chunks
        k = _NormKernel(op, name, x, target, whole=False)
    b = k.b
    bufs = _InstanceBuffers(k.tile(), k.tile(), k.column(), k.column(), k.column())
    b.set_flag("V", "MTE2")
    b.set_flag("MTE3", "V")
    with b.loop(b.block_index, k.count, k.blocks) as item:
        n, c0 = b.divui(item, k.nc), b.muli(b.remui(item, k.nc), k.tc)
        ce = b.extent(c0, k.tc, k.c)
        b.wait_flag("V", "MTE2")
        scale, bias = k.load_columns(inputs[1:3], c0, ce)
        where = (x, y, n, c0, ce)
        if k.ts == k.s:
            _whole_rows(k, op, bufs, (scale, bias), where)
        else:
            _streamed_rows(k, op, bufs, (scale, bias), where)
        b.set_flag("V", "MTE2")
    b.wait_flag("V", "MTE2")
    b.wait_flag("MTE3", "V")
    return [*ops, k.kernel]


@dataclass(frozen=True)
class _InstanceBuffers:
    xt: SSAValue
    yt: SSAValue
    mean: SSAValue
    var: SSAValue
    part: SSAValue


def _chunk(k: _NormKernel, where: tuple, s0: Index, xt: SSAValue) -> Index:
    """MTE2 loads pixels [s0, s0 + ts) of the channel block, zero-padded to ts; V waits."""
    x, _, n, c0, ce = where
    se = k.b.extent(s0, k.ts, k.s)
    row = k.b.addi(k.b.muli(n, k.c), c0)
    k.b.dma(x, [row, s0], [ce, se], xt, [0, 0], [ce, k.ts], pad=0.0)
    k.b.sync("MTE2", "V", 1)
    return se


def _finish(k: _NormKernel, op: Operation, bufs: _InstanceBuffers, params: tuple) -> None:
    """var (the sum of centred squares) -> scale * rsqrt(var / S + eps), in place."""
    b, var = k.b, bufs.var
    b.add(SCALAR_OPS["muls"](var, 1.0 / k.s, var))
    b.add(SCALAR_OPS["adds"](var, op.get_float("epsilon"), var))
    b.add(UNARY_OPS["rsqrt"](var, var))
    b.add(BINARY_OPS["mul"](var, params[0], var))


def _store(k: _NormKernel, bufs: _InstanceBuffers, params: tuple, where: tuple, s0: Index) -> None:
    """yt = xt (centred) * factor + bias, then MTE3 stores it; V waits for the last store."""
    b, (_, y, n, c0, ce) = k.b, where
    b.wait_flag("MTE3", "V")
    b.add(BINARY_OPS["mul"](bufs.xt, bufs.var, bufs.yt))
    b.add(BINARY_OPS["add"](bufs.yt, params[1], bufs.yt))
    b.sync("V", "MTE3", 1)
    se = b.extent(s0, k.ts, k.s)
    b.dma(bufs.yt, [0, 0], [ce, se], y, [b.addi(b.muli(n, k.c), c0), s0])
    b.set_flag("MTE3", "V")


def _whole_rows(k: _NormKernel, op: Operation, bufs: _InstanceBuffers, params, where) -> None:  # noqa: ANN001
    b = k.b
    _chunk(k, where, 0, bufs.xt)
    b.add(REDUCE_OPS["reduce_sum"](bufs.xt, bufs.mean, [1]))
    b.add(SCALAR_OPS["muls"](bufs.mean, 1.0 / k.s, bufs.mean))
    b.add(BINARY_OPS["sub"](bufs.xt, bufs.mean, bufs.xt))
    b.add(BINARY_OPS["mul"](bufs.xt, bufs.xt, bufs.yt))
    b.add(REDUCE_OPS["reduce_sum"](bufs.yt, bufs.var, [1]))
    _finish(k, op, bufs, params)
    _store(k, bufs, params, where, 0)


def _streamed_rows(k: _NormKernel, op: Operation, bufs: _InstanceBuffers, params, where) -> None:  # noqa: ANN001
    """Three passes over the row chunks: sum, centred squares, normalize. The zero padding of
    the last chunk adds (ns * ts - S) * mean^2 to the squares, taken off afterwards."""
    b, xt = k.b, bufs.xt

    def passes(body) -> None:  # noqa: ANN001
        b.set_flag("V", "MTE2", 2)
        with b.loop(0, k.s, k.ts) as s0:
            b.wait_flag("V", "MTE2", 2)
            _chunk(k, where, s0, xt)
            body(s0)
            b.set_flag("V", "MTE2", 2)
        b.wait_flag("V", "MTE2", 2)

    def add_sum(acc: SSAValue, centred: bool) -> None:
        if centred:
            b.add(BINARY_OPS["sub"](xt, bufs.mean, xt))
            b.add(BINARY_OPS["mul"](xt, xt, xt))
        b.add(REDUCE_OPS["reduce_sum"](xt, bufs.part, [1]))
        b.add(BINARY_OPS["add"](acc, bufs.part, acc))

    def normalize(s0: Index) -> None:
        b.add(BINARY_OPS["sub"](xt, bufs.mean, xt))
        _store(k, bufs, params, where, s0)

    b.add(VecDupOp(0.0, bufs.mean))
    b.add(VecDupOp(0.0, bufs.var))
    passes(lambda s0: add_sum(bufs.mean, False))
    b.add(SCALAR_OPS["muls"](bufs.mean, 1.0 / k.s, bufs.mean))
    passes(lambda s0: add_sum(bufs.var, True))
    padded = k.ns * k.ts - k.s
    if padded:
        b.add(BINARY_OPS["mul"](bufs.mean, bufs.mean, bufs.part))
        b.add(SCALAR_OPS["muls"](bufs.part, float(padded), bufs.part))
        b.add(BINARY_OPS["sub"](bufs.var, bufs.part, bufs.var))
    _finish(k, op, bufs, params)
    passes(normalize)
