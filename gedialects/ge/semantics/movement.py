"""Reference semantics of the `ge` data-movement ops, resize's ONNX coordinate modes included."""

from __future__ import annotations

import numpy as np

from gedialects.errors import InterpretationError
from gedialects.ge import ops
from gedialects.ge.ops import slice_extent
from gedialects.ge.semantics.registry import reference


@reference(ops.TransposeOp)
def transpose(op: ops.TransposeOp, x: np.ndarray) -> np.ndarray:
    return np.transpose(x, op.ints("perm"))


@reference(ops.ReshapeOp)
def reshape(op: ops.ReshapeOp, x: np.ndarray) -> np.ndarray:
    return x.reshape(op.ints("shape"))


@reference(ops.ExpandOp)
def expand(op: ops.ExpandOp, x: np.ndarray) -> np.ndarray:
    return np.broadcast_to(x, op.output.type.get_shape()).copy()


@reference(ops.ConcatOp)
def concat(op: ops.ConcatOp, *xs: np.ndarray) -> np.ndarray:
    return np.concatenate(xs, axis=op.get_int("axis"))


@reference(ops.SliceOp)
def slice_(op: ops.SliceOp, x: np.ndarray) -> np.ndarray:
    index = [slice(None)] * x.ndim
    for s, e, a, st in zip(op.ints("starts"), op.ints("ends"), op.ints("axes"), op.ints("steps")):
        a %= x.ndim
        start, stop, count = slice_extent(s, e, st, x.shape[a])
        index[a] = slice(start, start + st * count, st) if count else slice(0, 0)
        if count and st < 0 and start + st * count < 0:
            index[a] = slice(start, None, st)
    return x[tuple(index)]


def _in_range(op: ops.GatherOp | ops.ScatterOp, indices: np.ndarray, axis: int, size: int):
    """`indices` with negative entries counted from `size`; an index outside [-size, size) is
    the data's fault, not ge's: one line, as onnxruntime's error."""
    idx = np.where(indices < 0, indices + size, indices)
    outside = (idx < 0) | (idx >= size)
    if outside.any():
        bad = int(np.asarray(indices)[outside].flat[0])
        raise InterpretationError(
            f"'{op.name}': index {bad} is out of range for axis {axis} of size {size}"
        )
    return idx


@reference(ops.GatherOp)
def gather(op: ops.GatherOp, data: np.ndarray, indices: np.ndarray) -> np.ndarray:
    axis = op.get_int("axis") % data.ndim
    return np.take(data, _in_range(op, indices, axis, data.shape[axis]), axis=axis)


_SCATTER_UFUNCS = {"add": np.add, "mul": np.multiply, "max": np.maximum, "min": np.minimum}


@reference(ops.ScatterOp)
def scatter(
    op: ops.ScatterOp, data: np.ndarray, indices: np.ndarray, updates: np.ndarray
) -> np.ndarray:
    axis = op.get_int("axis") % data.ndim
    size = data.shape[axis]
    idx = _in_range(op, indices, axis, size).reshape(-1)
    outer, inner = int(np.prod(data.shape[:axis])), int(np.prod(data.shape[axis + 1 :]))
    out = data.copy()
    view, rows = out.reshape(outer, size, inner), updates.reshape(outer, idx.size, inner)
    reduction = op.get_str("reduction")
    if reduction == "none":  # each entry takes the last update aimed at it
        last = idx.size - 1 - np.unique(idx[::-1], return_index=True)[1]
        view[:, idx[last], :] = rows[:, last, :]
    else:
        with np.errstate(all="ignore"):
            _SCATTER_UFUNCS[reduction].at(view, (slice(None), idx, slice(None)), rows)
    return out


@reference(ops.SplitOp)
def split(op: ops.SplitOp, x: np.ndarray) -> tuple[np.ndarray, ...]:
    cuts = np.cumsum(op.ints("sizes"))[:-1]
    return tuple(np.split(x, cuts, axis=op.get_int("axis")))


@reference(ops.PadOp)
def pad(op: ops.PadOp, x: np.ndarray) -> np.ndarray:
    pads, r = op.ints("pads"), x.ndim
    crop = tuple(slice(max(0, -pads[i]), x.shape[i] - max(0, -pads[i + r])) for i in range(r))
    x = x[crop]
    widths = [(max(0, pads[i]), max(0, pads[i + r])) for i in range(r)]
    mode = op.get_str("mode")
    if mode == "constant":
        value = np.asarray(op.get_float("value")).astype(x.dtype)
        return np.pad(x, widths, mode="constant", constant_values=value)
    return np.pad(x, widths, mode={"reflect": "reflect", "edge": "edge", "wrap": "wrap"}[mode])


