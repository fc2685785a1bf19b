"""kernel.elementwise -> npu.kernel: (rows, cols) tiles of the output through the vector unit.

The output (..., R, C) is cut into tiles of the last two dims (one leading index per tile); tiles
go round-robin to the blocks. Per tile: MTE2 brings each input's window into UB (an input that
broadcasts along rows or columns brings a (1, c) or (r, 1) window, and the vector ops broadcast
it), the body's ge ops run as vector instructions on whole UB tiles, MTE3 writes the tile back.
Flags order the three pipes; the body's scalar ge ops map one-to-one to `npu.vec_*` ops.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from xdsl.ir import Attribute, SSAValue

from gedialects.errors import UnsupportedError
from gedialects.ge.constant import ConstantOp
from gedialects.ge.types import element_of, shape_of, to_numpy_dtype
from gedialects.kernel.elementwise import ElementwiseOp, YieldOp
from gedialects.npu.ops import KernelOp
from gedialects.npu.vector import BINARY_OPS, SCALAR_OPS, UNARY_OPS, VecCastOp, VecDupOp
from lowering import elementwise_masks as masks
from lowering.gemm_epilogue import broadcast_window
from lowering.npu_builder import Index, KernelBuilder
from lowering.registry import lowers
from lowering.tiling import choose_elementwise_tile
from runtime.targets import Target

COMPOSITE = ("ge.leaky_relu", "ge.clip", "ge.cast", "ge.gelu", "ge.hard_sigmoid", "ge.hard_swish")
COMPOSITE += ("ge.elu", "ge.silu")
BINARY = {"ge.add": "add", "ge.sub": "sub", "ge.mul": "mul", "ge.div": "div", "ge.pow": "pow"}
BINARY |= {"ge.maximum": "max", "ge.minimum": "min"}
UNARY = {
    f"ge.{n}": n
    for n in (
        "relu", "sigmoid", "tanh", "erf", "exp", "log", "sqrt", "reciprocal", "neg", "abs",
        "floor", "ceil", "round", "sin", "cos",
    )
}  # fmt: skip


@dataclass(frozen=True)
class Tile:
    """What a UB buffer of a tile spans: all rows or one, all columns or one; its element."""

    rows: bool
    cols: bool
    element: Attribute

    def dims(self, tr: int, tc: int) -> list[int]:
        return [tr if self.rows else 1, tc if self.cols else 1]

    def join(self, other: Tile, element: Attribute) -> Tile:
        return Tile(self.rows or other.rows, self.cols or other.cols, element)


def _input_tile(shape: tuple[int, ...], out_rank: int, element: Attribute) -> Tile:
    rows = out_rank >= 2 and len(shape) >= 2 and shape[-2] != 1
    return Tile(rows, len(shape) >= 1 and shape[-1] != 1, element)


def plan_body(op: ElementwiseOp, inputs: list[Tile]) -> dict[SSAValue, Tile]:
    """The tile kind of every body value; raises if a body op has no vector form."""
    kinds: dict[SSAValue, Tile] = dict(zip(op.block.args, inputs))
    for body_op in op.block.ops:
        if isinstance(body_op, YieldOp):
            continue
        element = element_of(body_op.results[0].type)
        if isinstance(body_op, ConstantOp):
            kinds[body_op.results[0]] = Tile(False, False, element)
            continue
        if (
            body_op.name not in BINARY
            and body_op.name not in UNARY
            and body_op.name not in COMPOSITE
            and not masks.handles(body_op)
        ):
            raise UnsupportedError(f"no vector lowering of '{body_op.name}' in {op.name}")
        tile = Tile(False, False, element)
        for operand in body_op.operands:
            tile = tile.join(kinds[operand], element)
        kinds[body_op.results[0]] = tile
    return kinds


def _alloc_body(b: KernelBuilder, op: ElementwiseOp, kinds: dict, shape: tuple, out_buf) -> dict:  # noqa: ANN001
    """One UB buffer per body result, allocated once; a full-tile result writes the output.
    A body op that needs a scratch tile finds it under the op itself as key."""
    dsts = {}
    for body_op in op.block.ops:
        if isinstance(body_op, YieldOp):
            break
        scratch = masks.scratch_of(body_op)
        if scratch is not None:
            dims = kinds[scratch[0]].dims(*shape)
            dsts[body_op] = b.alloc(dims, scratch[1], "ub")
        result, kind = body_op.results[0], kinds[body_op.results[0]]
        if result is op.yielded and kind.rows and kind.cols:
            dsts[result] = out_buf
        else:
            dsts[result] = b.alloc(kind.dims(*shape), kind.element, "ub")
    return dsts


def _emit_body(b: KernelBuilder, op: ElementwiseOp, values: dict, dsts: dict):  # noqa: ANN202
    for body_op in op.block.ops:
        if isinstance(body_op, YieldOp):
            return values[body_op.operands[0]]
        result = body_op.results[0]
        dst = dsts[result]
        args = [values[v] for v in body_op.operands]
        name = body_op.name
        if isinstance(body_op, ConstantOp):
            b.add(VecDupOp(body_op.to_numpy().item(), dst))
        elif masks.handles(body_op):
            masks.emit(b, body_op, args, dst, dsts.get(body_op))
        elif name in BINARY:
            b.add(BINARY_OPS[BINARY[name]](args[0], args[1], dst))
        elif name in UNARY:
            b.add(UNARY_OPS[UNARY[name]](args[0], dst))
        elif name == "ge.leaky_relu":
            b.add(SCALAR_OPS["leaky_relu"](args[0], body_op.get_float("alpha"), dst))
        elif name == "ge.cast":
            b.add(VecCastOp(args[0], dst))
        elif name == "ge.gelu":
            _gelu(b, args[0], dst, body_op.get_str("approximate") == "tanh")
        elif name == "ge.silu":
            silu(b, args[0], dst, dst, body_op.gain)
        elif name == "ge.elu":  # alpha (exp(min(x, 0)) - 1), then max with x (alpha <= 1)
            b.add(SCALAR_OPS["mins"](args[0], 0.0, dst))
            b.add(UNARY_OPS["exp"](dst, dst))
            b.add(SCALAR_OPS["adds"](dst, -1.0, dst))
            b.add(SCALAR_OPS["muls"](dst, body_op.get_float("alpha"), dst))
            b.add(BINARY_OPS["max"](dst, args[0], dst))
        elif name in ("ge.hard_sigmoid", "ge.hard_swish"):
            swish = name == "ge.hard_swish"
            alpha = 1 / 6 if swish else body_op.get_float("alpha")
            beta = 0.5 if swish else body_op.get_float("beta")
            b.add(SCALAR_OPS["muls"](args[0], alpha, dst))
            b.add(SCALAR_OPS["adds"](dst, beta, dst))
            b.add(SCALAR_OPS["maxs"](dst, 0.0, dst))
            b.add(SCALAR_OPS["mins"](dst, 1.0, dst))
            if swish:
                b.add(BINARY_OPS["mul"](dst, args[0], dst))
        else:  # ge.clip
            low, high = body_op.properties.get("min"), body_op.properties.get("max")
            src = args[0]
            for fn, bound in (("maxs", low), ("mins", high)):
                if bound is not None:
                    b.add(SCALAR_OPS[fn](src, bound.value.data, dst))
                    src = dst
            if src is not dst:
                b.add(UNARY_OPS["copy"](src, dst))
        values[result] = dst
    raise AssertionError("a kernel.elementwise body ends in kernel.yield")


@dataclass
class _Plan:
    """Everything the tile emitter needs: shapes, tile sizes, and the per-ping buffers."""

    op: ElementwiseOp
    inputs: list[SSAValue]
    output: SSAValue
    in_shapes: list[tuple[int, ...]]
    tiles: list[Tile]
    kinds: dict
    out_shape: tuple[int, ...]
    tr: int
    tc: int


def silu(b: KernelBuilder, x: SSAValue, gate: SSAValue, out: SSAValue, alpha: float) -> None:
    """out = x * sigmoid(alpha x), with sigmoid(alpha x) in `gate` (not x's tile); `out` is
    x (an epilogue, in place) or `gate` (an elementwise body's own result)."""
    if alpha != 1.0:
        b.add(SCALAR_OPS["muls"](x, alpha, gate))
    b.add(UNARY_OPS["sigmoid"](x if alpha == 1.0 else gate, gate))
    b.add(BINARY_OPS["mul"](x, gate, out))


def _gelu(b: KernelBuilder, x: SSAValue, dst: SSAValue, tanh: bool) -> None:
    """x * Phi(x) in place in dst: 0.5 x (1 + erf(x / sqrt 2)), or its tanh approximation."""
    if tanh:
        b.add(BINARY_OPS["mul"](x, x, dst))
        b.add(BINARY_OPS["mul"](dst, x, dst))
        b.add(SCALAR_OPS["muls"](dst, 0.044715, dst))
        b.add(BINARY_OPS["add"](dst, x, dst))
        b.add(SCALAR_OPS["muls"](dst, math.sqrt(2 / math.pi), dst))
        b.add(UNARY_OPS["tanh"](dst, dst))
    else:
        b.add(SCALAR_OPS["muls"](x, 1 / math.sqrt(2), dst))
        b.add(UNARY_OPS["erf"](dst, dst))
    b.add(SCALAR_OPS["adds"](dst, 1.0, dst))
    b.add(BINARY_OPS["mul"](dst, x, dst))
    b.add(SCALAR_OPS["muls"](dst, 0.5, dst))


@lowers(ElementwiseOp)
def lower_elementwise(
    op: ElementwiseOp, inputs: list[SSAValue], output: SSAValue, target: Target, name: str
) -> KernelOp:
    """The npu kernel computing `op` from HBM buffers `inputs` into the HBM buffer `output`.

    The tiles are double-buffered (ping on even steps, pong on odd ones, each with its own
    flags) when two sets of buffers fit UB at a cost-model-chosen size, else single-buffered.
    """
    out_shape = shape_of(op.output.type)
    n = len(out_shape)
    tile_shape = out_shape or (1,)  # a rank-0 result is one 1x1 tile
    rows, cols = (tile_shape[-2] if n >= 2 else 1), tile_shape[-1]
    leading = math.prod(tile_shape[:-2])
    in_shapes = [shape_of(v.type) for v in op.inputs]
    tiles = [_input_tile(s, n, element_of(v.type)) for s, v in zip(in_shapes, op.inputs)]
    kinds = plan_body(op, tiles)
    out_element = element_of(op.output.type)
    out_isz = to_numpy_dtype(out_element).itemsize
    buffers = [(t.rows, t.cols, to_numpy_dtype(t.element).itemsize) for t in kinds.values()]
    for body_op in op.block.ops:  # scratch tiles
        if (scratch := masks.scratch_of(body_op)) is not None:
            t = kinds[scratch[0]]
            buffers.append((t.rows, t.cols, to_numpy_dtype(scratch[1]).itemsize))
    buffers.append((True, True, out_isz))
    hbm_in = [(t.rows, t.cols, to_numpy_dtype(t.element).itemsize) for t in tiles]
    shape = (rows, cols, leading)
    try:
        tiling = choose_elementwise_tile(target, *shape, buffers, hbm_in, out_isz, copies=2)
        pings = (0, 1)
    except ValueError:
        tiling = choose_elementwise_tile(target, *shape, buffers, hbm_in, out_isz, copies=1)
        pings = (0,)
    plan = _Plan(op, inputs, output, in_shapes, tiles, kinds, out_shape, tiling.rows, tiling.cols)
    kernel = KernelOp(name, tiling.blocks, fused_from=op.fused_names, kind="elementwise")
    b = KernelBuilder(kernel)
    bufs = []
    for _ in pings:
        in_bufs = [b.alloc(t.dims(plan.tr, plan.tc), t.element, "ub") for t in tiles]
        out_buf = b.alloc([plan.tr, plan.tc], out_element, "ub")
        bufs.append((in_bufs, out_buf, _alloc_body(b, op, kinds, (plan.tr, plan.tc), out_buf)))
    for p in pings:
        b.set_flag("V", "MTE2", p)
        b.set_flag("MTE3", "V", p)
    ntiles = leading * -(-rows // plan.tr) * -(-cols // plan.tc)
    with b.loop(b.block_index, ntiles, tiling.blocks * len(pings)) as t:
        _emit_tile(b, plan, 0, t, bufs[0])
        if len(pings) == 2:
            t1 = b.addi(t, tiling.blocks)
            with b.when(b.ult(t1, ntiles)):
                _emit_tile(b, plan, 1, t1, bufs[1])
    for p in pings:
        b.wait_flag("V", "MTE2", p)
        b.wait_flag("MTE3", "V", p)
    return kernel


def _emit_tile(b: KernelBuilder, plan: _Plan, p: int, t: Index, bufs: tuple) -> None:
    """Load, compute and store output tile `t` on the buffers and flags of ping `p`."""
    in_bufs, out_buf, dsts = bufs
    shape = plan.out_shape or (1,)
    rows, cols = (shape[-2] if len(shape) >= 2 else 1), shape[-1]
    tr, tc = plan.tr, plan.tc
    nr, nc = -(-rows // tr), -(-cols // tc)
    c0 = b.muli(b.remui(t, nc), tc)
    q = b.divui(t, nc)
    r0 = b.muli(b.remui(q, nr), tr)
    lead: list[Index] = []
    rest: Index = b.divui(q, nr)
    for dim in reversed(shape[:-2]):
        lead.insert(0, b.remui(rest, dim))
        rest = b.divui(rest, dim)
    rext, cext = b.extent(r0, tr, rows), b.extent(c0, tc, cols)
    b.wait_flag("V", "MTE2", p)
    for value, shape, tile, buf in zip(plan.inputs, plan.in_shapes, plan.tiles, in_bufs):
        offsets, sizes = broadcast_window(shape, plan.out_shape, lead, (r0, rext), (c0, cext))
        tile_sizes = [rext if tile.rows else 1, cext if tile.cols else 1]
        b.dma(value, offsets, sizes, buf, [0, 0], tile_sizes)
    b.sync("MTE2", "V", p)
    b.wait_flag("MTE3", "V", p)
    values = dict(zip(plan.op.block.args, in_bufs))
    result = _emit_body(b, plan.op, values, dsts)
    _store_full(b, result, plan.kinds.get(plan.op.yielded), out_buf)
    b.set_flag("V", "MTE2", p)
    b.sync("V", "MTE3", p)
    n = len(plan.out_shape)
    out_off = [*lead, r0, c0][-n:] if n else []
    out_size = [*(1 for _ in lead), rext, cext][-n:] if n else []
    b.dma(out_buf, [0, 0], [rext, cext], plan.output, out_off, out_size)
    b.set_flag("MTE3", "V", p)


def _store_full(b: KernelBuilder, result: SSAValue, kind, out_buf: SSAValue) -> None:  # noqa: ANN001
    """Copy the body's result into the output tile, broadcasting it if it is not full."""
    if result is out_buf:
        return
    if kind is not None and kind.rows and kind.cols:
        b.add(UNARY_OPS["copy"](result, out_buf))
        return
    b.add(VecDupOp(0.0, out_buf))
    b.add(BINARY_OPS["add"](out_buf, result, out_buf))
