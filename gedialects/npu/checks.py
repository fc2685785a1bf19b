"""Structural checks of npu instructions: which spaces each may touch, and window shapes.

These need no target: a DMA path the core has no data path for, an mmad that reads UB or a
vector op on L1 are wrong on every chip. Capacities and rates are checked in
`gedialects.npu.verify` against a target.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from xdsl.dialects.builtin import DYNAMIC_INDEX, DenseArrayBase
from xdsl.ir import Attribute, Operation

from gedialects.errors import GeVerifyError
from gedialects.npu.attrs import FORMAT_CHANGES, FRACTAL, PATH_PIPES, BufferType, buffer_type


def static_list(attr: DenseArrayBase) -> tuple[int, ...]:
    return tuple(int(v) for v in attr.get_values())


def fail(op: Operation, message: str) -> GeVerifyError:
    return GeVerifyError(f"'{op.name}': {message}")


def enclosing_kernel(op: Operation) -> Operation | None:
    parent = op.parent_op()
    while parent is not None and parent.name != "npu.kernel":
        parent = parent.parent_op()
    return parent


def require_kernel(op: Operation) -> None:
    if enclosing_kernel(op) is None:
        raise fail(op, "instructions run inside an npu.kernel")


def check_space(op: Operation, what: str, t: Attribute, allowed: Sequence[str]) -> BufferType:
    """`t` as a buffer in one of the `allowed` spaces, or an error naming the op and operand."""
    buf = buffer_type(t, f"'{op.name}' {what}")
    if buf.space_name not in allowed:
        spaces = " or ".join(allowed)
        raise fail(op, f"{what} must be in {spaces}, got a buffer in {buf.space_name}")
    return buf


def _check_window(op: Operation, which: str, buf: BufferType, offsets, sizes) -> None:
    rank = len(buf.dims)
    if len(offsets) != rank or len(sizes) != rank:
        raise fail(op, f"the {which} window needs {rank} offsets and {rank} sizes")
    for axis, (o, s, d) in enumerate(zip(offsets, sizes, buf.dims)):
        o = None if o == DYNAMIC_INDEX else o
        s = None if s == DYNAMIC_INDEX else s
        if (o is not None and o < 0) or (s is not None and s <= 0):
            raise fail(op, f"the {which} window has a negative offset or empty size on axis {axis}")
        if (o or 0) + (s or 0) > d:
            raise fail(op, f"the {which} window [{o}:+{s}] is past dim {axis} ({d}) of {buf}")


def check_dma(op) -> None:  # noqa: ANN001 (DmaOp; imported lazily to avoid a cycle)
    require_kernel(op)
    src, dst = buffer_type(op.src.type, "dma source"), buffer_type(op.dst.type, "dma destination")
    path = (src.space_name, dst.space_name)
    if path not in PATH_PIPES:
        legal = ", ".join(f"{a}->{b}" for a, b in PATH_PIPES)
        raise fail(op, f"no data path from {path[0]} to {path[1]}; paths are {legal}")
    if src.element_type != dst.element_type and src.space_name != "l0c":
        types = f"{src.element_type} to {dst.element_type}"
        raise fail(op, f"only moves out of l0c may convert {types}")
    fmt = (src.format_name, dst.format_name)
    if fmt[0] != fmt[1] and fmt not in FORMAT_CHANGES:
        raise fail(op, f"a dma cannot change the data format {fmt[0]} to {fmt[1]}")
    s_off, s_size = static_list(op.static_src_offsets), static_list(op.static_src_sizes)
    d_off, d_size = static_list(op.static_dst_offsets), static_list(op.static_dst_sizes)
    _check_window(op, "source", src, s_off, s_size)
    _check_window(op, "destination", dst, d_off, d_size)
    if op.atomic is not None:
        if op.atomic.data != "add":
            raise fail(op, f'unknown atomic "{op.atomic.data}"; the DMA units add ("add")')
        if dst.space_name != "hbm" or src.element_type != dst.element_type:
            raise fail(op, f"an atomic add stores into hbm in its own element type, not {dst}")
        if op.pad is not None:
            raise fail(op, "an atomic add does not pad")
    if op.transpose is not None:
        _check_transpose(op, src, dst, s_size, d_size)
        return
    if DYNAMIC_INDEX in s_size + d_size or s_size == d_size:
        return
    padding = len(s_size) == len(d_size) and all(a <= b for a, b in zip(s_size, d_size))
    if not padding and (op.pad is not None or math.prod(s_size) != math.prod(d_size)):
        raise fail(
            op,
            f"the destination window {d_size} neither contains the source {s_size} (padding) "
            "nor holds as many elements (a reshaping copy)",
        )


def _check_transpose(op, src: BufferType, dst: BufferType, s_size, d_size) -> None:  # noqa: ANN001
    """A transposing load: L1 -> L0A / L0B, 2-D windows, the destination the source's
    transpose (no padding, no conversion)."""
    if src.space_name != "l1" or dst.space_name not in ("l0a", "l0b"):
        raise fail(op, f"only an l1 -> l0a / l0b load transposes, not {src.space_name} -> "
                       f"{dst.space_name}")  # fmt: skip
    if len(s_size) != 2 or len(d_size) != 2:
        raise fail(op, "a transposing load moves 2-D windows")
    if op.pad is not None or op.atomic is not None:
        raise fail(op, "a transposing load neither pads nor adds")
    known = DYNAMIC_INDEX not in s_size + d_size
    if known and list(d_size) != list(s_size)[::-1]:
        got, want = list(d_size), list(s_size)[::-1]
        raise fail(op, f"the destination window {got} is not the source's transposed ({want})")


def check_mmad(op) -> None:  # noqa: ANN001
    require_kernel(op)
    a = check_space(op, "a", op.a.type, ("l0a",))
    b = check_space(op, "b", op.b.type, ("l0b",))
    c = check_space(op, "c", op.c.type, ("l0c",))
    for what, buf, fmts in (("a", a, ("FRACTAL_NZ",)), ("b", b, ("FRACTAL_NZ", "FRACTAL_Z"))):
        if buf.format_name not in fmts or len(buf.dims) != 2:
            raise fail(op, f"{what} must be a 2-D {' or '.join(fmts)} matrix, got {buf}")
    if c.format_name != "FRACTAL_NZ" or len(c.dims) != 2:
        raise fail(op, f"c must be a 2-D FRACTAL_NZ matrix, got {c}")
    types = (str(a.element_type), str(b.element_type), str(c.element_type))
    if types not in (("f16", "f16", "f32"), ("f32", "f32", "f32"), ("i8", "i8", "i32")):
        raise fail(op, f"element types {types} are not a cube mode (f16/f32/i8 in, f32/i32 out)")
    sizes = static_list(op.static_sizes)
    if len(sizes) != 3:
        raise fail(op, "sizes are [m, n, k]")
    m, n, k = (None if s == DYNAMIC_INDEX else s for s in sizes)
    limits = {"m": (m, a.dims[0], c.dims[0]), "n": (n, b.dims[1], c.dims[1])}
    limits["k"] = (k, a.dims[1], b.dims[0])
    for name, (size, *dims) in limits.items():
        if size is not None and not 0 < size <= min(dims):
            raise fail(op, f"{name} = {size} does not fit the operands (at most {min(dims)})")


def check_transdata(op) -> None:  # noqa: ANN001
    require_kernel(op)
    src = check_space(op, "source", op.src.type, ("ub",))
    dst = check_space(op, "destination", op.dst.type, ("ub",))
    if src.element_type != dst.element_type:
        raise fail(op, "a format transfer keeps the element type")
    want = transdata_shape(src, dst.format_name)
    if want is not None:
        if dst.dims != want:
            raise fail(op, f"{src} in {dst.format_name} has shape {want}, got {dst.dims}")
        return
    padded = transdata_shape(dst, src.format_name)  # unpadding: dst padded back must be src
    if padded is None:
        raise fail(op, f"no format transfer from {src.format_name} to {dst.format_name}")
    if padded != src.dims:
        want = f"{dst} in {src.format_name} has shape {padded}"
        raise fail(op, f"{want}, not the source's {src.dims}")


def transdata_shape(src: BufferType, fmt: str) -> tuple[int, ...] | None:
    """The shape `src`'s data takes in format `fmt` (C padded to C0, matrices to fractals)."""
    d, up = src.dims, lambda x: -(-x // FRACTAL) * FRACTAL
    pair = (src.format_name, fmt)
    if pair in (("NCHW", "NC1HWC0"), ("ND", "NC1HWC0")) and len(d) == 4:
        return (d[0], -(-d[1] // FRACTAL), d[2], d[3], FRACTAL)
    if pair == ("ND", "FRACTAL_NZ") and len(d) >= 2:
        return (*d[:-2], up(d[-2]), up(d[-1]))
    return None