def _source_coords(op: ops.ResizeOp, axis: int, n_in: int, n_out: int) -> np.ndarray:
    scales = op.scales.get_values() if op.scales is not None else None
    scale = float(scales[axis]) if scales is not None else n_out / n_in
    x = np.arange(n_out, dtype=np.float64)
    mode = op.get_str("coordinate_transformation_mode")
    if mode == "half_pixel":
        return (x + 0.5) / scale - 0.5
    if mode == "half_pixel_symmetric":
        adjustment = n_out / (scale * n_in)
        center = n_in / 2
        offset = center * (1 - adjustment)
        return offset + (x + 0.5) / scale - 0.5
    if mode == "pytorch_half_pixel":
        return (x + 0.5) / scale - 0.5 if n_out > 1 else np.zeros_like(x)
    if mode == "align_corners":
        # The spec's length_resized is the output's (integer) length, as onnxruntime, torch
        # and TF take it; ONNX's reference evaluator (and its backend cases) take n_in * scale.
        return x * (n_in - 1) / (n_out - 1) if n_out != 1 else np.zeros_like(x)
    if mode == "asymmetric":
        return x / scale
    if mode == "tf_half_pixel_for_nn":  # TF1's resize_nearest_neighbor(half_pixel_centers)
        return (x + 0.5) / scale
    if mode == "tf_crop_and_resize":  # TF's crop_and_resize: the roi's corners to the ends
        roi = op.roi.get_values()
        start, end = float(roi[axis]), float(roi[axis + len(op.ints("sizes"))])
        if n_out == 1:
            return np.full_like(x, (end - start) * (n_in - 1) / 2 + start * (n_in - 1))
        return start * (n_in - 1) + x * (end - start) * (n_in - 1) / (n_out - 1)
    raise NotImplementedError(f"coordinate_transformation_mode {mode}")


def _cubic_a(op: ops.ResizeOp) -> float:
    return op.get_float("cubic_coeff_a") if op.cubic_coeff_a is not None else -0.75


def _excludes_outside(op: ops.ResizeOp) -> bool:
    return op.exclude_outside is not None and bool(op.get_int("exclude_outside"))


def _keys(d: np.ndarray, a: float) -> np.ndarray:
    """Keys' cubic convolution kernel with coefficient `a` at distances `d`."""
    d = np.abs(d)
    near = ((a + 2) * d - (a + 3)) * d * d + 1
    far = ((a * d - 5 * a) * d + 8 * a) * d - 4 * a
    return np.where(d <= 1, near, np.where(d < 2, far, 0.0))


def _left_neighbour(coords: np.ndarray) -> np.ndarray:
    """The pixel left of each coordinate, or the one before it at a whole coordinate (ONNX's
    reference takes the ratio in (0, 1])."""
    return np.where(coords == np.floor(coords), coords - 1, np.floor(coords)).astype(np.int64)


def _cubic_weights(op: ops.ResizeOp, coords: np.ndarray, n_in: int) -> np.ndarray:
    """(n_out, n_in) weights of ONNX's cubic resize: four taps around each source coordinate,
    the one at or left of it second; edge taps repeat the border unless `exclude_outside`."""
    a = _cubic_a(op)
    exclude = _excludes_outside(op)
    base = _left_neighbour(coords)
    weights = np.zeros((len(coords), n_in))
    rows = np.arange(len(coords))
    taps = [base + k for k in (-1, 0, 1, 2)]
    tap_weights = [_keys(coords - t, a) for t in taps]
    if exclude:
        inside = [(t >= 0) & (t < n_in) for t in taps]
        tap_weights = [w * m for w, m in zip(tap_weights, inside)]
        total = sum(tap_weights)
        tap_weights = [w / total for w in tap_weights]
    for t, w in zip(taps, tap_weights):
        np.add.at(weights, (rows, np.clip(t, 0, n_in - 1)), w)
    return weights


def _antialiased(op: ops.ResizeOp, scales, axis: int, n_in: int, n_out: int) -> bool:  # noqa: ANN001
    """Whether `axis` shrinks under an antialiased linear or cubic resize."""
    if op.antialias is None or not op.get_int("antialias"):
        return False
    scale = float(scales[axis]) if scales is not None else n_out / n_in
    return scale < 1.0 and op.get_str("mode") in ("linear", "cubic")


