"""Row kernels -> npu.kernel: softmax and reductions along the last axis, whole rows in UB.

The input (..., R, C) is cut into tiles of tr full rows (one leading index per tile), spread
round-robin over the blocks. Softmax: max per row, subtract, exp, sum per row, divide (the
vector unit broadcasts the (tr, 1) row statistics). Reduce: sum / max / min (mean is sum times
1/C) per row into a (tr, 1) tile. Other axes have no npu lowering yet. A kernel with a
folded cast (`cast_to`) computes in f32: `vec_cast` after an f16 load, before an f16 store.
"""

from __future__ import annotations

import math

from xdsl.dialects.builtin import f32
from xdsl.ir import Attribute, Operation, SSAValue

from gedialects.errors import UnsupportedError
from gedialects.ge.types import element_of, to_numpy_dtype
from gedialects.kernel.mirrored import LayerNormKernelOp, LogSoftmaxKernelOp
from gedialects.kernel.ops import SoftmaxKernelOp
from gedialects.kernel.reductions import ReduceKernelOp
from gedialects.npu.launch import KernelOp
from gedialects.npu.vector import BINARY_OPS, REDUCE_OPS, SCALAR_OPS, UNARY_OPS, VecCastOp
from lowering.npu_builder import Index, KernelBuilder
from runtime.targets import Target

REDUCE_KINDS = {"sum": "reduce_sum", "mean": "reduce_sum", "max": "reduce_max", "min": "reduce_min"}
REDUCE_KINDS["l2"] = "reduce_sum"
REDUCE_KINDS["prod"] = "reduce_prod"


def row_tile_window(
    b: KernelBuilder, t: Index, tiles: tuple[int, int, int, int], lead: tuple, rank: int
) -> tuple[list[Index], list[Index], Index]:
    """The HBM window (offsets, sizes) of row tile `t` of an input of `rank` axes, with its
    row count: tiles are numbered over the leading axes `lead`, then over the `nr` tiles of
    `tr` of the `rows` rows; `tiles` is (nr, tr, rows, cols)."""
    nr, tr, rows, cols = tiles
    r0 = b.muli(b.remui(t, nr), tr)
    index: list[Index] = []
    rest: Index = b.divui(t, nr)
    for dim in reversed(lead):
        index.insert(0, b.remui(rest, dim))
        rest = b.divui(rest, dim)
    rext = b.extent(r0, tr, rows)
    offsets, sizes = [*index, r0, 0], [*(1 for _ in index), rext, cols]
    return offsets[-rank:], sizes[-rank:], rext


def _check(op: Operation, shape: tuple[int, ...]) -> None:
    if isinstance(op, SoftmaxKernelOp | LayerNormKernelOp | LogSoftmaxKernelOp):
        axis = op.get_int("axis") % len(shape)
        if axis != len(shape) - 1:
            raise UnsupportedError(
                f"{op.name} along axis {axis} (not the last) has no npu lowering"
            )
        return
    if reduce_kind(op) not in REDUCE_KINDS:
        raise UnsupportedError(f"{op.name} {op.kind.data} has no npu lowering yet")


def _exact_reduce(op: Operation, element: Attribute) -> bool:
    """Integer sum / max / min / prod, and boolean max (any) / min (all): reductions whose
    vector ops are exact in the element type (mean and l2 would need a float result)."""
    if not isinstance(op, ReduceKernelOp):
        return False
    kind = to_numpy_dtype(element).kind
    allowed = {"i": ("sum", "max", "min", "prod"), "u": ("sum", "max", "min", "prod")}
    return reduce_kind(op) in {**allowed, "b": ("max", "min")}.get(kind, ())


def casts(op: Operation) -> bool:
    """Whether `op` is a casting kernel with a folded cast: it computes in f32 on UB, a
    `vec_cast` after the load of an f16 input and before the store of an f16 result."""
    return op.properties.get("cast_to") is not None


