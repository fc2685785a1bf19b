"""kernel.pad with pads on axes before the last two -> the last two axes' pad kernel
(`lowering.lower_pad`), then one tiled copy kernel per padded leading axis
(`lowering.lower_movement.copy_kernel`), through HBM temporaries.

Along a leading axis the pad moves whole slabs (everything after the axis), so it is a set of
copy regions: the kept part of the input (a negative pad is an offset into it), and per pad
side either one region from a constant fill slab (`npu.hbm_constant`, constant mode) or, for
reflect / edge / wrap, one region of extent 1 per padded index from the source index
`np.pad` takes (pads are a few indices, so a handful of regions). Padding several leading
axes one after another gives the corners as `np.pad` does, axis by axis.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.ir import Attribute, Operation, SSAValue

from gedialects.errors import UnsupportedError
from gedialects.ge.types import element_of, tensor, to_numpy_dtype
from gedialects.kernel.mirrored import PadKernelOp
from gedialects.npu.attrs import BufferType
from gedialects.npu.buffers import HbmAllocOp, HbmConstantOp
from lowering.lower_movement import Region, copy_kernel
from lowering.lower_pad import lower_pad, pads_last_two_only
from lowering.registry import lowers
from runtime.targets import Target


@dataclass(frozen=True)
class _Value:
    type: Attribute


@dataclass(frozen=True)
class _LastTwo:
    """`op` with its leading pads dropped: what `lower_pad` reads of a pad op."""

    op: PadKernelOp
    input: _Value
    output: _Value
    pads: tuple[int, ...]

    @property
    def name(self) -> str:
        return self.op.name

    @property
    def fused_names(self) -> list[str]:
        return self.op.fused_names

    def ints(self, key: str) -> tuple[int, ...]:
        assert key == "pads"
        return self.pads

    def get_str(self, key: str) -> str:
        return self.op.get_str(key)

    def get_float(self, key: str) -> float:
        return self.op.get_float(key)


def _axis_regions(
    src: SSAValue, shape: tuple[int, ...], axis: int, pad: tuple[int, int], op: PadKernelOp
) -> tuple[list[Region], list[Operation], tuple[int, ...]]:
    """Regions padding `axis` of `src` (shape) by pad = (before, after), the ops making their
    fill slabs, and the padded shape."""
    n, (before, after) = len(shape), pad
    out = tuple(d + before + after if a == axis else d for a, d in enumerate(shape))
    ident, ops = tuple(range(n)), []
    crop = max(0, -before)
    kept = shape[axis] - crop - max(0, -after)
    if kept < 1:
        raise UnsupportedError(f"'{op.name}' crops axis {axis} away")

    def at(index: int, extent: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        base = tuple(index if a == axis else 0 for a in range(n))
        return base, tuple(extent if a == axis else d for a, d in enumerate(shape))

    dst, size = at(max(0, before), kept)
    regions = [Region(src, size, at(crop, kept)[0], dst, ident)]
    mode, element = op.get_str("mode"), src.type.element_type
    sources = np.pad(np.arange(shape[axis]), (max(0, before), max(0, after)), mode=mode)
    for lo, count in ((0, max(0, before)), (max(0, before) + kept, max(0, after))):
        if not count:
            continue
        if mode == "constant":
            fill = np.full(at(0, count)[1], op.get_float("value"), to_numpy_dtype(element))
            const = HbmConstantOp.from_array(fill, element)
            ops.append(const)
            regions.append(Region(const.buffer, fill.shape, (0,) * n, at(lo, count)[0], ident))
            continue
        for i in range(lo, lo + count):
            base, one = at(int(sources[i]), 1)
            regions.append(Region(src, one, base, at(i, 1)[0], ident))
    return regions, ops, out


@lowers(PadKernelOp, when=lambda op: not pads_last_two_only(op))
def lower_pad_leading(
    op: PadKernelOp, inputs: list[SSAValue], output: SSAValue, target: Target, name: str
) -> list[Operation]:
    shape, rank = tuple(op.input.type.get_shape()), len(op.input.type.get_shape())
    pads, element = op.ints("pads"), element_of(op.output.type)
    ops: list[Operation] = []
    steps = [a for a in range(rank - 2) if pads[a] or pads[a + rank]]
    current, dims = inputs[0], shape
    if rank >= 2 and any(pads[a] or pads[a + rank] for a in (rank - 2, rank - 1)):
        last = tuple(0 if a < rank - 2 else pads[a] for a in range(rank))
        last += tuple(0 if a < rank - 2 else pads[a + rank] for a in range(rank))
        dims = tuple(d + last[a] + last[a + rank] for a, d in enumerate(shape))
        temp = HbmAllocOp(BufferType(dims, element, "hbm"))
        view = _LastTwo(op, _Value(op.input.type), _Value(tensor(dims, element)), last)
        ops += [temp, *lower_pad(view, [current], temp.buffer, target, f"{name}_hw")]
        current = temp.buffer
    for i, axis in enumerate(steps):
        regions, made, dims = _axis_regions(
            current, dims, axis, (pads[axis], pads[axis + rank]), op
        )
        dst = output
        if i < len(steps) - 1:
            temp = HbmAllocOp(BufferType(dims, element, "hbm"))
            ops.append(temp)
            dst = temp.buffer
        suffix = f"_axis{axis}" if len(steps) > 1 else ""
        ops += [*made, copy_kernel(regions, dst, target, name + suffix, op.fused_names, "pad")]
        current = dst
    return ops
