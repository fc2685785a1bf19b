"""The numpy meaning of every npu compute instruction (vector, cube, format transfer).

Each function writes its result into the destination array in place, as the instruction writes
its destination buffer. Floating point work follows the buffers' dtypes: fp16 vector ops compute
in fp16, as the vector unit does; the cube multiplies fp16 exactly and accumulates in f32.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy import special

from gedialects.numerics import power
from runtime.npu_access import overwrites
from runtime.npu_batch import batchable

FRACTAL = 16


def _rsqrt(x: np.ndarray) -> np.ndarray:
    return 1.0 / np.sqrt(x)


UNARY: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "copy": lambda x: x,
    "abs": np.abs,
    "neg": np.negative,
    "exp": np.exp,
    "log": np.log,
    "sqrt": np.sqrt,
    "rsqrt": _rsqrt,
    "reciprocal": np.reciprocal,
    "relu": lambda x: np.maximum(x, 0),
    "tanh": np.tanh,
    "sigmoid": special.expit,
    "erf": special.erf,
    "floor": np.floor,
    "ceil": np.ceil,
    "round": np.round,
    "sin": np.sin,
    "cos": np.cos,
    "trunc": np.trunc,
}

BINARY: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "add": np.add,
    "sub": np.subtract,
    "mul": np.multiply,
    "div": np.divide,
    "max": np.maximum,
    "min": np.minimum,
    "pow": power,
    "mod": np.mod,
    "fmod": np.fmod,
}

COMPARE: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "eq": np.equal,
    "ne": np.not_equal,
    "lt": np.less,
    "le": np.less_equal,
    "gt": np.greater,
    "ge": np.greater_equal,
}

SCALAR: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
    "adds": lambda x, s: x + s,
    "muls": lambda x, s: x * s,
    "maxs": np.maximum,
    "mins": np.minimum,
    "leaky_relu": lambda x, s: np.where(x >= 0, x, x * s),
}

REDUCE: dict[str, Callable[..., np.ndarray]] = {
    "reduce_sum": np.sum,
    "reduce_max": np.max,
    "reduce_min": np.min,
    "reduce_prod": np.prod,
}


@overwrites(0)
def store(dst: np.ndarray, value: np.ndarray | float) -> None:
    """dst[...] = value, cast to dst's dtype (the unit writes its own element type)."""
    np.copyto(dst, value, casting="unsafe")


@batchable(0)
@overwrites(0)
def copy(dst: np.ndarray, src: np.ndarray) -> None:
    """A DMA of equal windows: dst = src, converted to dst's dtype."""
    np.copyto(dst, src, casting="unsafe")


@batchable(0)
@overwrites(0)
def pad_copy(dst: np.ndarray, src: np.ndarray, pad: float, head: tuple) -> None:
    """A DMA of a smaller source: dst = pad, then its leading `head` window = src."""
    dst[...] = pad
    np.copyto(dst[(Ellipsis, *head)], src, casting="unsafe")


def atomic_add(dst: np.ndarray, src: np.ndarray) -> None:
    """An atomic-add DMA: dst += src, in dst's dtype (not batchable: stacked windows of
    several cores may overlap, and each must add)."""
    np.add(dst, src.reshape(dst.shape), out=dst, casting="unsafe")


@batchable(0)
@overwrites(0)
def transpose_copy(dst: np.ndarray, src: np.ndarray) -> None:
    """A transposing load: dst = the source window transposed (its last two axes, so that
    stacked windows of a replay's batch transpose each)."""
    np.copyto(dst, np.swapaxes(src, -1, -2), casting="unsafe")


@batchable(0)
@overwrites(0)
def reshape_copy(dst: np.ndarray, src: np.ndarray) -> None:
    """A DMA between windows of equal size and other shapes: a row-major reshaping copy."""
    np.copyto(dst, src.reshape(dst.shape), casting="unsafe")


