"""Reference semantics of every `ge` op, in numpy, following ONNX where ONNX defines the op.

One function per op, `REFERENCE[OpClass](op, *arrays) -> array | tuple[array, ...]`. The
interpreter, constant folding and the tests all call these, so an op has one meaning,
written once. Float math runs at least in float32 and is cast back to the result type.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import special

from gedialects.ge import ops
from gedialects.ge.constant import ConstantOp
from gedialects.ge.ops import slice_extent
from gedialects.ge.types import element_of, to_numpy_dtype

Reference = Callable[..., Any]
REFERENCE: dict[type, Reference] = {}


def reference(*op_types: type) -> Callable[[Reference], Reference]:
    def register(fn: Reference) -> Reference:
        for t in op_types:
            REFERENCE[t] = fn
        return fn

    return register


def result_dtype(op: Any, index: int = 0) -> np.dtype:
    return to_numpy_dtype(element_of(op.results[index].type))


def _elementwise(fn: Callable[[np.ndarray], np.ndarray]) -> Reference:
    def run(op: Any, x: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.asarray(fn(x)).astype(result_dtype(op), copy=False)

    return run


def _erf(x: np.ndarray) -> np.ndarray:
    return special.erf(x)


_UNARY: dict[type, Callable[[np.ndarray], np.ndarray]] = {
    ops.ReluOp: lambda x: np.maximum(x, np.zeros((), x.dtype)),
    ops.SigmoidOp: lambda x: special.expit(x),
    ops.TanhOp: np.tanh,
    ops.ErfOp: _erf,
    ops.ExpOp: np.exp,
    ops.LogOp: np.log,
    ops.SqrtOp: np.sqrt,
    ops.ReciprocalOp: np.reciprocal,
    ops.NegOp: np.negative,
    ops.AbsOp: np.abs,
    ops.SignOp: np.sign,
    ops.FloorOp: np.floor,
    ops.CeilOp: np.ceil,
    ops.RoundOp: np.round,
    ops.SinOp: np.sin,
    ops.CosOp: np.cos,
    ops.SoftplusOp: lambda x: np.logaddexp(np.zeros((), x.dtype), x),
    ops.HardSwishOp: lambda x: x * np.clip(x / 6 + 0.5, 0, 1),
    ops.LogicalNotOp: np.logical_not,
}
for _op, _fn in _UNARY.items():
    REFERENCE[_op] = _elementwise(_fn)


@reference(ops.GeluOp)
def gelu(op: ops.GeluOp, x: np.ndarray) -> np.ndarray:
    x64 = x.astype(np.float64)
    if op.get_str("approximate") == "tanh":
        inner = np.sqrt(2 / np.pi) * (x64 + 0.044715 * x64**3)
        y = 0.5 * x64 * (1 + np.tanh(inner))
    else:
        y = 0.5 * x64 * (1 + special.erf(x64 / np.sqrt(2)))
    return y.astype(x.dtype)


@reference(ops.LeakyReluOp)
def leaky_relu(op: ops.LeakyReluOp, x: np.ndarray) -> np.ndarray:
    return np.where(x >= 0, x, x * x.dtype.type(op.get_float("alpha"))).astype(x.dtype)


@reference(ops.EluOp)
def elu(op: ops.EluOp, x: np.ndarray) -> np.ndarray:
    alpha = op.get_float("alpha")
    with np.errstate(over="ignore"):
        return np.where(x > 0, x, alpha * np.expm1(x)).astype(x.dtype)


@reference(ops.HardSigmoidOp)
def hard_sigmoid(op: ops.HardSigmoidOp, x: np.ndarray) -> np.ndarray:
    y = op.get_float("alpha") * x + op.get_float("beta")
    return np.clip(y, 0, 1).astype(x.dtype)


@reference(ops.ClipOp)
def clip(op: ops.ClipOp, x: np.ndarray) -> np.ndarray:
    y = x
    if op.min is not None:
        y = np.maximum(y, np.asarray(op.get_float("min")).astype(x.dtype))
    if op.max is not None:
        y = np.minimum(y, np.asarray(op.get_float("max")).astype(x.dtype))
    return np.asarray(y, dtype=x.dtype)


@reference(ops.CastOp)
def cast(op: ops.CastOp, x: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return x.astype(result_dtype(op))


def _int_div(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    if np.issubdtype(x.dtype, np.integer):
        with np.errstate(divide="ignore"):
            q = np.trunc(np.divide(x.astype(np.float64), y))
        return q.astype(x.dtype)
    return np.divide(x, y)


def _mod(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.mod(x, y) if np.issubdtype(x.dtype, np.integer) else np.fmod(x, y)


_BINARY: dict[type, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    ops.AddOp: np.add,
    ops.SubOp: np.subtract,
    ops.MulOp: np.multiply,
    ops.DivOp: _int_div,
    ops.PowOp: np.power,
    ops.MaximumOp: np.maximum,
    ops.MinimumOp: np.minimum,
    ops.ModOp: _mod,
    ops.PReluOp: lambda x, s: np.where(x >= 0, x, x * s),
    ops.EqualOp: np.equal,
    ops.LessOp: np.less,
    ops.LessEqualOp: np.less_equal,
    ops.GreaterOp: np.greater,
    ops.GreaterEqualOp: np.greater_equal,
    ops.LogicalAndOp: np.logical_and,
    ops.LogicalOrOp: np.logical_or,
    ops.LogicalXorOp: np.logical_xor,
}


def _binary(fn: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Reference:
    def run(op: Any, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.asarray(fn(x, y)).astype(result_dtype(op), copy=False)

    return run


for _op, _fn in _BINARY.items():
    REFERENCE[_op] = _binary(_fn)


@reference(ops.WhereOp)
def where(op: ops.WhereOp, c: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.where(c, x, y).astype(result_dtype(op), copy=False)


@reference(ops.MatMulOp)
def matmul(op: ops.MatMulOp, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.matmul(a, b).astype(result_dtype(op), copy=False)


def conv2d_nchw(
    x: np.ndarray,
    w: np.ndarray,
    strides: tuple[int, ...],
    pads: tuple[int, ...],
    dilations: tuple[int, ...],
    groups: int,
) -> np.ndarray:
    """Direct 2-D convolution by window views and one contraction (im2col on the fly)."""
    n, c = x.shape[:2]
    o, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    span = (dilations[0] * (kh - 1) + 1, dilations[1] * (kw - 1) + 1)
    win = sliding_window_view(xp, span, axis=(2, 3))
    win = win[:, :, :: strides[0], :: strides[1], :: dilations[0], :: dilations[1]]
    if groups == 1:
        y = np.tensordot(win, w, axes=([1, 4, 5], [1, 2, 3]))  # N, OH, OW, O
        return np.ascontiguousarray(y.transpose(0, 3, 1, 2))
    oh, ow = win.shape[2:4]
    if cg == 1 and x.dtype != np.float16:  # depthwise: one multiply-add per kernel tap
        wg = w.reshape(groups, o // groups, kh, kw)
        y = np.zeros((n, groups, o // groups, oh, ow), np.result_type(x, w))
        for i in range(kh):
            for j in range(kw):
                y += win[:, :, None, :, :, i, j] * wg[None, :, :, i, j, None, None]
        return y.reshape(n, o, oh, ow)
    win = win.reshape(n, groups, cg, oh, ow, kh, kw)
    wg = w.reshape(groups, o // groups, cg, kh, kw)
    y = np.einsum("ngchwij,gocij->ngohw", win, wg, optimize=True)
    return y.reshape(n, o, oh, ow)


@reference(ops.Conv2DOp)
def conv2d(op: ops.Conv2DOp, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None):
    y = conv2d_nchw(
        x, w, op.ints("strides"), op.ints("pads"), op.ints("dilations"), op.get_int("groups")
    )
    if b is not None:
        y = y + b.reshape(1, -1, 1, 1)
    return y.astype(result_dtype(op), copy=False)


@reference(ops.ConvTranspose2DOp)
def conv_transpose2d(
    op: ops.ConvTranspose2DOp, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None
) -> np.ndarray:
    n, c, h, wd = x.shape
    _, og, kh, kw = w.shape
    g = op.get_int("groups")
    (sh, sw), (dh, dw) = op.ints("strides"), op.ints("dilations")
    pads, outpad = op.ints("pads"), op.ints("output_padding")
    full_h = sh * (h - 1) + outpad[0] + (kh - 1) * dh + 1
    full_w = sw * (wd - 1) + outpad[1] + (kw - 1) * dw + 1
    out = np.zeros((n, g, og, full_h, full_w), dtype=np.float64)
    xg = x.reshape(n, g, c // g, h, wd).astype(np.float64)
    wg = w.reshape(g, c // g, og, kh, kw).astype(np.float64)
    for i in range(kh):
        for j in range(kw):
            contrib = np.einsum("ngchw,gco->ngohw", xg, wg[:, :, :, i, j])
            out[:, :, :, i * dh : i * dh + sh * (h - 1) + 1 : sh,
                j * dw : j * dw + sw * (wd - 1) + 1 : sw] += contrib  # fmt: skip
    out = out.reshape(n, g * og, full_h, full_w)
    out = out[:, :, pads[0] : full_h - pads[2], pads[1] : full_w - pads[3]]
    if b is not None:
        out = out + b.reshape(1, -1, 1, 1)
    return out.astype(result_dtype(op))


def _channel(v: np.ndarray, rank: int) -> np.ndarray:
    return v.reshape(1, -1, *[1] * (rank - 2))


@reference(ops.BatchNormOp)
def batch_norm(op: ops.BatchNormOp, x, scale, bias, mean, var) -> np.ndarray:
    r = x.ndim
    inv = 1.0 / np.sqrt(var.astype(np.float64) + op.get_float("epsilon"))
    y = (x - _channel(mean, r)) * _channel(inv * scale, r) + _channel(bias, r)
    return y.astype(x.dtype)


@reference(ops.InstanceNormOp)
def instance_norm(op: ops.InstanceNormOp, x, scale, bias) -> np.ndarray:
    axes = tuple(range(2, x.ndim))
    x64 = x.astype(np.float64)
    mean = x64.mean(axis=axes, keepdims=True)
    var = x64.var(axis=axes, keepdims=True)
    y = (x64 - mean) / np.sqrt(var + op.get_float("epsilon"))
    return (y * _channel(scale, x.ndim) + _channel(bias, x.ndim)).astype(x.dtype)


@reference(ops.LayerNormOp)
def layer_norm(op: ops.LayerNormOp, x, scale, bias=None) -> np.ndarray:
    axis = op.get_int("axis") % x.ndim
    axes = tuple(range(axis, x.ndim))
    x32 = x.astype(np.float32) if x.dtype != np.float64 else x
    mean = x32.mean(axis=axes, keepdims=True)
    var = np.square(x32 - mean).mean(axis=axes, keepdims=True)
    y = (x32 - mean) / np.sqrt(var + np.asarray(op.get_float("epsilon"), x32.dtype))
    y = y * scale
    if bias is not None:
        y = y + bias
    return y.astype(x.dtype)


@reference(ops.SoftmaxOp)
def softmax(op: ops.SoftmaxOp, x: np.ndarray) -> np.ndarray:
    axis = op.get_int("axis")
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return (e / e.sum(axis=axis, keepdims=True)).astype(x.dtype)


@reference(ops.LogSoftmaxOp)
def log_softmax(op: ops.LogSoftmaxOp, x: np.ndarray) -> np.ndarray:
    axis = op.get_int("axis")
    shifted = x - x.max(axis=axis, keepdims=True)
    return (shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))).astype(x.dtype)


@reference(ops.LRNOp)
def lrn(op: ops.LRNOp, x: np.ndarray) -> np.ndarray:
    size = op.get_int("size")
    lo, hi = (size - 1) // 2, size - 1 - (size - 1) // 2
    sq = np.pad(np.square(x.astype(np.float64)), [(0, 0), (lo, hi)] + [(0, 0)] * (x.ndim - 2))
    window = sliding_window_view(sq, size, axis=1).sum(axis=-1)
    denom = (op.get_float("bias") + op.get_float("alpha") / size * window) ** op.get_float("beta")
    return (x / denom).astype(x.dtype)


@reference(ops.DropoutOp)
def dropout(op: ops.DropoutOp, x: np.ndarray) -> np.ndarray:
    ratio = op.get_float("ratio")
    if not op.get_flag("is_training") or ratio == 0.0:
        return x
    keep = np.random.default_rng(op.get_int("seed")).random(x.shape) >= ratio
    return (x * keep / (1.0 - ratio)).astype(x.dtype)


def _pool_windows(op: ops.Pool2DOp, x: np.ndarray, fill: float) -> tuple[np.ndarray, np.ndarray]:
    """Window views of the padded input, and of a mask of where the explicit pads end."""
    (kh, kw), (sh, sw) = op.ints("kernel_shape"), op.ints("strides")
    (dh, dw), pads = op.ints("dilations"), op.ints("pads")
    oh, ow = op.output.type.get_shape()[2:]
    span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    extra_h = max(0, (oh - 1) * sh + span_h - (x.shape[2] + pads[0] + pads[2]))
    extra_w = max(0, (ow - 1) * sw + span_w - (x.shape[3] + pads[1] + pads[3]))
    widths = ((0, 0), (0, 0), (pads[0], pads[2] + extra_h), (pads[1], pads[3] + extra_w))
    xp = np.pad(x, widths, constant_values=fill)
    inside = np.pad(np.ones(x.shape[2:], np.float64), widths[2:])
    with_pads = np.pad(
        np.ones((x.shape[2] + pads[0] + pads[2], x.shape[3] + pads[1] + pads[3])),
        ((0, extra_h), (0, extra_w)),
    )

    def view(a: np.ndarray, axes: tuple[int, int]) -> np.ndarray:
        v = sliding_window_view(a, (span_h, span_w), axis=axes)
        return v[..., ::sh, ::sw, ::dh, ::dw][..., :oh, :ow, :, :]

    mask = np.stack([view(inside, (0, 1)), view(with_pads, (0, 1))])
    return view(xp, (2, 3)), mask


@reference(ops.MaxPool2DOp)
def max_pool2d(op: ops.MaxPool2DOp, x: np.ndarray) -> np.ndarray:
    windows, _ = _pool_windows(op, x, -np.inf)
    return windows.max(axis=(-2, -1)).astype(x.dtype)


@reference(ops.AvgPool2DOp)
def avg_pool2d(op: ops.AvgPool2DOp, x: np.ndarray) -> np.ndarray:
    windows, mask = _pool_windows(op, x.astype(np.float64), 0.0)
    count = mask[1 if op.get_flag("count_include_pad") else 0].sum(axis=(-2, -1))
    return (windows.sum(axis=(-2, -1)) / count).astype(x.dtype)


@reference(ops.GlobalAvgPoolOp)
def global_avg_pool(op: ops.GlobalAvgPoolOp, x: np.ndarray) -> np.ndarray:
    return x.mean(axis=tuple(range(2, x.ndim)), keepdims=True).astype(x.dtype)


@reference(ops.GlobalMaxPoolOp)
def global_max_pool(op: ops.GlobalMaxPoolOp, x: np.ndarray) -> np.ndarray:
    return x.max(axis=tuple(range(2, x.ndim)), keepdims=True)


def _extreme(dtype: np.dtype, high: bool) -> Any:
    """The identity of min (`high`) or max over `dtype`: ONNX's value for an empty set."""
    if dtype == np.bool_:
        return high
    if np.issubdtype(dtype, np.integer):
        return np.iinfo(dtype).max if high else np.iinfo(dtype).min
    return np.inf if high else -np.inf


