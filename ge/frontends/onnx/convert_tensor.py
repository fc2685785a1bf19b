"""Converters of ONNX data-movement and shape ops (Reshape, Slice, Pad, Resize, Shape...).

Inputs that fix a result shape (Reshape's shape, Slice's starts, Pad's pads, ...) must be
known at import; `Node.const` raises a clear `UnsupportedError` when they are not. Shape
and Size fold to constants, since every shape is static.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from onnx import numpy_helper
from xdsl.dialects.builtin import DenseArrayBase, f64
from xdsl.ir import SSAValue

from ge.frontends.onnx.context import Node
from gedialects.ge import ops

Converter = Callable[[Node], SSAValue | list[SSAValue]]


def _ints(array: np.ndarray) -> list[int]:
    return [int(v) for v in np.asarray(array).reshape(-1)]


def transpose(n: Node) -> SSAValue:
    perm = n.ints("perm", list(reversed(range(n.rank(0)))))
    return n.emit(ops.TransposeOp(n.value(0), perm=perm))


def reshape_to(n: Node, x: SSAValue, shape: list[int]) -> SSAValue:
    return n.emit(ops.ReshapeOp(x, shape=shape))


def reshape(n: Node) -> SSAValue:
    old = n.shape(0)
    shape = _ints(n.const(1, "shape"))
    if not n.attr("allowzero", 0):
        shape = [old[i] if d == 0 else d for i, d in enumerate(shape)]
    if -1 in shape:
        known = int(np.prod([d for d in shape if d != -1]))
        total = int(np.prod(old))
        if known == 0 or total % known:
            raise n.error(f"cannot reshape {list(old)} to {shape}")
        shape[shape.index(-1)] = total // known
    return reshape_to(n, n.value(0), shape)


def flatten(n: Node) -> SSAValue:
    shape = n.shape(0)
    axis = int(n.attr("axis", 1))
    axis = axis + len(shape) if axis < 0 else axis
    return reshape_to(n, n.value(0), [int(np.prod(shape[:axis])), int(np.prod(shape[axis:]))])


def _axes(n: Node, index: int, since: int) -> list[int] | None:
    if n.opset >= since:
        return _ints(n.const(index, "axes")) if n.has(index) else None
    return n.ints("axes")


def squeeze(n: Node) -> SSAValue:
    shape = n.shape(0)
    axes = _axes(n, 1, 13)
    drop = (
        {a % len(shape) for a in axes}
        if axes is not None
        else {i for i, d in enumerate(shape) if d == 1}
    )
    if any(shape[a] != 1 for a in drop):
        raise n.error(f"cannot squeeze axes {sorted(drop)} of shape {list(shape)}")
    return reshape_to(n, n.value(0), [d for i, d in enumerate(shape) if i not in drop])


def unsqueeze(n: Node) -> SSAValue:
    shape = list(n.shape(0))
    axes = _axes(n, 1, 13) or []
    rank = len(shape) + len(axes)
    for a in sorted(a % rank for a in axes):
        shape.insert(a, 1)
    return reshape_to(n, n.value(0), shape)


def concat(n: Node) -> SSAValue:
    return n.emit(ops.ConcatOp(*n.inputs(), axis=int(n.attr("axis"))))


def slice_(n: Node) -> SSAValue:
    if n.opset < 10:
        starts, ends = n.ints("starts"), n.ints("ends")
        axes, steps = n.ints("axes"), None
    else:
        starts, ends = _ints(n.const(1, "starts")), _ints(n.const(2, "ends"))
        axes = _ints(n.const(3, "axes")) if n.has(3) else None
        steps = _ints(n.const(4, "steps")) if n.has(4) else None
    axes = axes if axes is not None else list(range(len(starts)))
    steps = steps if steps is not None else [1] * len(starts)
    big = np.iinfo(np.int64)
    ends = [min(max(e, big.min + 1), big.max) for e in ends]
    op = ops.SliceOp(n.value(0), starts=starts, ends=ends, axes=axes, steps=steps)
    return n.emit(op)


def gather(n: Node) -> SSAValue:
    return n.emit(ops.GatherOp(n.value(0), n.value(1), axis=int(n.attr("axis", 0))))


def split(n: Node) -> list[SSAValue]:
    shape = n.shape(0)
    axis = int(n.attr("axis", 0)) % len(shape)
    outputs = len(n.proto.output)
    if n.opset >= 13 and n.has(1):
        sizes = _ints(n.const(1, "split"))
    elif n.opset < 13 and n.ints("split"):
        sizes = n.ints("split")
    elif n.attr("num_outputs") is not None:
        chunk = -(-shape[axis] // int(n.attr("num_outputs")))
        sizes = [min(chunk, shape[axis] - i * chunk) for i in range(int(n.attr("num_outputs")))]
    else:
        if shape[axis] % outputs:
            raise n.error(f"dim {shape[axis]} does not split evenly into {outputs} outputs")
        sizes = [shape[axis] // outputs] * outputs
    return n.emit_all(ops.SplitOp(n.value(0), axis=axis, sizes=sizes))


def pad(n: Node) -> SSAValue:
    rank = n.rank(0)
    if n.opset < 11:
        pads, value = n.ints("pads"), float(n.attr("value", 0.0))
    else:
        pads = _ints(n.const(1, "pads"))
        value = float(np.asarray(n.const(2, "constant_value")).reshape(-1)[0]) if n.has(2) else 0.0
        if n.has(3):
            axes = [a % rank for a in _ints(n.const(3, "axes"))]
            full = [0] * 2 * rank
            for i, a in enumerate(axes):
                full[a], full[a + rank] = pads[i], pads[i + len(axes)]
            pads = full
    return n.emit(ops.PadOp(n.value(0), pads=pads, mode=n.attr("mode", "constant"), value=value))


def expand(n: Node) -> SSAValue:
    return n.emit(ops.ExpandOp(n.value(0), shape=_ints(n.const(1, "shape"))))


def tile(n: Node) -> SSAValue:
    shape, repeats = n.shape(0), _ints(n.const(1, "repeats"))
    interleaved = [v for d in shape for v in (1, d)]
    wide = [v for r, d in zip(repeats, shape) for v in (r, d)]
    x = reshape_to(n, n.value(0), interleaved)
    x = n.emit(ops.ExpandOp(x, shape=wide))
    return reshape_to(n, x, [r * d for r, d in zip(repeats, shape)])


def shape_(n: Node) -> SSAValue:
    shape = n.shape(0)
    start, end = int(n.attr("start", 0)), n.attr("end")
    return n.constant(np.asarray(shape[start : None if end is None else int(end)], np.int64))


def size(n: Node) -> SSAValue:
    return n.constant(np.asarray(int(np.prod(n.shape(0))), np.int64))


def constant(n: Node) -> SSAValue:
    attrs = n.proto.attribute
    if not attrs:
        raise n.error("has no value attribute")
    a = attrs[0]
    kinds = {
        "value": lambda: numpy_helper.to_array(a.t),
        "value_float": lambda: np.asarray(a.f, np.float32),
        "value_floats": lambda: np.asarray(list(a.floats), np.float32),
        "value_int": lambda: np.asarray(a.i, np.int64),
        "value_ints": lambda: np.asarray(list(a.ints), np.int64),
    }
    if a.name not in kinds:
        raise n.unsupported(f"a Constant given by '{a.name}' is not supported")
    return n.constant(kinds[a.name]())


def constant_of_shape(n: Node) -> SSAValue:
    value = n.attrs.get("value")
    fill = (
        numpy_helper.to_array(value).reshape(-1) if value is not None else np.zeros(1, np.float32)
    )
    return n.constant(np.full(_ints(n.const(0, "shape")), fill[0], dtype=fill.dtype))


def range_(n: Node) -> SSAValue:
    # scalars by the spec; one-element tensors too (ONNX's expanded AffineGrid passes them)
    start, limit, delta = (
        np.asarray(n.const(i, what)).reshape(-1)[:1].reshape(())
        for i, what in enumerate(("start", "limit", "delta"))
    )
    count = max(int(np.ceil((limit - start) / delta)), 0)
    return n.constant((start + np.arange(count) * delta).astype(start.dtype))


def _space_depth(to_depth: bool) -> Converter:
    def convert(n: Node) -> SSAValue:
        (b_, c, h, w), b = n.shape(0), int(n.attr("blocksize"))
        x = n.value(0)
        if to_depth:
            x = reshape_to(n, x, [b_, c, h // b, b, w // b, b])
            dcr = n.attr("mode", "DCR") == "DCR"
            x = n.emit(ops.TransposeOp(x, perm=[0, 3, 5, 1, 2, 4] if dcr else [0, 1, 3, 5, 2, 4]))
            return reshape_to(n, x, [b_, c * b * b, h // b, w // b])
        if n.attr("mode", "DCR") == "DCR":
            x = reshape_to(n, x, [b_, b, b, c // (b * b), h, w])
            perm = [0, 3, 4, 1, 5, 2]
        else:
            x = reshape_to(n, x, [b_, c // (b * b), b, b, h, w])
            perm = [0, 1, 4, 2, 5, 3]
        x = n.emit(ops.TransposeOp(x, perm=perm))
        return reshape_to(n, x, [b_, c // (b * b), h * b, w * b])

    return convert


def trilu(n: Node) -> SSAValue:
    shape = n.shape(0)
    k = int(n.const(1, "k")) if n.has(1) else 0
    rows, cols = shape[-2:]
    tri = np.triu if n.attr("upper", 1) else np.tril
    mask = tri(np.ones((rows, cols), np.bool_), k)
    zero = n.constant(np.zeros((), n.dtype(0)))
    return n.emit(ops.WhereOp(n.constant(mask), n.value(0), zero))


def resize_geometry(n: Node) -> tuple[list[int], list[float] | None]:
    """Output sizes, and the scales when ONNX's coordinates use them (given or kept)."""
    shape = n.shape(0)
    axes = [a % len(shape) for a in n.ints("axes", list(range(len(shape))))]
    policy = n.attr("keep_aspect_ratio_policy", "stretch")
    if n.has(3):
        wanted = _ints(n.const(3, "sizes"))
        if policy == "stretch":
            sizes = list(shape)
            for a, s in zip(axes, wanted):
                sizes[a] = s
            return sizes, None
        ratios = [s / shape[a] for a, s in zip(axes, wanted)]
        scale = min(ratios) if policy == "not_larger" else max(ratios)
        given = [scale] * len(axes)
    else:
        given = [float(s) for s in np.asarray(n.const(2, "scales"), np.float32).reshape(-1)]
    scales = [1.0] * len(shape)
    for a, s in zip(axes, given):
        scales[a] = s
    if n.has(3):  # keep_aspect_ratio_policy rounds half up
        return [int(np.floor(d * s + 0.5)) for d, s in zip(shape, scales)], scales
    return [int(np.floor(d * s)) for d, s in zip(shape, scales)], scales