def unary(fn: str, src: np.ndarray, dst: np.ndarray) -> None:
    store(dst, UNARY[fn](src))


def binary(fn: str, lhs: np.ndarray, rhs: np.ndarray, dst: np.ndarray) -> None:
    store(dst, BINARY[fn](lhs, rhs))


def compare(predicate: str, lhs: np.ndarray, rhs: np.ndarray | float, dst: np.ndarray) -> None:
    store(dst, COMPARE[predicate](lhs, rhs))


def select(mask: np.ndarray, lhs: np.ndarray, rhs: np.ndarray, dst: np.ndarray) -> None:
    store(dst, np.where(mask, lhs, rhs))


def scalar(fn: str, src: np.ndarray, value: float, dst: np.ndarray) -> None:
    store(dst, SCALAR[fn](src, src.dtype.type(value)))


def reduce(fn: str, src: np.ndarray, axes: tuple[int, ...], dst: np.ndarray) -> None:
    store(dst, REDUCE[fn](src, axis=axes, keepdims=True))


def window_view(
    offsets: Sequence[int], strides: Sequence[int], rank: int
) -> Callable[..., np.ndarray]:
    """view(src, shape): src[o0::s0, ...] cut to `shape` (npu.vec_window's read) on the
    trailing `rank` axes of `src` and `shape` (leading ones are a batch of blocks)."""
    starts = [(int(o), int(s)) for o, s in zip(offsets, strides)]

    def view(src: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        lead = src.ndim - rank
        window = (slice(o, o + s * (n - 1) + 1, s) for (o, s), n in zip(starts, shape[lead:]))
        return src[(*[slice(None)] * lead, *window)]

    return view


def window(fn: str, view: np.ndarray, dst: np.ndarray) -> None:
    store(dst, view if fn == "copy" else BINARY[fn](dst, view))


def window_mla(view: np.ndarray, weights: np.ndarray, acc: np.ndarray) -> None:
    """acc += view * weights (npu.vec_window_mla: weights broadcast along the last axis)."""
    store(acc, acc + view * weights)


def cast(src: np.ndarray, dst: np.ndarray) -> None:
    if np.issubdtype(dst.dtype, np.integer) and np.issubdtype(src.dtype, np.floating):
        src = np.rint(src)
    store(dst, src)


@batchable(2)
def mmad(a: np.ndarray, b: np.ndarray, c: np.ndarray, m: int, n: int, k: int, acc: bool) -> None:
    """c[:m, :n] (+)= a[:m, :k] @ b[:k, :n], products and sums in c's dtype (f32 or i32)."""
    lhs = a[..., :m, :k].astype(c.dtype, copy=False)
    rhs = b[..., :k, :n].astype(c.dtype, copy=False)
    if acc:
        c[..., :m, :n] += np.matmul(lhs, rhs)
    else:
        np.matmul(lhs, rhs, out=c[..., :m, :n])


def _mmad_accesses(args: Sequence) -> tuple[list[np.ndarray], list[np.ndarray]]:
    a, b, c, m, n, k, acc = args
    result = c[..., :m, :n]
    return [a[..., :m, :k], b[..., :k, :n], *([result] if acc else [])], [result]


mmad.accesses = _mmad_accesses  # type: ignore[attr-defined]
mmad.writes_exactly = True  # type: ignore[attr-defined]  (`npu_access.accesses`)


@batchable(1)
def img2col(
    src: np.ndarray,
    dst: np.ndarray,
    rows: tuple[int, int],
    cols: tuple[int, int],
    geometry: tuple[tuple[int, ...], ...],
) -> None:
    """dst[:m, :k] = patch matrix of the NC1HWC0 image `src`, rows m0.., columns k0..

    Columns run (c1, kh, kw, c0); only the image rows and C1 slices the window reads are
    padded and gathered (a strided view, one copy), so a K-chunked tile costs its own size.
    """
    (kh, kw), (sh, sw), (pt, _, pl, _), (dh, dw), (ho, wo) = geometry
    (m0, m), (k0, k) = rows, cols
    *lead, _, _, _, _, _ = src.shape  # leading axes: a batch of blocks (`npu_batch`)
    window = _img2col_window(src, rows, cols, geometry)
    if window is None:
        dst[..., :m, :k] = 0
        return
    first, last, g0, g1, top, span, width, rows_in = window
    taps = kh * kw * FRACTAL
    slab = np.zeros((*lead, g1 - g0, span, width, FRACTAL), src.dtype)
    if rows_in is not None:
        r0, right = max(top - pt, 0), rows_in.shape[-2]
        slab[..., r0 + pt - top : r0 + pt - top + rows_in.shape[-3], pl : pl + right, :] = rows_in
    *s_lead, s_c, s_r, s_w, s_e = slab.strides
    patches = np.ndarray(  # a strided view of the slab: (rows, wo, C1, kh, kw, C0)
        (*lead, last - first, wo, g1 - g0, kh, kw, FRACTAL),
        slab.dtype,
        slab,
        0,
        (*s_lead, sh * s_r, sw * s_w, s_c, dh * s_r, dw * s_w, s_e),
    )
    r, c = m0 - first * wo, k0 - g0 * taps
    rows, cols = min(m, (last - first) * wo - r), min(k, (g1 - g0) * taps - c)
    if (c % taps or cols % taps) and (c % FRACTAL or cols % FRACTAL):  # cut through taps
        matrix = patches.reshape(*lead, (last - first) * wo, (g1 - g0) * taps)
        dst[..., :rows, :cols] = matrix[..., r : r + rows, c : c + cols]
    elif c % taps or cols % taps:  # whole taps, cutting a C1 slice
        _patch_taps(patches, dst, r, rows, wo, (c // FRACTAL, (c + cols) // FRACTAL))
    else:
        g = cols // taps
        out = np.reshape(dst[..., :rows, :cols], (*lead, rows, g, kh, kw, FRACTAL), copy=False)
        _patch_rows(patches[..., c // taps : c // taps + g, :, :, :], out, r, rows, wo, 4)
    dst[..., rows:m, :k] = 0  # past the image's last row or its last C1 slice
    dst[..., :rows, cols:k] = 0


def _img2col_window(
    src: np.ndarray, rows: tuple[int, int], cols: tuple[int, int], geometry: tuple
) -> tuple | None:
    """What a tile of `img2col` touches: (first and last output rows, first and last C1
    slices, top padded input row, padded rows, padded width, the window of `src` it reads
    or None when it reads only padding), or None when the tile is past the image."""
    (kh, kw), (sh, sw), (pt, _, pl, _), (dh, dw), (ho, wo) = geometry
    (m0, m), (k0, k) = rows, cols
    _, c1, h, w, _ = src.shape[-5:]
    first, last = m0 // wo, min(ho, -(-(m0 + m) // wo))  # output rows the tile touches
    taps = kh * kw * FRACTAL
    g0, g1 = k0 // taps, min(c1, -(-(k0 + k) // taps))  # C1 slices the columns touch
    if last <= first or g1 <= g0:
        return None
    top, span = first * sh, (last - first - 1) * sh + (kh - 1) * dh + 1  # padded input rows
    width = (wo - 1) * sw + (kw - 1) * dw + 1
    r0, r1 = max(top - pt, 0), min(top + span - pt, h)
    right = min(width - pl, w)
    rows_in = src[..., 0, g0:g1, r0:r1, :right, :] if r1 > r0 and right > 0 else None
    return first, last, g0, g1, top, span, width, rows_in


def _img2col_accesses(args: Sequence) -> tuple[list[np.ndarray], list[np.ndarray]]:
    src, dst, rows, cols, geometry = args  # reads its window of rows, writes dst[:m, :k]
    window = _img2col_window(src, rows, cols, geometry)
    read = [] if window is None or window[-1] is None else [window[-1]]
    return read, [dst[..., : rows[1], : cols[1]]]


img2col.accesses = _img2col_accesses  # type: ignore[attr-defined]
img2col.writes_exactly = True  # type: ignore[attr-defined]  (`npu_access.accesses`)


def _patch_rows(piece: np.ndarray, out: np.ndarray, r: int, rows: int, wo: int, inner: int) -> None:
    """out[:rows] = rows r.. of a patch matrix whose strided view is `piece`, (..., output
    row, wo, *columns) with `inner` column axes, and `out` (..., rows, *columns) the
    destination's rows with the same column axes: copied straight from the view, a partial
    first output row, the whole rows, a partial last one (no patch matrix is built, as a
    reshape of the view would)."""
    columns = (slice(None),) * inner
    column_dims = out.shape[out.ndim - inner :]
    done = 0
    while done < rows:
        row, col = divmod(r + done, wo)
        if col == 0 and rows - done >= wo:
            full = (rows - done) // wo
            block = out[(..., slice(done, done + full * wo), *columns)]
            np.copyto(
                np.reshape(block, (*block.shape[: -inner - 1], full, wo, *column_dims), copy=False),
                piece[(..., slice(row, row + full), slice(None), *columns)],
            )
            done += full * wo
        else:
            span = min(wo - col, rows - done)
            part = piece[(..., row, slice(col, col + span), *columns)]
            out[(..., slice(done, done + span), *columns)] = part
            done += span


def _patch_taps(
    patches: np.ndarray, dst: np.ndarray, r: int, rows: int, wo: int, taps: tuple[int, int]
) -> None:
    """dst[:rows, :cols] = columns of whole taps [t0, t1) (in (C1, kh, kw) order, C0 each)
    of the patch matrix whose (row, wo, C1, kh, kw, C0) strided view is `patches`: each run
    of taps within one kernel row is one strided view, so only the columns asked for are
    copied (a K step that cuts a C1 slice built the slice's whole patch rows before)."""
    *_, kh, kw, c0 = patches.shape
    t, end = taps
    while t < end:
        g, rest = divmod(t, kh * kw)
        i, j = divmod(rest, kw)
        run = min(kw - j, end - t)
        a = (t - taps[0]) * c0
        view = dst[..., :rows, a : a + run * c0]
        out = np.reshape(view, (*dst.shape[:-2], rows, run, c0), copy=False)
        _patch_rows(patches[..., g, i, j : j + run, :], out, r, rows, wo, 2)
        t += run


def trans_data(src: np.ndarray, src_fmt: str, dst: np.ndarray, dst_fmt: str) -> None:
    """Move data between formats; padding (C to C0, matrices to fractals) is zero. Leading
    axes beyond the format's own are a batch of blocks (`npu_batch`)."""
    if dst_fmt == "NC1HWC0":
        *lead, n, c, h, w = src.shape
        c1 = dst.shape[-4]
        padded = np.zeros((*lead, n, c1 * FRACTAL, h, w), dst.dtype)
        padded[..., :c, :, :] = src
        split = padded.reshape(*lead, n, c1, FRACTAL, h, w)
        store(dst, np.moveaxis(split, -3, -1))
    elif src_fmt == "NC1HWC0":
        *lead, n, c1, h, w, c0 = src.shape
        full = np.moveaxis(src, -1, -3).reshape(*lead, n, c1 * c0, h, w)
        store(dst, full[..., : dst.shape[-3], :, :])
    elif dst_fmt == "FRACTAL_NZ":
        dst[...] = 0
        dst[(Ellipsis, *(slice(0, d) for d in src.shape[dst.ndim - src.ndim :]))] = src
    else:
        store(dst, src[(Ellipsis, *(slice(0, d) for d in dst.shape[src.ndim - dst.ndim :]))])
