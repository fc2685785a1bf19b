"""Generators of the structured `ge` ops (linear algebra, normalization, pools, reductions).

Geometry is drawn so the op is valid: conv and pool windows fit the padded input, group
counts divide the channels, matmul contraction dims agree. Weights are fresh constants
unless a pool value happens to fit. Data-movement ops are in `movement_generators`.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

from ge.testing.elementwise_generators import Generator
from ge.testing.program_builder import ProgramBuilder, Value, out_limit
from gedialects.ge import ops


def _float_operand(b: ProgramBuilder, min_rank: int, max_rank: int | None = None) -> Value | None:
    dtype = b.float_dtype()
    if dtype is None:
        return None
    top = b.max_rank if max_rank is None else max_rank
    return b.operand(
        lambda v: v.is_float and min_rank <= len(v.shape) <= top,
        lambda: (b.shape(min_rank, top), dtype),
    )


def _image(b: ProgramBuilder) -> Value | None:
    """An NCHW float value, from the pool or fresh (spatial dims up to 6)."""
    dtype = b.float_dtype()
    if dtype is None:
        return None

    def fresh() -> tuple[tuple[int, ...], np.dtype]:
        n, c = b.draw(st.integers(1, 2)), b.draw(st.integers(1, 4))
        h, w = b.draw(st.integers(1, 6)), b.draw(st.integers(1, 6))
        return (n, c, h, w), dtype

    return b.operand(lambda v: v.is_float and len(v.shape) == 4, fresh)


def _constant_or_fit(b: ProgramBuilder, shape: tuple, dtype: np.dtype, positive=False) -> Value:
    """A pool value of exactly this shape and dtype, or a fresh constant."""
    found = None if positive else b.pick(lambda v: v.shape == shape and v.dtype == dtype)
    if found is not None and b.draw(st.booleans()):
        return found
    return b.constant(shape, dtype, positive=positive)


def _window(b: ProgramBuilder, size: int, kernel_max: int = 3) -> tuple[int, int, int, int, int]:
    """(kernel, stride, pad_begin, pad_end, dilation) whose window fits `size`."""
    k = b.draw(st.integers(1, kernel_max))
    s, d = b.draw(st.integers(1, 2)), b.draw(st.integers(1, 2))
    pb, pe = b.draw(st.integers(0, k - 1)), b.draw(st.integers(0, k - 1))
    if size + pb + pe < d * (k - 1) + 1 or not _windows_touch_input(size, k, s, pb, pe, d):
        return 1, s, 0, 0, 1
    return k, s, pb, pe, d


def _windows_touch_input(size: int, k: int, s: int, pb: int, pe: int, d: int) -> bool:
    """Whether every window (ceil mode included) has a tap inside the unpadded input."""
    count = ops.pool_out(ops.MaxPool2DOp, size, k, s, pb, pe, d, True)
    taps = np.arange(count)[:, None] * s - pb + np.arange(k)[None, :] * d
    return bool(((taps >= 0) & (taps < size)).any(axis=1).all())


def matmul(b: ProgramBuilder) -> bool:
    x = _float_operand(b, 1)
    if x is None:
        return False
    k = x.shape[-1]

    def fits(v: Value) -> bool:
        if v.dtype != x.dtype:
            return False
        try:
            ops.MatMulOp.infer_result_types([x.ssa.type, v.ssa.type], {})
        except Exception:
            return False
        return True

    def fresh() -> tuple[tuple[int, ...], np.dtype]:
        n = b.draw(st.integers(1, b.max_dim))
        batch = x.shape[:-2][b.draw(st.integers(0, max(0, len(x.shape) - 2))) :]
        if len(x.shape) == 1:
            return (k, n), x.dtype
        return b.draw(st.sampled_from([(k,), (*batch, k, n)])), x.dtype

    y = b.operand(fits, fresh, partner=x)
    reach = math.sqrt(out_limit(x.dtype) / max(k, 1))
    x, y = b.bounded(x, reach), b.bounded(y, reach)
    m = max(x.magnitude * y.magnitude * k, 1.0)
    b.emit(ops.MatMulOp(x.ssa, y.ssa), -m, m)
    return True


def conv2d(b: ProgramBuilder) -> bool:
    x = _image(b)
    if x is None:
        return False
    n, c, h, w = x.shape
    groups = b.draw(st.sampled_from([g for g in range(1, c + 1) if c % g == 0]))
    o = groups * b.draw(st.integers(1, 3))
    kh, sh, pt, pb, dh = _window(b, h)
    kw, sw, pl, pr, dw = _window(b, w)
    weight = _constant_or_fit(b, (o, c // groups, kh, kw), x.dtype)
    bias = _constant_or_fit(b, (o,), x.dtype) if b.draw(st.booleans()) else None
    taps = c // groups * kh * kw
    reach = math.sqrt(out_limit(x.dtype) / (2 * taps))
    x, weight = b.bounded(x, reach), b.bounded(weight, reach)
    m = taps * x.magnitude * weight.magnitude + (bias.magnitude if bias else 0.0)
    op = ops.Conv2DOp(
        x.ssa,
        weight.ssa,
        bias.ssa if bias else None,
        strides=(sh, sw),
        pads=(pt, pl, pb, pr),
        dilations=(dh, dw),
        groups=groups,
    )
    b.emit(op, -m, m)
    return True


def conv_transpose2d(b: ProgramBuilder) -> bool:
    x = _image(b)
    if x is None:
        return False
    c = x.shape[1]
    groups = b.draw(st.sampled_from([g for g in range(1, c + 1) if c % g == 0]))
    og = b.draw(st.integers(1, 2))
    kh, kw = b.draw(st.integers(1, 3)), b.draw(st.integers(1, 3))
    sh, sw = b.draw(st.integers(1, 2)), b.draw(st.integers(1, 2))
    pads = (b.draw(st.integers(0, kh - 1)), b.draw(st.integers(0, kw - 1)), 0, 0)
    outpad = (b.draw(st.integers(0, sh - 1)), b.draw(st.integers(0, sw - 1)))
    weight = _constant_or_fit(b, (c, og, kh, kw), x.dtype)
    taps = c * kh * kw
    reach = math.sqrt(out_limit(x.dtype) / taps)
    x, weight = b.bounded(x, reach), b.bounded(weight, reach)
    try:
        op = ops.ConvTranspose2DOp(
            x.ssa, weight.ssa, strides=(sh, sw), pads=pads, output_padding=outpad, groups=groups
        )
    except Exception:
        return False
    m = taps * x.magnitude * weight.magnitude
    b.emit(op, -m, m)
    return True


def batch_norm(b: ProgramBuilder) -> bool:
    x = _float_operand(b, 2)
    if x is None:
        return False
    shape, dt = (x.shape[1],), x.dtype
    scale, bias, mean = (_constant_or_fit(b, shape, dt) for _ in range(3))
    var = _constant_or_fit(b, shape, dt, positive=True)
    eps = b.draw(st.sampled_from([1e-5, 1e-3]))
    reach = math.sqrt(out_limit(dt) / 4)
    x, scale = b.bounded(x, reach), b.bounded(scale, reach)
    gain = scale.magnitude / math.sqrt(max(var.lo, 0.0) + eps)
    m = (x.magnitude + mean.magnitude) * gain + bias.magnitude
    b.emit(ops.BatchNormOp(x.ssa, scale.ssa, bias.ssa, mean.ssa, var.ssa, epsilon=eps), -m, m)
    return True


def instance_norm(b: ProgramBuilder) -> bool:
    x = _float_operand(b, 3)
    if x is None:
        return False
    scale, bias = (_constant_or_fit(b, (x.shape[1],), x.dtype) for _ in range(2))
    spread = math.sqrt(max(1, math.prod(x.shape[2:])))
    m = spread * scale.magnitude + bias.magnitude
    b.emit(ops.InstanceNormOp(x.ssa, scale.ssa, bias.ssa), -m, m)
    return True


def group_norm(b: ProgramBuilder) -> bool:
    x = _float_operand(b, 3)
    if x is None:
        return False
    channels = x.shape[1]
    groups = b.draw(st.sampled_from([g for g in range(1, channels + 1) if channels % g == 0]))
    scale, bias = (_constant_or_fit(b, (channels,), x.dtype) for _ in range(2))
    spread = math.sqrt(max(1, channels // groups * math.prod(x.shape[2:])))
    m = spread * scale.magnitude + bias.magnitude
    b.emit(ops.GroupNormOp(x.ssa, scale.ssa, bias.ssa, num_groups=groups), -m, m)
    return True


def rope(b: ProgramBuilder) -> bool:
    x = _float_operand(b, 1)
    if x is None or x.shape[-1] % 2:
        return False
    partial = {}
    if x.shape[-1] > 2 and b.draw(st.integers(0, 3)) == 0:  # rotate only the first R columns
        partial["rotary_dim"] = 2 * b.draw(st.integers(1, x.shape[-1] // 2 - 1))
    rotated = (*x.shape[:-1], partial.get("rotary_dim", x.shape[-1]))
    tables = []
    for _ in range(2):
        shape = [d if b.draw(st.booleans()) else 1 for d in rotated]
        keep = b.draw(st.integers(1, len(shape)))
        tables.append(_constant_or_fit(b, tuple(shape[len(shape) - keep :]), x.dtype))
    m = x.magnitude * (tables[0].magnitude + tables[1].magnitude + 1)
    b.emit(ops.RopeOp(x.ssa, tables[0].ssa, tables[1].ssa, **partial), -m, m)
    return True


def _normalized_operand(b: ProgramBuilder):
    """An operand, an axis, the normalized dims from it, and a scale of their trailing part
    (layer and RMS norm both broadcast it); None if no float operand exists."""
    x = _float_operand(b, 1)
    if x is None:
        return None
    axis = b.draw(st.integers(-len(x.shape), len(x.shape) - 1))
    normalized = x.shape[axis:]
    keep = b.draw(st.integers(0, len(normalized)))
    return x, axis, normalized, _constant_or_fit(b, normalized[keep:], x.dtype)


def layer_norm(b: ProgramBuilder) -> bool:
    drawn = _normalized_operand(b)
    if drawn is None:
        return False
    x, axis, normalized, scale = drawn
    bias = _constant_or_fit(b, normalized, x.dtype) if b.draw(st.booleans()) else None
    spread = math.sqrt(max(1, math.prod(normalized)))
    m = spread * scale.magnitude + (bias.magnitude if bias else 0.0)
    op = ops.LayerNormOp(x.ssa, scale.ssa, bias.ssa if bias else None, axis=axis)
    b.emit(op, -m, m)
    return True


def rms_norm(b: ProgramBuilder) -> bool:
    drawn = _normalized_operand(b)
    if drawn is None:
        return False
    x, axis, normalized, scale = drawn
    m = math.sqrt(max(1, math.prod(normalized))) * scale.magnitude
    b.emit(ops.RMSNormOp(x.ssa, scale.ssa, axis=axis), -m, m)
    return True


def softmax(name: str) -> Generator:
    def generate(b: ProgramBuilder) -> bool:
        x = _float_operand(b, 1)
        if x is None:
            return False
        axis = b.draw(st.integers(-len(x.shape), len(x.shape) - 1))
        if name == "ge.softmax":
            b.emit(ops.SoftmaxOp(x.ssa, axis=axis), 0.0, 1.0)
        else:
            low = x.lo - x.hi - math.log(x.shape[axis])
            b.emit(ops.LogSoftmaxOp(x.ssa, axis=axis), low, 0.0)
        return True

    return generate


def lrn(b: ProgramBuilder) -> bool:
    x = _float_operand(b, 3)
    if x is None:
        return False
    x = b.bounded(x, math.sqrt(out_limit(x.dtype)) / 4)
    size = b.draw(st.sampled_from([1, 3, 5]))
    b.emit(ops.LRNOp(x.ssa, size=size), -x.magnitude, x.magnitude)
    return True


def dropout(b: ProgramBuilder) -> bool:
    x = _float_operand(b, 0)
    if x is None:
        return False
    ratio = b.draw(st.sampled_from([0.5, 0.0, 0.25]))
    training = b.draw(st.booleans())
    seed = b.draw(st.integers(0, 3))
    gain = 1 / (1 - ratio) if training else 1.0
    op = ops.DropoutOp(x.ssa, ratio=ratio, is_training=training, seed=seed)
    b.emit(op, min(x.lo * gain, 0.0), max(x.hi * gain, 0.0))
    return True


def pool(name: str) -> Generator:
    def generate(b: ProgramBuilder) -> bool:
        x = _image(b)
        if x is None:
            return False
        kh, sh, pt, pb, dh = _window(b, x.shape[2])
        kw, sw, pl, pr, dw = _window(b, x.shape[3])
        props = dict(
            kernel_shape=(kh, kw),
            strides=(sh, sw),
            pads=(pt, pl, pb, pr),
            dilations=(dh, dw),
            ceil_mode=b.draw(st.booleans()),
        )
        lo, hi = x.lo, x.hi
        if name == "ge.avg_pool2d":
            props["count_include_pad"] = b.draw(st.booleans())
            lo, hi = min(lo, 0.0), max(hi, 0.0)
            b.emit(ops.AvgPool2DOp(x.ssa, **props), lo, hi)
        else:
            b.emit(ops.MaxPool2DOp(x.ssa, **props), lo, hi)
        return True

    return generate


def global_pool(name: str) -> Generator:
    cls = ops.GlobalAvgPoolOp if name == "ge.global_avg_pool" else ops.GlobalMaxPoolOp

    def generate(b: ProgramBuilder) -> bool:
        x = _float_operand(b, 3)
        if x is None:
            return False
        b.emit(cls(x.ssa), x.lo, x.hi)
        return True

    return generate


GENERATORS: dict[str, Generator] = {
    "ge.matmul": matmul,
    "ge.conv2d": conv2d,
    "ge.conv_transpose2d": conv_transpose2d,
    "ge.batch_norm": batch_norm,
    "ge.instance_norm": instance_norm,
    "ge.group_norm": group_norm,
    "ge.rope": rope,
    "ge.layer_norm": layer_norm,
    "ge.rms_norm": rms_norm,
    "ge.softmax": softmax("ge.softmax"),
    "ge.log_softmax": softmax("ge.log_softmax"),
    "ge.lrn": lrn,
    "ge.dropout": dropout,
    "ge.max_pool2d": pool("ge.max_pool2d"),
    "ge.avg_pool2d": pool("ge.avg_pool2d"),
    "ge.global_avg_pool": global_pool("ge.global_avg_pool"),
    "ge.global_max_pool": global_pool("ge.global_max_pool"),
}
"""Generators of structured ops, by op name."""