def resize(n: Node) -> SSAValue:
    mode = n.attr("mode", "nearest")
    coord = n.attr("coordinate_transformation_mode", "half_pixel")
    if mode not in ("nearest", "linear", "cubic") or coord == "tf_crop_and_resize":
        raise n.unsupported(f"Resize with mode '{mode}' and '{coord}' is not supported")
    if n.attr("antialias", 0):
        raise n.unsupported("Resize with antialias is not supported")
    sizes, scales = resize_geometry(n)
    op = ops.ResizeOp(
        n.value(0),
        sizes=sizes,
        scales=None if scales is None else DenseArrayBase.from_list(f64, scales),
        mode=mode,
        coordinate_transformation_mode=coord,
        nearest_mode=n.attr("nearest_mode", "round_prefer_floor"),
        **_cubic_props(n) if mode == "cubic" else {},
    )
    return n.emit(op)


def _cubic_props(n: Node) -> dict:
    return {
        "cubic_coeff_a": float(n.attr("cubic_coeff_a", -0.75)),
        "exclude_outside": int(n.attr("exclude_outside", 0)),
    }


CONVERTERS: dict[str, Converter] = {
    "Transpose": transpose,
    "Reshape": reshape,
    "Flatten": flatten,
    "Squeeze": squeeze,
    "Unsqueeze": unsqueeze,
    "Concat": concat,
    "Slice": slice_,
    "Gather": gather,
    "Split": split,
    "Pad": pad,
    "Expand": expand,
    "Tile": tile,
    "Shape": shape_,
    "Size": size,
    "Constant": constant,
    "ConstantOfShape": constant_of_shape,
    "Range": range_,
    "DepthToSpace": _space_depth(False),
    "SpaceToDepth": _space_depth(True),
    "Trilu": trilu,
    "Resize": resize,
}