def reduce_kind(op: Operation) -> str:
    """The reduction a reduce or global pool kernel computes (global_avg is a mean)."""
    kind = op.kind.data
    return {"global_avg": "mean", "global_max": "max"}.get(kind, kind)


def rows_in_ub(target: Target, cols: int, itemsize: int, buffers: int) -> int:
    """How many rows of `cols` elements fit UB in each of `buffers` row buffers (beside the
    (rows, 1) statistics)."""
    row_bytes = -(-cols * itemsize // 32) * 32
    return (target.capacity_of("ub") - 64 * buffers) // (buffers * row_bytes + 2 * 32)


def row_buffers(op: Operation, source: Attribute, result: Attribute) -> int:
    """The row buffers `lower_rows` keeps in UB for `op` on `source` rows giving `result`:
    the input (and the result rows of a softmax), each cast one staged beside it."""
    element = f32 if casts(op) else element_of(op.operands[0].type)
    whole = isinstance(op, SoftmaxKernelOp | LogSoftmaxKernelOp)
    return (2 if whole else 1) + (source != element) + (whole and result != element)


def fits_ub(op: Operation, source: Attribute, result: Attribute, cols: int, target: Target) -> bool:
    """Whether `lower_rows` holds a row of `cols` elements of `op` in UB (else: chunks)."""
    element = f32 if casts(op) else element_of(op.operands[0].type)
    itemsize = to_numpy_dtype(element).itemsize
    return rows_in_ub(target, cols, itemsize, row_buffers(op, source, result)) >= 1


def _row_tile(
    target: Target, rows: int, cols: int, itemsize: int, buffers: int, matrices: int = 1
) -> tuple[int, int]:
    """(rows per tile, blocks) for `matrices` (the lead axes' product) of `rows` rows each,
    a tile never crossing matrices: the tile that fits UB and gives the busiest core the
    fewest rows (the most rows per tile among those), the tiles spread over the cores."""
    most = min(rows_in_ub(target, cols, itemsize, buffers), rows)
    if most < 1:
        raise UnsupportedError(f"a row of {cols} elements does not fit the unified buffer")
    cores = target.vector_cores

    def busiest(tr: int) -> int:
        return -(-matrices * -(-rows // tr) // cores) * tr

    candidates = {most, *range(1, min(most, 64) + 1)}
    candidates |= {-(-rows // n) for n in range(1, cores + 1) if -(-rows // n) <= most}
    tr = min(candidates, key=lambda t: (busiest(t), -t))
    return tr, min(matrices * -(-rows // tr), cores)


def lower_rows(
    op: Operation,
    inputs: list[SSAValue],
    output: SSAValue,
    target: Target,
    name: str,
    arranged: bool = False,
) -> KernelOp:
    """The npu kernel of a softmax, layer norm or reduction over the last axis of the buffers
    (the caller reshapes a reduction over trailing axes into one over a last axis)."""
    shape = tuple(inputs[0].type.dims)
    if not shape:
        raise UnsupportedError(f"rank-0 {op.name} has no npu lowering")
    if not arranged:  # else the caller made the op's axis the buffers' last one
        _check(op, shape)
    element = element_of(op.operands[0].type)
    source, result = inputs[0].type.element_type, output.type.element_type
    if casts(op):  # compute in f32 between the casts on load and store
        element = f32
    if to_numpy_dtype(element).kind != "f" and not _exact_reduce(op, element):
        what = f"{op.name} {reduce_kind(op)}" if isinstance(op, ReduceKernelOp) else op.name
        raise UnsupportedError(f"{what} on {element} has no npu lowering")
    rows, cols = (shape[-2] if len(shape) >= 2 else 1), shape[-1]
    lead = shape[:-2]
    if isinstance(op, LayerNormKernelOp):  # software-pipelined over two sets of row tiles
        from lowering.layer_norm_pipeline import lower_layer_norm

        return lower_layer_norm(op, inputs, output, target, name)
    softmax = isinstance(op, SoftmaxKernelOp | LogSoftmaxKernelOp)
    whole = softmax  # the result is whole rows, not one statistic per row
    isz = to_numpy_dtype(element).itemsize
    buffers = row_buffers(op, source, result)
    tr, blocks = _row_tile(target, rows, cols, isz, buffers, math.prod(lead))
    kernel = KernelOp(name, blocks, fused_from=op.fused_names, kind=op.name[7:])
    b = KernelBuilder(kernel)
    x = b.alloc([tr, cols], element, "ub")
    x_in = b.alloc([tr, cols], source, "ub") if source != element else x
    stat = b.alloc([tr, 1], element, "ub")
    y = b.alloc([tr, cols], element, "ub") if whole else stat
    y_out = b.alloc([tr, cols if whole else 1], result, "ub") if result != element else y
    b.set_flag("V", "MTE2")
    b.set_flag("MTE3", "V")
    nr = -(-rows // tr)
    with b.loop(b.block_index, math.prod(lead) * nr, blocks) as t:
        *window, rext = row_tile_window(b, t, (nr, tr, rows, cols), lead, len(shape))
        b.wait_flag("V", "MTE2")
        b.dma(inputs[0], *window, x_in, [0, 0], [rext, cols])
        b.sync("MTE2", "V")
        b.wait_flag("MTE3", "V")
        if x_in is not x:  # the folded input cast, on the vector unit
            b.add(VecCastOp(x_in, x))
        if softmax:
            _softmax(b, op, x, stat, y)
        else:
            _reduce(b, op, x, stat, cols)
        if y_out is not y:  # the folded result cast, before the store
            b.add(VecCastOp(y, y_out))
        b.set_flag("V", "MTE2")
        b.sync("V", "MTE3")
        if whole:
            b.dma(y_out, [0, 0], [rext, cols], output, *window)
        else:
            out_rank = len(output.type.dims)
            off, size = [*window[0][:-1], 0][:out_rank], [*window[1][:-1], 1][:out_rank]
            b.dma(y_out, [0, 0], [rext, 1], output, off, size)
        b.set_flag("MTE3", "V")
    b.wait_flag("V", "MTE2")
    b.wait_flag("MTE3", "V")
    return kernel


def _softmax(b: KernelBuilder, op: Operation, x: SSAValue, stat: SSAValue, y: SSAValue):  # noqa: ANN202
    """softmax(scale x) per row; log_softmax: x - max - log(sum(exp(x - max)))."""
    if isinstance(op, LogSoftmaxKernelOp):
        b.add(REDUCE_OPS["reduce_max"](x, stat, [1]))
        b.add(BINARY_OPS["sub"](x, stat, y))
        b.add(UNARY_OPS["exp"](y, x))
        b.add(REDUCE_OPS["reduce_sum"](x, stat, [1]))
        b.add(UNARY_OPS["log"](stat, stat))
        b.add(BINARY_OPS["sub"](y, stat, y))
        return
    scale = op.get_float("scale")
    if scale != 1.0:
        b.add(SCALAR_OPS["muls"](x, scale, x))
    b.add(REDUCE_OPS["reduce_max"](x, stat, [1]))
    b.add(BINARY_OPS["sub"](x, stat, y))
    b.add(UNARY_OPS["exp"](y, y))
    b.add(REDUCE_OPS["reduce_sum"](y, stat, [1]))
    b.add(BINARY_OPS["div"](y, stat, y))


def _reduce(b: KernelBuilder, op: ReduceKernelOp, x: SSAValue, stat: SSAValue, cols: int):  # noqa: ANN202
    kind = reduce_kind(op)
    if kind == "l2":
        b.add(BINARY_OPS["mul"](x, x, x))
    b.add(REDUCE_OPS[REDUCE_KINDS[kind]](x, stat, [1]))
    if kind == "mean":
        b.add(SCALAR_OPS["muls"](stat, 1.0 / cols, stat))
    elif kind == "l2":
        b.add(UNARY_OPS["sqrt"](stat, stat))