def _reduce(fn: Callable[..., np.ndarray]) -> Reference:
    def run(op: ops.ReduceOp, x: np.ndarray) -> np.ndarray:
        axes = tuple(a % max(x.ndim, 1) for a in op.ints("axes")) or None
        y = fn(x, axis=axes, keepdims=op.get_flag("keepdims"))
        return np.asarray(y).astype(result_dtype(op), copy=False)

    return run


for _op, _fn in {
    ops.ReduceSumOp: np.sum,
    ops.ReduceMeanOp: np.mean,
    ops.ReduceMaxOp: lambda x, **kw: np.max(x, initial=_extreme(x.dtype, False), **kw),
    ops.ReduceMinOp: lambda x, **kw: np.min(x, initial=_extreme(x.dtype, True), **kw),
    ops.ReduceProdOp: np.prod,
    ops.ReduceL2Op: lambda x, **kw: np.sqrt(np.sum(np.square(x.astype(np.float64)), **kw)),
}.items():
    REFERENCE[_op] = _reduce(_fn)


def _arg(fn: Callable[..., np.ndarray]) -> Reference:
    def run(op: ops.ArgReduceOp, x: np.ndarray) -> np.ndarray:
        axis = op.get_int("axis") % x.ndim
        if op.get_flag("select_last_index"):
            y = x.shape[axis] - 1 - fn(np.flip(x, axis), axis=axis, keepdims=True)
        else:
            y = fn(x, axis=axis, keepdims=True)
        if not op.get_flag("keepdims"):
            y = np.squeeze(y, axis)
        return y.astype(np.int64)

    return run


