"""Converters of ONNX data-movement and shape ops (Reshape, Slice, Pad, Tile, Trilu...).

Inputs that fix a result shape (Reshape's shape, Slice's starts, Pad's pads, ...) must be
known at import; `Node.const` raises a clear `UnsupportedError` when they are not.
`CONVERTERS` also holds those of `convert_constant` (Shape, Size, Constant, Range...: ops
that fold to constants) and `convert_resize`, so the importer lists this family once.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from xdsl.ir import SSAValue

from ge.frontends.onnx import convert_constant, convert_resize
from ge.frontends.onnx.context import Node
from ge.frontends.onnx.convert_constant import ints_of
from gedialects.ge import ops

Converter = Callable[[Node], SSAValue | list[SSAValue]]


def transpose(n: Node) -> SSAValue:
    perm = n.ints("perm", list(reversed(range(n.rank(0)))))
    return n.emit(ops.TransposeOp(n.value(0), perm=perm))


def reshape_to(n: Node, x: SSAValue, shape: list[int]) -> SSAValue:
    return n.emit(ops.ReshapeOp(x, shape=shape))


def reshape(n: Node) -> SSAValue:
    old = n.shape(0)
    shape = ints_of(n.const(1, "shape"))
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
        return ints_of(n.const(index, "axes")) if n.has(index) else None
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
        starts, ends = ints_of(n.const(1, "starts")), ints_of(n.const(2, "ends"))
        axes = ints_of(n.const(3, "axes")) if n.has(3) else None
        steps = ints_of(n.const(4, "steps")) if n.has(4) else None
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
        sizes = ints_of(n.const(1, "split"))
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
        pads = ints_of(n.const(1, "pads"))
        value = float(np.asarray(n.const(2, "constant_value")).reshape(-1)[0]) if n.has(2) else 0.0
        if n.has(3):
            axes = [a % rank for a in ints_of(n.const(3, "axes"))]
            full = [0] * 2 * rank
            for i, a in enumerate(axes):
                full[a], full[a + rank] = pads[i], pads[i + len(axes)]
            pads = full
    return n.emit(ops.PadOp(n.value(0), pads=pads, mode=n.attr("mode", "constant"), value=value))


def expand(n: Node) -> SSAValue:
    return n.emit(ops.ExpandOp(n.value(0), shape=ints_of(n.const(1, "shape"))))


def tile(n: Node) -> SSAValue:
    shape, repeats = n.shape(0), ints_of(n.const(1, "repeats"))
    interleaved = [v for d in shape for v in (1, d)]
    wide = [v for r, d in zip(repeats, shape) for v in (r, d)]
    x = reshape_to(n, n.value(0), interleaved)
    x = n.emit(ops.ExpandOp(x, shape=wide))
    return reshape_to(n, x, [r * d for r, d in zip(repeats, shape)])


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
    "DepthToSpace": _space_depth(False),
    "SpaceToDepth": _space_depth(True),
    "Trilu": trilu,
    **convert_constant.CONVERTERS,
    **convert_resize.CONVERTERS,
}