def _antialias_weights(op: ops.ResizeOp, coords: np.ndarray, n_in: int, scale: float) -> np.ndarray:
    """(n_out, n_in) weights of ONNX's antialiased linear or cubic downscaling: the filter
    stretched by 1 / scale over 2 - 2 * start taps around each source coordinate (the pixel
    at or left of it counted as the left neighbour, as ONNX's reference does), normalized to
    sum 1; border taps repeat the edge unless `exclude_outside` drops them."""
    cubic = op.get_str("mode") == "cubic"
    start = int(np.floor((-2 if cubic else -1) / scale) + 1)
    taps = np.arange(start, 2 - start)
    base = _left_neighbour(coords)
    d = (taps[None, :] - (coords - base)[:, None]) * scale
    coeffs = _keys(d, _cubic_a(op)) if cubic else np.clip(1 - np.abs(d), 0, 1)
    coeffs = coeffs / coeffs.sum(axis=1, keepdims=True)
    index = base[:, None] + taps[None, :]
    if _excludes_outside(op):
        coeffs = np.where((index >= 0) & (index < n_in), coeffs, 0.0)
        coeffs = coeffs / coeffs.sum(axis=1, keepdims=True)
    weights = np.zeros((len(coords), n_in))
    rows = np.repeat(np.arange(len(coords)), len(taps))
    np.add.at(weights, (rows, np.clip(index, 0, n_in - 1).ravel()), coeffs.ravel())
    return weights


def _resize_axis(
    op: ops.ResizeOp,
    out: np.ndarray,
    axis: int,
    coords: np.ndarray,
    scales,  # noqa: ANN001
    n_in: int,
    n_out: int,
) -> np.ndarray:
    """`out` resized along `axis` to the source coordinates `coords`."""
    if op.get_str("mode") == "nearest":
        rounding = op.get_str("nearest_mode")
        idx = {
            "round_prefer_floor": lambda c: np.ceil(c - 0.5),
            "round_prefer_ceil": lambda c: np.floor(c + 0.5),
            "floor": np.floor,
            "ceil": np.ceil,
        }[rounding](coords)
        return np.take(out, np.clip(idx, 0, n_in - 1).astype(np.int64), axis=axis)
    if _antialiased(op, scales, axis, n_in, n_out):
        scale = float(scales[axis]) if scales is not None else n_out / n_in
        weights = _antialias_weights(op, coords, n_in, scale)
        return np.moveaxis(np.tensordot(weights, out, axes=([1], [axis])), 0, axis)
    if op.get_str("mode") == "cubic":
        weights = _cubic_weights(op, coords, n_in)
        return np.moveaxis(np.tensordot(weights, out, axes=([1], [axis])), 0, axis)
    coords = np.clip(coords, 0, n_in - 1)
    lo = np.floor(coords).astype(np.int64)
    hi = np.minimum(lo + 1, n_in - 1)
    frac = (coords - lo).reshape([-1 if i == axis else 1 for i in range(out.ndim)])
    return np.take(out, lo, axis=axis) * (1 - frac) + np.take(out, hi, axis=axis) * frac


@reference(ops.ResizeOp)
def resize(op: ops.ResizeOp, x: np.ndarray) -> np.ndarray:
    out = x.astype(np.float64) if op.get_str("mode") in ("linear", "cubic") else x
    scales = op.scales.get_values() if op.scales is not None else None
    crop = op.get_str("coordinate_transformation_mode") == "tf_crop_and_resize"
    for axis, (n_in, n_out) in enumerate(zip(x.shape, op.ints("sizes"))):
        if n_in == n_out and (scales is None or scales[axis] == 1) and not crop:
            continue  # as onnxruntime: even tf_half_pixel_for_nn's shift leaves it alone
        coords = _source_coords(op, axis, n_in, n_out)
        out = _resize_axis(op, out, axis, coords, scales, n_in, n_out)
        if crop:  # TF's CropAndResize: points outside the input read the extrapolation value
            outside = (coords < 0) | (coords > n_in - 1)
            shape = [-1 if i == axis else 1 for i in range(x.ndim)]
            out = np.where(outside.reshape(shape), op.get_float("extrapolation_value"), out)
    return out.astype(x.dtype)