REFERENCE[ops.ArgMaxOp] = _arg(np.argmax)
REFERENCE[ops.ArgMinOp] = _arg(np.argmin)


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


@reference(ops.GatherOp)
def gather(op: ops.GatherOp, data: np.ndarray, indices: np.ndarray) -> np.ndarray:
    axis = op.get_int("axis") % data.ndim
    idx = np.where(indices < 0, indices + data.shape[axis], indices)
    return np.take(data, idx, axis=axis)


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
        # ONNX divides by the unrounded output length (n_in * scale) when scales are given.
        length = n_in * scale if scales is not None else n_out
        return x * (n_in - 1) / (length - 1) if length != 1 else np.zeros_like(x)
    if mode == "asymmetric":
        return x / scale
    raise NotImplementedError(f"coordinate_transformation_mode {mode}")


def _cubic_weights(op: ops.ResizeOp, coords: np.ndarray, n_in: int) -> np.ndarray:
    """(n_out, n_in) weights of ONNX's cubic resize: four taps around each source coordinate,
    the one at or left of it second; edge taps repeat the border unless `exclude_outside`."""
    a = op.get_float("cubic_coeff_a") if op.cubic_coeff_a is not None else -0.75
    exclude = op.exclude_outside is not None and op.get_int("exclude_outside")

    def kernel(d: np.ndarray) -> np.ndarray:
        d = np.abs(d)
        near = ((a + 2) * d - (a + 3)) * d * d + 1
        far = ((a * d - 5 * a) * d + 8 * a) * d - 4 * a
        return np.where(d <= 1, near, np.where(d < 2, far, 0.0))

    base = np.where(coords == np.floor(coords), coords - 1, np.floor(coords)).astype(np.int64)
    weights = np.zeros((len(coords), n_in))
    rows = np.arange(len(coords))
    taps = [base + k for k in (-1, 0, 1, 2)]
    tap_weights = [kernel(coords - t) for t in taps]
    if exclude:
        inside = [(t >= 0) & (t < n_in) for t in taps]
        tap_weights = [w * m for w, m in zip(tap_weights, inside)]
        total = sum(tap_weights)
        tap_weights = [w / total for w in tap_weights]
    for t, w in zip(taps, tap_weights):
        np.add.at(weights, (rows, np.clip(t, 0, n_in - 1)), w)
    return weights


