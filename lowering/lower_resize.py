"""kernel.resize, mode nearest, on the last two axes -> one vector-unit npu.kernel.

Nearest resizing picks one source index per output index on each axis; the maps come from the
op's reference semantics (one meaning, written once), evaluated on an index image. Two map
shapes cover what models use, for every coordinate transform and rounding that yields them:
- upsampling by integer factors (fh, fw), o -> o // f (YOLO/UNet's x2): a tile of input rows
  (lp, th, 1, W, 1) is broadcast against a (1, 1, fh, 1, fw) buffer of -inf by `vec_max` into
  (lp, th, fh, W, fw), which is the output tile row-major; one pass, exact.
- downsampling by integer steps, o -> a * o + c: one strided `vec_window` copy of the band.
Other maps (align_corners, fractional scales) and linear mode are refused: they need per-row
gathers this lowering does not emit.
"""

from __future__ import annotations

import math

import numpy as np
from xdsl.ir import Operation, SSAValue

from gedialects.errors import UnsupportedError
from gedialects.ge.types import element_of, to_numpy_dtype
from gedialects.kernel.mirrored import ResizeKernelOp
from gedialects.kernel.semantics import evaluate
from gedialects.npu.attrs import BufferType
from gedialects.npu.buffers import ReshapeOp
from gedialects.npu.launch import KernelOp
from gedialects.npu.vector import BINARY_OPS, VecDupOp
from gedialects.npu.window import VecWindowOp
from lowering.npu_builder import KernelBuilder
from lowering.registry import lowers
from runtime.cost_model import hbm_share
from runtime.targets import Target


def source_maps(op: ResizeKernelOp) -> tuple[np.ndarray, np.ndarray]:
    """The source row and column of every output row and column (nearest mode), from the
    reference run on an image whose element (h, w) holds h * W + w."""
    shape = tuple(op.input.type.get_shape())
    h, w = shape[-2:]
    index = np.arange(h, dtype=np.float64)[:, None] * w + np.arange(w)
    out = evaluate(op, np.broadcast_to(index, shape))[0]
    first = (0,) * (len(shape) - 2)
    rows, cols = out[(*first, slice(None), 0)] // w, out[(*first, 0)] % w
    return rows.astype(np.int64), cols.astype(np.int64)


