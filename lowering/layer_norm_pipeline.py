"""kernel.layer_norm over whole rows in UB, software-pipelined over two sets of row tiles.

`lowering.lower_rows` runs a tile's load, vector work and store one after another, so with a
few rows a core (BERT: 128 rows of 768 over 32 cores) the HBM channel idles while the vector
unit works. Here a core takes a contiguous run of tiles of tr rows and turn u loads tile u,
normalizes tile u-1 and stores tile u-2, over two sets of (x, y) UB buffers: loads, vector
work and stores of neighbouring tiles overlap, and each store is issued after the next load
(the core's HBM channel serves DMAs in issue order). tr is the cheapest by an estimate of the
busiest of HBM and vector time per tile plus one tile's fill and drain. A folded cast
(`cast_to`) and f16 or bf16 data compute in f32, as the reference (ONNX's stash_type 1) and
Ascend's own norm kernels do: the tiles are f32, with narrow staging tiles the vector unit
converts from after the load and into before the store (one more vector pass each); narrow
scale and bias are converted once, before the tile loop. kernel.rms_norm takes the
same pipeline with its own, shorter vector body (`rms_norm_rows`: no mean, no bias).
"""

from __future__ import annotations

import math

from xdsl.dialects.builtin import f32
from xdsl.ir import Operation, SSAValue

from gedialects.errors import UnsupportedError
from gedialects.ge.types import to_numpy_dtype
from gedialects.kernel.mirrored import RMSNormKernelOp
from gedialects.npu.launch import KernelOp
from gedialects.npu.vector import BINARY_OPS, REDUCE_OPS, SCALAR_OPS, UNARY_OPS, VecCastOp
from lowering.lower_rows import row_tile_window
from lowering.npu_builder import Index, KernelBuilder
from lowering.software_pipeline import pipelined
from lowering.tiling import ALIGN, aligned
from runtime.cost_model import hbm_share, vector_cycles
from runtime.targets import Target

PASSES = 7
"""Vector passes over a tile: two row sums, x - mean, its square, the scaling, scale, bias."""
RMS_PASSES = 4
"""RMS norm's: the square, its row sum, the scaling, the scale."""
X_FREE, X_LOADED, Y_FREE, Y_READY = 0, 2, 4, 6