@reference(ops.ResizeOp)
def resize(op: ops.ResizeOp, x: np.ndarray) -> np.ndarray:
    out = x.astype(np.float64) if op.get_str("mode") in ("linear", "cubic") else x
    for axis, (n_in, n_out) in enumerate(zip(x.shape, op.ints("sizes"))):
        if n_in == n_out and op.scales is None:
            continue
        coords = _source_coords(op, axis, n_in, n_out)
        if op.get_str("mode") == "nearest":
            rounding = op.get_str("nearest_mode")
            idx = {
                "round_prefer_floor": lambda c: np.ceil(c - 0.5),
                "round_prefer_ceil": lambda c: np.floor(c + 0.5),
                "floor": np.floor,
                "ceil": np.ceil,
            }[rounding](coords)
            out = np.take(out, np.clip(idx, 0, n_in - 1).astype(np.int64), axis=axis)
        elif op.get_str("mode") == "cubic":
            weights = _cubic_weights(op, coords, n_in)
            out = np.moveaxis(np.tensordot(weights, out, axes=([1], [axis])), 0, axis)
        else:
            coords = np.clip(coords, 0, n_in - 1)
            lo = np.floor(coords).astype(np.int64)
            hi = np.minimum(lo + 1, n_in - 1)
            frac = (coords - lo).reshape([-1 if i == axis else 1 for i in range(x.ndim)])
            out = np.take(out, lo, axis=axis) * (1 - frac) + np.take(out, hi, axis=axis) * frac
    return out.astype(x.dtype)


@reference(ConstantOp)
def constant(op: ConstantOp) -> np.ndarray:
    return op.to_numpy()


def evaluate(op: Any, *args: np.ndarray) -> tuple[np.ndarray, ...]:
    """Run one op's reference semantics; always returns a tuple of results."""
    out = REFERENCE[type(op)](op, *args)
    return out if isinstance(out, tuple) else (out,)