def _classify(m: np.ndarray, n_in: int) -> tuple[str, int, int] | None:
    """("up", f, 0) for o -> o // f, ("down", a, c) for o -> a * o + c, else None."""
    o = np.arange(len(m))
    if len(m) % n_in == 0 and (m == o // (len(m) // n_in)).all():
        return "up", len(m) // n_in, 0
    a = int(m[1] - m[0]) if len(m) > 1 else 1
    if a >= 1 and (m == a * o + m[0]).all():
        return "down", a, int(m[0])
    return None


def _tile(target: Target, planes: int, rows: int, row_bytes: int, out_row: int) -> tuple:
    """(planes, rows) per tile with the fewest estimated cycles whose ping/pong buffers fit."""
    ub, best = target.capacity_of("ub"), None
    for lp in {1 << i for i in range(planes.bit_length())} | {planes}:
        for th in {1 << i for i in range(rows.bit_length())} | {rows}:
            need = 2 * (-(-lp * th * row_bytes // 32) + -(-lp * th * out_row // 32)) * 32
            if need + 64 > ub:
                continue
            ntiles = -(-planes // lp) * -(-rows // th)
            blocks = min(ntiles, target.vector_cores)
            share = min(32, hbm_share(target, blocks))
            load, store = lp * th * row_bytes / share, lp * th * out_row / share
            cycles = -(-ntiles // blocks) * (max(load, store) + 40) + load + store
            if best is None or cycles < best[0]:
                best = (cycles, lp, th)
    if best is None:
        raise UnsupportedError("'kernel.resize': one row of the image does not fit UB")
    return best[1], best[2]


def _kinds(op: ResizeKernelOp) -> list | None:
    """The two last axes' map kinds when both are one of this module's shapes, else None."""
    kinds = [_classify(m, n) for m, n in zip(source_maps(op), op.input.type.get_shape()[-2:])]
    if ("up", 1, 0) in kinds and None not in kinds:  # an identity axis goes with either kind
        kinds = [("down", 1, 0) if k == ("up", 1, 0) else k for k in kinds]
        if kinds[0][0] != kinds[1][0]:
            kinds = [("up", 1, 0) if k == ("down", 1, 0) else k for k in kinds]
    return None if None in kinds or kinds[0][0] != kinds[1][0] else kinds


def by_window_maps(op: ResizeKernelOp) -> bool:
    """Whether this module lowers `op`: nearest, float, of rank >= 2 with only the last two
    axes resized, by integer upsampling or strided subsampling (the rest goes to
    `lowering.lower_resize_gemm`)."""
    shape, out = tuple(op.input.type.get_shape()), tuple(op.output.type.get_shape())
    scales = [1.0] * len(shape) if op.scales is None else list(op.scales.get_values())
    if op.get_str("mode") != "nearest" or len(shape) < 2 or shape[:-2] != out[:-2]:
        return False
    if op.get_str("coordinate_transformation_mode") == "tf_crop_and_resize":
        return False
    if to_numpy_dtype(element_of(op.output.type)).kind != "f" or min(shape + out) < 1:
        return False
    return all(s == 1.0 for s in scales[:-2]) and _kinds(op) is not None


@lowers(ResizeKernelOp, when=by_window_maps)
def lower_resize(
    op: ResizeKernelOp, inputs: list[SSAValue], output: SSAValue, target: Target, name: str
) -> list[Operation]:
    shape, out = tuple(op.input.type.get_shape()), tuple(op.output.type.get_shape())
    element = element_of(op.output.type)
    if op.get_str("mode") != "nearest" or to_numpy_dtype(element).kind != "f":
        raise UnsupportedError(f"'{op.name}' {op.get_str('mode')} on {element} has no npu lowering")
    if len(shape) < 2:
        raise UnsupportedError(f"'{op.name}' of rank {len(shape)} has no npu lowering")
    scales = [1.0] * len(shape) if op.scales is None else list(op.scales.get_values())
    if shape[:-2] != out[:-2] or any(s != 1.0 for s in scales[:-2]):
        raise UnsupportedError(f"'{op.name}' of axes before the last two has no npu lowering")
    kinds = _kinds(op)
    if kinds is None:
        raise UnsupportedError(
            f"'{op.name}' nearest {op.get_str('coordinate_transformation_mode')} from "
            f"{shape[-2:]} to {out[-2:]} is neither an integer upsampling nor a strided subsampling"
        )
    planes = math.prod(shape[:-2])
    views = [
        ReshapeOp(buf, BufferType([planes, *dims[-2:]], element, "hbm"))
        for buf, dims in ((inputs[0], shape), (output, out))
    ]
    io = (views[0].result, views[1].result)
    emit = _upsample if kinds[0][0] == "up" else _subsample
    return [*views, emit(op, name, target, (planes, shape[-2:], out[-2:]), kinds, io)]


def _upsample(op, name: str, target: Target, dims: tuple, kinds: list, io: tuple) -> KernelOp:  # noqa: ANN001
    (planes, (h, w), (_, wo)), (fh, fw) = dims, (kinds[0][1], kinds[1][1])
    element, isz = element_of(op.output.type), to_numpy_dtype(element_of(op.output.type)).itemsize
    lp, th = _tile(target, planes, h, w * isz, fh * wo * isz)
    ntiles = -(-planes // lp) * -(-h // th)
    blocks = min(ntiles, target.vector_cores)
    kernel = KernelOp(name, blocks, fused_from=op.fused_names, kind="resize")
    b = KernelBuilder(kernel)
    ones = b.alloc([1, 1, fh, 1, fw], element, "ub")
    b.add(VecDupOp(-float("inf"), ones))
    src = [b.alloc([lp, th, 1, w, 1], element, "ub") for _ in range(2)]
    dst = [b.alloc([lp, th, fh, w, fw], element, "ub") for _ in range(2)]
    for p in (0, 1):
        b.set_flag("V", "MTE2", p)
        b.set_flag("MTE3", "V", p)
    with b.loop(b.block_index, ntiles, blocks * 2) as t:
        for p in (0, 1):
            tp = b.addi(t, blocks * p)
            with b.when(b.ult(tp, ntiles)):
                nr = -(-h // th)
                p0, r0 = b.muli(b.divui(tp, nr), lp), b.muli(b.remui(tp, nr), th)
                pe, re = b.extent(p0, lp, planes), b.extent(r0, th, h)
                b.wait_flag("V", "MTE2", p)
                b.dma(io[0], [p0, r0, 0], [pe, re, w], src[p], [0, 0, 0, 0, 0], [pe, re, 1, w, 1])
                b.sync("MTE2", "V", p)
                b.wait_flag("MTE3", "V", p)
                b.add(BINARY_OPS["max"](src[p], ones, dst[p]))
                b.set_flag("V", "MTE2", p)
                b.sync("V", "MTE3", p)
                out_rows = b.muli(r0, fh)
                b.dma(
                    dst[p],
                    [0] * 5,
                    [pe, re, fh, w, fw],
                    io[1],
                    [p0, out_rows, 0],
                    [pe, b.muli(re, fh), wo],
                )  # noqa: E501
                b.set_flag("MTE3", "V", p)
    for p in (0, 1):
        b.wait_flag("V", "MTE2", p)
        b.wait_flag("MTE3", "V", p)
    return kernel


def _subsample(op, name: str, target: Target, dims: tuple, kinds: list, io: tuple) -> KernelOp:  # noqa: ANN001
    (planes, _, (ho, wo)), ((_, ah, ch), (_, aw, cw)) = dims, kinds
    element, isz = element_of(op.output.type), to_numpy_dtype(element_of(op.output.type)).itemsize
    width = (wo - 1) * aw + 1
    lp, th = _tile(target, planes, ho, ah * width * isz, wo * isz)
    ntiles = -(-planes // lp) * -(-ho // th)
    blocks = min(ntiles, target.vector_cores)
    kernel = KernelOp(name, blocks, fused_from=op.fused_names, kind="resize")
    b = KernelBuilder(kernel)
    band_rows = (th - 1) * ah + 1
    src = [b.alloc([lp, band_rows, width], element, "ub") for _ in range(2)]
    dst = [b.alloc([lp, th, wo], element, "ub") for _ in range(2)]
    for p in (0, 1):
        b.set_flag("V", "MTE2", p)
        b.set_flag("MTE3", "V", p)
    with b.loop(b.block_index, ntiles, blocks * 2) as t:
        for p in (0, 1):
            tp = b.addi(t, blocks * p)
            with b.when(b.ult(tp, ntiles)):
                nr = -(-ho // th)
                p0, o0 = b.muli(b.divui(tp, nr), lp), b.muli(b.remui(tp, nr), th)
                pe, oe = b.extent(p0, lp, planes), b.extent(o0, th, ho)
                rows = b.addi(b.muli(b.subi(oe, 1), ah), 1)
                b.wait_flag("V", "MTE2", p)
                b.dma(
                    io[0],
                    [p0, b.addi(b.muli(o0, ah), ch), cw],
                    [pe, rows, width],
                    src[p],
                    [0, 0, 0],
                )  # noqa: E501
                b.sync("MTE2", "V", p)
                b.wait_flag("MTE3", "V", p)
                b.add(VecWindowOp("copy", src[p], [0, 0, 0], [1, ah, aw], dst[p]))
                b.set_flag("V", "MTE2", p)
                b.sync("V", "MTE3", p)
                b.dma(dst[p], [0, 0, 0], [pe, oe, wo], io[1], [p0, o0, 0])
                b.set_flag("MTE3", "V", p)
    for p in (0, 1):
        b.wait_flag("V", "MTE2", p)
        b.wait_flag("MTE3", "V", p)
    return kernel
