"""kernel.batch_norm (inference, runtime statistics) -> one vector-unit npu.kernel.

The input (N, C, *spatial) is viewed as (N*C, S) rows. A tile is tc channels x ts pixels of one
image, so the per-channel vectors are (tc, 1) columns that broadcast along the pixels (vector
binary ops broadcast as numpy does); tiles go round-robin over the vector cores. Per tile the
channel block's scale, bias, mean and var come in (four small DMAs) and
y = (x - mean) * (scale * rsqrt(var + eps)) + bias, the reference's order of operations.
(tc, ts) come from UB's capacity by an estimate of the slowest core's HBM and vector time.
(kernel.instance_norm, statistics per image and channel, is a group norm of one channel a
group: `lowering.lower_group_norm`.)
"""

from __future__ import annotations

import math

from xdsl.ir import Operation, SSAValue

from gedialects.errors import UnsupportedError
from gedialects.ge.types import element_of, to_numpy_dtype
from gedialects.kernel.mirrored import BatchNormKernelOp
from gedialects.npu.attrs import BufferType
from gedialects.npu.buffers import ReshapeOp
from gedialects.npu.launch import KernelOp
from gedialects.npu.vector import BINARY_OPS, SCALAR_OPS, UNARY_OPS
from lowering.npu_builder import Index, KernelBuilder
from lowering.registry import lowers
from lowering.tiling import aligned, powers_of_two
from runtime.cost_model import hbm_share
from runtime.targets import Target

ISSUE = 40


def norm_tile(
    target: Target, dims: tuple[int, int, int], isz: int, tiles: int, vec_ops: int
) -> tuple[int, int]:
    """(tc, ts) with the fewest estimated cycles whose `tiles` (tc, ts) UB buffers and eight
    (tc, 1) columns fit UB: per tile its HBM load and store, `vec_ops` passes of the vector
    unit and the DMA issue cost."""
    n, c, s = dims
    ub, best = target.capacity_of("ub"), None
    for tc in powers_of_two(c):
        for ts in powers_of_two(s):
            if tiles * aligned(tc * ts * isz) + 8 * aligned(tc * isz) + 64 > ub:
                continue
            count = n * -(-c // tc) * -(-s // ts)
            blocks = min(count, target.vector_cores)
            share = min(target.rate("hbm", "ub"), hbm_share(target, blocks))
            nbytes = tc * ts * isz
            per = 2 * nbytes / share + vec_ops * nbytes / 256 + 6 * ISSUE
            cycles = -(-count // blocks) * per
            if best is None or cycles < best[0]:
                best = (cycles, tc, ts)
    if best is None:
        raise UnsupportedError("a channel's row does not fit the unified buffer")
    return best[1], best[2]


class _NormKernel:
    """The batch norm's tile loop: item -> (image, channel block, pixel chunk)."""

    def __init__(self, op: Operation, name: str, x: SSAValue, target: Target):
        self.op, self.x = op, x
        self.n, self.c = op.input.type.get_shape()[:2]
        self.s = x.type.dims[1]
        self.element = x.type.element_type
        isz = to_numpy_dtype(element_of(op.output.type)).itemsize
        self.tc, self.ts = norm_tile(target, (self.n, self.c, self.s), isz, 2, 3)
        self.nc, self.ns = -(-self.c // self.tc), -(-self.s // self.ts)
        count = self.n * self.nc * self.ns
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
    k = _NormKernel(op, name, x, target)
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