def layer_norm_tile(
    target: Target,
    rows: int,
    cols: int,
    isz: int,
    params: int,
    staged: int = 0,
    passes: int = PASSES,
    param_bytes: int = 0,
) -> int:
    """Rows per tile: two sets of (x, y) tiles (and of `staged` cast buffers), the (1, C)
    scale/bias (and `param_bytes` of their narrow staging) and the (tr, 1) stats fit UB; the
    cheapest by HBM (loads and stores at the core's share) and vector time."""
    ub = target.capacity_of("ub") - params * aligned(cols * isz) - param_bytes - 4 * ALIGN
    best: tuple[float, int] | None = None
    for tr in sorted({1, 2, 4, 8, 16, 32, 64, rows}):
        if tr > rows or (4 + 2 * staged) * aligned(tr * cols * isz) + 2 * aligned(tr * isz) > ub:
            continue
        tiles = -(-rows // tr)
        cores = min(tiles, target.vector_cores)
        share = min(hbm_share(target, cores), target.rate("hbm", "ub"))
        move = tr * cols * isz / share
        vector = (passes + staged) * vector_cycles(target, tr * cols * isz)
        cycles = -(-tiles // cores) * max(2 * move, vector) + move + vector + move
        if best is None or cycles < best[0]:
            best = (cycles, tr)
    if best is None:
        raise UnsupportedError(
            f"kernel.layer_norm/rms_norm: a row of {cols} elements does not fit the unified buffer"
        )
    return best[1]


def lower_layer_norm(
    op: Operation, inputs: list[SSAValue], output: SSAValue, target: Target, name: str
) -> KernelOp:
    """The kernel of a layer (or RMS) norm over the last axis of the buffers (rank >= 1)."""
    shape = tuple(inputs[0].type.dims)
    rows, cols = (shape[-2] if len(shape) >= 2 else 1), shape[-1]
    lead = shape[:-2]
    source, result = inputs[0].type.element_type, output.type.element_type
    narrow = any(to_numpy_dtype(t).itemsize < 4 for t in (source, result))
    element = f32 if op.properties.get("cast_to") is not None or narrow else source
    isz = to_numpy_dtype(element).itemsize
    staged = (source != element) + (result != element)
    params = [value.type.element_type for value in inputs[1:]]
    widths = [_affine_width(op, value, cols) for value in inputs[1:]]
    param_bytes = sum(aligned(cols * to_numpy_dtype(t).itemsize) for t in params if t != element)
    rms = isinstance(op, RMSNormKernelOp)
    passes = RMS_PASSES if rms else PASSES
    tr = layer_norm_tile(target, rows, cols, isz, len(params), staged, passes, param_bytes)
    nr = -(-rows // tr)
    total = math.prod(lead) * nr
    per = -(-total // min(total, target.vector_cores))
    kernel = KernelOp(name, -(-total // per), fused_from=op.fused_names, kind=op.name[7:])
    b = KernelBuilder(kernel)
    xs = [b.alloc([tr, cols], element, "ub") for _ in (0, 1)]
    ys = [b.alloc([tr, cols], element, "ub") for _ in (0, 1)]
    # a folded cast: f16 staging tiles, converted by the vector unit after load / before store
    xs_in = [b.alloc([tr, cols], source, "ub") for _ in (0, 1)] if source != element else xs
    ys_out = [b.alloc([tr, cols], result, "ub") for _ in (0, 1)] if result != element else ys
    stat = b.alloc([tr, 1], element, "ub")
    affine = [b.alloc([1, w], element, "ub") for w in widths]
    loaded = [
        b.alloc([1, w], t, "ub") if t != element else a for t, w, a in zip(params, widths, affine)
    ]
    for value, buf, w in zip(inputs[1:], loaded, widths):
        dims = list(value.type.dims)
        b.dma(value, [0] * len(dims), dims, buf, [0, 0], [1, w])
    if affine:
        b.sync("MTE2", "V", 8)
    for staging, buf in zip(loaded, affine):
        if staging is not buf:
            b.add(VecCastOp(staging, buf))

    def window(t: Index) -> tuple[list, list, Index]:
        return row_tile_window(b, t, (nr, tr, rows, cols), lead, len(shape))

    def load(t: Index, s: int) -> None:
        offs, sizes, rext = window(t)
        b.wait_flag("V", "MTE2", X_FREE + s)
        b.dma(inputs[0], offs, sizes, xs_in[s], [0, 0], [rext, cols])
        b.set_flag("MTE2", "V", X_LOADED + s)

    def normalize(t: Index, s: int) -> None:
        b.wait_flag("MTE2", "V", X_LOADED + s)
        b.wait_flag("MTE3", "V", Y_FREE + s)
        if xs_in is not xs:
            b.add(VecCastOp(xs_in[s], xs[s]))
        if rms:
            rms_norm_rows(b, op.get_float("epsilon"), (xs[s], stat, ys[s]), affine[0], cols)
        else:
            layer_norm_rows(b, op, (xs[s], stat, ys[s]), affine, cols)
        if ys_out is not ys:
            b.add(VecCastOp(ys[s], ys_out[s]))
        b.set_flag("V", "MTE2", X_FREE + s)
        b.set_flag("V", "MTE3", Y_READY + s)

    def store(t: Index, s: int) -> None:
        offs, sizes, rext = window(t)
        b.wait_flag("V", "MTE3", Y_READY + s)
        b.dma(ys_out[s], [0, 0], [rext, cols], output, offs, sizes)
        b.set_flag("MTE3", "V", Y_FREE + s)

    start = b.muli(b.block_index, per)
    end = b.minui(b.addi(start, per), total)
    # turn u: load u, normalize u - 1, store u - 2
    flags = [("V", "MTE2", X_FREE), ("MTE3", "V", Y_FREE)]
    pipelined(b, start, end, [(0, load), (1, normalize), (2, store)], flags)
    return kernel


def _affine_width(op: Operation, value: SSAValue, cols: int) -> int:
    """A scale or bias is a (1, C) row, or a (1, 1) one of a single element that the vector
    ops broadcast (a scalar scale); other broadcasts within the normalized axes are refused."""
    count = math.prod(value.type.dims)
    if count not in (1, cols):
        dims = "x".join(map(str, value.type.dims))
        raise UnsupportedError(
            f"{op.name}: a scale or bias of shape ({dims}) broadcast within the {cols} "
            "normalized elements has no npu lowering"
        )
    return count


def layer_norm_rows(b: KernelBuilder, op: Operation, bufs: tuple, affine: list, cols: int) -> None:
    """y = (x - mean) * rsqrt(var + eps) * scale (+ bias), statistics per row."""
    x, stat, y = bufs
    b.add(REDUCE_OPS["reduce_sum"](x, stat, [1]))
    b.add(SCALAR_OPS["muls"](stat, 1.0 / cols, stat))
    b.add(BINARY_OPS["sub"](x, stat, y))
    b.add(BINARY_OPS["mul"](y, y, x))
    b.add(REDUCE_OPS["reduce_sum"](x, stat, [1]))
    b.add(SCALAR_OPS["muls"](stat, 1.0 / cols, stat))
    b.add(SCALAR_OPS["adds"](stat, op.get_float("epsilon"), stat))
    b.add(UNARY_OPS["rsqrt"](stat, stat))
    b.add(BINARY_OPS["mul"](y, stat, y))
    b.add(BINARY_OPS["mul"](y, affine[0], y))
    if len(affine) > 1:
        b.add(BINARY_OPS["add"](y, affine[1], y))


def rms_norm_rows(b: KernelBuilder, eps: float, bufs: tuple, scale: SSAValue, cols: int) -> None:
    """y = x * rsqrt(sum(x^2) / C + eps) * scale, statistics per row of the (tr, C) tile."""
    x, stat, y = bufs
    b.add(BINARY_OPS["mul"](x, x, y))
    b.add(REDUCE_OPS["reduce_sum"](y, stat, [1]))
    b.add(SCALAR_OPS["muls"](stat, 1.0 / cols, stat))
    b.add(SCALAR_OPS["adds"](stat, eps, stat))
    b.add(UNARY_OPS["rsqrt"](stat, stat))
    b.add(BINARY_OPS["mul"](x, stat, y))
    b.add(BINARY_OPS["mul"](y, scale, y))

